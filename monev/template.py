"""Write the blank questionnaire workbook for one office from a rubric (``monev template``).

Sheets: ``Identitas`` (who fills it, the rubric it belongs to, and the later stage scores the
rubric's lead unit or verifier enters), ``Kuesioner`` (one row per indicator and per checklist item,
with drop-down lists from the rubric, instructions and locked question cells), ``Ringkasan`` (an
estimate of the claimed score and of the score with evidence, per aspect and in total, computed by
the spreadsheet's own formulas as the officer types) and two hidden sheets the formulas use (one
row per answer, and the values of the rubric's answer options). Every text a person reads comes
from the catalogue in the run's language; the sheet names the reader looks for (``Identitas``,
``Kuesioner``) and the answer words of the rubric (``Ya``, ``Tidak``, option labels, verifier
decisions) are data and stay as the rubric names them. monev reads only ``Identitas`` and
``Kuesioner``: the summary is an estimate, never an input.
"""

from __future__ import annotations

import os
import tempfile
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from monev.evidence_items import _TLDS, DOCUMENT_SUFFIXES
from monev.i18n import DEFAULT_LANG, LANGS, t
from monev.problems import Problem
from monev.rubric import (
    DEFAULT_VERDICTS,
    Checklist,
    Computed,
    Exact,
    Indicator,
    Options,
    Percent,
    Rubric,
    Threshold,
)
from monev.workbook import (
    IDENTITY,
    SHEET_IDENTITY,
    SHEET_QUESTIONS,
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


def _evidence_marks() -> tuple[str, ...]:
    """Text in an evidence cell that makes the summary count it as evidence a verifier can open:
    a link (``https://``, ``www.``, a domain ending of monev's list) or a document's file name
    (monev's own rule, :mod:`monev.evidence_items`, is finer: it also refuses local paths)."""
    marks = ["http://", "https://", "www."]
    marks += ["." + tld for tld in _TLDS.split("|")]
    for suffix in DOCUMENT_SUFFIXES.split("|"):
        if "?" in suffix:  # jpe?g: jpg and jpeg; docx?: doc (which .docx contains)
            i = suffix.index("?")
            marks += [suffix[: i - 1] + suffix[i + 1 :], suffix.replace("?", "")]
        else:
            marks.append(suffix)
    return tuple(dict.fromkeys(m if m.startswith(("http", "www", ".")) else "." + m for m in marks))


EVIDENCE_MARKS = _evidence_marks()


def _num(value: Decimal | Fraction, lang: str = DEFAULT_LANG) -> str:
    """A rubric number as written (``12.5``, ``2/3``), with a decimal comma in Indonesian."""
    text = f"{Exact(value)}"
    return text.replace(".", ",") if lang == "id" else text


def answer_hint(ind: Indicator, lang: str = DEFAULT_LANG) -> str:
    spec = ind.answer
    if isinstance(spec, Threshold):
        unit = f" {spec.unit}" if spec.unit else ""
        return t("tmpl.hint.threshold", lang, unit=unit, min=_num(spec.min, lang))
    if isinstance(spec, Percent):
        return t("tmpl.hint.percent", lang)
    if isinstance(spec, Options):
        return " / ".join(f"{o.label} = {_num(o.value, lang)}" for o in spec.options)
    if isinstance(spec, Checklist):
        return t("tmpl.hint.checklist", lang, choices=" / ".join(spec.choices()))
    if spec.type == "info":
        return t("tmpl.hint.info", lang)
    return " / ".join(spec.choices())


def _validation(kind: str, title: str, error: str, **rule: str) -> Any:
    """A drop-down or number check for input cells, with its message in the run's language."""
    from openpyxl.worksheet.datavalidation import DataValidation

    return DataValidation(
        type=kind, allow_blank=True, showErrorMessage=True, errorTitle=title, error=error, **rule
    )


def _listed(names: list[str]) -> str:
    """A drop-down's fixed list (a name with a comma or a quote cannot be listed inline)."""
    return '"' + ",".join(names) + '"'


def _inline_ok(names: list[str]) -> bool:
    return all("," not in n and '"' not in n for n in names) and len(_listed(names)) <= 255


def build_template(
    rubric: Rubric, office: str = "", unit_type: str = "", lang: str = DEFAULT_LANG
):  # -> openpyxl Workbook
    """The questionnaire workbook for ``rubric``, its interface text in ``lang``."""
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
    pick = t("tmpl.dv.pick", lang)

    wb = Workbook()
    ident = wb.active
    ident.title = SHEET_IDENTITY
    ident["A1"] = rubric.titles.questionnaire or t("tmpl.title", lang)
    ident["A1"].font = Font(bold=True, size=14)
    ident["A2"] = rubric.title
    if rubric.reconstructed:
        ident["A3"] = t("tmpl.reconstructed", lang)
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
    for key in IDENTITY:
        label = t(f"tmpl.identity.{key}", lang)
        ident.cell(row=row, column=1, value=label).font = bold
        c = ident.cell(row=row, column=2, value=values[key] or None)
        if c.value is not None:
            c.data_type = "s"  # a name like "=..." stays text, never a formula
        if key not in ("rubric_id", "rubric_version"):
            c.protection = unlocked
            c.fill = input_fill
        if key == "unit_type":
            units = list(rubric.unit_types)
            if _inline_ok(units):
                dv = _validation(
                    "list", t("tmpl.dv.unit_type", lang), pick, formula1=_listed(units)
                )
                ident.add_data_validation(dv)
                dv.add(c)
        row += 1
    if rubric.assessors is not None:  # one workbook per assessor: which one this is
        ident.cell(row=row, column=1, value=t("tmpl.identity.track", lang)).font = bold
        c = ident.cell(row=row, column=2)
        c.protection = unlocked
        c.fill = input_fill
        names = [tr.name for tr in rubric.assessors.tracks]
        if _inline_ok(names):
            dv = _validation("list", t("tmpl.dv.track", lang), pick, formula1=_listed(names))
            ident.add_data_validation(dv)
            dv.add(c)
        row += 1
    row += 1
    if rubric.stages[1:]:
        by = (
            t("tmpl.stages_by_lead", lang, lead=rubric.lead_unit)
            if rubric.lead_unit
            else t("tmpl.stages_by_verifier", lang)
        )
        ident.cell(row=row, column=1, value=by).font = Font(italic=True)
        row += 1
    for stage in rubric.stages[1:]:
        ident.cell(row=row, column=1, value=stage_label(stage.code, lang)).font = bold
        c = ident.cell(row=row, column=2)
        c.protection = unlocked
        c.fill = input_fill
        dv = _validation(
            "decimal",
            t("tmpl.dv.stage", lang),
            t("tmpl.dv.zero_to_100", lang),
            operator="between",
            formula1="0",
            formula2="100",
        )
        ident.add_data_validation(dv)
        dv.add(c)
        weighted = t("tmpl.weighted", lang, name=stage.name, weight=_num(stage.weight, lang))
        ident.cell(row=row, column=3, value=weighted)
        row += 1
    ident.column_dimensions["A"].width = 26
    ident.column_dimensions["B"].width = 50
    ident.column_dimensions["C"].width = 40
    ident.protection.sheet = True
    ident.protection.formatColumns = False

    ws = wb.create_sheet(SHEET_QUESTIONS)
    ws["A1"] = t("tmpl.version", lang, title=rubric.title, version=rubric.version)
    ws["A1"].font = Font(bold=True, size=13)
    who = (
        t("tmpl.instructions3.lead", lang, lead=rubric.lead_unit)
        if rubric.lead_unit
        else t("tmpl.instructions3.verifier", lang)
    )
    instructions = [
        t("tmpl.instructions1", lang),
        t("tmpl.instructions2", lang),
        t("tmpl.instructions3", lang, who=who),
    ]
    for i, text in enumerate(instructions, start=2):
        ws.cell(row=i, column=1, value=text).alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=len(ORDER))
        ws.row_dimensions[i].height = 30
    for c, key in enumerate(ORDER, start=1):
        cell = ws.cell(row=HEADER_ROW, column=c, value=t(f"tmpl.col.{key}", lang))
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = head_fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[cell.column_letter].width = WIDTHS[key]
    col = {key: i for i, key in enumerate(ORDER, start=1)}

    calc = _Calc(wb, rubric, lang)
    answer_title = t("tmpl.dv.answer", lang)
    number = _validation(
        "decimal",
        answer_title,
        t("tmpl.dv.at_least_0", lang),
        operator="greaterThanOrEqual",
        formula1="0",
    )
    percent = _validation(
        "decimal",
        answer_title,
        t("tmpl.dv.zero_to_100", lang),
        operator="between",
        formula1="0",
        formula2="100",
    )
    verdict_names = list(rubric.verdicts().values())
    verdict = _validation(
        "list",
        t("tmpl.dv.verification", lang),
        pick,
        formula1=_listed(verdict_names)
        if _inline_ok(verdict_names)
        else calc.list_of(verdict_names),
    )
    for dv in (number, percent, verdict):
        ws.add_data_validation(dv)
    choice_dvs: dict[str, DataValidation] = {}
    # Cells are gathered per validation and set once at the end: openpyxl's ``add`` scans every
    # range already added, which makes a rubric of a few thousand rows take minutes.
    refs: dict[int, list[str]] = {id(dv): [] for dv in (number, percent, verdict)}

    def choices_dv(formula: str) -> DataValidation:
        if formula not in choice_dvs:
            choice_dvs[formula] = _validation("list", answer_title, pick, formula1=formula)
            ws.add_data_validation(choice_dvs[formula])
            refs[id(choice_dvs[formula])] = []
        return choice_dvs[formula]

    r = HEADER_ROW + 1
    current_aspect = None
    for ind, item in rubric.rows():
        if ind.aspect != current_aspect and item is None:
            current_aspect = ind.aspect
            aspect = rubric.aspect(ind.aspect)
            name = f"{aspect.code}. {aspect.name}"
            c = ws.cell(
                row=r,
                column=col["question"],
                value=t("tmpl.weighted", lang, name=name, weight=_num(aspect.weight, lang)),
            )
            for k in range(1, len(ORDER) + 1):
                ws.cell(row=r, column=k).fill = aspect_fill
            c.font = bold
            r += 1
        code = item.code if item else ind.code
        question = f"    • {item.label}" if item else ind.question
        ws.cell(row=r, column=col["code"], value=code).data_type = "s"
        ws.cell(row=r, column=col["question"], value=question).alignment = wrap
        hint = " / ".join(ind.answer.choices()) if item else answer_hint(ind, lang)
        ws.cell(row=r, column=col["hint"], value=hint).alignment = wrap
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
            if isinstance(spec, Threshold):
                refs[id(number)].append(ref)
            elif isinstance(spec, Percent):
                refs[id(percent)].append(ref)
            elif spec.choices():
                names = spec.choices()
                if isinstance(spec, Options) or not _inline_ok(names):
                    formula = calc.options_of(spec)
                else:
                    formula = _listed(names)
                refs[id(choices_dv(formula))].append(ref)
            refs[id(verdict)].append(ws.cell(row=r, column=col["verification"]).coordinate)
            if ind.scored:
                calc.add_row(ind, item, r, col)
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
    calc.write_summary()
    wb.active = 0
    return wb


