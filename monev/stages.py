"""Later-stage scores (visitasi, wawancara, ...): the verifier's stages file, read and applied.

Stage scores after the SAQ are given by the PPID Utama (or KI's verifier), not by the office: they
live in one stages file for the whole run (``monev score --stages tahapan.xlsx``), never in an
office's own workbook. Scores typed on an office's ``Identitas`` sheet are ignored with a warning
(``MV410``) unless the run says ``stages_from_workbooks`` (then they count as before; with a stages
file too, the file wins and a differing workbook value gets ``MV411``).

The stages file (.xlsx / .xlsm / .ods, sheet ``Tahapan`` or the first sheet; or .csv in UTF-8 with
or without BOM, ``;`` or ``,`` as delimiter) has one header row and one row per office:

* an office column (``kantor``, ``nama kantor``, ``office``); offices are matched by
  :func:`monev.identity.office_key` (case, spaces and punctuation ignored);
* one column per later stage of the rubric, headed by the stage code (``visitasi``), its name or
  ``Nilai <name>``; a value is a number from 0 to 100 (``84``, ``84,5``, ``84.5``);
* for a stage the rubric makes of parts (``variants``: KI Kalbar's presentation in person or by
  video), a header ``<stage>.varian`` names the variant an office took (its code or name) and a
  header ``<stage>.<part>`` (``presentasi.pimpinan``) one part's score, from 0 to the part's
  maximum under that variant; the stage score is then the sum of the parts (a stage's whole
  score in its own column is not used then: ``MV640``). For any other stage such a header is
  unknown (``MV415``);
* ``catatan`` / ``keterangan`` columns are notes, not read. Any other column is ``MV415``.

The scorer stays pure: :func:`apply_stages` returns the questionnaire with ``stage_scores`` set from
the table (and the workbook when allowed), and ``monev.scoring.score`` takes them from there.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from monev.cells import TooLarge, open_book
from monev.i18n import Detail, technical
from monev.identity import office_key
from monev.problems import Key, Problem
from monev.rubric import Rubric
from monev.scan import scan_workbook
from monev.workbook import SHEET_IDENTITY, Questionnaire, cell_ref, stage_label

SHEET = "Tahapan"
SHEET_HELP = "Petunjuk"
OFFICE_HEADERS = ("kantor", "nama kantor", "office", "nama")
NOTE_HEADERS = ("catatan", "keterangan", "note", "notes")
SUFFIXES_SHEET = (".xlsx", ".xlsm", ".ods")
SUFFIXES = (*SUFFIXES_SHEET, ".csv")
#: A stages file lists a city's offices: a few hundred rows at most.
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_COLUMNS = 200
HEADER_SEARCH_ROWS = 20

_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")


class StagesError(Exception):
    """The stages file cannot be used at all (``MV417``); the run should not go on without it."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.text() for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class StageValue:
    """One stage cell of the stages file: its value (None when invalid), as typed, and where."""

    stage: str
    value: Decimal | None
    raw: str
    cell: str


@dataclass(frozen=True)
class StagesRow:
    name: str
    cell: str  # the office name's cell
    values: dict[str, StageValue]  # non-empty stage cells only
    problems: tuple[Problem, ...] = ()  # invalid values of this row (MV404)


@dataclass
class StagesTable:
    """A stages file as read: rows by office identity, and the problems of the file itself."""

    file: str
    sha256: str
    sheet: str
    stages: tuple[str, ...]  # the later stages that have a column
    rows: dict[str, list[StagesRow]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: The file's resolved path, so that a run never reads it as a questionnaire.
    path: str = ""

    def rows_for(self, name: str) -> list[StagesRow]:
        return self.rows.get(office_key(name), [])

    def unmatched(self, names: Iterable[str]) -> list[Problem]:
        """``MV413`` for every row whose office is not among ``names`` (the offices of the run)."""
        present = {office_key(n): n for n in names}
        out = []
        for key, rows in self.rows.items():
            if key in present:
                continue
            close = difflib.get_close_matches(key, list(present), n=1, cutoff=0.8)
            out.append(
                Problem.make(
                    "MV413",
                    self.file,
                    self.sheet,
                    rows[0].cell,
                    office=rows[0].name,
                    suggestion=f" ('{present[close[0]]}'?)" if close else "",
                )
            )
        return out


@dataclass(frozen=True)
class StagesSource:
    """Where a run's stage scores came from (``stages_source`` in results.json)."""

    file: str | None
    sha256: str | None
    from_workbooks: bool
    problems: tuple[Problem, ...] = ()

    def to_dict(self, lang: str) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "from_workbooks": self.from_workbooks,
            "problems": [p.to_dict(lang) for p in self.problems],
        }


