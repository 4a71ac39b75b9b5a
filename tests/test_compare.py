"""Year over year: deltas per office, aspect and indicator, band moves, renamed offices."""

from __future__ import annotations

import json
import os
import time
from decimal import Decimal
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from conftest import DEMO
from helpers import write_workbook
from test_scoring import best

from monev.batch import score_paths
from monev.cli import main
from monev.compare import (
    PreviousError,
    compare,
    load_mapping,
    load_previous,
    parse_results_json,
)
from monev.report import render_city_html, render_office_html

EV = "https://ppid.contoh.go.id/bukti"
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def years(tmp_path_factory, rubric):
    root = tmp_path_factory.mktemp("tahun")
    last, now = root / "2023", root / "2024"
    last.mkdir()
    now.mkdir()
    ji = best(rubric, only_aspect="JI")
    dg = best(rubric, only_aspect="DG")
    write_workbook(
        last / "a.xlsx", rubric, [("JI-01", "Tidak"), ("JI-02", "Ya", EV)], office="Dinas A"
    )
    write_workbook(last / "lama.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas Lama")
    write_workbook(last / "hilang.xlsx", rubric, [], office="Dinas Hilang")
    write_workbook(last / "naik.xlsx", rubric, ji, office="Dinas Naik")
    write_workbook(
        now / "a.xlsx", rubric, [("JI-01", "Ya", EV), ("JI-02", "Ya", EV)], office="DINAS  A"
    )  # case and spaces differ: still the same office
    write_workbook(now / "baru.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas Baru")
    write_workbook(now / "tambahan.xlsx", rubric, [], office="Dinas Tambahan")
    write_workbook(now / "naik.xlsx", rubric, ji + dg, office="Dinas Naik")
    (root / "last.json").write_text(score_paths([last], rubric).to_json(), encoding="utf-8")
    (root / "ganti-nama.yaml").write_text("Dinas Lama: Dinas Baru\n", encoding="utf-8")
    return root


def test_deltas_by_hand(years, rubric):
    run = score_paths([years / "2024"], rubric)
    cmp = compare(run, load_previous(years / "last.json"), load_mapping(years / "ganti-nama.yaml"))
    a = cmp.offices["a.xlsx"]
    # JI-01 went from Tidak to Ya with evidence: 1 x 40/14 = 2.86 then, 2 x 40/14 = 5.71 now.
    # The change is the difference of the two published figures, 5.71 - 2.86 = 2.85, so that it
    # is what a reader gets by subtracting them (the exact change 2.857... would show 2.86).
    assert a.previous.score == Decimal("2.86") and a.score_delta == Decimal("2.85")
    assert a.aspects["JI"] == Decimal("2.85") and a.aspects["DG"] == 0
    assert a.indicators == {"JI-01": Decimal("2.8571")}
    assert a.band_move == 0
    naik = cmp.offices["naik.xlsx"]
    # 40.00 (Kurang Informatif) -> 60.00 (Cukup Informatif): Digitalisasi's 20 points.
    assert (naik.previous.score, naik.score_delta, naik.band_move) == (
        Decimal("40.00"),
        Decimal("20.00"),
        1,
    )
    assert naik.previous.predicate == "Kurang Informatif"
    assert cmp.offices["baru.xlsx"].previous.name == "Dinas Lama"  # through the rename map
    assert cmp.new == ["Dinas Tambahan"] and cmp.gone == ["Dinas Hilang"]
    assert cmp.same_rubric


def test_cli_previous_in_json_and_reports(years, rubric, tmp_path):
    out = tmp_path / "hasil"
    rc = main(
        [
            "score",
            str(years / "2024"),
            "--out",
            str(out),
            "--previous",
            str(years / "last.json"),
            "--rename-map",
            str(years / "ganti-nama.yaml"),
            "--no-pdf",
            "-q",
        ]
    )
    assert rc == 0
    data = json.loads((out / "results.json").read_text())
    schema = json.loads(resources.files("monev").joinpath("results.schema.json").read_text())
    jsonschema.validate(data, schema)
    by = {o["name"]: o["previous"] for o in data["offices"]}
    assert by["DINAS A"]["score_delta"] == 2.85
    assert by["Dinas Naik"]["band_move"] == 1 and by["Dinas Tambahan"] is None
    assert data["previous"]["moved_up"] == ["Dinas Naik"]
    assert data["previous"]["distribution"]["previous"]["Kurang Informatif"] == 1
    assert data["previous"]["distribution"]["current"]["Cukup Informatif"] == 1
    # In the reports, from the same data.
    run = score_paths([years / "2024"], rubric)
    run.comparison = compare(
        run, load_previous(years / "last.json"), load_mapping(years / "ganti-nama.yaml")
    )
    naik = next(o for o in run.offices if o.name == "Dinas Naik")
    html = render_office_html(run, naik)
    assert "Perubahan dari tahun lalu" in html
    assert "Nilai 40,00 → 60,00 (+20,00); predikat Kurang Informatif → Cukup Informatif" in html
    city = render_city_html(run)
    assert "Naik predikat</b>: Dinas Naik (Kurang Informatif → Cukup Informatif)" in city
    assert "Kantor baru: Dinas Tambahan" in city and "Tidak ada tahun ini: Dinas Hilang" in city


