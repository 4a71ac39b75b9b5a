"""Reading filled workbooks: layout tolerance, answer checks, and files that are not workbooks."""

from __future__ import annotations

import random
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
from helpers import answer_rows, small_rubric, write_workbook

from monev.batch import score_paths
from monev.scoring import score
from monev.stages import apply_stages
from monev.workbook import read_questionnaire

EV = "https://ppid.contoh.go.id/bukti"


def raw_workbook(
    path: Path,
    header: list[str],
    rows: list[list[object]],
    *,
    skip_rows: int = 0,
    sheet: str = "Kuesioner",
    identity: dict[str, object] | None = None,
) -> Path:
    """A hand-made workbook: ``skip_rows`` blank rows, then ``header``, then ``rows``."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for _ in range(skip_rows):
        ws.append([])
    ws.append(header)
    for row in rows:
        ws.append(row)
    ident = wb.create_sheet("Identitas")
    for label, value in (identity or {"Nama Kantor": "Kantor Uji"}).items():
        ident.append([label, value])
    wb.save(path)
    return path


def codes(q) -> list[str]:
    return [p.code for p in q.problems]


def test_header_found_anywhere_and_columns_by_name(tmp_path):
    r = small_rubric()
    rows = [["x", "B-01", "B", EV], ["x", "A-01", " ya ", EV], ["x", "A-02", "TIDAK", ""]]
    p = raw_workbook(
        tmp_path / "a.xlsx", ["Catatan", "Kode", "Jawaban", "Bukti"], rows, skip_rows=9
    )
    q = read_questionnaire(p, r)
    assert q.answers["A-01"].parsed.text == "Ya"
    assert q.answers["A-02"].parsed.text == "Tidak"
    assert q.answers["B-01"].parsed.value == Decimal("0.75")
    assert q.office.name == "Kantor Uji"
    # A-03, B-02.1-4 and B-03 are absent: each is a problem named by code, never ignored.
    missing = sorted(p.param("code") for p in q.problems if p.code == "MV204")
    assert missing == ["A-03", "B-02.1", "B-02.2", "B-02.3", "B-02.4", "B-03"]


def test_row_order_and_blank_rows_do_not_change_the_score(tmp_path):
    r = small_rubric()
    table = [
        ["A-01", "Ya", EV],
        ["A-02", "Tidak", ""],
        ["A-03", "Ya", ""],
        ["B-01", "C", EV],
        ["B-02.1", "Ya", EV],
        ["B-02.2", "Tidak", ""],
        ["B-02.3", "Ya", EV],
        ["B-02.4", "Ya", ""],
        ["B-03", "7", ""],
    ]
    header = ["Kode", "Jawaban", "Bukti"]
    base = score(r, read_questionnaire(raw_workbook(tmp_path / "a.xlsx", header, table), r))
    rng = random.Random(7)
    for k in range(5):
        shuffled = [list(x) for x in table]
        rng.shuffle(shuffled)
        shuffled.insert(rng.randrange(len(shuffled)), ["", "", ""])
        q = read_questionnaire(raw_workbook(tmp_path / f"s{k}.xlsx", header, shuffled), r)
        s = score(r, q)
        assert (s.saq_claimed, s.saq_verifiable) == (base.saq_claimed, base.saq_verifiable)


def test_problems_name_the_cell_and_say_what_to_do(tmp_path):
    r = small_rubric()
    rows = [
        ["A-01", "Mungkin", EV],
        ["A-02", "", ""],
        ["A-01", "Ya", EV],
        ["Z-99", "Ya", ""],
        ["A-03", "Ya", ""],
    ]
    q = read_questionnaire(raw_workbook(tmp_path / "p.xlsx", ["Kode", "Jawaban", "Bukti"], rows), r)
    by_code = {p.code: p for p in q.problems}
    assert by_code["MV201"].cell == "B2" and by_code["MV201"].sheet == "Kuesioner"
    assert "Mungkin" in by_code["MV201"].message()
    assert by_code["MV202"].cell == "B3"
    assert by_code["MV205"].cell == "A4" and "A2" in by_code["MV205"].message()
    assert by_code["MV203"].cell == "A5"
    assert by_code["MV301"].cell == "C6"
    text = by_code["MV201"].text()
    assert text.startswith("[p.xlsx: Kuesioner!B2] MV201")
    assert text.endswith("Pilih jawaban dari daftar pilihan di sel tersebut")
    assert by_code["MV201"].text("en").endswith("Pick an answer from the cell's drop-down list")
    # The invalid answer counts 0 and is flagged; it is never silently scored.
    assert score(r, q).indicators[0].status == "invalid"


def test_rubric_mismatch_and_stage_scores(tmp_path, rubric):
    p = raw_workbook(
        tmp_path / "x.xlsx",
        ["Kode", "Jawaban", "Bukti"],
        [["JI-01", "Ya", EV]],
        identity={
            "Nama Kantor": "Dinas X",
            "ID Rubrik": "ki-jatim-2023",
            "Nilai Visitasi": 85.5,
            "Nilai Wawancara": "seratus",
        },
    )
    q = read_questionnaire(p, rubric)
    assert "MV402" in codes(q)
    # Stage cells are recorded as typed, with their cell; they count only when the run allows it
    # (monev.stages.apply_stages, tested in test_stages.py).
    assert q.stage_scores == {}
    assert {k: v for k, (v, _) in q.workbook_stages.items()} == {
        "visitasi": "85.5",
        "wawancara": "seratus",
    }
    used = apply_stages(q, rubric, from_workbooks=True)
    assert {"MV404", "MV405"} <= set(codes(used))
    assert used.stage_scores == {"visitasi": Decimal("85.5")}


def test_template_round_trip_reads_every_row(tmp_path, rubric):
    p = write_workbook(tmp_path / "t.xlsx", rubric, [], office="Dinas Kesehatan")
    q = read_questionnaire(p, rubric)
    assert q.office.name == "Dinas Kesehatan" and q.office.unit_type == "OPD"
    assert q.rubric_id == rubric.id and q.rubric_version == rubric.version
    assert set(q.answers) == set(answer_rows(rubric))
    # Every scored row is empty (the informational PI-05 may stay empty): one line that says so,
    # not one MV202 per row (issue 8).
    assert codes(q) == ["MV211"]
    assert q.problems[0].param("count") == str(len(answer_rows(rubric)) - 1)


# --- files that are not what they claim -------------------------------------------------------


CORPUS = Path(__file__).parent / "data" / "bad"


def test_bad_file_corpus_each_with_its_code_and_the_batch_goes_on(tmp_path, rubric):
    import yaml

    from monev.cli import main

    expected = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
    good = write_workbook(tmp_path / "baik.xlsx", rubric, [("JI-01", "Ya", EV)])
    run = score_paths([CORPUS, good], rubric)
    assert {x.file: x.problems[0].code for x in run.rejected} == expected["rejected"]
    assert {x.file: x.problems[0].code for x in run.skipped} == expected["skipped"]
    scored = {o.file: {p.code for p in o.problems} for o in run.offices}
    assert set(scored) == {"baik.xlsx", *expected["scored"]}
    for name, codes_ in expected["scored"].items():
        assert set(codes_) <= scored[name], name
    # Every file in the folder is accounted for, once.
    on_disk = {p.name for p in CORPUS.iterdir() if p.name != "expected.yaml"}
    assert run.received == len(on_disk) + 1
    assert (
        main(["score", str(CORPUS), str(good), "--out", str(tmp_path / "out"), "--no-pdf", "-q"])
        == 1
    )


def test_missing_sheet_suggests_the_nearest_name(tmp_path, rubric):
    p = raw_workbook(tmp_path / "s.xlsx", ["Kode", "Jawaban", "Bukti"], [], sheet="Kuisioner")
    q = read_questionnaire(p, rubric)
    assert codes(q) == ["MV105"]
    assert "Kuisioner" in q.problems[0].todo()


def test_missing_columns_are_named(tmp_path, rubric):
    p = raw_workbook(tmp_path / "c.xlsx", ["Kode", "Jawaban"], [["JI-01", "Ya"]])
    q = read_questionnaire(p, rubric)
    assert codes(q) == ["MV106"] and "Bukti" in q.problems[0].message()


def test_lock_file_is_skipped_and_said(tmp_path, rubric):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "~$dinkes.xlsx").write_bytes(b"\0" * 165)
    write_workbook(folder / "dinkes.xlsx", rubric, [("JI-01", "Ya", EV)])
    run = score_paths([folder], rubric)
    assert len(run.offices) == 1 and not run.rejected
    assert [(x.file, x.problems[0].code) for x in run.skipped] == [("~$dinkes.xlsx", "MV109")]


def test_evidence_warnings(tmp_path, rubric):
    rows = [
        ("JI-01", "Ya", "https://drive.google.com/file/d/abc/view?usp=sharing"),
        ("JI-02", "Ya", "lihat di website"),
        ("JI-03", "Ya", "SK PPID 2024.pdf"),
    ]
    q = read_questionnaire(write_workbook(tmp_path / "e.xlsx", rubric, rows), rubric)
    found = {(p.code, p.param("code")) for p in q.problems if p.code.startswith("MV3")}
    # "lihat di website" is nothing a verifier can open (MV310, scored 0); a file name is fine.
    assert found == {("MV303", "JI-01"), ("MV310", "JI-02")}


def test_formula_answers_use_their_cached_value_or_are_reported(tmp_path, rubric):
    p = write_workbook(
        tmp_path / "f.xlsx", rubric, [("JI-01", '=IF(1=1,"Ya","Tidak")', EV), ("JI-02", "", EV)]
    )
    # openpyxl stores the formula without a cached value, as a generator script would.
    q = read_questionnaire(p, rubric)
    by_cell = {p.cell: p.code for p in q.problems}
    assert by_cell["E8"] == "MV206"  # JI-01: a formula, never calculated
    assert by_cell["E9"] == "MV202"  # JI-02: really empty
    # The same formula with a cached value (as Excel or LibreOffice save it) is read as "Ya".
    with zipfile.ZipFile(p) as zin, zipfile.ZipFile(tmp_path / "g.xlsx", "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(
                    rb'<c r="E8"( s="\d+")?><f>(.*?)</f><v ?/></c>',
                    rb'<c r="E8"\1 t="str"><f>\2</f><v>Ya</v></c>',
                    data,
                )
            zout.writestr(item, data)
    q2 = read_questionnaire(tmp_path / "g.xlsx", rubric)
    assert q2.answers["JI-01"].parsed.text == "Ya"


def test_hidden_rows_merged_header_cells_and_extra_columns(tmp_path):
    r = small_rubric()
    p = raw_workbook(
        tmp_path / "m.xlsx",
        ["Kode", "Pertanyaan", "Jawaban", "", "Bukti", "Lain"],
        [["A-01", "q", "Ya", "", EV, "x"], ["A-02", "q", "Ya", "", "", "y"]],
        skip_rows=2,
    )
    wb = openpyxl.load_workbook(p)
    ws = wb["Kuesioner"]
    ws.merge_cells("C3:D3")  # "Jawaban" spans two columns, as hand-made templates do
    ws.row_dimensions[5].hidden = True  # A-02 hidden: still read and scored
    wb.save(p)
    q = read_questionnaire(p, r)
    assert q.answers["A-01"].parsed.text == "Ya" and q.answers["A-01"].evidence == EV
    assert q.answers["A-02"].parsed.text == "Ya"
    assert "MV301" in codes(q)  # A-02 claims without evidence


def test_older_rubric_version_is_a_warning(tmp_path, rubric):
    p = raw_workbook(
        tmp_path / "v.xlsx",
        ["Kode", "Jawaban", "Bukti"],
        [["JI-01", "Ya", EV]],
        identity={"Nama Kantor": "Dinas V", "ID Rubrik": rubric.id, "Versi Rubrik": "0.9"},
    )
    q = read_questionnaire(p, rubric)
    problem = next(p for p in q.problems if p.code == "MV403")
    assert problem.severity == "warning" and problem.cell == "B3"


def test_text_starting_with_at_sign_is_data_not_a_catalogue_key(tmp_path, rubric):
    """Issue 8: `@ppid_kota (Instagram)` as evidence and `@Ya` as an answer once stopped the run
    (exit 3): the problem catalogue took a value starting with `@` for one of its own keys."""
    rows = [("JI-01", "Ya", "@ppid_kota (Instagram)"), ("JI-02", "@Ya", EV)]
    path = write_workbook(tmp_path / "at.xlsx", rubric, rows)
    run = score_paths([path], rubric)
    (office,) = run.offices
    texts = [p.text() for p in office.problems]
    assert any("@ppid_kota" in x for x in texts)
    assert any("@Ya" in x for x in texts)


def test_problems_have_typed_places_and_one_reading_order():
    from monev.problems import Problem

    a = Problem.make("MV202", "a.xlsx", "Kuesioner", "E10", code="JI-03")
    b = Problem.make("MV202", "a.xlsx", "Kuesioner", "E9", code="JI-02")
    c = Problem.make("MV201", "a.xlsx", "Kuesioner", "AA9", code="JI-02")
    d = Problem.make("MV401", "a.xlsx", "Identitas", "B5")
    assert (a.row, a.column, a.indicator) == (10, 5, "JI-03")
    assert (c.row, c.column) == (9, 27) and (d.row, d.indicator) == (5, "")
    # Row 9 before row 10 (a string order put "E10" first), column E before AA.
    assert sorted([a, c, b, d]) == [d, b, c, a]


def test_office_name_typed_as_an_uncalculated_formula_is_named_as_a_formula(tmp_path):
    # A tired officer builds the name from two cells: =CONCATENATE("Dinas ";"Kominfo").
    # openpyxl (and scripts) save formulas without a computed value, so the reader sees the cell
    # empty. The problem must say it is a formula (the cell is not empty: the officer sees text
    # in Excel), not "Nama kantor kosong".
    r = small_rubric()
    rows = [["x", "A-01", "Ya", EV]]
    p = raw_workbook(
        tmp_path / "dinas_x.xlsx",
        ["Catatan", "Kode", "Jawaban", "Bukti"],
        rows,
        identity={"Nama Kantor": '=CONCATENATE("Dinas ","Kominfo")'},
    )
    q = read_questionnaire(p, r)
    assert "MV401" not in codes(q)
    (found,) = [x for x in q.problems if x.code == "MV407"]
    assert (found.sheet, found.cell) == ("Identitas", "B1")
    assert q.office.name == "dinas x"  # still named from the file, as with an empty cell
    assert "rumus" in found.message("id") and "formula" in found.message("en")


def test_office_name_left_empty_is_still_mv401(tmp_path):
    r = small_rubric()
    p = raw_workbook(
        tmp_path / "a.xlsx",
        ["Kode", "Jawaban", "Bukti"],
        [["A-01", "Ya", EV]],
        identity={"Nama Kantor": None},
    )
    q = read_questionnaire(p, r)
    assert "MV401" in codes(q) and "MV407" not in codes(q)
