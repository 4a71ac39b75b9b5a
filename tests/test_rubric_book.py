"""Rubric workbooks for staff (issue 12 item 2): `monev rubric export` / `monev rubric import`."""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from monev.cli import app
from monev.rubric import Rubric, load_rubric, parse_rubric
from monev.rubric_book import (
    TABLES,
    Column,
    _from_cell,
    _leaf_paths,
    export_book,
    read_book,
    rubric_yaml,
    same_rubric,
    sheet_title,
    uncovered_fields,
)
from monev.scoring import score
from monev.template import HEADER_ROW, ORDER
from monev.workbook import read_questionnaire

ROOT = Path(__file__).resolve().parent.parent
RUBRIC_FILES = sorted((ROOT / "scoring_rules").glob("*.yaml")) + sorted(
    (ROOT / "tests" / "data" / "rubrics").glob("*.yaml")
)
DEMO = ROOT / "questionnaires" / "contoh"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
runner = CliRunner()


# --- the workbook follows the model -------------------------------------------------------------


def test_every_rubric_field_is_in_a_sheet_or_listed_as_unsupported():
    """A field added to the Rubric model (at any depth) that no sheet holds fails here: add a
    table for it in monev/rubric_book.py (or list it in UNSUPPORTED, and say so in the README)."""
    assert uncovered_fields() == set()


def test_the_field_walk_reaches_every_depth():
    # The check above is only as good as this walk: it must see fields three lists deep and
    # inside every member of the answer union, or a new field there would pass unnoticed.
    paths = set(_leaf_paths(Rubric))
    assert {
        "stages.variants.parts.max",
        "indicators.answer.options.value",
        "indicators.answer.items.label",
        "indicators.answer.min",
        "verification.levels.value",
        "predicates.requires",
        "titles.city_report",
    } <= paths


# --- export then import is exact ------------------------------------------------------------------


@pytest.mark.parametrize("path", RUBRIC_FILES, ids=lambda p: p.stem)
def test_export_then_import_gives_the_same_rubric(path, tmp_path):
    original = load_rubric(path)
    book = export_book(original, tmp_path / "rubrik.xlsx")
    result = read_book(book)
    assert result.problems == []
    assert result.rubric is not None
    assert same_rubric(result.rubric, original)
    # and the YAML written from it loads back to the same rules
    again = parse_rubric(rubric_yaml(result.rubric), "again.yaml")
    assert same_rubric(again, original)


def test_same_rubric_sees_a_changed_value():
    # The round-trip test above would pass on a comparison that sees nothing.
    a = load_rubric("ki-jatim-2024")
    changed = a.model_copy(update={"title": a.title + "!"})
    assert not same_rubric(a, changed)


def test_fractions_stay_fractions_in_the_workbook(tmp_path):
    # kemenhub-2024 writes verification levels as "2.2/3": the sheet holds the exact fraction
    # 2.2/3 = 11/15 as text, not a rounded 0.7333…; 0.75-like values stay numbers.
    rb = load_rubric(ROOT / "tests/data/rubrics/kemenhub-2024.yaml")
    wb = load_workbook(export_book(rb, tmp_path / "k.xlsx"))
    ws = wb[sheet_title("verification", "id")]
    values = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(2, 6)}
    assert values["Cukup"] == "11/15"
    assert Fraction(values["Cukup"]) == Fraction(22, 30)
    assert values["Sesuai"] == 1


def test_demo_city_scores_the_same_with_the_imported_rubric(tmp_path):
    original = load_rubric("ki-jatim-2024")
    out = tmp_path / "rubrik.yaml"
    book = export_book(original, tmp_path / "rubrik.xlsx")
    res = runner.invoke(app, ["rubric", "import", str(book), "-o", str(out)])
    assert res.exit_code == 0, res.output
    imported = load_rubric(out)
    files = sorted(DEMO.glob("*.xlsx"))
    assert len(files) >= 10
    for f in files:
        a = score(original, read_questionnaire(f, original))
        b = score(imported, read_questionnaire(f, imported))
        assert (a.final_exact, a.saq_verifiable_exact, a.predicate) == (
            b.final_exact,
            b.saq_verifiable_exact,
            b.predicate,
        ), f.name
        assert a == b


