"""Year over year: deltas per office, aspect and indicator, band moves, renamed offices."""

from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources

import jsonschema
import pytest
from conftest import DEMO
from helpers import write_workbook
from test_scoring import best

from monev.batch import score_paths
from monev.cli import main
from monev.compare import compare, load_mapping, load_previous
from monev.report import render_city_html, render_office_html

EV = "https://ppid.contoh.go.id/bukti"


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
