"""Step 2b of the pipeline: check a workbook's cells against a rubric and build a Questionnaire.

:mod:`monev.cells` reads the bytes (values, percent formats, hyperlinks, formulas without a value);
this module finds the header row and the columns by name (not by position), rows by ``Kode``,
reads answers, evidence items, verifier decisions and identity, and collects every problem with
its sheet and cell. It never raises on bad user input: a file that cannot be read at all comes back
with a ``fatal`` problem and no answers.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import MISSING, dataclass, field, fields, replace
from decimal import Decimal
from fractions import Fraction
from operator import itemgetter
from pathlib import Path
from typing import Any

from monev.cells import (
    Sheet,
    TooLarge,
    cell_ref,
    col_letter,
    is_lock_file,
    open_book,
)
from monev.evidence_items import LOCAL_PATH, MISTYPED, EvidenceItem, parse_evidence
from monev.i18n import DEFAULT_LANG, LANGS, t, technical
from monev.problems import Problem
from monev.rounding import round_half_up
from monev.rubric import (
    DEFAULT_UNIT_TYPES,
    DEFAULT_VERDICTS,
    AnswerError,
    Checklist,
    Computed,
    Indicator,
    Parsed,
    Rubric,
    derived,
    verdict_key,
)

__all__ = ["cell_ref", "col_letter", "is_lock_file", "read_questionnaire"]
from monev.scan import scan_workbook

SHEET_IDENTITY = "Identitas"
SHEET_QUESTIONS = "Kuesioner"

#: Column keys -> the header text the template writes. The reader accepts these and ALIASES.
COLUMNS = {
    "code": "Kode",
    "question": "Pertanyaan",
    "hint": "Petunjuk Jawaban",
    "accepted": "Bukti yang Diterima",
    "answer": "Jawaban",
    "evidence": "Bukti",
    "note": "Keterangan",
    "verification": "Verifikasi",
    "verifier_note": "Catatan Verifikator",
}
ALIASES = {
    "code": ["kode", "kode indikator", "no. kode", "code"],
    "question": ["pertanyaan", "indikator", "question"],
    "answer": ["jawaban", "jawaban anda", "answer"],
    "evidence": [
        "bukti",
        "bukti dukung",
        "tautan bukti",
        "link bukti",
        "bukti (tautan / nama berkas)",
        "evidence",
    ],
    "note": ["keterangan", "catatan", "note"],
    "verification": ["verifikasi", "hasil verifikasi", "verification"],
    "verifier_note": ["catatan verifikator", "verifier's note"],
}  # the English names are those of a template written with --lang en (wp-tmpl)
REQUIRED = ("code", "answer", "evidence")
HEADER_SEARCH_ROWS = 40

#: Identity labels on the Identitas sheet -> keys. Stage scores are ``Nilai <Stage code>``.
IDENTITY = {
    "office": "Nama Kantor",
    "unit_type": "Jenis Unit",
    "kecamatan": "Kecamatan",
    "respondent": "Nama Responden",
    "position": "Jabatan",
    "filled_on": "Tanggal Pengisian",
    "rubric_id": "ID Rubrik",
    "rubric_version": "Versi Rubrik",
}
#: The Identitas label naming the assessor track of a workbook (rubrics with ``assessors``).
TRACK_LABEL = "Penilai"
UNIT_TYPES = list(DEFAULT_UNIT_TYPES)  # the default rubric's; a rubric may name its own
VERDICTS = {verdict_key(v): v for v in DEFAULT_VERDICTS}  # a rubric may define graded levels

DRIVE_SHARING = re.compile(r"(drive|docs)\.google\.com/.*(usp=sharing|/edit|/view|open\?id=)", re.I)


def stage_label(code: str, lang: str = DEFAULT_LANG) -> str:
    """The Identitas label of a later stage's score (``Nilai Visitasi``, ``Visitasi score``)."""
    return t("tmpl.stage_label", lang, stage=code.replace("_", " ").title())


