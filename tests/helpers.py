"""Build questionnaire workbooks inline, from a table of (code, answer, evidence) rows."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

from monev.evidence_items import parse_evidence
from monev.rubric import Checklist, Rubric, parse_rubric
from monev.template import HEADER_ROW, ORDER, build_template
from monev.workbook import Answer, Office, Questionnaire, stage_label

COL = {key: i for i, key in enumerate(ORDER, start=1)}

Row = tuple  # (code, answer) or (code, answer, evidence) or (code, answer, evidence, verification)


def answer_rows(rubric: Rubric) -> list[str]:
    """Every code that takes an answer (checklist headings excluded)."""
    return [
        item.code if item else ind.code
        for ind, item in rubric.rows()
        if item is not None or not isinstance(ind.answer, Checklist)
    ]


def write_workbook(
    path: Path,
    rubric: Rubric,
    rows: Iterable[Row],
    office: str = "Dinas Uji",
    unit_type: str = "OPD",
    stages: dict[str, object] | None = None,
    *,
    percent: Iterable[str] = (),
    links: dict[str, str] | None = None,
) -> Path:
    """A filled workbook from ``monev template`` with the given answers; other rows stay empty.

    ``percent``: codes whose answer cell gets Excel's ``0%`` number format (as when an officer
    types ``95%``); ``links``: code -> hyperlink target set on the evidence cell.
    """
    wb = build_template(rubric, office=office, unit_type=unit_type)
    ws = wb["Kuesioner"]
    where = {
        ws.cell(row=r, column=COL["code"]).value: r for r in range(HEADER_ROW + 1, ws.max_row + 1)
    }
    for row in rows:
        code, answer, *rest = row
        r = where[code]
        ws.cell(row=r, column=COL["answer"]).value = answer
        if rest:
            ws.cell(row=r, column=COL["evidence"]).value = rest[0]
        if len(rest) > 1:
            ws.cell(row=r, column=COL["verification"]).value = rest[1]
    for code in percent:
        ws.cell(row=where[code], column=COL["answer"]).number_format = "0%"
    for code, target in (links or {}).items():
        ws.cell(row=where[code], column=COL["evidence"]).hyperlink = target
    if stages:
        ident = wb["Identitas"]
        labels = {ident.cell(row=r, column=1).value: r for r in range(1, ident.max_row + 1)}
        for code, value in stages.items():
            ident.cell(row=labels[stage_label(code)], column=2).value = value
    wb.save(path)
    return path


def questionnaire(rubric: Rubric, rows: Iterable[Row], stages: dict | None = None) -> Questionnaire:
    """The same table as an in-memory Questionnaire (no file), for fast property tests."""
    specs = {}
    for ind, item in rubric.rows():
        specs[item.code if item else ind.code] = ind.answer
    answers = {}
    for n, row in enumerate(rows):
        code, raw, *rest = row
        parsed = specs[code].parse(raw) if raw not in (None, "") else None
        answers[code] = Answer(
            code=code,
            row=n + 7,
            parsed=parsed,
            raw=str(raw or ""),
            evidence=rest[0] if rest else "",
            evidence_items=parse_evidence(rest[0] if rest else ""),
            verification=rest[1] if len(rest) > 1 else None,
        )
    return Questionnaire(
        file="mem.xlsx",
        sha256="",
        office=Office(name="Dinas Uji"),
        answers=answers,
        stage_scores=stages or {},
    )


SMALL_RUBRIC = """
id: uji-kecil
title: Rubrik uji kecil
year: 2024
category: Uji
version: "1.0"
aspects:
  - {code: A, name: Aspek A, weight: 60}
  - {code: B, name: Aspek B, weight: 40}
indicators:
  - {code: A-01, aspect: A, question: Satu, answer: {type: ya_tidak}}
  - {code: A-02, aspect: A, question: Dua, answer: {type: ya_tidak}}
  - {code: A-03, aspect: A, question: Tiga, answer: {type: ya_tidak}, weight: 2}
  - code: B-01
    aspect: B
    question: Skala A-E
    answer:
      type: options
      options: [{label: A, value: 1}, {label: B, value: 0.75}, {label: C, value: 0.5},
                {label: D, value: 0.25}, {label: E, value: 0}]
  - code: B-02
    aspect: B
    question: Daftar periksa
    answer:
      type: checklist
      items: [{code: B-02.1, label: Satu}, {code: B-02.2, label: Dua},
              {code: B-02.3, label: Tiga}, {code: B-02.4, label: Empat}]
  - {code: B-03, aspect: B, question: Info, answer: {type: info}, evidence_required: false}
predicates:
  - {name: Informatif, min: 90}
  - {name: Menuju Informatif, min: 80}
  - {name: Cukup Informatif, min: 60}
  - {name: Kurang Informatif, min: 40}
  - {name: Tidak Informatif, min: 0}
stages:
  - {code: saq, name: SAQ, weight: 80}
  - {code: visitasi, name: Visitasi, weight: 10, gate: {stage: saq, min: 80}}
  - {code: wawancara, name: Wawancara, weight: 10, gate: {stage: saq, min: 80}}
"""


def small_rubric() -> Rubric:
    return parse_rubric(SMALL_RUBRIC, "uji-kecil.yaml")


def create_admin_args(email: str, password_file: Path, data: Path, *more: str) -> list[str]:
    """The arguments of ``monev web create-admin`` (for ``monev.cli.main`` or a subprocess)."""
    return [
        "web",
        "create-admin",
        "--email",
        email,
        "--password-file",
        str(password_file),
        "--data",
        str(data),
        *more,
    ]


#: The namespaces of an .ods ``content.xml`` that :func:`ods` declares.
ODS_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)


def ods(
    dst: Path, body: str, sheet: str = "Kuesioner", *, namespaces: str = "", manifest: str = ""
) -> Path:
    """A minimal .ods whose one sheet has ``body`` (rows) as its content; ``namespaces``: more
    declarations for the content's root; ``manifest``: a ``META-INF/manifest.xml`` to add."""
    ns = f"{ODS_NAMESPACES} {namespaces}".strip()
    content = (
        f'<?xml version="1.0"?><office:document-content {ns}><office:body><office:spreadsheet>'
        f'<table:table table:name="{sheet}">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", content)
        if manifest:
            zf.writestr("META-INF/manifest.xml", manifest)
    return dst