def _float(value: Fraction | Decimal) -> str:
    """A number as a formula writes it (shortest form that reads back as the same double)."""
    return repr(float(value))


def _literal(text: str) -> str:
    """A text constant in a formula."""
    return '"' + text.replace('"', '""') + '"'


def _quote(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


class _Calc:
    """The hidden sheets behind the summary, and the summary itself.

    ``Perhitungan`` has one row per scored answer row of ``Kuesioner``: its code, aspect, maximum
    points (a checklist item carries its share of the indicator) and two formulas, the claimed
    value (0..1) of the answer and its value counting only answers with evidence a verifier can
    open, following monev's rules (:mod:`monev.scoring`) as far as plain spreadsheet functions
    go. ``Nilai Pilihan`` holds the answer options' values (and drop-down lists too long to be
    written inline). Only IF, TRIM, ISNUMBER, SEARCH, CELL, LEFT, MIN, AND, OR, ROUND and
    SUMPRODUCT are used: Excel and LibreOffice compute them alike, without macros or dynamic
    arrays.
    """

    MARK_COL = "G"

    def __init__(self, wb: Any, rubric: Rubric, lang: str) -> None:
        self.wb = wb
        self.rubric = rubric
        self.lang = lang
        self.points = rubric.max_points()
        self.calc = wb.create_sheet(t("tmpl.sheet.calc", lang))
        self.opts = wb.create_sheet(t("tmpl.sheet.options", lang))
        self.summary_name = t("tmpl.sheet.summary", lang)
        for ws, head in (
            (self.calc, ["code", "aspect", "points", "claimed", "verifiable"]),
            (self.opts, ["set", "label", "value"]),
        ):
            ws.sheet_state = "hidden"
            ws.protection.sheet = True
            keys = {
                "code": "tmpl.col.code",
                "aspect": "tmpl.summary.aspect",
                "points": "tmpl.calc.points",
                "claimed": "tmpl.calc.claimed",
                "verifiable": "tmpl.calc.verifiable",
                "set": "tmpl.calc.set",
                "label": "tmpl.calc.label",
                "value": "tmpl.calc.value",
            }
            ws.append([t(keys[k], lang) for k in head])
        self.calc[f"{self.MARK_COL}1"] = t("tmpl.calc.markers", lang)
        for i, mark in enumerate(EVIDENCE_MARKS, start=2):
            self.calc[f"{self.MARK_COL}{i}"] = mark
        self.marks = f"${self.MARK_COL}$2:${self.MARK_COL}${1 + len(EVIDENCE_MARKS)}"
        self.sets: dict[tuple[tuple[str, Fraction], ...], tuple[str, str]] = {}
        self.row = 1
        self.computed = False  # an answer computed from numbers: not in the estimate

    def _block(self, pairs: list[tuple[str, Fraction | None]]) -> tuple[str, str]:
        """Write a list of labels (and values) on the options sheet; its label and value ranges."""
        first = self.opts.max_row + 1
        n = len(self.sets) + 1
        for label, value in pairs:
            r = self.opts.max_row + 1
            self.opts.cell(row=r, column=1, value=n)
            self.opts.cell(row=r, column=2, value=label).data_type = "s"
            if value is not None:
                self.opts.cell(row=r, column=3, value=float(value))
        last = self.opts.max_row
        sheet = _quote(self.opts.title)
        return f"{sheet}!$B${first}:$B${last}", f"{sheet}!$C${first}:$C${last}"

    def ranges(self, spec: Any) -> tuple[str, str]:
        """The label and value ranges of an answer's choices on the options sheet (one block
        per distinct list)."""
        if isinstance(spec, Options):
            key = tuple((o.label, Fraction(o.value)) for o in spec.options)
        else:
            key = tuple((c, Fraction(-1)) for c in spec.choices())
        if key not in self.sets:
            self.sets[key] = self._block([(k, v if v >= 0 else None) for k, v in key])
        return self.sets[key]

    def options_of(self, spec: Any) -> str:
        """The drop-down source of an answer's choices (their values kept for the formulas)."""
        return self.ranges(spec)[0]  # as Excel stores a formula: without "="

    def list_of(self, names: list[str]) -> str:
        labels, _ = self._block([(n, None) for n in names])
        return labels

    def add_row(self, ind: Indicator, item: Any, r: int, col: dict[str, int]) -> None:
        from openpyxl.utils import get_column_letter

        def at(key: str) -> str:
            return f"{SHEET_QUESTIONS}!${get_column_letter(col[key])}${r}"

        ans, ev, ver = at("answer"), at("evidence"), at("verification")
        points = self.points.get(ind.code, Fraction(0))
        spec = ind.answer
        if isinstance(spec, Checklist):
            points /= len(spec.items)
        if isinstance(spec, Threshold):
            claimed = f"IF(ISNUMBER({ans}),IF({ans}>={_float(spec.min)},1,0),0)"
        elif isinstance(spec, Percent):
            # "95%" typed in Excel is stored as 0.95 in a percent-format cell: monev reads 95.
            pct = f'IF(LEFT(CELL("format",{ans}),1)="P",{ans}*100,{ans})'
            claimed = f"IF(ISNUMBER({ans}),IF(AND({pct}>=0,{pct}<=100),{pct}/100,0),0)"
        elif isinstance(spec, Options) or (isinstance(spec, Checklist) and spec.options):
            own = spec
            if isinstance(spec, Checklist) and spec.options:  # items answered on their own labels
                own = Options(type="options", options=spec.options)
            labels, values = self.ranges(own)
            claimed = f"SUMPRODUCT(({labels}=TRIM({ans}))*{values})"
        elif isinstance(spec, Computed):
            # A formula over other rows' numbers: computed by monev only, not estimated here.
            self.computed = True
            claimed = "0"
        else:  # Ya / Tidak, a checklist item: the choice worth 1
            yes = next(c for c in spec.choices() if spec.parse(c).value == 1)
            claimed = f"IF(TRIM({ans})={_literal(yes)},1,0)"
        self.row += 1
        n = self.row
        d = f"$D{n}"
        ok = (
            f"(SUMPRODUCT(--ISNUMBER(SEARCH({self.marks},{ev})))>0)"
            if ind.evidence_required
            else "1"
        )
        decision = f"TRIM({ver})"
        verification = self.rubric.verification
        if verification is None:
            # Sesuai in the office's own workbook cannot raise an item; anything else makes it 0.
            accept = _literal(DEFAULT_VERDICTS[0])
            verifiable = f'IF(OR({decision}="",{decision}={accept}),{d}*{ok},0)'
        else:
            kept = f"{d}*{ok}"
            if verification.ungraded is not None:
                kept += "*" + _float(self.rubric.level_value(ind, verification.ungraded))
            verifiable = "0"
            for level in reversed(verification.levels):
                value = _float(self.rubric.level_value(ind, level.name))
                name = _literal(level.name)
                verifiable = f"IF({decision}={name},MIN({d}*{value},{kept}),{verifiable})"
            verifiable = f'IF({decision}="",{kept},{verifiable})'
        self.calc.cell(row=n, column=1, value=item.code if item else ind.code).data_type = "s"
        self.calc.cell(row=n, column=2, value=ind.aspect).data_type = "s"
        self.calc.cell(row=n, column=3, value=float(points))
        self.calc.cell(row=n, column=4, value="=" + claimed)
        self.calc.cell(row=n, column=5, value="=" + verifiable)

    def write_summary(self) -> None:
        from openpyxl.styles import Alignment, Font

        lang = self.lang
        ws = self.wb.create_sheet(self.summary_name, 2)
        ws["A1"] = t("tmpl.summary.title", lang)
        ws["A1"].font = Font(bold=True, size=13)
        for i, key in enumerate(("tmpl.summary.note1", "tmpl.summary.note2"), start=2):
            ws.cell(row=i, column=1, value=t(key, lang)).alignment = Alignment(
                wrap_text=True, vertical="top"
            )
            ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=5)
            ws.row_dimensions[i].height = 45
        head = ["tmpl.col.code", "tmpl.summary.aspect", "tmpl.summary.weight"]
        head += ["tmpl.summary.claimed", "tmpl.summary.verifiable"]
        for c, key in enumerate(head, start=1):
            ws.cell(row=5, column=c, value=t(key, lang)).font = Font(bold=True)
        last = max(self.row, 2)
        calc = _quote(self.calc.title)
        codes, points = f"{calc}!$B$2:$B${last}", f"{calc}!$C$2:$C${last}"
        values = {k: f"{calc}!${k}$2:${k}${last}" for k in ("D", "E")}

        def total(column: str, where: str = "") -> str:
            # Rounded to 9 places first, so a double's last bits cannot tip a half cent.
            sum_ = f"SUMPRODUCT({where}{points}*{values[column]})"
            return f"=ROUND(ROUND({sum_},9),2)"

        r = 6
        for aspect in self.rubric.aspects:
            ws.cell(row=r, column=1, value=aspect.code).data_type = "s"
            ws.cell(row=r, column=2, value=aspect.name)
            ws.cell(row=r, column=3, value=float(aspect.weight)).number_format = "0.##"
            for c, column in ((4, "D"), (5, "E")):
                cell = ws.cell(row=r, column=c, value=total(column, f"({codes}=$A${r})*"))
                cell.number_format = "0.00"
            r += 1
        ws.cell(row=r, column=2, value=t("tmpl.summary.total", lang)).font = Font(bold=True)
        for c, column in ((4, "D"), (5, "E")):
            cell = ws.cell(row=r, column=c, value=total(column))
            cell.number_format = "0.00"
            cell.font = Font(bold=True)
        self.total_row = r
        r += 2
        by_monev = t("tmpl.summary.by_monev", lang)
        rows = ["tmpl.summary.final"] + (["tmpl.summary.band"] if self.rubric.predicates else [])
        for key in rows:
            ws.cell(row=r, column=2, value=t(key, lang))
            ws.cell(row=r, column=4, value=by_monev)
            ws.cell(row=r, column=5, value=by_monev)
            r += 1
        if self.computed:
            ws.cell(row=r + 1, column=1, value=t("tmpl.summary.computed_note", lang))
        for letter, width in zip("ABCDE", (10, 48, 11, 22, 24), strict=True):
            ws.column_dimensions[letter].width = width
        ws.protection.sheet = True
        ws.page_setup.orientation = "landscape"
        ws.sheet_properties.pageSetUpPr.fitToPage = True  # one page wide when printed
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0