@dataclass(frozen=True)
class Answer:
    """One questionnaire row as read: the parsed answer (None when missing or invalid)."""

    code: str
    row: int
    parsed: Parsed | None
    raw: str
    evidence: str
    note: str = ""
    verification: str | None = None
    verifier_note: str = ""
    evidence_cell: str = ""
    #: The cell's hyperlink target (display text such as "Lihat dokumen" hides it).
    evidence_link: str = ""
    #: What the evidence cell offers a verifier, item by item (:mod:`monev.evidence_items`).
    evidence_items: tuple[EvidenceItem, ...] = ()
    #: Set by the evidence check (``--check-links``): the statuses when every piece failed.
    evidence_failed: str = ""
    #: The Verifikasi cell holds something that is not one of the rubric's decisions: the item
    #: counts 0 in the verifiable score until it is corrected (MV213 / MV216).
    verification_unclear: bool = False
    #: False when the decision was written in an office's own workbook and the run does not
    #: trust the workbooks' verifier columns: the decision can then only lower the item's value.
    verification_trusted: bool = True
    verification_cell: str = ""

    @property
    def has_evidence(self) -> bool:
        """Something was given as evidence (text or a link), openable or not."""
        return bool(self.evidence.strip() or self.evidence_link)

    @property
    def verifiable_evidence(self) -> bool:
        """At least one item a verifier can open: a URL or a document's file name."""
        return any(i.verifiable for i in self.evidence_items)


#: Every field of :class:`Answer` in order, with its default (``MISSING`` where it has none).
_ANSWER_FIELDS = {f.name: f.default for f in fields(Answer)}
#: The fields ``_answer`` must be given: those without a plain default (a ``default_factory``
#: is not run by ``_answer``, so such a field must be given too).
_ANSWER_REQUIRED = frozenset(f.name for f in fields(Answer) if f.default is MISSING)


def _answer(**values: Any) -> Answer:
    """``Answer(**values)`` for the reader's hot loop, given every field without a default.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``: 3 µs for
    the 15 fields of an answer, against 0.6 µs for this. The object is the same, its fields in
    the same order (``tests/test_scan_fast.py`` compares them with the constructor's).
    """
    if not values.keys() >= _ANSWER_REQUIRED:  # as the constructor would
        raise TypeError(f"Answer needs {sorted(_ANSWER_REQUIRED - values.keys())}")
    answer = object.__new__(Answer)
    answer.__dict__.update(_ANSWER_FIELDS | values)
    return answer


@dataclass
class Office:
    name: str
    unit_type: str = ""
    kecamatan: str = ""
    respondent: str = ""
    position: str = ""
    filled_on: str = ""
    #: The assessor track this workbook is from (a rubric with ``assessors``); "": the only one.
    track: str = ""


@dataclass
class Questionnaire:
    """A workbook as read: who filled it, the answers by code, stage scores and problems."""

    file: str
    sha256: str
    office: Office
    rubric_id: str = ""
    rubric_version: str = ""
    answers: dict[str, Answer] = field(default_factory=dict)
    stage_scores: dict[str, Decimal] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: Stage scores typed on the Identitas sheet: stage code -> (value as typed, cell). Not used
    #: for scoring unless the run allows it (``monev.stages.apply_stages``).
    workbook_stages: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def rejected(self) -> bool:
        return any(p.severity == "fatal" for p in self.problems)


def _text(value: Any) -> str:
    if type(value) is str:  # most cells: the general case below, without its type checks
        return " ".join(value.split()) if value else value
    if value is None:
        return ""
    if isinstance(value, bool):  # an Excel TRUE/FALSE: as Excel writes it, not Python's True
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m-%d")
    return " ".join(str(value).split())


def _key(value: Any) -> str:
    """A label or header as compared: case, a trailing ``:``/``*`` and a note in brackets
    (``Jawaban (Ya/Tidak)``) ignored."""
    text = _text(value).casefold().rstrip(":*").strip()
    if text.endswith(")") and "(" in text[1:]:
        text = text[: text.index("(", 1)].rstrip(" :*")
    return text