def test_no_lead_unit_survives_the_round_trip(tmp_path):
    # lead_unit None ("every unit alike") differs from an empty cell (the default PPID Utama):
    # the sheet writes "(tidak ada)" for it.
    base = load_rubric(ROOT / "tests/data/rubrics/ki-bali-desa-2026.yaml")
    rb = base.model_copy(update={"lead_unit": None})
    wb = load_workbook(export_book(rb, tmp_path / "b.xlsx"))
    ws = wb[sheet_title("instrument", "id")]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(row=r, column=1).value == "lead_unit")
    assert ws.cell(row=row, column=2).value == "(tidak ada)"
    back = read_book(tmp_path / "b.xlsx").rubric
    assert back is not None and back.lead_unit is None


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [
        (4.5, "number", "4.5"),
        (
            0.1,
            "exact",
            "0.1",
        ),  # the decimal typed, not 0.1000000000000000055…
        (85.0, "number", "85"),
        ("4,5", "number", "4.5"),  # a decimal comma typed as text
        ("2,2/3", "exact", "2.2/3"),
        ("2/3", "exact", "2/3"),
        ("4,5", "text", "4,5"),  # text columns keep what was typed
        ("Ya", "bool", True),
        ("tidak", "bool", False),
        (True, "bool", True),
        ("(tidak ada)", "text", None),
        ("  JI-01 ", "text", "JI-01"),
    ],
)
def test_cells_are_read_as_typed(raw, kind, expected):
    assert _from_cell(raw, Column("x", kind)) == (True, expected)


def test_empty_cells_are_absent():
    assert _from_cell("", Column("x", "text")) == (False, None)
    assert _from_cell(None, Column("x", "number")) == (False, None)
    assert _from_cell("   ", Column("x", "number")) == (False, None)


# --- mistakes are reported with their cell ------------------------------------------------------


def _cell_of(ws, header_key: str, code: str | None = None) -> tuple[int, int]:
    """(row, column) of the column whose heading ends in (header_key), on the row with code."""
    col = next(c.column for c in ws[1] if str(c.value).endswith(f"({header_key})"))
    if code is None:
        return 1, col
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(row=r, column=1).value == code)
    return row, col


def test_every_mistake_is_reported_with_its_sheet_and_cell(tmp_path):
    book = export_book(load_rubric("ki-jatim-2024"), tmp_path / "rubrik.xlsx")
    wb = load_workbook(book)
    ind = wb["Indikator"]
    r, c = _cell_of(ind, "weight", "JI-02")
    ind.cell(row=r, column=c).value = "abc"  # a weight that is not a number
    weight_cell = ind.cell(row=r, column=c).coordinate
    r, c = _cell_of(ind, "code", "JI-04")
    ind.cell(row=r, column=c).value = "JI-03"  # the same code twice -> A5
    r, c = _cell_of(ind, "group", "KI-01")
    ind.cell(row=r, column=c).value = "KI-X"  # a group that does not exist
    group_cell = ind.cell(row=r, column=c).coordinate
    r, c = _cell_of(ind, "answer.type", "PI-01")
    ind.cell(row=r, column=c).value = "ya-tidak"  # an answer type that does not exist
    type_cell = ind.cell(row=r, column=c).coordinate
    asp = wb["Aspek"]
    r, c = _cell_of(asp, "weight", "JI")
    asp.cell(row=r, column=c).value = 35  # 40 -> 35: the aspects add up to 95
    opts = wb["Pilihan Jawaban"]
    opts.append(["ZZ-99", "A", 1])  # an option for an indicator that does not exist
    orphan = f"A{opts.max_row}"
    wb.save(book)
    out = tmp_path / "rubrik.yaml"

    result = read_book(book)
    found = {(p.code, p.sheet, p.cell) for p in result.problems}
    assert found == {
        ("MV611", "Indikator", weight_cell),
        ("MV606", "Indikator", "A5"),
        ("MV607", "Indikator", group_cell),
        ("MV609", "Indikator", type_cell),
        ("MV608", "Aspek", "C1"),
        ("MV604", "Pilihan Jawaban", orphan),
    }
    assert result.rubric is None

    res = runner.invoke(app, ["rubric", "import", str(book), "-o", str(out)])
    assert res.exit_code == 1
    assert not out.exists()
    text = res.output
    weight_line = f"[rubrik.xlsx: Indikator!{weight_cell}] MV611 Kolom Bobot berisi abc"
    assert weight_line + ", bukan angka" in text
    assert "[rubrik.xlsx: Indikator!A5] MV606 Kode JI-03 dipakai lebih dari sekali" in text
    assert f"[rubrik.xlsx: Indikator!{group_cell}] MV607 Rujukan KI-X di kolom Kelompok" in text
    assert (
        f"[rubrik.xlsx: Indikator!{type_cell}] MV609 Jenis jawaban ya-tidak tidak dikenal" in text
    )
    assert "MV608 Jumlah bobot 95, bukan 100" in text
    assert f"[rubrik.xlsx: Pilihan Jawaban!{orphan}] MV604" in text
    en = runner.invoke(app, ["rubric", "import", str(book), "-o", str(out), "--lang", "en"])
    assert en.exit_code == 1
    assert "MV611 Column Weight holds abc, not a number" in en.output
    assert "MV608 The weights add up to 95, not 100" in en.output