def test_previous_from_a_folder_of_workbooks_and_bad_input(years, rubric, tmp_path):
    run = score_paths([years / "2024"], rubric)
    cmp = compare(run, load_previous(years / "2023", rubric))
    assert cmp.offices["a.xlsx"].score_delta == Decimal("2.85")
    (tmp_path / "rusak.json").write_text("{}")
    assert (
        main(
            [
                "score",
                str(years / "2024"),
                "--out",
                str(tmp_path / "o"),
                "--no-pdf",
                "--previous",
                str(tmp_path / "rusak.json"),
            ]
        )
        == 2
    )


@pytest.mark.pdf
def test_deltas_in_the_pdfs(years, rubric, tmp_path):
    from pypdf import PdfReader

    from monev.report import render_reports

    run = score_paths([years / "2024"], rubric)
    run.comparison = compare(run, load_previous(years / "last.json"))
    render_reports(run, tmp_path, jobs=1)
    office = PdfReader(tmp_path / "kantor" / "dinas-naik.pdf").pages[0].extract_text()
    assert "Perubahan dari tahun lalu" in office and "(+20,00)" in office
    city = "\n".join(p.extract_text() for p in PdfReader(tmp_path / "kota.pdf").pages)
    assert "Naik predikat: Dinas Naik (Kurang Informatif → Cukup Informatif)" in city


def test_demo_city_against_last_years_set(tmp_path, rubric):
    """questionnaires/contoh-2023 is last year's demo set: one office renamed, one new, one gone."""
    root = DEMO.parent
    assert (
        main(["score", str(root / "contoh-2023"), "--out", str(tmp_path / "h23"), "--no-pdf", "-q"])
        == 0
    )
    assert (
        main(
            [
                "score",
                str(DEMO),
                "--stages",
                str(root / "contoh-tahapan.xlsx"),
                "--out",
                str(tmp_path / "h24"),
                "--no-pdf",
                "-q",
                "--previous",
                str(tmp_path / "h23" / "results.json"),
                "--rename-map",
                str(root / "ganti-nama.yaml"),
            ]
        )
        == 0
    )
    then = {
        o["name"]: o for o in json.loads((tmp_path / "h23" / "results.json").read_text())["offices"]
    }
    now = json.loads((tmp_path / "h24" / "results.json").read_text())
    renamed = {"Dinas Komunikasi, Informatika dan Statistik": "Dinas Komunikasi dan Informatika"}
    for o in now["offices"]:
        old = then.get(renamed.get(o["name"], o["name"]))
        if old is None:
            assert o["previous"] is None and o["name"] == "Kelurahan Kepel"
            continue
        # Each change is the difference of the two published figures, recomputed here.
        assert o["previous"]["score"] == old["score"]
        assert o["previous"]["score_delta"] == pytest.approx(o["score"] - old["score"], abs=1e-9)
        for a, b in zip(o["aspects"], old["aspects"], strict=True):
            assert o["previous"]["aspects"][a["code"]] == pytest.approx(a["score"] - b["score"])
    assert now["previous"]["new"] == ["Kelurahan Kepel"]
    assert now["previous"]["gone"] == ["UPT Pengelolaan Sampah"]
    assert now["previous"]["matched"] == 29
    # The stage-weighted PPID Utama (README): 7333/77 x 0.8 + 9.2 + 9 = 94.387... -> 94.39
    utama = next(o for o in now["offices"] if o["unit_type"] == "PPID Utama")
    assert utama["stages"] == {"visitasi": 92, "wawancara": 90} and utama["score"] == 94.39


# --- --previous and --rename-map are checked field by field, before any scoring (issue 9) -------

LEGACY = DATA / "results-0.1.0.json"  # written by monev 0.1.0 (no schema_version), unchanged


@pytest.fixture(scope="module")
def this_year(tmp_path_factory, rubric):
    root = tmp_path_factory.mktemp("ini")
    write_workbook(
        root / "a.xlsx", rubric, [("JI-01", "Ya", EV), ("JI-02", "Ya", EV)], office="Dinas A"
    )
    return root


def _score(this_year, tmp_path, *extra: str) -> int:
    return main(
        ["score", str(this_year), "--out", str(tmp_path / "hasil"), "--no-pdf", "-q", *extra]
    )