def _header(rows: list[list[Any]]) -> tuple[int, dict[str, int]] | None:
    """The first row (in the first rows) that names the required columns, and the columns."""
    best: tuple[int, dict[str, int]] | None = None
    owners: dict[str, list[str]] = {}  # alias -> the column keys it names, in ALIASES order
    for key, aliases in ALIASES.items():
        for alias in aliases:
            owners.setdefault(alias, []).append(key)
    for r, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        cols: dict[str, int] = {}
        for c, value in enumerate(row):
            for key in owners.get(_key(value), ()):
                if key not in cols:
                    cols[key] = c
        if "code" in cols and "answer" in cols:
            if all(k in cols for k in REQUIRED):
                return r, cols
            best = best or (r, cols)
    return best


def _uncalculated(path: Path, sheet_name: str, cell: str) -> bool:
    """Is ``cell`` of the sheet ``sheet_name`` a formula with no stored value?"""
    from monev.cells import Sheet, _add_extras, parse_ref

    pos = parse_ref(cell)
    if pos is None:
        return False
    sheet = Sheet(sheet_name, [])
    _add_extras(path, sheet)
    return pos in sheet.pending_formulas


def _identity(rows: list[list[Any]]) -> dict[str, tuple[str, str]]:
    """Label -> (value, cell) for every label cell followed by a value on its right.

    A value is never read as a label: "Kecamatan" typed as the unit type (right of "Jenis Unit")
    must not hide the "Kecamatan" label below it.
    """
    found: dict[str, tuple[str, str]] = {}
    for r, row in enumerate(rows[:60]):
        c = 0
        while c < len(row):
            k = _key(row[c])
            if not k or k in found:
                c += 1
                continue
            v = row[c + 1] if c + 1 < len(row) else ""
            text = repr(v) if isinstance(v, float) and not v.is_integer() else _text(v)
            found[k] = (text, cell_ref(r, c + 1))
            c += 2  # its value cell is not a label
    return found


def read_questionnaire(
    path: str | Path, rubric: Rubric, *, display_name: str | None = None
) -> Questionnaire:
    """Read one filled workbook and check it against ``rubric``. Never raises on bad input."""
    path = Path(path)
    name = display_name or path.name
    pre = scan_workbook(path, name, (SHEET_QUESTIONS, SHEET_IDENTITY))  # limits before work
    q = Questionnaire(file=name, sha256=pre.sha256, office=Office(name=path.stem))
    if pre.problem:
        q.problems.append(pre.problem)
        return q
    try:
        book = open_book(
            path,
            [SHEET_QUESTIONS, SHEET_IDENTITY],
            rich=SHEET_QUESTIONS,
            parts=pre.parts,  # unzipped by the scan: not unzipped again
            names=pre.names,
            plain=pre.plain,
        )
    except TooLarge as exc:
        q.problems.append(Problem.make("MV107", name, detail=exc.detail))
        return q
    except Exception as exc:  # calamine raises many types for broken files
        if type(exc).__name__ == "PasswordError":
            q.problems.append(Problem.make("MV104", name))
        else:
            q.problems.append(Problem.make("MV101", name, reason=technical(exc)))
        return q
    qsheet = book.sheets.get(SHEET_QUESTIONS)
    if qsheet is None:
        close = difflib.get_close_matches(SHEET_QUESTIONS, book.sheet_names, n=1, cutoff=0.5)
        q.problems.append(
            Problem.make(
                "MV105",
                name,
                SHEET_QUESTIONS,
                "",
                sheet=SHEET_QUESTIONS,
                found=", ".join(book.sheet_names) or "-",
                # Language-neutral: the sheet to rename and the name it needs.
                suggestion=f" ('{close[0]}' -> '{SHEET_QUESTIONS}'?)" if close else "",
            )
        )
        return q
    identity = book.sheets.get(SHEET_IDENTITY)
    _read_identity(
        q, identity.rows if identity else [], rubric, path, identity.name if identity else ""
    )
    _read_answers(q, qsheet, rubric)
    return q


