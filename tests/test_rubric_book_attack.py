"""Rubric workbooks as staff really edit them, and as an attacker sends them (wp-rbook2).

Every edit below either gives the rubric the person meant, or a problem at the cell with what to
do; never a silently different weight (an empty cell is weight 1, ``10%`` is 0.1).
"""

from __future__ import annotations

import datetime
import shutil
import subprocess
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook
from typer.testing import CliRunner

from monev.cli import app
from monev.rubric import Exact, load_rubric, parse_rubric
from monev.rubric_book import export_book, read_book, rubric_yaml, same_rubric

runner = CliRunner()
RUBRIC = "ki-jatim-2024"


def _column_of(key: str) -> str:
    """The letter of the Indikator column whose heading ends in ``(key)``."""
    import tempfile

    from openpyxl.utils import get_column_letter

    with tempfile.TemporaryDirectory() as tmp:
        ws = load_workbook(export_book(load_rubric(RUBRIC), Path(tmp) / "r.xlsx"))["Indikator"]
        col = next(c.column for c in ws[1] if str(c.value).endswith(f"({key})"))
    return get_column_letter(col)


W, E = _column_of("weight"), _column_of("evidence_required")


def _indicator_row(ws, code: str) -> list:
    """A plain Ya/Tidak indicator row for sheet ``ws``, placed by the headings' keys."""
    keys = [str(c.value).rsplit("(", 1)[-1].rstrip(")") for c in ws[1]]
    values = {"code": code, "aspect": "JI", "question": "q", "answer.type": "ya_tidak"}
    values |= {"weight": 1, "evidence_required": "Ya"}
    return [values.get(k) for k in keys]


@pytest.fixture(scope="module")
def original():
    return load_rubric(RUBRIC)


@pytest.fixture
def book(tmp_path, original) -> Path:
    return export_book(original, tmp_path / "rubrik.xlsx")


def _edit(book: Path, change) -> Path:
    wb = load_workbook(book)
    change(wb)
    wb.save(book)
    return book


def _found(book: Path) -> set[tuple[str, str, str]]:
    result = read_book(book)
    if result.problems:
        assert result.rubric is None
    return {(p.code, p.sheet, p.cell) for p in result.problems}


def _weight(rubric, code: str):
    return next(i.weight for i in rubric.indicators if i.code == code)


# --- edits that must give the rubric the person meant ------------------------------------------


def _set(ref: str, value, sheet: str = "Indikator"):
    def change(wb):
        wb[sheet][ref] = value

    return change


def _blank_rows_and_moved_columns(wb):
    ws = wb["Indikator"]
    ws.insert_rows(5, 3)  # three blank rows in the middle
    ws.move_range(f"A1:A{ws.max_row}", cols=ws.max_column)  # the code column to the far right
    ws.delete_cols(1)
    notes = wb.create_sheet("Catatan")  # a sheet of notes is ignored
    notes["A1"] = "Catatan rapat"
    notes["B2"] = "=1/0"


# On Indikator, row 2 is JI-01 (weight 1); W is the weight column, E "evidence_required" (found
# from the exported headings: new rubric fields add columns).
MEANT = [
    ("comma", _set(f"{W}2", "10,5"), lambda r: _weight(r, "JI-01") == Decimal("10.5")),
    ("spaces", _set(f"{W}2", " 10 "), lambda r: _weight(r, "JI-01") == 10),
    ("number_as_text", _set(f"{W}2", "3"), lambda r: _weight(r, "JI-01") == 3),
    ("fraction_as_text", _set(f"{W}2", "2/3"), lambda r: _weight(r, "JI-01") == Exact.parse("2/3")),
    ("ya_lowercase", _set(f"{E}2", "ya"), lambda r: r.indicators[0].evidence_required is True),
    ("Y", _set(f"{E}2", "Y"), lambda r: r.indicators[0].evidence_required is True),
    ("TRUE", _set(f"{E}2", True), lambda r: r.indicators[0].evidence_required is True),
    ("N", _set(f"{E}2", "N"), lambda r: r.indicators[0].evidence_required is False),
    (
        "question_with_line_breaks",
        _set("D2", "  Daftar Informasi\nPublik  \n"),
        lambda r: r.indicators[0].question == "Daftar Informasi\nPublik",
    ),
    ("blank_rows_moved_columns_notes", _blank_rows_and_moved_columns, None),
]


@pytest.mark.parametrize("name,change,check", MEANT, ids=[m[0] for m in MEANT])
def test_hurried_edits_give_the_rubric_meant(book, original, name, change, check):
    result = read_book(_edit(book, change))
    assert result.problems == []
    assert result.rubric is not None
    if check is None:
        assert same_rubric(result.rubric, original)
    else:
        assert check(result.rubric)


