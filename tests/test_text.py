"""Text as it leaves monev: each destination gets what it can hold (issue 9, "What to build" 3).

Control characters reach a workbook the way officers paste them: a Word line break pasted into
Excel is stored as ``_x000B_``, which every reader turns back into U+000B.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time

import openpyxl
import pytest
from helpers import questionnaire, small_rubric, write_workbook

from monev.batch import score_paths
from monev.check import check_file
from monev.cli import main
from monev.problems import Problem
from monev.report import office_context, render_office_html
from monev.results import OfficeResult, RunResult, to_csv, to_xlsx
from monev.scoring import score
from monev.text import (
    PDF_RUN_LIMIT,
    PROBLEMS_SHOWN,
    XLSX_CELL_LIMIT,
    for_csv,
    for_pdf,
    for_terminal,
    for_xlsx,
)
from monev.workbook import Office

EV = "https://ppid.contoh.go.id/bukti"
AS_OF = dt.date(2024, 11, 13)


def _run_of(rubric, rows, name="Dinas Uji", file="uji.xlsx", problems=()):
    """A run of one office scored in memory (no workbook reader involved)."""
    s = score(rubric, questionnaire(rubric, rows))
    office = OfficeResult(file, "", Office(name=name, unit_type="OPD"), s, list(problems), rank=1)
    return RunResult(rubric, [office], as_of=AS_OF)


# --- the functions, one per destination -------------------------------------------------------


def test_terminal_sees_no_control_character():
    hostile = "\x1b]0;judul\x07\x1b[2JYa\x9b31m\u202egnp.exe\nbaris\udce9"
    shown = for_terminal(hostile)
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in shown)
    assert "\u202e" not in shown and "\udce9" not in shown
    assert shown == "\\x1b]0;judul\\x07\\x1b[2JYa\\x9b31m\\u202egnp.exe\\nbaris\\udce9"
    assert for_terminal("Dinas Kesehatan – 95,23 ✓") == "Dinas Kesehatan – 95,23 ✓"


def test_xlsx_text_has_no_character_openpyxl_refuses():
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value, cut = for_xlsx("a\x0bb\x0cc\x01d\x00e\udce9")
    assert cut == 0 and not ILLEGAL_CHARACTERS_RE.search(value)
    assert value == "a\nb\nc\\x01d\\x00e\\udce9"  # a Word line break stays a line break
    assert for_xlsx("=1+1") == ("'=1+1", 0) and for_xlsx(5) == (5, 0)
    # Every character of the Basic Multilingual Plane comes out writable.
    every = "".join(chr(c) for c in range(0x10000))
    assert not ILLEGAL_CHARACTERS_RE.search(for_xlsx(every)[0])
    openpyxl.Workbook().active.cell(row=1, column=1).value = for_xlsx(every[:32_000])[0]


def test_xlsx_cuts_long_text_with_a_visible_marker():
    value, cut = for_xlsx("x" * 40_000)
    assert cut == 40_000 and len(value) == XLSX_CELL_LIMIT
    assert value.endswith("… [dipotong: aslinya 40.000 karakter, lengkap di results.json]")
    assert for_xlsx("x" * XLSX_CELL_LIMIT) == ("x" * XLSX_CELL_LIMIT, 0)  # the limit itself fits


def test_csv_escapes_control_characters_and_keeps_the_formula_rule():
    assert for_csv("a\x00b\x1b[31m") == "a\\x00b\\x1b[31m"
    assert for_csv("=HYPERLINK(1)") == "'=HYPERLINK(1)" and for_csv("@x") == "'@x"
    assert for_csv("baris\nbaru") == "baris\nbaru" and for_csv(7) == 7


def test_pdf_text_shortens_unbroken_runs_and_drops_control_characters():
    url = "https://ppid.contoh.go.id/" + "a" * 32_000 + "/akhir.pdf"
    shown = for_pdf(url)
    assert shown == url[:120] + "…" + url[-20:]
    assert for_pdf("a\x00b\x1bc\x0bd") == "abc\nd"
    assert for_pdf("x" * PDF_RUN_LIMIT) == "x" * PDF_RUN_LIMIT
    long_words = "kata " * 5_000
    assert len(for_pdf(long_words)) <= 4_001


# --- the bugs of issue 9, end to end ----------------------------------------------------------


def test_word_line_break_in_evidence_does_not_stop_the_run(tmp_path, rubric):
    """Evidence ``a_x000B_b`` (U+000B once read) made rekap.xlsx raise IllegalCharacterError:
    exit 3, nothing written."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_workbook(folder / "a.xlsx", rubric, [("JI-01", "Ya", f"{EV}_x000B_lihat lampiran")])
    out = tmp_path / "out"
    assert main(["score", str(folder), "--out", str(out), "--no-pdf", "-q"]) == 0
    wb = openpyxl.load_workbook(out / "rekap.xlsx")
    rows = list(wb["Indikator"].iter_rows(values_only=True))
    ji01 = next(r for r in rows if r[2] == "JI-01")
    assert ji01[5] == f"{EV}\nlihat lampiran"
    # results.json keeps the value as read (the reader takes Excel's line break for a new line).
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["offices"][0]["indicators"][0]["evidence"] == f"{EV}\nlihat lampiran"