def _read_identity(
    q: Questionnaire, rows: list[list[Any]], rubric: Rubric, path: Path, sheet_name: str = ""
) -> None:
    ident = _identity(rows)

    def get(*labels: str) -> tuple[str, str]:
        """The value right of the first of ``labels`` found (one label per language)."""
        for label in labels:
            if _key(label) in ident:
                return ident[_key(label)]
        return ("", "")

    office = q.office
    office.name, name_cell = get(*_label_forms("office"))
    if not office.name:
        office.name = path.stem.replace("_", " ")
        # Rare, so checked only here: a formula never calculated (a script or openpyxl wrote it)
        # reads as empty, but the officer sees text in Excel; say it is a formula.
        formula = bool(name_cell and sheet_name and _uncalculated(path, sheet_name, name_cell))
        code = "MV407" if formula else "MV401"
        q.problems.append(Problem.make(code, q.file, SHEET_IDENTITY, name_cell, name=office.name))
    unit, unit_cell = get(*_label_forms("unit_type"))
    if unit:
        match = next((u for u in rubric.unit_types if u.casefold() == unit.casefold()), None)
        if match is None:
            q.problems.append(
                Problem.make(
                    "MV406",
                    q.file,
                    SHEET_IDENTITY,
                    unit_cell,
                    value=unit,
                    allowed=", ".join(rubric.unit_types),
                )
            )
        office.unit_type = match or unit
    office.kecamatan = get(*_label_forms("kecamatan"))[0]
    office.respondent = get(*_label_forms("respondent"))[0]
    office.position = get(*_label_forms("position"))[0]
    office.filled_on = get(*_label_forms("filled_on"))[0]
    if rubric.assessors is not None:
        _read_track(q, rubric, *get(*_label_forms("track")))
    q.rubric_id, rid_cell = get(*_label_forms("rubric_id"))
    q.rubric_version, ver_cell = get(*_label_forms("rubric_version"))
    if q.rubric_id and q.rubric_id != rubric.id:
        q.problems.append(
            Problem.make(
                "MV402", q.file, SHEET_IDENTITY, rid_cell, found=q.rubric_id, used=rubric.id
            )
        )
    elif q.rubric_version and _older(q.rubric_version, rubric.version):
        q.problems.append(
            Problem.make(
                "MV403",
                q.file,
                SHEET_IDENTITY,
                ver_cell,
                found=q.rubric_version,
                used=rubric.version,
            )
        )
    # Later-stage scores belong to the verifier (monev.stages): here they are only recorded, as
    # typed and with their cell; monev.stages.apply_stages decides whether they count.
    for stage in rubric.stages[1:]:
        raw, cell = get(*(stage_label(stage.code, lang) for lang in LANGS))
        if raw:
            q.workbook_stages[stage.code] = (raw, cell)


def _read_track(q: Questionnaire, rubric: Rubric, raw: str, cell: str) -> None:
    """The workbook's assessor track; without one (MV635) or with an unknown one (MV634), the
    first track (the office's own assessment)."""
    assert rubric.assessors is not None
    tracks = rubric.assessors.tracks
    allowed = ", ".join(t.name for t in tracks)
    found = rubric.assessors.track(raw) if raw else None
    if found is None:
        code = "MV634" if raw else "MV635"
        q.problems.append(
            Problem.make(
                code, q.file, SHEET_IDENTITY, cell, value=raw, allowed=allowed, used=tracks[0].name
            )
        )
    q.office.track = (found or tracks[0]).code


def _label_forms(key: str) -> list[str]:
    """An Identitas label (a key of :data:`IDENTITY`) as each language's template writes it;
    the reader accepts every one."""
    return [t(f"tmpl.identity.{key}", lang) for lang in LANGS]


def _older(found: str, used: str) -> bool:
    try:
        return tuple(int(p) for p in found.split(".")) < tuple(int(p) for p in used.split("."))
    except ValueError:
        return False