def test_results_from_the_previous_release_still_work(this_year, tmp_path, capsys):
    assert "schema_version" not in json.loads(LEGACY.read_text())
    assert _score(this_year, tmp_path, "--previous", str(LEGACY)) == 0
    data = json.loads((tmp_path / "hasil" / "results.json").read_text())
    assert data["schema_version"] == 1
    a = data["offices"][0]["previous"]
    # Last year Dinas A had JI-02 only: 1 of 14 JI indicators, 40 x 1/14 = 2.857 -> 2.86; now two:
    # 40 x 2/14 = 5.714 -> 5.71, a change of 5.71 - 2.86 = 2.85.
    assert (a["score"], a["rank"], a["score_delta"]) == (2.86, 2, 2.85)
    assert data["previous"]["as_of"] == "2023-11-14"
    assert data["previous"]["gone"] == ["Dinas Naik"]


def test_a_current_results_json_reads_back(this_year, rubric):
    run = score_paths([this_year], rubric)
    prev = parse_results_json(run.to_json())
    assert json.loads(run.to_json())["schema_version"] == 1
    assert prev.offices["dinas a"].score == Decimal("5.71")


def _office_score(literal: str) -> str:
    """The legacy file with Dinas A's score written as ``literal`` (a JSON token)."""
    text = LEGACY.read_text()
    old = '"rank": 2,\n      "score": 2.86,'
    assert old in text
    return text.replace(old, f'"rank": 2,\n      "score": {literal},')


def _legacy_with(change) -> str:
    data = json.loads(LEGACY.read_text())
    change(data)
    return json.dumps(data)


def _set(path: str, value):
    def change(data):
        target = data
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return change


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (_legacy_with(_set("offices.0.name", 42)), "offices[0].name"),
        (_legacy_with(_set("offices.1.name", None)), "offices[1].name"),
        (_legacy_with(_set("offices.0.name", "   ")), "offices[0].name"),
        (_legacy_with(_set("as_of", {"tahun": 2023})), "as_of"),
        (_legacy_with(_set("as_of", "kemarin")), "as_of"),
        (
            _legacy_with(_set("offices.1.score", "1e999999999")),
            "offices[1].score (kantor 'Dinas A')",
        ),
        (_legacy_with(_set("offices.1.score", 101)), "offices[1].score (kantor 'Dinas A')"),
        (_legacy_with(_set("offices.0.rank", 0)), "offices[0].rank (kantor 'Dinas Naik')"),
        (_legacy_with(_set("offices.0.rank", True)), "offices[0].rank"),
        (_legacy_with(_set("offices.0.aspects.0.score", [1])), "offices[0].aspects[0].score"),
        (_legacy_with(_set("offices.0.indicators", {})), "offices[0].indicators"),
        (_legacy_with(_set("offices", None)), "offices"),
        (_legacy_with(_set("summary.predicates.Informatif", -1)), "summary.predicates"),
        (_office_score("NaN"), "NaN"),
        (_office_score("Infinity"), "Infinity"),
        (_office_score("1e999999999"), "offices[1].score"),
        (_office_score("-0.001"), "offices[1].score"),
        ("[" * 100_000 + "]" * 100_000, "terlalu dalam"),
        (_legacy_with(_set("schema_version", 2)), "monev yang lebih baru"),
        (_legacy_with(_set("offices.1.name", "DINAS NAIK")), "'Dinas Naik' dan 'DINAS NAIK'"),
        ('"hasil"', "(root)"),
    ],
    ids=lambda v: v if len(v) < 40 else "",
)
def test_bad_previous_is_a_usage_error_before_any_work(
    this_year, tmp_path, capsys, monkeypatch, text, words
):
    bad = tmp_path / "lalu.json"
    bad.write_text(text, encoding="utf-8")

    def no_scoring(*args, **kwargs):
        raise AssertionError("scored before --previous was checked")

    monkeypatch.setattr("monev.batch.score_paths", no_scoring)
    assert _score(this_year, tmp_path, "--previous", str(bad)) == 2
    err = capsys.readouterr().err
    assert err.startswith("--previous: ") and words in err, err
    assert not (tmp_path / "hasil").exists()  # nothing written, not even results.json


def test_bad_previous_message_in_english(this_year, tmp_path, capsys):
    bad = tmp_path / "lalu.json"
    bad.write_text(_legacy_with(_set("offices.1.score", "95")), encoding="utf-8")
    assert _score(this_year, tmp_path, "--previous", str(bad), "--lang", "en") == 2
    assert capsys.readouterr().err.strip() == (
        f"--previous: Fix offices[1].score (office 'Dinas A') in {bad}: "
        "must be a number from 0 to 100 with at most 10 decimals"
    )