# --- edits that hide the value: a problem at the cell, never a silent default --------------------


def test_a_formula_never_calculated_is_reported_not_read_as_weight_1(book):
    # openpyxl (and any generator) writes "=100/3" without a cached value: calamine reads "",
    # and an empty weight is the default 1. Before: the book imported with JI-01 weighing 1.
    _edit(book, _set(f"{W}2", "=100/3"))
    _edit(book, _set("C2", "='http://127.0.0.1:1/[x.xlsx]S'!A1", sheet="Aspek"))  # external link
    assert _found(book) == {("MV617", "Indikator", f"{W}2"), ("MV617", "Aspek", "C2")}


def test_an_excel_error_is_reported_not_read_as_weight_1(book):
    _edit(book, _set(f"{W}2", "#REF!"))  # openpyxl stores this as an error cell, like Excel
    assert _found(book) == {("MV618", "Indikator", f"{W}2")}
    text = read_book(book).problems[0].text()
    assert "#REF!" in text


def test_a_weight_typed_as_percent_is_reported_not_read_as_a_tenth(book):
    # Excel stores "10%" typed in a cell as 0.1 with a percent format. Before: weight 0.1,
    # silently (indicator weights are relative, so the JI-01 share fell tenfold).
    def change(wb):
        wb["Indikator"][f"{W}2"] = 0.1
        wb["Indikator"][f"{W}2"].number_format = "0%"
        wb["Aspek"]["C2"] = 0.4  # JI's weight 40 typed as 40%
        wb["Aspek"]["C2"].number_format = "0.0%"

    result = read_book(_edit(book, change))
    found = {(p.code, p.sheet, p.cell) for p in result.problems}
    assert {("MV619", "Indikator", f"{W}2"), ("MV619", "Aspek", "C2")} <= found
    assert result.rubric is None
    h2 = next(p for p in result.problems if p.cell == f"{W}2")
    # 0.1 x 100 = 10
    assert h2.param("shown") == "10%"
    assert "diketik sebagai persen (10%)" in h2.text()


@pytest.mark.parametrize(
    "sheet,ref",
    [("Indikator", f"{W}2"), ("Butir Ceklis", "B2"), ("Butir Ceklis", "C2")],
    ids=["weight", "item_code", "item_label"],
)
def test_a_fraction_excel_turned_into_a_date_is_reported(book, sheet, ref):
    # "1/2" typed in Excel becomes 2 January (or 1 February). Before: a checklist label or code
    # became the text "2026-01-02 00:00:00" and the book imported without a word.
    _edit(book, _set(ref, datetime.datetime(2026, 1, 2), sheet=sheet))
    result = read_book(book)
    assert {(p.code, p.sheet, p.cell) for p in result.problems} == {("MV620", sheet, ref)}
    assert result.problems[0].param("value") == "2026-01-02"
    assert "1/2" in result.problems[0].text()


def test_merged_weight_cells_are_reported_not_read_as_weight_1_below(book):
    # A weight 2 merged over JI-01 and JI-02: calamine gives H2 = 2 and H3 empty, so JI-02
    # silently weighed the default 1 before.
    def change(wb):
        ws = wb["Indikator"]
        ws[f"{W}2"] = 2
        ws.merge_cells(f"{W}2:{W}3")

    result = read_book(_edit(book, change))
    assert [(p.code, p.sheet, p.cell, p.param("range")) for p in result.problems] == [
        ("MV621", "Indikator", f"{W}2", f"{W}2:{W}3")
    ]


def test_merged_required_cells_are_said_once(book):
    # aspect JI merged over two rows: the empty second cell is the merge's fault, said once
    def change(wb):
        wb["Indikator"].merge_cells("B2:B3")

    assert _found(_edit(book, change)) == {("MV621", "Indikator", "B2")}


def test_a_renamed_optional_sheet_is_reported_not_dropped(book):
    # Before: "Predikat 2024" was ignored as a notes sheet and the rubric lost its bands.
    _edit(book, lambda wb: setattr(wb["Predikat"], "title", "Predikat 2024"))
    result = read_book(book)
    assert [(p.code, p.sheet, p.cell) for p in result.problems] == [
        ("MV622", "Predikat 2024", "A1")
    ]
    assert "Kembalikan nama lembar itu menjadi Predikat" in result.problems[0].text()


def test_a_notes_sheet_is_not_taken_for_a_renamed_sheet(book, original):
    def change(wb):
        ws = wb.create_sheet("Catatan")
        ws.append(["Kode (code)", "Catatan (note)"])  # "note" is no column of any sheet

    result = read_book(_edit(book, change))
    assert result.problems == []