def test_a_missing_sheet_and_an_unknown_column(tmp_path):
    book = export_book(load_rubric("ki-jatim-2024"), tmp_path / "rubrik.xlsx")
    wb = load_workbook(book)
    del wb["Tahap"]
    wb["Aspek"]["E1"] = "Catatan"
    wb.save(book)
    found = {(p.code, p.sheet, p.cell) for p in read_book(book).problems}
    assert found == {("MV601", "Tahap", ""), ("MV602", "Aspek", "E1")}


# --- the CLI ------------------------------------------------------------------------------------


def test_export_and_import_never_overwrite_without_force(tmp_path):
    book, out = tmp_path / "rubrik.xlsx", tmp_path / "rubrik.yaml"
    assert runner.invoke(app, ["rubric", "export", "ki-jatim-2024", "-o", str(book)]).exit_code == 0
    res = runner.invoke(app, ["rubric", "export", "ki-jatim-2024", "-o", str(book)])
    assert res.exit_code == 2
    assert "--force" in res.output
    out.write_text("lama\n", encoding="utf-8")
    res = runner.invoke(app, ["rubric", "import", str(book), "-o", str(out)])
    assert res.exit_code == 2
    assert out.read_text(encoding="utf-8") == "lama\n"
    res = runner.invoke(app, ["rubric", "import", str(book), "-o", str(out), "--force"])
    assert res.exit_code == 0, res.output
    assert same_rubric(load_rubric(out), load_rubric("ki-jatim-2024"))


def test_a_workbook_exported_in_english_imports_too(tmp_path):
    book = tmp_path / "rubric.xlsx"
    res = runner.invoke(
        app, ["rubric", "export", "ki-kalbar-2025", "-o", str(book), "--lang", "en"]
    )
    assert res.exit_code == 0, res.output
    assert "Indicators" in load_workbook(book).sheetnames
    result = read_book(book)
    assert result.rubric is not None
    assert same_rubric(result.rubric, load_rubric("ki-kalbar-2025"))


# --- a member of staff types an instrument ------------------------------------------------------


