"""The verifier's pass inside the workbook: decisions drive the verifiable score and survive
re-filling."""

from __future__ import annotations

from decimal import Decimal

import openpyxl
from helpers import COL, write_workbook

from monev.batch import score_paths
from monev.cli import main
from monev.report import city_context, office_context, render_office_html
from monev.scoring import score
from monev.workbook import read_questionnaire

EV = "https://ppid.contoh.go.id/bukti"
ROWS = [
    ("JI-01", "Ya", EV, "Sesuai"),
    ("JI-02", "Ya", EV, "Tidak Sesuai"),  # evidence on paper, rejected by the verifier
    ("JI-03", "Ya", "", "Sesuai"),  # no evidence, accepted after the visit
    ("JI-04", "Ya", EV),  # not yet verified: the evidence heuristic applies
    ("KO-02.1", "Ya", "sop.pdf", "Tidak Sesuai"),
]


def _note(path, code: str, text: str) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb["Kuesioner"]
    for r in range(7, ws.max_row + 1):
        if ws.cell(row=r, column=COL["code"]).value == code:
            ws.cell(row=r, column=COL["verifier_note"]).value = text
    wb.save(path)


def test_workbook_scores_as_the_verifier_decided(tmp_path, rubric):
    path = write_workbook(tmp_path / "v.xlsx", rubric, ROWS)
    s = score(rubric, read_questionnaire(path, rubric))
    # JI items are worth 40/14 each: JI-01, JI-03, JI-04 count -> 120/14 = 8.571 -> 8.57.
    # KO-02 (10/6 points) has six items; item 1 rejected -> 0. Claimed: 4 x 40/14 + 10/6 x 1/6.
    assert s.saq_verifiable == Decimal("8.57")
    assert s.saq_claimed == Decimal("11.71")  # 160/14 + 10/36 = 11.706...
    by = {i.code: i.status for i in s.indicators}
    assert by["JI-02"] == "verifier_rejected" and by["JI-03"] == "ok"


def test_reports_list_rejections_with_notes_and_count_them(tmp_path, rubric):
    path = write_workbook(tmp_path / "v.xlsx", rubric, ROWS, office="Dinas Verifikasi")
    _note(path, "JI-02", "Tautan mengarah ke beranda, bukan dokumen")
    run = score_paths([path], rubric)
    office = run.offices[0]
    ctx = office_context(run, office)
    assert ctx.rejected_by_verifier == [
        {"code": "JI-02", "note": "Tautan mengarah ke beranda, bukan dokumen"},
        {"code": "KO-02.1", "note": ""},
    ]
    assert "Ditolak verifikator" in render_office_html(run, office)
    assert city_context(run).verification == [{"office": office, "accepted": 2, "rejected": 2}]


def test_refilling_keeps_the_verifier_columns(tmp_path, rubric):
    path = write_workbook(tmp_path / "v.xlsx", rubric, ROWS, stages={"visitasi": 81})
    # The office fills the returned workbook again: it changes an answer, nothing else.
    wb = openpyxl.load_workbook(path)
    ws = wb["Kuesioner"]
    for r in range(7, ws.max_row + 1):
        if ws.cell(row=r, column=COL["code"]).value == "JI-05":
            ws.cell(row=r, column=COL["answer"]).value = "Ya"
            ws.cell(row=r, column=COL["evidence"]).value = EV
    wb.save(path)
    q = read_questionnaire(path, rubric)
    assert q.answers["JI-02"].verification == "Tidak Sesuai"
    assert q.answers["JI-05"].parsed.text == "Ya"
    # A fresh template filled from it (monev template --from) keeps answers and decisions.
    fresh = tmp_path / "baru.xlsx"
    assert main(["template", "--from", str(path), "-o", str(fresh)]) == 0
    q2 = read_questionnaire(fresh, rubric)
    assert {c: (a.raw, a.evidence, a.verification) for c, a in q2.answers.items()} == {
        c: (a.raw, a.evidence, a.verification) for c, a in q.answers.items()
    }
    assert q2.office.name == q.office.name
    # A stage score typed in the workbook is carried as typed (whether it counts is the run's call).
    assert (
        q2.workbook_stages
        == q.workbook_stages
        == {"visitasi": ("81", q.workbook_stages["visitasi"][1])}
    )
    assert score(rubric, q2).saq_verifiable_exact == score(rubric, q).saq_verifiable_exact