def _read_answers(q: Questionnaire, sheet: Sheet, rubric: Rubric) -> None:
    rows = sheet.rows
    header = _header(rows)
    if header is None or not all(k in header[1] for k in REQUIRED):
        have = header[1] if header else {}
        missing = [COLUMNS[k] for k in REQUIRED if k not in have]
        q.problems.append(
            Problem.make("MV106", q.file, SHEET_QUESTIONS, missing=", ".join(missing))
        )
        return
    head_row, cols = header
    rows_of = _rows_of(rubric)
    specs, headings, verdicts = rows_of.specs, rows_of.headings, rows_of.verdicts
    # One index per column; a column the sheet lacks reads as an empty cell past the row's end.
    width = max(cols.values()) + 1
    keys = ("code", "answer", "evidence", "note", "verification", "verifier_note")
    pick = itemgetter(*(cols.get(k, width) for k in keys))
    pad = [""] * (width + 1)
    padded = any(k not in cols for k in keys)  # else every column read is left of ``width``
    ccol, acol, ecol = cols["code"], cols["answer"], cols["evidence"]
    vcol = cols.get("verification")
    # cell_ref(r, col) of the columns named in every row, from their letters.
    cletter, aletter, eletter = col_letter(ccol), col_letter(acol), col_letter(ecol)
    vletter = col_letter(vcol) if vcol is not None else ""

    first_seen: dict[str, str] = {}
    empty: list[Problem] = []
    answered = 0
    for r in range(head_row + 1, len(rows)):
        row = rows[r]
        n = len(row)
        if padded or n < width:
            if n > width:  # cells right of the last named column are not read
                row, n = row[:width], width
            row = row + pad[n:]
        code_v, raw, evidence_v, note_v, verification_v, verifier_note_v = pick(row)
        code = _text(code_v).upper()
        if not code:
            continue
        where = f"{aletter}{r + 1}"
        if code not in specs:
            q.problems.append(
                Problem.make("MV203", q.file, SHEET_QUESTIONS, cell_ref(r, ccol), code=code)
            )
            continue
        if code in first_seen:
            q.problems.append(
                Problem.make(
                    "MV205",
                    q.file,
                    SHEET_QUESTIONS,
                    cell_ref(r, ccol),
                    code=code,
                    first=first_seen[code],
                )
            )
            continue
        first_seen[code] = f"{cletter}{r + 1}"
        raw_text = _text(raw)
        if code in headings:
            if raw_text:
                q.problems.append(Problem.make("MV207", q.file, SHEET_QUESTIONS, where, code=code))
            continue
        indicator = specs[code]
        parsed: Parsed | None = None
        if isinstance(indicator.answer, Computed):
            if raw_text:  # monev computes this row: what was typed there is not used
                q.problems.append(Problem.make("MV633", q.file, SHEET_QUESTIONS, where, code=code))
        elif raw_text == "":
            if (r, acol) in sheet.errors:  # #N/A, #DIV/0!: calamine reads them as empty
                answered += 1
                q.problems.append(
                    Problem.make(
                        "MV214",
                        q.file,
                        SHEET_QUESTIONS,
                        where,
                        code=code,
                        value=sheet.errors[(r, acol)] or "#ERROR",
                    )
                )
            elif (r, acol) in sheet.pending_formulas:  # something was put there: not "empty"
                answered += 1
                q.problems.append(Problem.make("MV206", q.file, SHEET_QUESTIONS, where, code=code))
            elif indicator.answer.type != "info":
                empty.append(Problem.make("MV202", q.file, SHEET_QUESTIONS, where, code=code))
        else:
            answered += 1
            parsed = _parse_answer(q, indicator, code, raw, (r, acol) in sheet.percent, where)
        ecell = f"{eletter}{r + 1}"
        evidence = _text_keep_lines(evidence_v)
        # A link on a cell with no text cannot be seen in Excel (a column-wide hyperlink): ignored;
        # a =HYPERLINK() never calculated has no text yet but shows its label once opened.
        visible = evidence or (r, ecol) in sheet.pending_formulas
        link = sheet.links.get((r, ecol), "") if visible else ""
        verification_text = _text(verification_v)
        answer = _answer(
            code=code,
            row=r + 1,
            parsed=parsed,
            raw=raw_text,
            evidence=evidence,
            note=_text(note_v),
            verification=_verdict(q, code, verification_v, r, cols, verdicts)
            if verification_text
            else None,
            verification_unclear=bool(verification_text)
            and verdicts.get(verdict_key(verification_text)) is None,
            verification_cell=f"{vletter}{r + 1}" if vcol is not None else "",
            verifier_note=_text(verifier_note_v),
            evidence_cell=ecell,
            evidence_link=link,
            evidence_items=parse_evidence(evidence, link),
        )
        q.answers[code] = answer
        if parsed and parsed.value and indicator.evidence_required and answer.verification is None:
            q.problems.extend(_evidence_problems(answer, q.file))
    _compute_answers(q, rubric, acol)
    if len(empty) > 1 and answered == 0:
        # Nothing answered at all: one line, not one per row.
        q.problems.append(Problem.make("MV211", q.file, SHEET_QUESTIONS, count=len(empty)))
    else:
        q.problems.extend(empty)
    for code in specs:
        if code not in first_seen and code not in headings:
            q.problems.append(Problem.make("MV204", q.file, SHEET_QUESTIONS, code=code))