def _staff_book(path: Path) -> Path:
    """A small instrument typed as a member of staff would: only the sheets needed, headings as
    in the exported workbook, numbers with a decimal comma, a fraction typed as text."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Instrumen"
    ws.append(["Isian (key)", "Nilai (value)"])
    for row in [
        ("Id (id)", "kota-uji-2026"),
        ("title", "Monev Keterbukaan Informasi Kota Uji 2026"),
        ("year", 2026),
        ("category", "OPD Kota Uji"),
        ("version", "1.0"),
    ]:
        ws.append(row)
    aspek = wb.create_sheet("Aspek")
    aspek.append(["Kode (code)", "Nama (name)", "Bobot (weight)"])
    aspek.append(["JI", "Jenis Informasi", 60])
    aspek.append(["PL", "Pelayanan", "40"])
    ind = wb.create_sheet("Indikator")
    ind.append(
        ["Kode (code)", "Aspek (aspect)", "Pertanyaan (question)", "Jenis jawaban (answer.type)",
         "Ambang minimum (answer.min)", "Wajib bukti (evidence_required)"]
    )  # fmt: skip
    ind.append(["JI-01", "JI", "Daftar Informasi Publik diumumkan di website", "ya_tidak"])
    ind.append(["JI-02", "JI", "Kelengkapan informasi berkala", "options"])
    ind.append(["PL-01", "PL", "Ruang layanan informasi tersedia", "ya_tidak", None, "Tidak"])
    ind.append(["PL-02", "PL", "Jumlah kanal layanan daring", "threshold", "3"])
    pil = wb.create_sheet("Pilihan Jawaban")
    pil.append(["Kode indikator (indicators.code)", "Label (label)", "Nilai (value)"])
    pil.append(["JI-02", "Lengkap", 1])
    pil.append(["JI-02", "Sebagian", "2/3"])
    pil.append(["JI-02", "Tidak ada", 0])
    pre = wb.create_sheet("Predikat")
    pre.append(["Nama (name)", "Batas bawah (min)"])
    pre.append(["Baik", "62,5"])
    pre.append(["Kurang", 0])
    tahap = wb.create_sheet("Tahap")
    tahap.append(["Kode (code)", "Nama (name)", "Bobot (weight)"])
    tahap.append(["saq", "Kuesioner", 100])
    wb.save(path)
    return path


def test_staff_walk_through_type_import_template_score(tmp_path):
    book = _staff_book(tmp_path / "rubrik.xlsx")
    yaml_file = tmp_path / "rubrik.yaml"
    res = runner.invoke(app, ["rubric", "import", str(book), "-o", str(yaml_file)])
    assert res.exit_code == 0, res.output
    assert "kota-uji-2026" in res.output
    rb = load_rubric(yaml_file)
    assert [i.code for i in rb.indicators] == ["JI-01", "JI-02", "PL-01", "PL-02"]
    assert rb.predicates[0].min == Decimal("62.5")

    kuesioner = tmp_path / "dinas.xlsx"
    res = runner.invoke(
        app,
        ["template", "--rubric", str(yaml_file), "-o", str(kuesioner), "--office", "Dinas Uji"],
    )
    assert res.exit_code == 0, res.output
    wb = load_workbook(kuesioner)
    ws = wb["Kuesioner"]
    code_col = ORDER.index("code") + 1
    rows = {ws.cell(row=r, column=code_col).value: r for r in range(HEADER_ROW + 1, ws.max_row + 1)}
    answer_col, evidence_col = ORDER.index("answer") + 1, ORDER.index("evidence") + 1
    filled = {
        "JI-01": ("Ya", "https://ppid.contoh.go.id/dip"),
        "JI-02": ("Sebagian", "https://ppid.contoh.go.id/berkala"),
        "PL-01": ("Tidak", None),
        "PL-02": (5, "https://ppid.contoh.go.id/kanal"),
    }
    for code, (answer, evidence) in filled.items():
        ws.cell(row=rows[code], column=answer_col).value = answer
        ws.cell(row=rows[code], column=evidence_col).value = evidence
    wb.save(kuesioner)

    result = score(rb, read_questionnaire(kuesioner, rb))
    # JI (60 points, 2 indicators of 30): JI-01 Ya = 30; JI-02 Sebagian = 30 x 2/3 = 20.
    # PL (40 points, 2 indicators of 20): PL-01 Tidak = 0; PL-02 5 >= 3 = 20.
    # SAQ = 30 + 20 + 0 + 20 = 70,00 (every claim has its evidence: verifiable = claimed).
    # One stage, saq 100 %: final = 70,00 >= 62,5 -> Baik.
    assert result.saq_claimed_exact == Fraction(70)
    assert result.saq_verifiable_exact == Fraction(70)
    assert result.score == Decimal("70.00")
    assert result.predicate == "Baik"


# --- LibreOffice opens it -----------------------------------------------------------------------


@pytest.mark.libreoffice
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed; .ci/run installs it")
@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_libreoffice_opens_the_exported_workbook(tmp_path, fmt):
    # kemenhub-2024 has every kind of sheet in use: options, levels per indicator, fractions.
    rb = load_rubric(ROOT / "tests/data/rubrics/kemenhub-2024.yaml")
    src = export_book(rb, tmp_path / "rubrik.xlsx")
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
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    copy = out / f"rubrik.{fmt}"
    assert copy.exists()
    if fmt == "xlsx":
        assert load_workbook(copy).sheetnames == [sheet_title("help", "id")] + [
            sheet_title(tb.name, "id") for tb in TABLES
        ]
    # an office suite's copy (xlsx saved again, or ods) reads back to the same rules
    result = read_book(copy)
    assert result.problems == []
    assert result.rubric is not None and same_rubric(result.rubric, rb)


def test_an_empty_required_sheet_is_named(tmp_path):
    book = export_book(load_rubric("ki-jatim-2024"), tmp_path / "rubrik.xlsx")
    wb = load_workbook(book)
    ws = wb["Aspek"]
    ws.delete_rows(2, ws.max_row)
    wb.save(book)
    problems = read_book(book).problems
    assert ("MV615", "Aspek", "") in {(p.code, p.sheet, p.cell) for p in problems}
    assert "Lembar Aspek belum berisi satu baris pun" in next(
        p.text() for p in problems if p.code == "MV615"
    )


def test_import_into_a_missing_folder_is_a_usage_error(tmp_path):
    book = export_book(load_rubric("ki-jatim-2024"), tmp_path / "rubrik.xlsx")
    res = runner.invoke(app, ["rubric", "import", str(book), "-o", str(tmp_path / "no" / "r.yaml")])
    assert res.exit_code == 2
    assert "Tidak dapat menulis" in res.output


def test_a_field_written_twice_on_the_instrument_sheet(tmp_path):
    # Two rows for `year` (2024 and 2025): which one is meant cannot be guessed.
    book = export_book(load_rubric("ki-jatim-2024"), tmp_path / "rubrik.xlsx")
    wb = load_workbook(book)
    ws = wb["Instrumen"]
    ws.append(["year", 2025])
    wb.save(book)
    found = {(p.code, p.sheet, p.cell) for p in read_book(book).problems}
    assert found == {("MV616", "Instrumen", f"A{ws.max_row}")}
