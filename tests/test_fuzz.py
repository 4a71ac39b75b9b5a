"""Fuzzing: mutated workbooks never crash `check` or `score`, and every input is accounted for."""

from __future__ import annotations

import datetime as dt
import io
import json
import tempfile
from pathlib import Path

import openpyxl
from helpers import write_workbook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from openpyxl.cell.cell import MergedCell

from monev.batch import score_paths
from monev.check import check_file
from monev.report import render_office_html
from monev.rubric import load_rubric

RUBRIC = load_rubric()
EV = "https://ppid.contoh.go.id/bukti"


def _base(office: str = "Dinas Uji") -> bytes:
    with tempfile.TemporaryDirectory() as d:
        rows = [
            ("JI-01", "Ya", EV),
            ("JI-02", "Tidak"),
            ("KI-05", 5, EV),
            ("PI-03", 80, EV),
            ("KO-02.1", "Ya", "sop.pdf"),
        ]
        return write_workbook(
            Path(d) / "b.xlsx", RUBRIC, rows, office=office, stages={"visitasi": 80}
        ).read_bytes()


BASE = _base()
ORIGINAL = _base("Dinas Asli")  # another office, so the mutant is never its copy

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30),
    st.sampled_from(
        [
            "Ya",
            "TIDAK",
            "=1/0",
            "=A1",
            "+62",
            "@x",
            "<script>",
            "JI-01",
            "Kode",
            "Jawaban",
            "Bukti",
            "ID Rubrik",
            "Nilai Visitasi",
            "1e309",
            "-5",
            "100%",
        ]
    ),
)
cell_edits = st.lists(
    st.tuples(
        st.sampled_from(["Kuesioner", "Identitas"]), st.integers(1, 75), st.integers(1, 10), values
    ),
    max_size=12,
)
row_edits = st.lists(
    st.tuples(st.sampled_from(["insert", "delete"]), st.integers(1, 75), st.integers(1, 5)),
    max_size=3,
)
sheet_names = st.one_of(st.none(), st.sampled_from(["Kuisioner", "kuesioner ", "Sheet1", "Data"]))
byte_edits = st.lists(st.tuples(st.integers(0, len(BASE) - 1), st.integers(0, 255)), max_size=4)


def mutate(cells, rows, rename, flips, cut) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(BASE))
    for sheet, r, c, v in cells:
        cell = wb[sheet].cell(row=r, column=c)
        if not isinstance(cell, MergedCell):  # the instruction rows are merged
            cell.value = v
    for op, r, n in rows:
        ws = wb["Kuesioner"]
        ws.insert_rows(r, n) if op == "insert" else ws.delete_rows(r, n)
    if rename:
        wb["Kuesioner"].title = rename
    buf = io.BytesIO()
    wb.save(buf)
    data = bytearray(buf.getvalue())
    for pos, byte in flips:
        data[pos % len(data)] = byte
    return bytes(data[: len(data) - cut])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cell_edits, row_edits, sheet_names, byte_edits, st.sampled_from([0, 0, 0, 1, 100, 5000]))
def test_mutated_workbooks_are_scored_or_rejected_never_crash(cells, rows, rename, flips, cut):
    data = mutate(cells, rows, rename, flips, cut)
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        (folder / "mutan.xlsx").write_bytes(data)
        (folder / "asli.xlsx").write_bytes(ORIGINAL)
        run = score_paths([folder], RUBRIC)
        assert run.received == 2
        names = sorted(
            [o.file for o in run.offices]
            + [x.file for x in run.rejected]
            + [x.file for x in run.skipped]
        )
        assert names == ["asli.xlsx", "mutan.xlsx"]
        assert "asli.xlsx" in {o.file for o in run.offices}
        json.loads(run.to_json())  # the results are always writable
        for office in run.offices:  # and the reports always render
            assert str(escape(office.name)) in render_office_html(run, office)
        report = check_file(folder / "mutan.xlsx", RUBRIC)
        assert (report.score is None) == any(x.file == "mutan.xlsx" for x in run.rejected)
        report.text("en")


# --- issue 8: every awkward value in every column, through the whole `monev score` -----------

AWKWARD = {
    "formula-text": "=1+1",
    "plus": "+62 812 3456",
    "minus": "-",
    "at": "@ppid_kota",
    "tab": "\tYa",
    "nan": float("nan"),
    "inf": float("inf"),
    "huge": 1e308,
    "na": "#N/A",
    "ref": "#REF!",
    "div0": "#DIV/0!",
    "true": True,
    "false": False,
    "date": dt.datetime(2024, 5, 1, 8, 30),
    "rich": "rich",  # replaced by CellRichText below
    "long": "x" * 32_767,
    # Control characters as Excel stores them (a Word line break pasted, a terminal escape):
    # the reader decodes _xHHHH_ into the character itself.
    "vt": "baris_x000B_baru",
    "escape": "_x001B_[31mmerah_x001B_[0m",
}
COLUMNS = {  # where each value goes: (sheet, code row or identity label, column key)
    "answer": ("Kuesioner", "JI-01", "answer"),
    "threshold": ("Kuesioner", "KI-05", "answer"),
    "percent": ("Kuesioner", "PI-03", "answer"),
    "evidence": ("Kuesioner", "JI-02", "evidence"),
    "note": ("Kuesioner", "JI-03", "note"),
    "verifier": ("Kuesioner", "JI-04", "verification"),
    "verifier_note": ("Kuesioner", "JI-04", "verifier_note"),
    "code": ("Kuesioner", "JI-05", "code"),
    "office": ("Identitas", "Nama Kantor", None),
    "unit": ("Identitas", "Jenis Unit", None),
    "filled_on": ("Identitas", "Tanggal Pengisian", None),
    "stage": ("Identitas", "Nilai Visitasi", None),
}


def _awkward_workbook(path: Path, column: str, value: object) -> None:
    from helpers import COL
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    wb = openpyxl.load_workbook(io.BytesIO(BASE))
    if value == "rich":
        value = CellRichText(["Ya ", TextBlock(InlineFont(b=True), "sekali")])
    sheet, row_name, key = COLUMNS[column]
    ident = wb["Identitas"]
    labels = {ident.cell(r, 1).value: r for r in range(1, ident.max_row + 1)}
    # A distinct office per file (so none is a copy of another), unless the name is the test.
    ident.cell(labels["Nama Kantor"], 2).value = f"Dinas {path.stem}"
    if sheet == "Identitas":
        ident.cell(labels[row_name], 2).value = value
    else:
        ws = wb[sheet]
        r = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, COL["code"]).value == row_name)
        ws.cell(r, COL[key]).value = value
    wb.save(path)


def test_every_awkward_value_in_every_column_is_read_or_reported(tmp_path):
    """`monev score` over one workbook per (column, value): exit 0 or 1, never 3, no traceback,
    every file in offices / rejected / skipped."""
    import subprocess
    import sys

    folder = tmp_path / "in"
    folder.mkdir()
    for column in COLUMNS:
        for name, value in AWKWARD.items():
            _awkward_workbook(folder / f"{column}-{name}.xlsx", column, value)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "monev", "score", str(folder), "--out", str(out), "--no-pdf"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "Kesalahan tak terduga" not in proc.stderr
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    files = [o["file"] for o in data["offices"]] + [x["file"] for x in data["rejected"]]
    files += [x["file"] for x in data["skipped"]]
    assert sorted(files) == sorted(p.name for p in folder.iterdir())