@pytest.mark.parametrize(
    "saved", [100 / 3, 33.3333333333333], ids=["excel_17_digits", "libreoffice_15_digits"]
)
def test_a_value_rounded_by_a_formula_is_reported(book, saved):
    # "=100/3" saved by Excel keeps its cached value 33.333333333333336 (17 digits), saved by
    # LibreOffice 33.3333333333333 (15 digits); calamine reads that as the cell's value, and
    # before, the weight silently became that rounded decimal instead of 100/3.
    _edit(book, _set(f"{W}2", saved))
    result = read_book(book)
    assert [(p.code, p.sheet, p.cell) for p in result.problems] == [("MV624", "Indikator", f"{W}2")]
    assert result.problems[0].param("value").startswith("33.3333333333333")


def test_a_long_exact_decimal_still_round_trips(tmp_path):
    # 123456.1234567891 has 16 digits (15 or more): the export writes it as text, so it is not
    # taken for a formula's rounded result (MV624) on the way back.
    text = rubric_yaml(load_rubric(RUBRIC))
    data = yaml.safe_load(text)
    data["indicators"][0]["weight"] = "123456.1234567891"
    rubric = parse_rubric(yaml.safe_dump(data, sort_keys=False), "long.yaml")
    result = read_book(export_book(rubric, tmp_path / "long.xlsx"))
    assert result.problems == []
    assert result.rubric is not None
    assert result.rubric.indicators[0].weight == Exact.parse("123456.1234567891")


def test_the_cli_names_the_cell_and_writes_nothing(book, tmp_path):
    def change(wb):
        wb["Indikator"][f"{W}2"] = 0.1
        wb["Indikator"][f"{W}2"].number_format = "0%"

    out = tmp_path / "rubrik.yaml"
    res = runner.invoke(app, ["rubric", "import", str(_edit(book, change)), "-o", str(out)])
    assert res.exit_code == 1
    assert f"[rubrik.xlsx: Indikator!{W}2] MV619" in res.output
    assert not out.exists()
    en = runner.invoke(app, ["rubric", "import", str(book), "-o", str(out), "--lang", "en"])
    assert "typed as a percentage (10%)" in en.output


# --- hostile workbooks ----------------------------------------------------------------------------


def test_ten_thousand_indicators_are_refused_by_their_count_quickly(book):
    # Before: one MV605 at Indikator!H1 ("the value - in column Weight") after ~25 s of work.
    def change(wb):
        ws = wb["Indikator"]
        for n in range(10_000):
            ws.append(_indicator_row(ws, f"X-{n}"))

    _edit(book, change)
    start = time.monotonic()
    result = read_book(book)
    assert time.monotonic() - start < 60  # generous: a hostile case, on a shared machine
    assert [(p.code, p.sheet, p.param("count"), p.param("max")) for p in result.problems] == [
        # 51 indicators exported + 10,000 appended
        ("MV623", "Indikator", "10051", "2000")
    ]


@pytest.mark.parametrize(
    "text",
    ["yes", "no", "on", "~", "null", "1e3", "0x10", ":", "- a", "{a: 1}", "# x", "&a", "*a",
     "!!python/object/apply:os.system", "2024-01-01", "---", "'q'", '"q"', "%TAG x",
     "=cmd|' /C calc'!A0", "@SUM(A1)", "+1", "-1", "\ufeffbom", "a\x01b\x1bc",
     "_x0041_ stays", "__x00e9__"],
)  # fmt: skip
def test_yaml_and_formula_look_alikes_stay_plain_text(tmp_path, text):
    # A question holding text that YAML or a spreadsheet would read as something else: the YAML
    # written by import loads back as the same text, and export writes it back as text, not as a
    # formula (openpyxl writes any string starting with "=" as a formula unless told).
    data = yaml.safe_load(rubric_yaml(load_rubric(RUBRIC)))
    data["indicators"][0]["question"] = text
    data["title"] = text
    rubric = parse_rubric(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "t.yaml")
    result = read_book(export_book(rubric, tmp_path / "t.xlsx"))
    assert result.problems == []
    assert result.rubric is not None
    assert result.rubric.indicators[0].question == text
    again = parse_rubric(rubric_yaml(result.rubric), "again.yaml")
    assert again.indicators[0].question == text and again.title == text
    cell = load_workbook(tmp_path / "t.xlsx")["Indikator"]["D2"]
    assert cell.data_type == "s"  # "=cmd|..." stays text: no formula, no DDE


def _rewrite(book: Path, dest: Path, part: str, change) -> Path:
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            data = src.read(name)
            out.writestr(name, change(data) if name == part else data)
    return dest


