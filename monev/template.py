"""Write the blank questionnaire workbook for one office from a rubric (``monev template``).

Two sheets: ``Identitas`` (who fills it, the rubric it belongs to, and the later stage scores the
PPID Utama enters) and ``Kuesioner`` (one row per indicator and per checklist item, with drop-down
lists for answers, instructions in Bahasa Indonesia, and locked question cells).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from monev.problems import Problem
from monev.rubric import Checklist, Indicator, Options, Percent, Rubric, Threshold
from monev.workbook import (
    COLUMNS,
    IDENTITY,
    SHEET_IDENTITY,
    SHEET_QUESTIONS,
    UNIT_TYPES,
    read_questionnaire,
    stage_label,
)

HEADER_ROW = 6
ORDER = [
    "code",
    "question",
    "hint",
    "accepted",
    "answer",
    "evidence",
    "note",
    "verification",
    "verifier_note",
]
WIDTHS = {
    "code": 10,
    "question": 60,
    "hint": 24,
    "accepted": 20,
    "answer": 12,
    "evidence": 45,
    "note": 30,
    "verification": 14,
    "verifier_note": 30,
}
EDITABLE = {"answer", "evidence", "note", "verification", "verifier_note"}
INSTRUCTIONS = [
    "Petunjuk: isi kolom Jawaban dengan memilih dari daftar pilihan (Ya / Tidak atau pilihan "
    "lain), atau ketik angka bila diminta.",
    "Isi kolom Bukti dengan tautan lengkap (https://...) yang dapat dibuka tanpa login, atau "
    "nama berkas PDF/gambar (maks. 2 MB) yang dikirim bersama kuesioner. Jawaban Ya tanpa bukti "
    "dinilai 0 oleh verifikator.",
    "Jangan mengubah kolom Kode dan Pertanyaan. Kolom Verifikasi dan Catatan Verifikator diisi "
    "oleh PPID Utama / verifikator.",
]


def answer_hint(ind: Indicator) -> str:
    spec = ind.answer
    if isinstance(spec, Threshold):
        unit = f" {spec.unit}" if spec.unit else ""
        return f"Angka{unit}; nilai penuh bila >= {spec.min.normalize():f}"
    if isinstance(spec, Percent):
        return "Persen 0-100"
    if isinstance(spec, Options):
        return " / ".join(f"{o.label} = {o.value.normalize():f}" for o in spec.options)
    if isinstance(spec, Checklist):
        return "Isi per butir di bawah (Ya / Tidak)"
    if spec.type == "info":
        return "Informasi, tidak dinilai"
    return "Ya / Tidak"


def _validation(kind: str, title: str, error: str, **rule: str) -> Any:
    """A drop-down or number check for input cells, with its message in Bahasa Indonesia."""
    from openpyxl.worksheet.datavalidation import DataValidation

    return DataValidation(
        type=kind, allow_blank=True, showErrorMessage=True, errorTitle=title, error=error, **rule
    )


def build_template(rubric: Rubric, office: str = "", unit_type: str = ""):  # -> openpyxl Workbook
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.worksheet.cell_range import MultiCellRange
    from openpyxl.worksheet.datavalidation import DataValidation

    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="1F4E79")
    aspect_fill = PatternFill("solid", fgColor="DDEBF7")
    input_fill = PatternFill("solid", fgColor="FFF2CC")
    grey_fill = PatternFill("solid", fgColor="EDEDED")
    wrap = Alignment(wrap_text=True, vertical="top")
    unlocked = Protection(locked=False)

    wb = Workbook()
    ident = wb.active
    ident.title = SHEET_IDENTITY
    ident["A1"] = "Kuesioner Monev Keterbukaan Informasi Publik"
    ident["A1"].font = Font(bold=True, size=14)
    ident["A2"] = rubric.title
    if rubric.reconstructed:
        ident["A3"] = "Catatan: rubrik ini direkonstruksi dari halaman publik, bukan SAQ resmi."
        ident["A3"].font = Font(italic=True, color="9C0006")
    values = {
        "office": office,
        "unit_type": unit_type,
        "kecamatan": "",
        "respondent": "",
        "position": "",
        "filled_on": "",
        "rubric_id": rubric.id,
        "rubric_version": rubric.version,
    }
    row = 5
    for key, label in IDENTITY.items():
        ident.cell(row=row, column=1, value=label).font = bold
        c = ident.cell(row=row, column=2, value=values[key] or None)
        if c.value is not None:
            c.data_type = "s"  # a name like "=..." stays text, never a formula
        if key not in ("rubric_id", "rubric_version"):
            c.protection = unlocked
            c.fill = input_fill
        if key == "unit_type":
            dv = _validation(
                "list",
                "Jenis unit",
                "Pilih dari daftar.",
                formula1='"' + ",".join(UNIT_TYPES) + '"',
            )
            ident.add_data_validation(dv)
            dv.add(c)
        row += 1
    row += 1
    ident.cell(
        row=row, column=1, value="Diisi PPID Utama / verifikator setelah tahap lanjutan:"
    ).font = Font(italic=True)
    row += 1
    for stage in rubric.stages[1:]:
        ident.cell(row=row, column=1, value=stage_label(stage.code)).font = bold
        c = ident.cell(row=row, column=2)
        c.protection = unlocked
        c.fill = input_fill
        dv = _validation(
            "decimal",
            "Nilai tahap",
            "Isi angka 0 sampai 100.",
            operator="between",
            formula1="0",
            formula2="100",
        )
        ident.add_data_validation(dv)
        dv.add(c)
        ident.cell(row=row, column=3, value=f"{stage.name} (bobot {stage.weight.normalize():f}%)")
        row += 1
    ident.column_dimensions["A"].width = 26
    ident.column_dimensions["B"].width = 50
    ident.column_dimensions["C"].width = 40
    ident.protection.sheet = True
    ident.protection.formatColumns = False

    ws = wb.create_sheet(SHEET_QUESTIONS)
    ws["A1"] = f"{rubric.title} (versi {rubric.version})"
    ws["A1"].font = Font(bold=True, size=13)
    for i, text in enumerate(INSTRUCTIONS, start=2):
        ws.cell(row=i, column=1, value=text).alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=len(ORDER))
        ws.row_dimensions[i].height = 30
    for c, key in enumerate(ORDER, start=1):
        cell = ws.cell(row=HEADER_ROW, column=c, value=COLUMNS[key])
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = head_fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[cell.column_letter].width = WIDTHS[key]
    col = {key: i for i, key in enumerate(ORDER, start=1)}

    yes_no = _validation("list", "Jawaban", "Pilih Ya atau Tidak.", formula1='"Ya,Tidak"')
    number = _validation(
        "decimal", "Jawaban", "Isi angka 0 atau lebih.", operator="greaterThanOrEqual", formula1="0"
    )
    percent = _validation(
        "decimal",
        "Jawaban",
        "Isi angka 0 sampai 100.",
        operator="between",
        formula1="0",
        formula2="100",
    )
    verdict = _validation(
        "list", "Verifikasi", "Pilih Sesuai atau Tidak Sesuai.", formula1='"Sesuai,Tidak Sesuai"'
    )
    for dv in (yes_no, number, percent, verdict):
        ws.add_data_validation(dv)
    option_dvs: dict[tuple[str, ...], DataValidation] = {}
    # Cells are gathered per validation and set once at the end: openpyxl's ``add`` scans every
    # range already added, which makes a rubric of a few thousand rows take minutes.
    refs: dict[int, list[str]] = {id(dv): [] for dv in (yes_no, number, percent, verdict)}

    r = HEADER_ROW + 1
    current_aspect = None
    for ind, item in rubric.rows():
        if ind.aspect != current_aspect and item is None:
            current_aspect = ind.aspect
            aspect = rubric.aspect(ind.aspect)
            c = ws.cell(
                row=r,
                column=col["question"],
                value=f"{aspect.code}. {aspect.name} (bobot {aspect.weight.normalize():f}%)",
            )
            for k in range(1, len(ORDER) + 1):
                ws.cell(row=r, column=k).fill = aspect_fill
            c.font = bold
            r += 1
        code = item.code if item else ind.code
        question = f"    • {item.label}" if item else ind.question
        ws.cell(row=r, column=col["code"], value=code)
        ws.cell(row=r, column=col["question"], value=question).alignment = wrap
        ws.cell(
            row=r, column=col["hint"], value="Ya / Tidak" if item else answer_hint(ind)
        ).alignment = wrap
        ws.cell(row=r, column=col["accepted"], value=ind.evidence_hint).alignment = wrap
        heading = item is None and isinstance(ind.answer, Checklist)
        for key in EDITABLE:
            c = ws.cell(row=r, column=col[key])
            c.alignment = wrap
            if heading and key in ("answer", "evidence"):
                c.fill = grey_fill
                continue
            c.protection = unlocked
            if key in ("answer", "evidence"):
                c.fill = input_fill
        ref = ws.cell(row=r, column=col["answer"]).coordinate
        if not heading:
            spec = ind.answer
            if item or spec.type == "ya_tidak":
                refs[id(yes_no)].append(ref)
            elif isinstance(spec, Threshold):
                refs[id(number)].append(ref)
            elif isinstance(spec, Percent):
                refs[id(percent)].append(ref)
            elif isinstance(spec, Options):
                labels = tuple(o.label for o in spec.options)
                if labels not in option_dvs:
                    option_dvs[labels] = _validation(
                        "list",
                        "Jawaban",
                        "Pilih dari daftar.",
                        formula1='"' + ",".join(labels) + '"',
                    )
                    ws.add_data_validation(option_dvs[labels])
                    refs[id(option_dvs[labels])] = []
                refs[id(option_dvs[labels])].append(ref)
            refs[id(verdict)].append(ws.cell(row=r, column=col["verification"]).coordinate)
        r += 1
    for dv in ws.data_validations.dataValidation:
        if id(dv) in refs:
            dv.sqref = MultiCellRange(" ".join(refs[id(dv)]))
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=col["question"])
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    wb.active = 0
    return wb


class SourceRejected(Exception):
    """The workbook given to carry over is rejected by the reader: nothing can be carried."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(p.text("en") for p in problems))