def test_control_character_in_a_file_name_does_not_stop_the_run(tmp_path, rubric):
    folder = tmp_path / "in"
    folder.mkdir()
    write_workbook(folder / "dinas\x01uji.xlsx", rubric, [("JI-01", "Ya", EV)])
    (folder / "rusak\x02.xlsx").write_bytes(b"bukan buku kerja")
    out = tmp_path / "out"
    assert main(["score", str(folder), "--out", str(out), "--no-pdf", "-q"]) == 1
    wb = openpyxl.load_workbook(out / "rekap.xlsx")
    assert wb["Peringkat"]["L2"].value == "dinas\\x01uji.xlsx"
    assert wb["Ditolak"]["A2"].value == "rusak\\x02.xlsx"
    rows = (out / "ranking.csv").read_text(encoding="utf-8")
    assert "dinas\\x01uji.xlsx" in rows and "\x01" not in rows


def test_a_file_name_that_is_not_utf8_does_not_stop_the_run(tmp_path, rubric, capsys):
    """A name that is not UTF-8 reaches Python as lone surrogates, which UTF-8 cannot encode."""
    import os

    folder = tmp_path / "in"
    folder.mkdir()
    good = write_workbook(folder / "a.xlsx", rubric, [("JI-01", "Ya", EV)])
    os.rename(good, os.fsencode(folder) + b"/dinas-\xe9.xlsx")
    out = tmp_path / "out"
    # Scored, or rejected by the reader: either way the run finishes and writes everything.
    assert main(["score", str(folder), "--out", str(out), "--no-pdf"]) in (0, 1)
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    files = [x["file"] for x in data["offices"] + data["rejected"]]
    assert files == ["dinas-\udce9.xlsx"]
    assert "\udce9" not in capsys.readouterr().out  # shown as the escape \\udce9
    openpyxl.load_workbook(out / "rekap.xlsx")


def test_cells_over_the_excel_limit_are_cut_with_a_note(rubric):
    run = _run_of(rubric, [("JI-01", "Ya", "https://x.go.id/" + "a" * 40_000)])
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(run)))
    rows = list(wb["Indikator"].iter_rows(values_only=True))
    evidence = next(r for r in rows if r[2] == "JI-01")[5]
    assert len(evidence) == XLSX_CELL_LIMIT and "40.016 karakter" in evidence
    notes = list(wb["Catatan"].iter_rows(values_only=True))
    assert notes[0] == ("Lembar", "Sel", "Kode", "Masalah")
    assert notes[1][:3] == ("Indikator", "F2", "MV501") and "40.016" in notes[1][3]
    # The full value stays in results.json.
    assert len(json.loads(run.to_json())["offices"][0]["indicators"][0]["evidence"]) == 40_016