def summary_cells(rubric: Rubric) -> dict[str, tuple[str, str]]:
    """Where the summary puts each figure: aspect code (and ``""`` for the SAQ total) ->
    (claimed cell, verifiable cell). The sheet is named ``tmpl.sheet.summary`` in the run's
    language."""
    out = {}
    for r, aspect in enumerate(rubric.aspects, start=6):
        out[aspect.code] = (f"D{r}", f"E{r}")
    r = 6 + len(rubric.aspects)
    out[""] = (f"D{r}", f"E{r}")
    return out


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
    lang = next((x for x in LANGS if t("tmpl.identity.office", x) in labels), DEFAULT_LANG)
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
            c = ident.cell(row=labels[t(f"tmpl.identity.{key}", lang)], column=2, value=value)
            c.data_type = "s"
    # Stage scores typed in the source are carried as typed (nothing lost); whether a run uses
    # them is decided by monev.stages (wp-stages).
    for code, (raw, _cell) in q.workbook_stages.items():
        number = parse_stage_value(raw)
        ident.cell(
            row=labels[stage_label(code, lang)],
            column=2,
            value=raw if number is None else float(number),
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
    lang: str = DEFAULT_LANG,
) -> Path:
    """Write the blank questionnaire to ``dest`` atomically and return its path.

    With ``source``, the answers and the verifier's columns of that filled workbook are carried
    over into the new template (see :func:`carry_over`; :class:`SourceRejected` when that
    workbook is rejected). ``lang``: the language of the template's interface text. An
    existing ``dest`` raises :class:`FileExistsError` unless
    ``overwrite``: a filled questionnaire is never replaced by a blank one by accident.
    """
    dest = Path(dest)
    if dest.suffix.lower() != ".xlsx":
        raise ValueError(f"{dest}: a template is written as .xlsx only")
    if not overwrite and (dest.exists() or dest.is_symlink()):
        raise FileExistsError(str(dest))
    wb = build_template(rubric, office=office, unit_type=unit_type, lang=lang)
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