def carry_over(wb: Any, rubric: Rubric, source: Path) -> None:
    """Copy identity, answers, evidence, notes and the verifier's columns from a filled workbook.

    Used when an office fills a fresh template again (a new rubric version, a damaged file):
    nothing the office or the verifier wrote is lost. Rows are matched by ``Kode``.
    """
    from monev.stages import parse_stage_value

    q = read_questionnaire(source, rubric)
    if q.rejected:
        raise SourceRejected([p for p in q.problems if p.severity == "fatal"])
    ident = wb[SHEET_IDENTITY]
    labels = {ident.cell(row=r, column=1).value: r for r in range(1, ident.max_row + 1)}
    o = q.office
    values = {
        "office": o.name,
        "unit_type": o.unit_type,
        "kecamatan": o.kecamatan,
        "respondent": o.respondent,
        "position": o.position,
        "filled_on": o.filled_on,
    }
    for key, value in values.items():
        if value:
            c = ident.cell(row=labels[IDENTITY[key]], column=2, value=value)
            c.data_type = "s"
    # Stage scores typed in the source are carried as typed (nothing lost); whether a run uses
    # them is decided by monev.stages (wp-stages).
    for code, (raw, _cell) in q.workbook_stages.items():
        number = parse_stage_value(raw)
        ident.cell(
            row=labels[stage_label(code)], column=2, value=raw if number is None else float(number)
        )
    ws = wb[SHEET_QUESTIONS]
    col = {key: i for i, key in enumerate(ORDER, start=1)}
    for r in range(HEADER_ROW + 1, ws.max_row + 1):
        a = q.answers.get(str(ws.cell(row=r, column=col["code"]).value or ""))
        if a is None:
            continue
        cells: tuple[tuple[str, str | None], ...] = (
            ("answer", a.parsed.text if a.parsed else a.raw),
            ("evidence", a.evidence),
            ("note", a.note),
            ("verification", a.verification),
            ("verifier_note", a.verifier_note),
        )
        for key, text in cells:
            if text:
                ws.cell(row=r, column=col[key], value=text).data_type = "s"
        if a.evidence_link:  # the link behind "Lihat dokumen" (or a =HYPERLINK) is evidence too
            c = ws.cell(row=r, column=col["evidence"])
            if not c.value:
                c.value = a.evidence_link
                c.data_type = "s"
            c.hyperlink = a.evidence_link