# --- values --------------------------------------------------------------------------------------


def parse_stage_value(value: Any) -> Decimal | None:
    """A stage score from a cell: a number from 0 to 100, or None when it is anything else.

    Accepts numbers and text such as ``84``, ``84,5``, ``84.5``; refuses booleans, dates, NaN,
    infinity, negative values, values above 100 and any other text. Never raises.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        number = Decimal(repr(value))
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        text = value.replace("\u00a0", " ").strip()
        if not _NUMBER.match(text):
            return None
        try:
            number = Decimal(text.replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the pattern admits only plain numbers
            return None
    else:
        return None
    if not number.is_finite() or number < 0 or number > 100:
        return None
    return number


def _shown(value: Any) -> str:
    """A cell value as the message shows it."""
    if value is None:
        return ""
    if isinstance(value, float) and value == value and value not in (float("inf"), float("-inf")):
        return str(int(value)) if value.is_integer() else repr(value)
    return " ".join(str(value).split())[:40]


def _header_key(value: Any) -> str:
    return " ".join(str(value or "").split()).casefold().rstrip(":*").strip()


# --- reading -------------------------------------------------------------------------------------


def load_stages(path: str | Path, rubric: Rubric, display_name: str | None = None) -> StagesTable:
    """Read and check a stages file against ``rubric``'s later stages.

    Raises :class:`StagesError` (``MV417``) when the file cannot be used at all (missing, not a
    spreadsheet or CSV, unreadable, too large, no office column); everything else is a problem in
    the table (file level) or in its rows (values), never an exception.
    """
    path = Path(path)
    name = display_name or path.name

    def unusable(reason: str, detail: str = "") -> StagesError:
        return StagesError(
            [
                Problem.make(
                    "MV417", name, reason=Key(f"stages.reason.{reason}"), detail=Detail(detail)
                )
            ]
        )

    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise unusable("suffix", path.suffix or "-")
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise unusable("not_found")
        if size > MAX_BYTES:
            raise unusable("too_large", f"{size // 1024} KiB")
        data = path.read_bytes()
    except OSError as exc:
        raise unusable("not_found", exc.strerror or "") from None
    digest = hashlib.sha256(data).hexdigest()
    special: dict[str, str] = {}
    if suffix == ".csv":
        # Excel and LibreOffice open a CSV as one sheet named after the file: cells are named so.
        grid, sheet = _read_csv(data, unusable), path.stem
    else:
        grid, sheet, special = _read_sheet(path, data, unusable)
    table = _table(grid, special, rubric, name, digest, sheet, unusable)
    table.path = str(path.resolve())
    return table


def _read_csv(data: bytes, unusable: Any) -> list[list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise unusable("encoding") from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if ";" in first else ","
    try:
        grid = list(
            itertools.islice(csv.reader(io.StringIO(text), delimiter=delimiter), MAX_ROWS + 1)
        )
    except csv.Error as exc:
        raise unusable("broken", technical(exc)) from None
    if len(grid) > MAX_ROWS or any(len(row) > MAX_COLUMNS for row in grid):
        raise unusable("too_large", f"> {MAX_ROWS} x {MAX_COLUMNS}")
    return [list(row) for row in grid]


def _read_sheet(
    path: Path, data: bytes, unusable: Any
) -> tuple[list[list[Any]], str, dict[str, str]]:
    """The ``Tahapan`` sheet (else the first), and its cells that calamine reads as empty but are
    not: Excel errors (``#DIV/0!``) and formulas without a value (``=``), by A1 reference."""
    pre = scan_workbook(path, path.name)  # limits before work, every sheet
    if pre.problem is not None:
        bad = pre.problem
        # The library's text when there is one, else the code (documented in docs/problems.md).
        detail = "; ".join(bad.details()) or bad.code
        too_large = bad.code in ("MV107", "MV111")
        raise unusable("too_large" if too_large else "broken", detail[:80])
    try:
        book = open_book(path, [SHEET], rich=SHEET)
        ws = book.sheets.get(SHEET)
        if ws is None and book.sheet_names:
            first = book.sheet_names[0]
            ws = open_book(path, [first], rich=first).sheets.get(first)
    except TooLarge as exc:
        raise unusable("too_large", exc.detail) from None
    except Exception as exc:  # calamine raises many types for broken files
        raise unusable("broken", technical(exc)) from None
    if ws is None:
        raise unusable("broken", "no sheet")
    grid = ws.rows
    if len(grid) > MAX_ROWS or any(len(row) > MAX_COLUMNS for row in grid[:1]):
        raise unusable("too_large", f"{len(grid)} x {len(grid[0]) if grid else 0}")
    special = {cell_ref(*pos): "=" for pos in ws.pending_formulas}
    special.update({cell_ref(*pos): text or "#ERROR" for pos, text in ws.errors.items()})
    return grid, ws.name, special


VARIANT_HEADERS = ("varian", "variant", "bentuk")


def _part_for_header(key: str, rubric: Rubric) -> tuple[str, str] | None:
    """``(stage, part)`` for a ``<stage>.<part>`` header of a stage with variants (part
    ``""`` for the variant column); None for any other header."""
    head, dot, tail = key.partition(".")
    stage_code = _stage_for_header(head.strip(), rubric) if dot else None
    stage = next((s for s in rubric.stages if s.code == stage_code), None)
    if stage is None or not stage.variants:
        return None
    part = "_".join(tail.split())
    if part in VARIANT_HEADERS:
        return stage.code, ""
    codes = {p.code for v in stage.variants for p in v.parts}
    return (stage.code, part) if part in codes else None


def _stage_for_header(key: str, rubric: Rubric) -> str | None:
    for stage in rubric.stages[1:]:
        names = {
            stage.code.casefold(),
            stage.code.replace("_", " ").casefold(),
            stage.name.casefold(),
            stage_label(stage.code).casefold(),
        }
        if key in names:
            return stage.code
    return None


def _table(
    grid: list[list[Any]],
    special: dict[str, str],
    rubric: Rubric,
    name: str,
    digest: str,
    sheet: str,
    unusable: Any,
) -> StagesTable:
    head = next(
        (
            r
            for r, row in enumerate(grid[:HEADER_SEARCH_ROWS])
            if any(_header_key(v) in OFFICE_HEADERS for v in row)
        ),
        None,
    )
    if head is None:
        raise unusable("no_office_column", ", ".join(OFFICE_HEADERS))
    table = StagesTable(file=name, sha256=digest, sheet=sheet, stages=())
    office_col = -1
    columns: dict[int, str] = {}
    part_columns: dict[int, tuple[str, str]] = {}  # column -> (stage, part; "" the variant)
    first_cell: dict[str, str] = {}
    known = ", ".join(s.code for s in rubric.stages[1:])
    for c, value in enumerate(grid[head]):
        key = _header_key(value)
        where = cell_ref(head, c)
        if not key or key in NOTE_HEADERS:
            continue
        if key in OFFICE_HEADERS and office_col < 0:
            office_col = c
            continue
        stage = _stage_for_header(key, rubric)
        part = _part_for_header(key, rubric) if stage is None else None
        if part is not None:
            label = f"{part[0]}.{part[1] or VARIANT_HEADERS[0]}"
            if label in first_cell:
                table.problems.append(
                    Problem.make(
                        "MV418", name, sheet, where, header=_shown(value), first=first_cell[label]
                    )
                )
            else:
                first_cell[label] = where
                part_columns[c] = part
        elif stage is None:
            table.problems.append(
                Problem.make("MV415", name, sheet, where, header=_shown(value), known=known)
            )
        elif stage in first_cell:
            table.problems.append(
                Problem.make(
                    "MV418", name, sheet, where, header=_shown(value), first=first_cell[stage]
                )
            )
        else:
            first_cell[stage] = where
            columns[c] = stage
    present = set(first_cell) | {stage for stage, _ in part_columns.values()}
    missing = [s.code for s in rubric.stages[1:] if s.code not in present]
    if missing:
        table.problems.append(
            Problem.make("MV416", name, sheet, cell_ref(head, 0), missing=", ".join(missing))
        )
    table.stages = tuple(s.code for s in rubric.stages[1:] if s.code in present)
    for r in range(head + 1, len(grid)):
        row = grid[r]
        office_raw = row[office_col] if office_col < len(row) else None
        office = (
            _shown(office_raw) if not isinstance(office_raw, str) else " ".join(office_raw.split())
        )
        values: dict[str, StageValue] = {}
        problems = []
        for c, stage in columns.items():
            where = cell_ref(r, c)
            raw = row[c] if c < len(row) else None
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                if where not in special:
                    continue
                raw = special[where]
            value = parse_stage_value(raw)
            values[stage] = StageValue(stage, value, _shown(raw), where)
            if value is None:
                problems.append(
                    Problem.make("MV404", name, sheet, where, stage=stage, value=_shown(raw))
                )
        if part_columns:
            _parts_of_row(row, r, part_columns, special, rubric, values, problems, name, sheet)
        if not office_key(office):
            if values:
                table.problems.append(Problem.make("MV419", name, sheet, cell_ref(r, office_col)))
            continue
        entry = StagesRow(office, cell_ref(r, office_col), values, tuple(problems))
        table.rows.setdefault(office_key(office), []).append(entry)
    return table


def _parts_of_row(
    row: list[Any],
    r: int,
    part_columns: dict[int, tuple[str, str]],
    special: dict[str, str],
    rubric: Rubric,
    values: dict[str, StageValue],
    problems: list[Problem],
    name: str,
    sheet: str,
) -> None:
    """The score of each stage given by parts on this row: the variant, then the sum of its
    parts; every refusal is a problem with its cell and the stage then has no score."""
    given: dict[str, dict[str, tuple[Any, str]]] = {}
    for c, (code, part) in part_columns.items():
        where = cell_ref(r, c)
        raw = row[c] if c < len(row) else None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if where not in special:
                continue
            raw = special[where]
        given.setdefault(code, {})[part] = (raw, where)
    for stage in rubric.stages[1:]:
        cells = given.get(stage.code)
        if not cells:
            continue
        variant_raw, variant_cell = cells.pop("", ("", ""))
        first = variant_cell or next(iter(cells.values()))[1]
        allowed = ", ".join(v.code for v in stage.variants)
        chosen = None
        if variant_cell:
            key = " ".join(_shown(variant_raw).replace("_", " ").split()).casefold()
            chosen = next(
                (
                    v
                    for v in stage.variants
                    if key in (v.code.replace("_", " "), " ".join(v.name.split()).casefold())
                ),
                None,
            )
            if chosen is None:
                problems.append(
                    Problem.make(
                        "MV636",
                        name,
                        sheet,
                        variant_cell,
                        stage=stage.code,
                        value=_shown(variant_raw),
                        allowed=allowed,
                    )
                )
        elif len(stage.variants) == 1:
            chosen = stage.variants[0]
        else:
            problems.append(
                Problem.make("MV637", name, sheet, first, stage=stage.code, allowed=allowed)
            )
        whole = values.pop(stage.code, None)
        if chosen is None:
            continue
        total = Decimal(0)
        ok = True
        for p in chosen.parts:
            raw, where = cells.get(p.code, (None, ""))
            if raw is None:
                ok = False
                problems.append(
                    Problem.make(
                        "MV638",
                        name,
                        sheet,
                        first,
                        stage=stage.code,
                        part=p.code,
                        variant=chosen.code,
                    )
                )
                continue
            value = parse_stage_value(raw)
            if value is None or value > p.max:
                ok = False
                problems.append(
                    Problem.make(
                        "MV639",
                        name,
                        sheet,
                        where,
                        stage=stage.code,
                        part=p.code,
                        variant=chosen.code,
                        value=_shown(raw),
                        max=f"{p.max.normalize():f}",
                    )
                )
                continue
            total += value
        if not ok:
            continue
        if whole is not None:
            problems.append(
                Problem.make(
                    "MV640",
                    name,
                    sheet,
                    whole.cell,
                    stage=stage.code,
                    value=whole.raw,
                    used=f"{total.normalize():f}",
                )
            )
        shown = " + ".join(f"{p.code} {_shown(cells[p.code][0])}" for p in chosen.parts)
        values[stage.code] = StageValue(stage.code, total, f"{chosen.code}: {shown}", first)


# --- applying ------------------------------------------------------------------------------------


def apply_stages(
    q: Questionnaire,
    rubric: Rubric,
    table: StagesTable | None = None,
    *,
    from_workbooks: bool = False,
) -> Questionnaire:
    """``q`` with its stage scores set for scoring: from ``table``, and from the workbook's own
    stage cells only when ``from_workbooks`` (the file wins). Every judgement is a problem."""
    later = [s.code for s in rubric.stages[1:]]
    problems = list(q.problems)
    from_file: dict[str, StageValue] = {}
    if table is not None:
        rows = table.rows_for(q.office.name)
        if not rows:
            problems.append(
                Problem.make("MV412", table.file, table.sheet, "", office=q.office.name)
            )
        elif len(rows) > 1:
            problems.append(
                Problem.make(
                    "MV414",
                    table.file,
                    table.sheet,
                    rows[1].cell,
                    office=q.office.name,
                    first=rows[0].cell,
                    second=rows[1].cell,
                )
            )
        else:
            problems.extend(rows[0].problems)
            from_file = {k: v for k, v in rows[0].values.items() if v.value is not None}
    scores: dict[str, Decimal] = {}
    for code, (raw, cell) in q.workbook_stages.items():
        label = stage_label(code)
        if not from_workbooks:
            problems.append(
                Problem.make("MV410", q.file, SHEET_IDENTITY, cell, label=label, value=raw)
            )
            continue
        value = parse_stage_value(raw)
        if code in from_file:
            if value != from_file[code].value:
                problems.append(
                    Problem.make(
                        "MV411",
                        q.file,
                        SHEET_IDENTITY,
                        cell,
                        label=label,
                        value=raw,
                        used=_shown(from_file[code].raw),
                        where=f"{table.file if table else ''}: {from_file[code].cell}",
                    )
                )
        elif value is None:
            problems.append(
                Problem.make("MV404", q.file, SHEET_IDENTITY, cell, stage=code, value=raw)
            )
        else:
            scores[code] = value
    scores.update({k: v.value for k, v in from_file.items() if v.value is not None})
    ordered = {code: scores[code] for code in later if code in scores}
    missing = [code for code in later if code not in ordered]
    if ordered and missing:
        problems.append(
            Problem.make("MV405", q.file, SHEET_IDENTITY, "", missing=", ".join(missing))
        )
    return replace(q, stage_scores=ordered, problems=problems)


# --- writing the template ------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateRow:
    name: str
    values: dict[str, Decimal]


def template_rows(questionnaires: Iterable[Questionnaire]) -> list[TemplateRow]:
    """One row per office (by identity, first workbook first), prefilled with the valid stage
    scores typed in its workbook(s); sorted by name."""
    rows: dict[str, TemplateRow] = {}
    for q in questionnaires:
        key = office_key(q.office.name)
        if not key:
            continue
        found = {}
        for code, (raw, _cell) in q.workbook_stages.items():
            value = parse_stage_value(raw)
            if value is not None:
                found[code] = value
        if key in rows:
            merged = {**found, **rows[key].values}
            rows[key] = TemplateRow(rows[key].name, merged)
        else:
            rows[key] = TemplateRow(q.office.name, found)
    return sorted(rows.values(), key=lambda r: (r.name.casefold(), r.name))


def rows_for_run(
    inputs: Iterable[str | Path], rubric: Rubric, *, exclude: str | Path | None = None
) -> tuple[list[TemplateRow], list[Problem]]:
    """The template rows for the workbooks under ``inputs`` (``monev stages template``), and the
    first problem of each file that could not be read. Raises ``monev.batch.InputError`` for an
    input that does not exist."""
    from monev.inputs import collect
    from monev.workbook import is_lock_file, read_questionnaire

    skip = Path(exclude).resolve() if exclude is not None else None
    read = [
        read_questionnaire(p, rubric)
        for p in collect(inputs)
        if not is_lock_file(p) and p.resolve() != skip
    ]
    rejected = [q.problems[0] for q in read if q.rejected]
    return template_rows(q for q in read if not q.rejected), rejected


def _safe_name(name: str) -> str:
    """An office name as a cell value: no control characters, never run as a formula (the quote
    is punctuation, so the name still matches its office)."""
    from monev.text import formula_safe

    return str(formula_safe("".join(ch for ch in name if ch.isprintable())))


def write_stages_template(
    path: str | Path,
    rubric: Rubric,
    rows: Iterable[TemplateRow] = (),
    *,
    lang: str = "id",
    overwrite: bool = False,
) -> Path:
    """Write a stages file (.xlsx with a ``Petunjuk`` sheet, or .csv with ``;``) for ``rows``.

    Raises ``FileExistsError`` when ``path`` exists and not ``overwrite``, ``ValueError`` for an
    extension other than .xlsx or .csv.
    """
    from monev.i18n import t

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ValueError(path.suffix)
    if path.exists() and not overwrite:
        raise FileExistsError(str(path))
    # A stage made of parts gets its variant column and one column per part after its own.
    columns: list[str] = []
    variant_columns: dict[int, list[str]] = {}
    for stage in rubric.stages[1:]:
        columns.append(stage.code)
        if stage.variants:
            variant_columns[len(columns)] = [v.code for v in stage.variants]
            columns.append(f"{stage.code}.{VARIANT_HEADERS[0]}")
            parts = dict.fromkeys(p.code for v in stage.variants for p in v.parts)
            columns.extend(f"{stage.code}.{p}" for p in parts)
    header = [OFFICE_HEADERS[0], *columns, NOTE_HEADERS[0]]
    body = [[_safe_name(r.name), *[r.values.get(code) for code in columns], None] for r in rows]
    if suffix == ".csv":
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(header)
        for line in body:
            writer.writerow(
                [
                    "" if v is None else str(v).replace(".", ",") if isinstance(v, Decimal) else v
                    for v in line
                ]
            )
        path.write_text(out.getvalue(), encoding="utf-8-sig")
        return path
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for line in body:
        ws.append([float(v) if isinstance(v, Decimal) else v for v in line])
    last = max(ws.max_row, 2) + 200
    dv = DataValidation(
        type="decimal",
        operator="between",
        formula1="0",
        formula2="100",
        showErrorMessage=True,
        error=t("stages.template.validation", lang),
    )
    ws.add_data_validation(dv)
    for c in range(2, 2 + len(columns)):
        letter = cell_ref(0, c - 1)[:-1]
        if c - 2 in variant_columns:
            choice = DataValidation(
                type="list",
                formula1='"' + ",".join(variant_columns[c - 2]) + '"',
                showErrorMessage=True,
                error=t("stages.template.variant", lang, allowed=", ".join(variant_columns[c - 2])),
            )
            ws.add_data_validation(choice)
            choice.add(f"{letter}2:{letter}{last}")
        else:
            dv.add(f"{letter}2:{letter}{last}")
    ws.column_dimensions["A"].width = 48
    for c in range(len(columns)):
        ws.column_dimensions[cell_ref(0, c + 1)[:-1]].width = 14
    ws.column_dimensions[cell_ref(0, len(columns) + 1)[:-1]].width = 40
    ws.freeze_panes = "B2"
    help_ws = wb.create_sheet(SHEET_HELP)
    help_ws.column_dimensions["A"].width = 110
    stages_text = ", ".join(
        f"{s.code} ({s.name}, {s.weight.normalize():f}%)" for s in rubric.stages[1:]
    )
    for n in range(1, 8):
        help_ws.append([t(f"stages.template.help{n}", lang, rubric=rubric.id, stages=stages_text)])
    for stage in rubric.stages[1:]:
        if stage.variants:
            variants = "; ".join(
                f"{v.code} ({', '.join(f'{p.code} 0-{p.max.normalize():f}' for p in v.parts)})"
                for v in stage.variants
            )
            help_ws.append([t("stages.template.parts", lang, stage=stage.code, variants=variants)])
    help_ws["A1"].font = Font(bold=True)
    wb.save(path)
    return path