@dataclass(frozen=True)
class _RowsOf:
    """What the reader needs of a rubric's rows, the same for every workbook."""

    specs: dict[str, Indicator]  # row code (an indicator's or a checklist item's) -> indicator
    headings: frozenset[str]  # checklist indicators: a heading row, answered item by item
    verdicts: dict[str, str]  # Rubric.verdicts()


def _build_rows_of(rubric: Rubric) -> _RowsOf:
    specs: dict[str, Indicator] = {}
    headings = set()
    for ind, item in rubric.rows():
        if item is None and isinstance(ind.answer, Checklist):
            headings.add(ind.code)
        specs[item.code if item else ind.code] = ind
    return _RowsOf(specs, frozenset(headings), rubric.verdicts())


def _rows_of(rubric: Rubric) -> _RowsOf:
    return derived(rubric, "workbook.rows", _build_rows_of)


def _compute_answers(q: Questionnaire, rubric: Rubric, acol: int) -> None:
    """The value of each computed row, from the numbers typed in the rows its formula names.

    A missing number (MV630), a division by 0 (MV631) or a result outside 0..1 (MV632) leaves the
    row without a value (it counts 0) and says which row to correct."""
    from monev.formula import DivisionByZero, evaluate

    for ind in rubric.indicators:
        spec = ind.answer
        a = q.answers.get(ind.code)
        if not isinstance(spec, Computed) or a is None:
            continue
        where = cell_ref(a.row - 1, acol)
        values: dict[str, Fraction] = {}
        missing = []
        for name, code in spec.numbers.items():
            number = q.answers.get(code)
            if number is None or number.parsed is None:
                missing.append(code)
            else:
                values[name] = Fraction(Decimal(number.parsed.text))
        problem: Problem | None = None
        parsed: Parsed | None = None
        if missing:
            problem = Problem.make(
                "MV630", q.file, SHEET_QUESTIONS, where, code=ind.code, rows=", ".join(missing)
            )
        else:
            try:
                value = evaluate(spec.tree, values)
            except DivisionByZero as exc:
                problem = Problem.make(
                    "MV631", q.file, SHEET_QUESTIONS, where, code=ind.code, divisor=exc.divisor
                )
            else:
                shown = f"{round_half_up(value * 100, 2).normalize():f} %"
                if 0 <= value <= 1:
                    parsed = Parsed(shown, value)
                else:
                    problem = Problem.make(
                        "MV632", q.file, SHEET_QUESTIONS, where, code=ind.code, value=shown
                    )
        if problem is not None:
            q.problems.append(problem)
        raw = "" if missing else spec.formula
        q.answers[ind.code] = a = replace(a, parsed=parsed, raw=raw if parsed is None else "")
        if parsed and parsed.value and ind.evidence_required and a.verification is None:
            q.problems.extend(_evidence_problems(a, q.file))


def _text_keep_lines(value: Any) -> str:
    """A cell's text with its line breaks kept (evidence items are split on them)."""
    if value is None:
        return ""
    if isinstance(value, str):
        lines = value.splitlines()
        if len(lines) == 1:  # one line (most cells): joined, it has no space to strip
            return " ".join(lines[0].split())
        return "\n".join(" ".join(line.split()) for line in lines).strip()
    return _text(value)


#: Near misses: what an officer types -> the answer meant. Still errors, never accepted silently.
_MEANT = {
    "Ya": {"iya", "y", "yes", "ada", "sudah", "benar", "true", "1", "v", "✓", "✔", "☑", "√", "ok"},
    "Tidak": {"tdk", "t", "no", "n", "tidak ada", "belum", "false", "0", "x", "✗", "✘", "-"},
}