def write_template(
    rubric: Rubric,
    dest: str | Path,
    office: str = "",
    unit_type: str = "",
    source: str | Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the blank questionnaire to ``dest`` atomically and return its path.

    With ``source``, the answers and the verifier's columns of that filled workbook are carried
    over into the new template (see :func:`carry_over`; :class:`SourceRejected` when that
    workbook is rejected). An existing ``dest`` raises :class:`FileExistsError` unless
    ``overwrite``: a filled questionnaire is never replaced by a blank one by accident.
    """
    dest = Path(dest)
    if dest.suffix.lower() != ".xlsx":
        raise ValueError(f"{dest}: a template is written as .xlsx only")
    if not overwrite and (dest.exists() or dest.is_symlink()):
        raise FileExistsError(str(dest))
    wb = build_template(rubric, office=office, unit_type=unit_type)
    if source is not None:
        carry_over(wb, rubric, Path(source))
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".monev-", suffix=".xlsx", dir=dest.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # as any file the user creates, not mkstemp's 0600
        if overwrite:
            os.replace(tmp, dest)
        else:
            _place_new(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _place_new(tmp: str, dest: Path) -> None:
    """Move ``tmp`` to ``dest`` only if ``dest`` still does not exist (no race with a writer)."""
    try:
        os.link(tmp, dest)  # fails with FileExistsError when dest appeared meanwhile
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: check, then rename
        if dest.exists():
            raise FileExistsError(str(dest)) from None
        os.replace(tmp, dest)