def test_escape_sequences_in_a_workbook_never_reach_the_terminal(tmp_path, rubric, capsys):
    path = write_workbook(
        tmp_path / "a.xlsx",
        rubric,
        [("JI-01", "_x001B_[2J_x001B_]0;judul_x0007_Ya", EV)],
        office="Dinas_x001B_[31m Merah",
    )
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2J\\x1b]0;judul\\x07Ya" in out and "Dinas\\x1b[31m Merah" in out


def test_escape_sequences_in_an_office_name_never_reach_the_ranking_table(rubric, capsys):
    from monev.cli import _print_ranking

    run = _run_of(rubric, [("JI-01", "Ya", EV)], name="\x1b[31mDinas [bold]Merah[/bold]")
    _print_ranking(run, "id")
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[31mDinas [bold]Merah[/bold]" in out


def test_many_problems_are_listed_up_to_a_cap_then_counted(tmp_path, rubric):
    problems = [
        Problem.make("MV203", "uji.xlsx", "Kuesioner", f"A{k}", code=f"ZZ-{k}")
        for k in range(10, 10_010)
    ]
    run = _run_of(rubric, [("JI-01", "Ya", EV)], problems=problems)
    shown = office_context(run, run.offices[0]).problems
    assert len(shown) == PROBLEMS_SHOWN + 1
    assert shown[-1].code == "MV502" and shown[-1].param("count") == str(10_000 - PROBLEMS_SHOWN)
    html = render_office_html(run, run.offices[0])
    assert "9800 masalah lain tidak ditampilkan di sini" in html
    assert len(json.loads(run.to_json())["offices"][0]["problems"]) == 10_000  # all kept


def test_check_lists_a_capped_number_of_problems(tmp_path, rubric):
    path = _workbook_with_unknown_codes(tmp_path / "banyak.xlsx", rubric, 1_000)
    report = check_file(path, rubric)
    assert len(report.problems) >= 1_000
    lines = report.text().splitlines()
    assert len(lines) == 1 + PROBLEMS_SHOWN + 1 + 1  # head, listed, "N more", provisional score
    assert f"{len(report.problems) - PROBLEMS_SHOWN} masalah lain" in lines[-2]
    assert len(report.to_dict()["problems"]) == len(report.problems)  # --json keeps them all


def _workbook_with_unknown_codes(path, rubric, n):
    write_workbook(path, rubric, [("JI-01", "Ya", EV)])
    wb = openpyxl.load_workbook(path)
    ws = wb["Kuesioner"]
    start = ws.max_row + 1
    for k in range(n):
        ws.cell(row=start + k, column=1).value = f"ZZ-{k:05d}"
        ws.cell(row=start + k, column=5).value = "Ya"
    wb.save(path)
    return path


# --- the PDF: bounded time and pages ----------------------------------------------------------


def _pages(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.pdf
def test_a_32000_character_url_renders_in_bounded_time(tmp_path):
    """It took 61 s to lay out (time grew with the square of the length)."""
    from monev.report import html_to_pdf

    r = small_rubric()
    url = "https://ppid.contoh.go.id/" + "a" * 32_000 + ".pdf"
    run = _run_of(r, [("A-01", "Ya", url)])
    start = time.monotonic()
    html = render_office_html(run, run.offices[0])
    pdf = html_to_pdf(html, AS_OF)
    elapsed = time.monotonic() - start
    assert elapsed < 10, f"{elapsed:.1f} s"  # generous: about a second on the 2-core machine
    assert f'href="{url}"' in html  # the link itself is whole
    assert url[:120] + "…" + url[-20:] in html
    assert _pages(pdf) <= 4


@pytest.mark.pdf
def test_a_workbook_with_10000_problems_gives_a_bounded_pdf(tmp_path, rubric):
    """It took 49 s and 945 MB and gave a 405-page PDF."""
    from monev.report import ATTACHMENT_NAME, html_to_pdf, office_attachment

    path = _workbook_with_unknown_codes(tmp_path / "banyak.xlsx", rubric, 10_000)
    run = score_paths([path], rubric, as_of=AS_OF)
    o = run.offices[0]
    assert len(o.problems) >= 10_000
    start = time.monotonic()
    html = render_office_html(run, o)
    pdf = html_to_pdf(html, AS_OF, (ATTACHMENT_NAME, office_attachment(run, o, "id")))
    elapsed = time.monotonic() - start
    assert _pages(pdf) <= 25
    assert elapsed < 30, f"{elapsed:.1f} s"  # generous bound on a hostile case


def test_reports_and_outputs_take_a_file_name_that_is_not_utf8(rubric):
    """Lone surrogates cannot be encoded as UTF-8: every output shows or escapes them."""
    from monev.report import render_city_html

    name = b"dinas-\xe9.xlsx".decode("utf-8", "surrogateescape")
    run = _run_of(rubric, [("JI-01", "Ya", EV)], name=f"Dinas {name}", file=name)
    render_office_html(run, run.offices[0]).encode("utf-8")
    render_city_html(run).encode("utf-8")
    run.to_json().encode("utf-8")
    to_csv(run).encode("utf-8")
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(run)))
    assert wb["Peringkat"]["L2"].value == "dinas-\\udce9.xlsx"