def _meant(spec_choices: list[str], raw: object) -> str | None:
    """The listed answer an unlisted one probably means (``iya`` -> ``Ya``), or None when it is
    unclear (``Ya/Tidak`` names two answers)."""
    key = ("true" if raw else "false") if isinstance(raw, bool) else _text(raw).casefold()
    if re.fullmatch(r"[+-]?\d+[.,]\d+%?|\d+%", key.strip()):
        return None  # "0,95", "95%": a number, not a "0" or a "1" that stands for Tidak / Ya
    by_norm = {c.casefold(): c for c in spec_choices}
    named = [c for c in by_norm if re.search(rf"(?<!\w){re.escape(c)}(?!\w)", key)]
    if len(named) > 1 and not any(len(a) > len(b) and b in a for a in named for b in named):
        return None  # "Ya/Tidak": the hint copied into the cell
    # "Ya.", "(A)", "ya, ada", "Ya (ada)", "Ya\nAda": the first word decides.
    first = re.split(r"[\s,;/(]+", key.strip(" .,;:!?()[]'\""), maxsplit=1)[0].strip(".:!?)")
    for candidate in (key.strip(" .,;:!?()[]'\""), first):
        if candidate in by_norm and candidate != key:
            return by_norm[candidate]
        for answer, variants in _MEANT.items():
            if answer in spec_choices and candidate in variants:
                return answer
    close = difflib.get_close_matches(first, list(by_norm), n=1, cutoff=0.75)
    return by_norm[close[0]] if close else None


def _parse_answer(
    q: Questionnaire, ind: Indicator, code: str, raw: Any, percent_cell: bool, where: str
) -> Parsed | None:
    """Parse one answer cell; every refusal becomes a problem that says how to fix it."""
    spec = ind.answer
    is_number = isinstance(raw, int | float) and not isinstance(raw, bool)
    value: Any = raw
    if spec.type == "percent" and is_number and percent_cell:
        # 95% typed in Excel is stored as 0.95 with a percent format: shown as 95 %.
        value = Decimal(repr(float(raw))) * 100
    try:
        parsed = spec.parse(value)
        if (
            spec.type == "percent"
            and not percent_cell
            and parsed.value is not None
            and 0 < parsed.value <= Fraction(1, 100)
            and "%" not in str(raw)
        ):
            # 0.95 or "0,95" for 95 %: taken as typed (0,95 %), but ask for the percent points.
            q.problems.append(
                Problem.make("MV209", q.file, SHEET_QUESTIONS, where, code=code, answer=_text(raw))
            )
        return parsed
    except AnswerError as exc:
        text = _text(raw)[:40]
        shown: Any = raw if isinstance(raw, bool) else text  # an Excel TRUE: "Ya (TRUE)"
        if exc.kind == "range":
            q.problems.append(
                Problem.make(
                    "MV208",
                    q.file,
                    SHEET_QUESTIONS,
                    where,
                    code=code,
                    answer=shown,
                    allowed=exc.allowed,
                )
            )
        elif exc.kind == "number":
            digits = re.search(r"\d+(?:[.,]\d+)?", text)
            q.problems.append(
                Problem.make(
                    "MV210",
                    q.file,
                    SHEET_QUESTIONS,
                    where,
                    code=code,
                    answer=shown,
                    example=digits.group(0) if digits else "7",
                )
            )
        else:
            meant = _meant(spec.choices(), raw)
            q.problems.append(
                Problem.make(
                    "MV212" if meant else "MV201",
                    q.file,
                    SHEET_QUESTIONS,
                    where,
                    code=code,
                    answer=shown,
                    allowed=exc.allowed,
                    meant=meant or "",
                )
            )
        return None


#: What a verifier writes for "not conforming" without the rubric's exact words.
_REJECTING = {
    "tdk sesuai",
    "tidaksesuai",
    "ts",
    "belum sesuai",
    "kurang sesuai",
    "tidak",
    "tdk",
    "x",
    "✗",
    "✘",
    "ditolak",
    "tolak",
    "tidak diterima",
    "not ok",
}
_ACCEPTING = {
    "ok",
    "oke",
    "v",
    "✓",
    "✔",
    "√",
    "ya",
    "diterima",
    "terima",
    "benar",
    "sesuaii",
    "s",
    "lengkap",
}


