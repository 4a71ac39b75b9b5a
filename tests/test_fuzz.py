"""Fuzzing: mutated workbooks never crash `check` or `score`, and every input is accounted for."""

from __future__ import annotations

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


def _base() -> bytes:
    with tempfile.TemporaryDirectory() as d:
        rows = [
            ("JI-01", "Ya", EV),
            ("JI-02", "Tidak"),
            ("KI-05", 5, EV),
            ("PI-03", 80, EV),
            ("KO-02.1", "Ya", "sop.pdf"),
        ]
        return write_workbook(
            Path(d) / "b.xlsx", RUBRIC, rows, stages={"visitasi": 80}
        ).read_bytes()


BASE = _base()

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
        (folder / "asli.xlsx").write_bytes(BASE)
        run = score_paths([folder], RUBRIC)
        assert run.received == 2
        names = sorted([o.file for o in run.offices] + [x.file for x in run.rejected])
        assert names == ["asli.xlsx", "mutan.xlsx"]
        assert "asli.xlsx" in {o.file for o in run.offices}
        json.loads(run.to_json())  # the results are always writable
        for office in run.offices:  # and the reports always render
            assert str(escape(office.name)) in render_office_html(run, office)
        report = check_file(folder / "mutan.xlsx", RUBRIC)
        assert (report.score is None) == any(x.file == "mutan.xlsx" for x in run.rejected)
        report.text("en")
