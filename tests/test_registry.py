"""The city's registry of offices (issue 10 items 1, 2 and 4): matching, coverage, bad rows."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from conftest import ROOT
from helpers import write_workbook

from monev.batch import score_paths
from monev.cli import main
from monev.registry import Entry, load_registry, registry_bytes
from monev.results import to_xlsx

EV = "https://ppid.example.go.id/sk.pdf"
HEADER = "Nama Kantor,Jenis Unit,Induk/Kecamatan,Nama Lain,Nama Lama,Kontak\n"
CITY = ROOT / "questionnaires" / "kota-lengkap"
CITY_REGISTRY = ROOT / "questionnaires" / "kota-lengkap-daftar.xlsx"
CITY_STAGES = ROOT / "questionnaires" / "kota-lengkap-tahapan.xlsx"


def workbook(
    path: Path, rubric, office: str, unit: str = "OPD", kecamatan: str = "", answer: str = "Ya"
) -> Path:
    """A workbook answering JI-01 (with evidence), with the given identity."""
    write_workbook(path, rubric, [("JI-01", answer, EV)], office=office, unit_type=unit)
    if kecamatan:
        from openpyxl import load_workbook

        wb = load_workbook(path)
        ident = wb["Identitas"]
        for r in range(1, ident.max_row + 1):
            if ident.cell(row=r, column=1).value == "Kecamatan":
                ident.cell(row=r, column=2).value = kecamatan
        wb.save(path)
    return path


def registry_csv(path: Path, body: str, *, header: str = HEADER, encoding="utf-8") -> Path:
    path.write_bytes((header + body).encode(encoding))
    return path


FIVE = (
    "Dinas Kesehatan,OPD,,,,dr. Ani 0343-1\n"
    "Dinas Sosial,OPD,,,,Budi 0343-2\n"
    "Kecamatan Gadingrejo,Kecamatan,,,,Camat 0343-3\n"
    "Kelurahan Sebani,Kelurahan,Gadingrejo,,,Lurah 0343-4\n"
    'Kelurahan Bugul Lor,Kelurahan,Gadingrejo,"Kel. Bugul Lor; Bugul Lor",,Lurah 0343-5\n'
)


def test_registry_of_n_offices_with_m_workbooks_lists_exactly_the_missing(tmp_path, rubric):
    # N = 5 registered offices, M = 3 workbooks (Dinas Kesehatan, Kecamatan Gadingrejo,
    # Kelurahan Sebani): missing = the other 5 - 3 = 2, in registry order, with contacts.
    reg = load_registry(registry_csv(tmp_path / "daftar.csv", FIVE))
    assert reg.usable and len(reg.entries) == 5
    src = tmp_path / "in"
    src.mkdir()
    workbook(src / "a.xlsx", rubric, "Dinas Kesehatan")
    workbook(src / "b.xlsx", rubric, "Kecamatan Gadingrejo", "Kecamatan", "Gadingrejo")
    workbook(src / "c.xlsx", rubric, "Kelurahan Sebani", "Kelurahan", "Gadingrejo")
    run = score_paths([src], rubric, registry=reg)
    assert [e.name for e in run.missing] == ["Dinas Sosial", "Kelurahan Bugul Lor"]
    assert [e.contact for e in run.missing] == ["Budi 0343-2", "Lurah 0343-5"]
    assert not run.needs_attention  # missing offices are listed, not a reason for exit 1
    cov = run.coverage
    assert cov is not None
    # sent / expected: all 3/5; OPD 1/2 (Dinas Sosial missing); Kecamatan 1/1; Kelurahan 1/2.
    assert (cov.total.sent, cov.total.expected) == (3, 5)
    assert {k: (c.sent, c.expected) for k, c in cov.by_unit_type.items()} == {
        "OPD": (1, 2),
        "Kecamatan": (1, 1),
        "Kelurahan": (1, 2),
    }
    # Gadingrejo: the kecamatan office (its kecamatan taken from its name) + 2 kelurahan = 3,
    # of which Bugul Lor is missing: 2/3.
    assert {k: (c.sent, c.expected) for k, c in cov.by_kecamatan.items()} == {"Gadingrejo": (2, 3)}
    data = json.loads(run.to_json())
    schema = json.loads(resources.files("monev").joinpath("results.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert [m["name"] for m in data["missing"]] == ["Dinas Sosial", "Kelurahan Bugul Lor"]
    assert data["coverage"]["sent"] == 3 and data["coverage"]["expected"] == 5
    groups = run.kecamatan_groups()
    assert [g.name for g in groups] == ["Gadingrejo"]
    assert groups[0].office is not None and groups[0].office.name == "Kecamatan Gadingrejo"
    assert [o.name for o in groups[0].kelurahan] == ["Kelurahan Sebani"]
    assert [e.name for e in groups[0].missing] == ["Kelurahan Bugul Lor"]
    assert (groups[0].sent, groups[0].expected) == (2, 3)  # as coverage.by_kecamatan


def test_without_registry_results_and_rekap_are_as_before(tmp_path, rubric):
    workbook(tmp_path / "a.xlsx", rubric, "Dinas Kesehatan")
    run = score_paths([tmp_path / "a.xlsx"], rubric)
    data = json.loads(run.to_json())
    assert "missing" not in data and "coverage" not in data and run.coverage is None
    import io

    from openpyxl import load_workbook

    assert load_workbook(io.BytesIO(to_xlsx(run))).sheetnames == [
        "Peringkat",
        "Indikator",
        "Masalah",
        "Ditolak",
    ]


def test_workbook_under_another_name_is_matched_and_shown_under_the_registry_name(tmp_path, rubric):
    reg = load_registry(registry_csv(tmp_path / "daftar.csv", FIVE))
    src = tmp_path / "in"
    src.mkdir()
    workbook(src / "bugul.xlsx", rubric, "Kel. Bugul Lor", "Kelurahan", "Gadingrejo")
    run = score_paths([src], rubric, registry=reg)
    assert [o.name for o in run.offices] == ["Kelurahan Bugul Lor"]
    assert not run.rejected
    assert "Kelurahan Bugul Lor" not in [e.name for e in run.missing]
    # A second workbook under the other registered name ("Bugul Lor") is the same office: a copy
    # set aside (keyed by the registry entry), not a second rank.
    workbook(src / "bugul-2.xlsx", rubric, "BUGUL LOR", "Kelurahan", "Gadingrejo")
    run = score_paths([src], rubric, registry=reg)
    assert [o.name for o in run.offices] == ["Kelurahan Bugul Lor"]
    assert [x.problems[0].code for x in run.skipped] == ["MV430"]


def test_unregistered_office_is_rejected_with_the_closest_names(tmp_path, rubric, capsys):
    daftar = registry_csv(tmp_path / "daftar.csv", FIVE)
    src = tmp_path / "in"
    src.mkdir()
    workbook(src / "a.xlsx", rubric, "Dinas Kesehatn")  # a typo
    workbook(src / "b.xlsx", rubric, "Dinas Sosial")
    run = score_paths([src], rubric, registry=load_registry(daftar))
    assert [o.name for o in run.offices] == ["Dinas Sosial"]
    assert [x.file for x in run.rejected] == ["a.xlsx"]
    p = run.rejected[0].problems[0]
    assert p.code == "MV446" and p.severity == "fatal"
    assert p.param("office") == "Dinas Kesehatn"
    assert p.param("suggestions").split(", ")[0] == "Dinas Kesehatan"
    # The office it was meant to be is still missing: a rejected file is not "sent".
    assert run.missing[0].name == "Dinas Kesehatan"
    out = tmp_path / "out"
    rc = main(["score", str(src), "--offices", str(daftar), "--out", str(out), "--no-pdf", "-q"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "MV446" in err and "Dinas Kesehatan" in err
    assert "Cakupan: 1 dari 5 kantor" in err


def test_registry_wins_where_the_workbook_disagrees_with_a_warning(tmp_path, rubric):
    reg = load_registry(registry_csv(tmp_path / "daftar.csv", FIVE))
    # The workbook says OPD and kecamatan "Gading Rejo"; the registry says Kelurahan, Gadingrejo.
    workbook(tmp_path / "s.xlsx", rubric, "Kelurahan Sebani", "OPD", "Gading Rejo")
    run = score_paths([tmp_path / "s.xlsx"], rubric, registry=reg)
    (o,) = run.offices
    assert (o.office.unit_type, o.office.kecamatan) == ("Kelurahan", "Gadingrejo")
    warned = [p for p in o.problems if p.code == "MV447"]
    assert [(p.param("found"), p.param("used")) for p in warned] == [
        ("OPD", "Kelurahan"),
        ("Gading Rejo", "Gadingrejo"),
    ]
    assert all(p.severity == "warning" for p in warned)
    assert "Jenis Unit" in warned[0].message() and "unit type" in warned[0].message("en")
    # Same kecamatan written differently only in case and spaces is no disagreement.
    workbook(tmp_path / "s.xlsx", rubric, "Kelurahan Sebani", "Kelurahan", " GADINGREJO ")
    run = score_paths([tmp_path / "s.xlsx"], rubric, registry=reg)
    assert not [p for p in run.offices[0].problems if p.code == "MV447"]


BAD_ROWS = (
    # row 2: fine
    "Dinas Kesehatan;OPD;;;;\n"
    # row 3: data but no name -> MV442 at A3
    ";OPD;;;;0343-9\n"
    # row 4: unknown unit type -> MV443 at B4
    "Dinas Sosial;Dinas;;;;\n"
    # row 5: a Kelurahan without its kecamatan -> MV444 at C5
    "Kelurahan Sebani;Kelurahan;;;;\n"
    # row 6: its other name is row 2's name -> MV445 at D6
    "Puskesmas Kota;OPD;;DINAS KESEHATAN.;;\n"
    # row 7: empty, ignored
    ";;;;;\n"
    # row 8: its name is row 6's... no: row 8's old name is row 4's name -> MV445 at E8
    "Dinas Sosial dan PPPA;OPD;;;Dinas  Sosial;\n"
)


def test_registry_with_bad_rows_reports_every_one_with_its_cell(tmp_path, capsys):
    # Semicolons, and a UTF-8 byte order mark (as Excel writes "CSV UTF-8").
    path = registry_csv(
        tmp_path / "daftar.csv", BAD_ROWS, header=HEADER.replace(",", ";"), encoding="utf-8-sig"
    )
    reg = load_registry(path)
    assert not reg.usable
    found = [(p.code, p.sheet, p.cell) for p in reg.problems]
    assert found == [
        ("MV442", "daftar", "A3"),
        ("MV443", "daftar", "B4"),
        ("MV444", "daftar", "C5"),
        ("MV445", "daftar", "D6"),
        ("MV445", "daftar", "E8"),
    ]
    assert reg.problems[3].param("other") == "Dinas Kesehatan"
    assert reg.problems[3].param("other_cell") == "daftar!A2"
    # The same rows in an xlsx registry: the cells name the sheet.
    entries_csv = path.read_text(encoding="utf-8-sig").splitlines()
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Daftar Kantor"
    for line in entries_csv:
        ws.append([v or None for v in line.split(";")])
    wb.save(tmp_path / "daftar.xlsx")
    reg = load_registry(tmp_path / "daftar.xlsx")
    assert [(p.code, p.location) for p in reg.problems][:2] == [
        ("MV442", "daftar.xlsx: Daftar Kantor!A3"),
        ("MV443", "daftar.xlsx: Daftar Kantor!B4"),
    ]
    assert len(reg.problems) == 5
    # monev score refuses the registry (exit 2), printing every problem.
    rc = main(["score", str(tmp_path), "--offices", str(path), "--out", str(tmp_path.parent / "o")])
    assert rc == 2
    err = capsys.readouterr().err
    assert all(code in err for code in ("MV442", "MV443", "MV444", "MV445"))
    assert err.count("MV445") == 2


def test_registry_files_that_cannot_be_used(tmp_path):
    latin = registry_csv(tmp_path / "latin.csv", "Dinas Pariwisata Ã,OPD,,,,\n", encoding="latin-1")
    assert [p.code for p in load_registry(latin).problems] == ["MV440"]
    assert [p.code for p in load_registry(tmp_path / "none.xlsx").problems] == ["MV440"]
    (tmp_path / "x.txt").write_text("x")
    assert [p.code for p in load_registry(tmp_path / "x.txt").problems] == ["MV440"]
    no_header = registry_csv(tmp_path / "h.csv", "Dinas Kesehatan,OPD\n", header="Kantor X,Jenis\n")
    assert [p.code for p in load_registry(no_header).problems] == ["MV441"]
    empty = registry_csv(tmp_path / "e.csv", "")
    assert [p.code for p in load_registry(empty).problems] == ["MV449"]


def test_english_headers_and_names_on_several_lines(tmp_path):
    body = 'Kelurahan Bugul Lor,Kelurahan,Panggungrejo,"Kel. Bugul Lor\nKel Bugul-Lor",,\n'
    reg = load_registry(
        registry_csv(tmp_path / "d.csv", body, header="Name,Unit type,Parent,Aliases,Old names\n")
    )
    assert reg.usable
    assert reg.entries[0].other_names == ("Kel. Bugul Lor", "Kel Bugul-Lor")
    assert reg.match("kel bugul lor") is not None and reg.match("KEL. BUGUL-LOR") is not None


def test_old_name_matches_with_a_warning_and_carries_year_over_year(tmp_path, rubric, capsys):
    daftar = registry_csv(
        tmp_path / "daftar.csv",
        "Dinas Perpustakaan dan Kearsipan,OPD,,,Kantor Perpustakaan; Kantor Arsip,\n"
        "Dinas Sosial,OPD,,,Dinas Sosial dan PPPA,\n",
    )
    last, now = tmp_path / "2023", tmp_path / "2024"
    last.mkdir()
    now.mkdir()
    # Last year: the second old name of the merged office, and Dinas Sosial under its own name
    # (its Nama Lama is from an earlier year).
    workbook(last / "arsip.xlsx", rubric, "Kantor Arsip", answer="Tidak")
    workbook(last / "dinsos.xlsx", rubric, "Dinas Sosial", answer="Tidak")
    workbook(now / "dispusip.xlsx", rubric, "Dinas Perpustakaan dan Kearsipan")
    workbook(now / "dinsos.xlsx", rubric, "Dinas Sosial")
    workbook(now / "perpus.xlsx", rubric, "Kantor Perpustakaan")
    run = score_paths([now], rubric, registry=load_registry(daftar))
    # Two workbooks of one registered office (the new name and an old one): one ranked, one copy.
    assert sorted(o.name for o in run.offices) == [
        "Dinas Perpustakaan dan Kearsipan",
        "Dinas Sosial",
    ]
    assert len(run.skipped) == 1
    out = tmp_path / "out"
    inputs = [str(now / "dispusip.xlsx"), str(now / "dinsos.xlsx")]
    args = ["score", *inputs, "--offices", str(daftar), "--out", str(out), "--no-pdf"]
    assert main([*args, "--previous", str(last)]) == 0
    data = json.loads((out / "results.json").read_text())
    # Both matched: Dispusip through the old name last year knew, Dinas Sosial by its own name.
    assert data["previous"]["new"] == [] and data["previous"]["gone"] == []
    assert data["previous"]["matched"] == 2
    run = score_paths([now / "perpus.xlsx"], rubric, registry=load_registry(daftar))
    assert [p.code for p in run.offices[0].problems if p.code == "MV448"] == ["MV448"]
    assert run.offices[0].name == "Dinas Perpustakaan dan Kearsipan"


def test_offices_template_then_offices_from_round_trip(tmp_path, rubric, capsys):
    blank = tmp_path / "daftar.xlsx"
    assert main(["offices", "template", "-o", str(blank)]) == 0
    from openpyxl import load_workbook

    wb = load_workbook(blank)
    assert wb.sheetnames == ["Daftar Kantor", "Petunjuk"]
    assert [c.value for c in wb["Daftar Kantor"][1]] == [
        "Nama Kantor",
        "Jenis Unit",
        "Induk/Kecamatan",
        "Nama Lain",
        "Nama Lama",
        "Kontak",
    ]
    (dv,) = wb["Daftar Kantor"].data_validations.dataValidation
    assert dv.formula1 == '"PPID Utama,OPD,Kecamatan,Kelurahan"' and "B2" in str(dv.sqref)
    # A blank registry reads without a bad row; it only lists no office yet.
    assert [p.code for p in load_registry(blank).problems] == ["MV449"]
    # Never overwrite a registry someone filled in.
    before = blank.read_bytes()
    assert main(["offices", "template", "-o", str(blank)]) == 2
    assert "--force" in capsys.readouterr().err and blank.read_bytes() == before
    assert main(["offices", "template", "-o", str(tmp_path / "daftar.ods")]) == 2

    src = tmp_path / "in"
    src.mkdir()
    workbook(src / "a.xlsx", rubric, "Dinas Kesehatan")
    workbook(src / "a-revisi.xlsx", rubric, "DINAS KESEHATAN")  # one identity: one row
    workbook(src / "b.xlsx", rubric, "Kelurahan Sebani", "Kelurahan", "Gadingrejo")
    workbook(src / "c.xlsx", rubric, "Kecamatan Gadingrejo", "Kecamatan", "Gadingrejo")
    (src / "rusak.xlsx").write_bytes(b"")  # gives no office, and says so
    assert main(["offices", "from", str(src), "-o", str(blank)]) == 2  # exists
    assert main(["offices", "from", str(src), "-o", str(blank), "--force"]) == 0
    captured = capsys.readouterr()
    assert "rusak.xlsx" in captured.err and "3 kantor dari 5 berkas" in captured.out
    reg = load_registry(blank)
    assert reg.usable
    # Sorted by unit type (OPD, Kecamatan, Kelurahan), then kecamatan, then name.
    assert [(e.name, e.unit_type, e.kecamatan) for e in reg.entries] == [
        ("Dinas Kesehatan", "OPD", ""),
        ("Kecamatan Gadingrejo", "Kecamatan", "Gadingrejo"),
        ("Kelurahan Sebani", "Kelurahan", "Gadingrejo"),
    ]
    (src / "rusak.xlsx").unlink()
    run = score_paths([src], rubric, registry=reg)
    assert run.missing == [] and run.rejected == [] and len(run.offices) == 3


def test_registry_written_and_read_back_as_csv(tmp_path):
    entries = [
        Entry("Kelurahan Bugul Lor", "Kelurahan", "Panggungrejo", ("Kel. Bugul Lor",), (), "x"),
        Entry("=Dinas Uji", "OPD", contact="0343"),
    ]
    (tmp_path / "d.csv").write_bytes(registry_bytes(entries, ".csv"))
    reg = load_registry(tmp_path / "d.csv")
    assert [(e.name, e.other_names, e.contact) for e in reg.entries] == [
        ("Kelurahan Bugul Lor", ("Kel. Bugul Lor",), "x"),
        ("=Dinas Uji", (), "0343"),
    ]


@pytest.mark.skipif(not CITY.is_dir(), reason="full-size demo not generated")
def test_full_size_demo_city_scores_with_its_registry(tmp_path, capsys):
    out = tmp_path / "hasil"
    rc = main(
        [
            "score",
            str(CITY),
            "--offices",
            str(CITY_REGISTRY),
            "--stages",
            str(CITY_STAGES),
            "--out",
            str(out),
            "--no-pdf",
            "-q",
        ]
    )
    # Exit 0: every workbook is matched (Kel. Bugul Lor through its Nama Lain); the 4 kelurahan
    # that have not sent are listed, which is not a reason for exit 1.
    assert rc == 0
    data = json.loads((out / "results.json").read_text())
    reg = load_registry(CITY_REGISTRY)
    units = [e.unit_type for e in reg.entries]
    # 1 PPID Utama + 31 OPD + 4 Kecamatan + 34 Kelurahan = 70.
    assert [units.count(u) for u in ("PPID Utama", "OPD", "Kecamatan", "Kelurahan")] == [
        1,
        31,
        4,
        34,
    ]
    assert data["summary"]["scored"] == 66 and data["rejected"] == []
    assert sorted(m["name"] for m in data["missing"]) == [
        "Kelurahan Krapyakrejo",
        "Kelurahan Mandaranrejo",
        "Kelurahan Sekargadung",
        "Kelurahan Trajeng",
    ]
    assert all(m["contact"] for m in data["missing"])
    cov = data["coverage"]
    assert (cov["sent"], cov["expected"]) == (66, 70)  # 70 - 4 missing
    names = [o["name"] for o in data["offices"]]
    assert "Kelurahan Bugul Lor" in names and "Kel. Bugul Lor" not in names
    # The stages file's rows are found under the registry names: no row missing or unknown.
    assert data["stages_source"]["problems"] == []
    assert not [p for o in data["offices"] for p in o["problems"] if p["code"] == "MV412"]
    utama = data["offices"][0]
    assert utama["unit_type"] == "PPID Utama" and utama["staged"] is True
    bukir = next(o for o in data["offices"] if o["name"] == "Kelurahan Bukir")
    assert bukir["kecamatan"] == "Gadingrejo"
    assert [p["code"] for p in bukir["problems"] if p["code"] == "MV447"] == ["MV447"]
    # Panggungrejo: Kecamatan office + 10 kelurahan = 11 expected, Trajeng missing: 10/11.
    assert {"kecamatan": "Panggungrejo", "sent": 10, "expected": 11} in cov["kecamatan"]
    from monev.batch import score_paths as _score  # the same run through the library
    from monev.rubric import load_rubric

    groups = _score([CITY], load_rubric("ki-jatim-2024"), registry=reg).kecamatan_groups()
    # Panggungrejo's Kecamatan office + 9 kelurahan that sent; Trajeng missing.
    pang = next(g for g in groups if g.name == "Panggungrejo")
    assert pang.office is not None and len(pang.kelurahan) == 9
    assert [e.name for e in pang.missing] == ["Kelurahan Trajeng"]
    scores = [o.score.score for o in pang.kelurahan]
    assert scores == sorted(scores, reverse=True)  # in rank order
    err = capsys.readouterr().err
    assert "Cakupan: 66 dari 70 kantor" in err and "Kelurahan Trajeng" in err
    from openpyxl import load_workbook

    ws = load_workbook(out / "rekap.xlsx")["Belum Mengirim"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("Nama Kantor", "Jenis Unit", "Induk/Kecamatan", "Kontak")
    assert len(rows) == 1 + 4
    cov_rows = list(load_workbook(out / "rekap.xlsx")["Cakupan"].iter_rows(values_only=True))
    # header, all, 4 unit types, 4 kecamatan = 10 rows; Kelurahan 34 - 4 missing = 30.
    assert cov_rows[1] == ("Semua kantor", 66, 70) and ("Kelurahan", 30, 34) in cov_rows
    assert len(cov_rows) == 10


def test_stages_file_row_under_a_registered_other_name_is_found(tmp_path, rubric):
    from decimal import Decimal

    from monev.stages import TemplateRow, load_stages, write_stages_template

    reg = load_registry(registry_csv(tmp_path / "daftar.csv", FIVE))
    src = tmp_path / "in"
    src.mkdir()
    workbook(src / "bugul.xlsx", rubric, "Kelurahan Bugul Lor", "Kelurahan", "Gadingrejo")
    # The verifier typed the office as "Kel. Bugul Lor" (a Nama Lain) in the stages file.
    later = [s.code for s in rubric.stages[1:]]
    row = TemplateRow("Kel. Bugul Lor", {code: Decimal(80) for code in later})
    path = write_stages_template(tmp_path / "tahapan.xlsx", rubric, [row])
    run = score_paths([src], rubric, registry=reg, stages=load_stages(path, rubric))
    (o,) = run.offices
    assert o.score.stage_scores == {code: Decimal(80) for code in later}
    assert not [p for p in o.problems if p.code == "MV412"]  # "no row for this office"
    assert run.stages_source.problems == ()


def test_unit_types_come_from_the_rubric(tmp_path, capsys):
    # ki-kalbar-2025 names Desa and BUMD among its unit types; the default rubric does not.
    daftar = registry_csv(tmp_path / "daftar.csv", "Desa Sukamaju,Desa,,,,\nBank Daerah,BUMD,,,,\n")
    assert [p.code for p in load_registry(daftar).problems] == ["MV443", "MV443"]
    reg = load_registry(daftar, unit_types=["PPID Utama", "OPD", "Desa", "BUMD"])
    assert reg.usable
    assert list(reg.coverage(set()).by_unit_type) == ["Desa", "BUMD"]
    out = tmp_path / "d.xlsx"
    assert main(["offices", "template", "-o", str(out), "--rubric", "ki-kalbar-2025"]) == 0
    from openpyxl import load_workbook

    (dv,) = load_workbook(out)["Daftar Kantor"].data_validations.dataValidation
    assert "Desa" in dv.formula1 and "BUMD" in dv.formula1