def test_oversized_previous_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr("monev.compare.MAX_PREVIOUS_BYTES", 1000)
    monkeypatch.setattr("monev.compare.json.loads", None)  # never reached
    with pytest.raises(PreviousError) as info:
        load_previous(LEGACY)
    assert info.value.key == "previous.too_large"


def test_previous_folder_means_its_results_json(this_year, rubric, tmp_path):
    """`--previous hasil` used to score rekap.xlsx as a workbook and match nothing."""
    last = tmp_path / "hasil-2023"
    last.mkdir()
    (last / "results.json").write_text(LEGACY.read_text(), encoding="utf-8")
    (last / "rekap.xlsx").write_bytes(b"PK\x03\x04 not a questionnaire")
    assert _score(this_year, tmp_path, "--previous", str(last)) == 0
    data = json.loads((tmp_path / "hasil" / "results.json").read_text())
    assert data["previous"]["matched"] == 1 and data["previous"]["gone"] == ["Dinas Naik"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Dinas Lama: Dinas A\nDinas Kuno: Dinas A\n", "'Dinas Lama' dan 'Dinas Kuno'"),
        ("Dinas Lama: Dinas A\nDINAS  LAMA: Dinas B\n", "'DINAS  LAMA' tertulis dua kali"),
        ("Dinas Lama: Dinas A\nDinas Lama: Dinas B\n", "'Dinas Lama' tertulis dua kali (baris 2)"),
        ("Dinas Lama: 2023\n", "2023 bukan nama kantor"),
        ("Dinas Lama: [Dinas A]\n", "bukan nama kantor"),
        ("- Dinas Lama\n- Dinas A\n", "bukan peta ganti nama"),
        ("a: &a Dinas A\nb: *a\n", "memakai alias YAML"),
        ("Dinas Lama: [Dinas A\n", "tidak dapat dibaca sebagai YAML"),
    ],
    ids=lambda v: v[:30],
)
def test_bad_rename_map_is_a_usage_error_before_scoring(
    this_year, tmp_path, capsys, monkeypatch, text, words
):
    bad = tmp_path / "ganti.yaml"
    bad.write_text(text, encoding="utf-8")

    def no_scoring(*args, **kwargs):
        raise AssertionError("scored before --rename-map was checked")

    monkeypatch.setattr("monev.batch.score_paths", no_scoring)
    rc = _score(this_year, tmp_path, "--previous", str(LEGACY), "--rename-map", str(bad))
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("--rename-map: ") and words in err, err
    assert not (tmp_path / "hasil").exists()


def test_rename_map_that_is_not_a_file(this_year, tmp_path, capsys):
    fifo = tmp_path / "peta"
    os.mkfifo(fifo)  # reading it would wait for a writer for ever
    for path in (fifo, tmp_path, tmp_path / "tidak-ada.yaml"):
        rc = _score(this_year, tmp_path, "--previous", str(LEGACY), "--rename-map", str(path))
        assert rc == 2
        assert "tidak ditemukan atau bukan berkas biasa" in capsys.readouterr().err


def test_rename_map_alias_bomb_is_refused_fast(tmp_path):
    """Nine levels of ten aliases: 10**9 names once expanded (was 60 s and 6 GB)."""
    lines = ["a0: &a0 [Dinas A, Dinas A, Dinas A, Dinas A, Dinas A]"]
    for k in range(1, 10):
        lines.append(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 10) + "]")
    bomb = tmp_path / "bom.yaml"
    bomb.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(PreviousError) as info:
        load_mapping(bomb)
    assert time.monotonic() - started < 5  # generous: it stops at the first alias
    assert info.value.key == "rename.aliases"


def test_rename_map_never_merges_two_offices_of_this_run(rubric, tmp_path, capsys):
    """The map says Dinas Lama became Dinas Baru, yet this run still has a Dinas Lama."""
    now = tmp_path / "2024"
    now.mkdir()
    write_workbook(now / "lama.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas Lama")
    write_workbook(now / "baru.xlsx", rubric, [], office="Dinas Baru")
    last = tmp_path / "last.json"
    last.write_text(
        _legacy_with(_set("offices.1.name", "Dinas Lama")), encoding="utf-8"
    )  # last year: Dinas Naik and Dinas Lama
    mapping = tmp_path / "ganti.yaml"
    mapping.write_text("Dinas Lama: Dinas Baru\n", encoding="utf-8")
    rc = main(
        [
            *("score", str(now), "--out", str(tmp_path / "hasil"), "--no-pdf", "-q"),
            *("--previous", str(last), "--rename-map", str(mapping)),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "'Dinas Baru' dan 'Dinas Lama' di penilaian ini" in err or (
        "'Dinas Lama' dan 'Dinas Baru' di penilaian ini" in err
    ), err
    assert not (tmp_path / "hasil").exists()