def test_hostile_files_are_refused_with_exit_1_and_no_traceback(book, tmp_path):
    files = {
        "csv.xlsx": b"kode,bobot\nJI-01,1\n",
        "html.xlsx": b"<html><table><tr><td>JI-01</td></tr></table></html>",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    _rewrite(book, tmp_path / "broken.xlsx", "xl/worksheets/sheet6.xml", lambda d: d[: len(d) // 2])
    _rewrite(
        book,
        tmp_path / "bomb.xlsx",  # 100 MiB of spaces, compressed to ~100 KiB
        "xl/worksheets/sheet6.xml",
        lambda d: d.replace(b"</worksheet>", b"<!--" + b" " * (100 << 20) + b"--></worksheet>"),
    )
    expected = {
        "csv.xlsx": "MV108",
        "html.xlsx": "MV108",
        "broken.xlsx": "MV101",
        "bomb.xlsx": "MV107",
    }
    for name, code in expected.items():
        out = tmp_path / f"{name}.yaml"
        res = runner.invoke(app, ["rubric", "import", str(tmp_path / name), "-o", str(out)])
        assert res.exit_code == 1, (name, res.output)
        assert code in res.output, (name, res.output)
        assert res.exception is None or isinstance(res.exception, SystemExit)
        assert not out.exists()


def test_two_thousand_duplicate_codes_are_each_reported_in_bounded_time(book):
    # Before: finding the cell of each duplicate scanned every cell read (1,949 x ~25,000):
    # over a minute on the shared machine. The bound is generous; the point is "not quadratic".
    def change(wb):
        ws = wb["Indikator"]
        for _ in range(1_949):  # 51 + 1,949 = 2,000 indicators, the limit
            ws.append(_indicator_row(ws, "DUP"))

    _edit(book, change)
    start = time.monotonic()
    result = read_book(book)
    assert time.monotonic() - start < 40
    dups = [p for p in result.problems if p.code == "MV606"]
    # the first DUP row (Indikator!A53) is the original; the 1,948 after it are duplicates
    assert len(dups) == 1_948
    assert dups[0].cell == "A54" and dups[-1].cell == "A2001"


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.libreoffice
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed; .ci/run installs it")
@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_libreoffice_copies_keep_the_hidden_values_reported(book, tmp_path, fmt):
    # The same edits, saved again by LibreOffice: it calculates "=100/3" (33.3333333333333)
    # and, in .ods, keeps merges where calamine does not see them (JI-02's weight was read as
    # the default 1 before), and keeps the percent format.
    def change(wb):
        ws = wb["Indikator"]
        ws[f"{W}2"] = "=100/3"
        ws[f"{W}3"] = 2
        ws.merge_cells(f"{W}3:{W}4")
        ws[f"{W}5"] = 0.1
        ws[f"{W}5"].number_format = "0%"

    _edit(book, change)
    out = tmp_path / "out"
    subprocess.run(
        [
            str(SOFFICE),
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            fmt,
            "--outdir",
            str(out),
            str(book),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    assert _found(out / f"rubrik.{fmt}") == {
        ("MV624", "Indikator", f"{W}2"),
        ("MV621", "Indikator", f"{W}3"),
        ("MV619", "Indikator", f"{W}5"),
    }


def _row_of(ws, code: str) -> int:
    return next(r for r in range(2, ws.max_row + 1) if ws.cell(row=r, column=1).value == code)


@pytest.mark.parametrize("typed", ["1.000", "1,000", " 12.500 "])
def test_a_thousands_separator_is_asked_not_guessed(book, typed):
    # The threshold of KI-05 (column F, answer.min) typed as text "1.000": an Indonesian means a
    # thousand, the decimal reading gives 1. Before: min 1, silently.
    def change(wb):
        ws = wb["Indikator"]
        ws.cell(row=_row_of(ws, "KI-05"), column=6).value = typed

    ws = load_workbook(book)["Indikator"]
    cell = f"F{_row_of(ws, 'KI-05')}"
    result = read_book(_edit(book, change))
    assert [(p.code, p.cell, p.param("value")) for p in result.problems] == [
        ("MV625", cell, typed.strip())
    ]


@pytest.mark.parametrize("typed,meant", [("1,5", Decimal("1.5")), ("0,125", Decimal("0.125"))])
def test_a_decimal_comma_is_still_a_decimal(book, typed, meant):
    def change(wb):
        ws = wb["Indikator"]
        ws.cell(row=_row_of(ws, "KI-05"), column=6).value = typed

    result = read_book(_edit(book, change))
    assert result.problems == []
    assert next(i for i in result.rubric.indicators if i.code == "KI-05").answer.min == meant