def _verdict_of(raw: Any, verdicts: dict[str, str]) -> str | None:
    text = _text(raw)
    return verdicts.get(verdict_key(text)) if text else None


def _verdict(
    q: Questionnaire,
    code: str,
    raw: Any,
    r: int,
    cols: dict[str, int],
    verdicts: dict[str, str] = VERDICTS,
) -> str | None:
    """A verifier's decision (the rubric's level names) in any case and spacing; anything else is
    a problem, never dropped, and the item counts 0 until it is corrected."""
    text = _text(raw)
    if not text:
        return None
    key = verdict_key(text)
    if key in verdicts:
        return verdicts[key]
    names = list(verdicts.values())
    meant = None
    if key in _REJECTING and "Tidak Sesuai" in names:
        meant = "Tidak Sesuai"
    elif key in _ACCEPTING and "Sesuai" in names:
        meant = "Sesuai"
    else:
        close = difflib.get_close_matches(key, list(verdicts), n=1, cutoff=0.8)
        meant = verdicts[close[0]] if close else None
    q.problems.append(
        Problem.make(
            "MV216" if meant else "MV213",
            q.file,
            SHEET_QUESTIONS,
            cell_ref(r, cols["verification"]),
            code=code,
            value=text[:40],
            allowed=", ".join(names),
            meant=meant or "",
        )
    )
    return None


def distrust_verifier_acceptance(q: Questionnaire, rubric: Rubric) -> Questionnaire:
    """Decisions in an office's own Verifikasi column, when the run does not say they are the
    verifier's: each can only lower an item (an office could write ``Sesuai`` itself). A decision
    that would keep points gets a warning (MV215), and the evidence is judged as without it."""
    if not any(a.verification for a in q.answers.values()):
        return q
    answers = dict(q.answers)
    problems = list(q.problems)
    rows = {item.code if item else ind.code: ind for ind, item in rubric.rows()}
    for code, a in q.answers.items():
        if not a.verification:
            continue
        answers[code] = replace(a, verification_trusted=False)
        ind = rows.get(code)
        keeps = a.verification != "Tidak Sesuai" and (
            rubric.verification is None or ind is None or rubric.level_value(ind, a.verification)
        )
        if not keeps:
            continue
        problems.append(
            Problem.make(
                "MV215",
                q.file,
                SHEET_QUESTIONS,
                a.verification_cell,
                code=code,
                value=a.verification,
            )
        )
        if a.parsed and a.parsed.value and ind is not None and ind.evidence_required:
            problems.extend(_evidence_problems(a, q.file))
    return replace(q, answers=answers, problems=problems)


def _evidence_problems(a: Answer, file: str) -> list[Problem]:
    """Problems of the evidence of a positive answer that needs evidence."""
    where = a.evidence_cell
    if not a.has_evidence:
        return [Problem.make("MV301", file, SHEET_QUESTIONS, where, code=a.code)]
    out = []
    if not a.verifiable_evidence:
        mistyped = next((i for i in a.evidence_items if i.kind == MISTYPED), None)
        local = next((i for i in a.evidence_items if i.kind == LOCAL_PATH), None)
        if mistyped is not None:
            out.append(
                Problem.make(
                    "MV313", file, SHEET_QUESTIONS, where, code=a.code, evidence=mistyped.text[:80]
                )
            )
        elif local is not None:
            out.append(
                Problem.make(
                    "MV311", file, SHEET_QUESTIONS, where, code=a.code, evidence=local.text[:80]
                )
            )
        else:
            shown = a.evidence_link or a.evidence
            out.append(
                Problem.make(
                    "MV310", file, SHEET_QUESTIONS, where, code=a.code, evidence=shown[:60]
                )
            )
    for item in a.evidence_items:
        if item.kind != "url":
            continue
        if item.scheme_added:
            out.append(
                Problem.make(
                    "MV312",
                    file,
                    SHEET_QUESTIONS,
                    where,
                    code=a.code,
                    evidence=item.text[:80],
                    url=item.target[:90],
                )
            )
        if DRIVE_SHARING.search(item.target):
            out.append(Problem.make("MV303", file, SHEET_QUESTIONS, where, code=a.code))
    return out
