"""Rubric workbooks for staff: a rubric written as a spreadsheet, and read back (issue 12 item 2).

:func:`export_book` writes a rubric as a workbook: one sheet per part of the rubric (the
instrument, its unit types, aspects, groups, indicators with their options, checklist items and
level values, bands and their minimums, stages with their variants and parts, verification
levels), an instructions sheet, drop-down lists where a cell takes one of a fixed set of values.
:func:`read_book` reads such a workbook back into the rubric's own data, checks it with the same
validator as a rubric file (:func:`monev.rubric.parse_rubric`) and gives every mistake as a
:class:`~monev.problems.Problem` with its sheet and cell (MV601-MV613).

The sheets follow the :class:`~monev.rubric.Rubric` model, not a list written here: the columns of
a sheet are the scalar fields of its model (nested single models flattened as ``answer.type``,
``gate.min``), so a field added to the model gets its column without a change here. What the
model holds that no sheet covers is named by :func:`uncovered_fields` (a test keeps it empty).
Headers carry a label in the run's language and the field's key in parentheses
(``Pertanyaan (question)``); the reader goes by the key, so a workbook exported in one language
reads in the other.
"""

from __future__ import annotations

import datetime
import re
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from monev.i18n import DEFAULT_LANG, LANGS, catalogue, t
from monev.problems import Key, Problem
from monev.rubric import Exact, Rubric, RubricError, parse_rubric

#: Written in a cell whose field is empty on purpose where the model's default is not (a rubric
#: without a lead unit: ``lead_unit`` is None, while an empty cell means the default).
NONE_MARKS = ("(tidak ada)", "(none)")
YES, NO = "Ya", "Tidak"
_TRUE = {"ya", "yes", "true", "1", "benar"}
_FALSE = {"tidak", "no", "false", "0", "salah"}


# --- the sheets, derived from the model -------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """One sheet: ``path`` is the attributes from the Rubric to its rows (lists iterated)."""

    name: str
    path: tuple[str, ...]
    #: fields: one row per scalar field of the Rubric itself (key, value); rows: one row per
    #: element of the list at ``path``; mapping: one row per key of the dict at ``path``;
    #: values: one row per text in the list at ``path``.
    kind: Literal["fields", "rows", "mapping", "values"]
    required: bool = False


#: Parents before children: the reader attaches a child row to a parent read before it.
TABLES = (
    Table("instrument", (), "fields", required=True),
    Table("unit_types", ("unit_types",), "values"),
    Table("aspects", ("aspects",), "rows", required=True),
    Table("groups", ("groups",), "rows"),
    Table("indicators", ("indicators",), "rows", required=True),
    Table("options", ("indicators", "answer", "options"), "rows"),
    Table("items", ("indicators", "answer", "items"), "rows"),
    Table("indicator_levels", ("indicators", "levels"), "mapping"),
    Table("numbers", ("indicators", "answer", "numbers"), "mapping"),
    Table("predicates", ("predicates",), "rows"),
    Table("requires", ("predicates", "requires"), "mapping"),
    Table("stages", ("stages",), "rows", required=True),
    Table("variants", ("stages", "variants"), "rows"),
    Table("parts", ("stages", "variants", "parts"), "rows"),
    Table("verification", ("verification", "levels"), "rows"),
    Table("tracks", ("assessors", "tracks"), "rows"),
)

#: Fields of the model deliberately not in the workbook (none today); a field missing from both
#: the sheets and this list fails tests/test_rubric_book.py, so a new model field is noticed.
UNSUPPORTED: frozenset[str] = frozenset()

_SCALARS = (str, int, bool, Decimal, Fraction)


def _members(ann: Any) -> list[Any]:
    origin = get_origin(ann)
    if origin is Annotated:
        return _members(get_args(ann)[0])
    if origin in (Union, types.UnionType):
        return [m for a in get_args(ann) for m in _members(a) if m is not type(None)]
    return [ann]


def _unwrap(ann: Any) -> tuple[str, list[Any]]:
    """("list" | "dict" | "", the non-None types inside)."""
    if get_origin(ann) is Annotated:
        return _unwrap(get_args(ann)[0])
    origin = get_origin(ann)
    if origin in (Union, types.UnionType):  # ``list[X] | None``: the list, None is its absence
        inner = [a for a in get_args(ann) if a is not type(None)]
        if len(inner) == 1 and get_origin(inner[0]) in (list, dict, Annotated):
            return _unwrap(inner[0])
    if origin is list:
        return "list", _members(get_args(ann)[0])
    if origin is dict:
        return "dict", _members(get_args(ann)[1])
    return "", _members(ann)


def _is_scalar(tp: Any) -> bool:
    return get_origin(tp) is Literal or (isinstance(tp, type) and issubclass(tp, _SCALARS))


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


@dataclass
class Column:
    key: str  # dotted path inside the row's model: "question", "answer.type", "gate.min"
    kind: str  # text, int, bool, number, exact, choice
    choices: tuple[str, ...] = ()
    none_mark: bool = False  # None is a value of its own (the default is not None)


def _kind(members: list[Any]) -> tuple[str, tuple[str, ...]]:
    if all(get_origin(m) is Literal for m in members):
        return "choice", tuple(str(v) for m in members for v in get_args(m))
    tp = members[0]
    if tp is bool:
        return "bool", ()
    if issubclass(tp, Exact):
        return "exact", ()
    if issubclass(tp, Decimal | Fraction):
        return "number", ()
    if tp is int:
        return "int", ()
    return "text", ()


def model_columns(model: type[BaseModel], prefix: str = "") -> list[Column]:
    """The scalar fields of ``model`` as columns, nested single models (and unions of models,
    like an indicator's answer) flattened with dotted keys; lists and dicts are left to tables."""
    out: dict[str, Column] = {}
    for name, info in model.model_fields.items():
        container, members = _unwrap(info.annotation)
        key = prefix + name
        if container == "" and members and all(_is_scalar(m) for m in members):
            kind, choices = _kind(members)
            if key in out and kind == "choice":  # a discriminator: every member's tag
                merged = out[key].choices + tuple(c for c in choices if c not in out[key].choices)
                out[key].choices = merged
                continue
            default = info.get_default(call_default_factory=True)
            allows_none = type(None) in get_args(info.annotation) or info.annotation is type(None)
            out.setdefault(key, Column(key, kind, choices, allows_none and default is not None))
        elif container == "" and members and all(_is_model(m) for m in members):
            for m in members:
                for col in model_columns(m, key + "."):
                    if col.key in out and col.kind == "choice":
                        extra = tuple(c for c in col.choices if c not in out[col.key].choices)
                        out[col.key].choices += extra
                    else:
                        out.setdefault(col.key, col)
    return list(out.values())


def _element_model(path: tuple[str, ...]) -> tuple[type[BaseModel] | None, list[int]]:
    """The model of the rows at ``path`` (None for texts or a dict's values) and the indexes of
    the segments that are lists (each adds a parent key column, the last excepted)."""
    models: list[Any] = [Rubric]
    lists: list[int] = []
    last: list[Any] = []
    for k, attr in enumerate(path):
        found = [m.model_fields[attr] for m in models if attr in m.model_fields]
        if not found:
            raise KeyError(".".join(path[: k + 1]))
        container, members = _unwrap(found[0].annotation)
        if container == "list":
            lists.append(k)
        last = members
        models = [m for m in members if _is_model(m)]
    model = models[0] if models and len(models) == len(last) else None
    return model, lists


def _key_field(model: type[BaseModel]) -> str:
    """The field that names a row (``code``, else ``name``): the first field of the model."""
    return next(iter(model.model_fields))


@dataclass
class Layout:
    """The columns of one table: parent keys first, then its own."""

    table: Table
    model: type[BaseModel] | None
    parents: list[tuple[str, ...]]  # the list paths the row belongs to, outermost first
    columns: list[Column]

    @property
    def parent_keys(self) -> list[str]:
        return [".".join(p) + "." + _key_field(_element_model(p)[0]) for p in self.parents]  # type: ignore[arg-type]


def layout(table: Table) -> Layout:
    if table.kind == "fields":
        return Layout(table, Rubric, [], model_columns(Rubric))
    model, lists = _element_model(table.path)
    own_list = table.kind in ("rows", "values")
    parent_ends = lists[:-1] if own_list and lists and lists[-1] == len(table.path) - 1 else lists
    parents = [table.path[: k + 1] for k in parent_ends]
    if table.kind == "rows":
        assert model is not None
        cols = model_columns(model)
    elif table.kind == "mapping":
        info = _dict_value_field(table.path)
        cols = [Column("key", "text"), Column("value", _kind(_unwrap(info)[1])[0])]
    else:
        cols = [Column("value", "text")]
    return Layout(table, model, parents, cols)


def _dict_value_field(path: tuple[str, ...]) -> Any:
    models: list[Any] = [Rubric]
    ann: Any = None
    for attr in path:
        found = [m.model_fields[attr] for m in models if attr in m.model_fields]
        ann = found[0].annotation
        models = [m for m in _unwrap(ann)[1] if _is_model(m)]
    return ann


def _leaf_paths(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for name, info in model.model_fields.items():
        _, members = _unwrap(info.annotation)
        key = prefix + name
        models = [m for m in members if _is_model(m)]
        if models and len(models) == len(members):
            for m in models:
                yield from _leaf_paths(m, key + ".")
        else:
            yield key


def covered_fields() -> set[str]:
    """Every field path (``indicators.answer.options.label``) some sheet holds."""
    out: set[str] = set()
    for table in TABLES:
        lay = layout(table)
        base = ".".join(table.path)
        if table.kind in ("mapping", "values"):
            out.add(base)
        else:
            out.update(f"{base}.{c.key}" if base else c.key for c in lay.columns)
    return out


def uncovered_fields() -> set[str]:
    """Fields of the Rubric model (recursively) in no sheet and not listed in UNSUPPORTED."""
    return set(_leaf_paths(Rubric)) - covered_fields() - UNSUPPORTED


# --- labels -----------------------------------------------------------------------------------


def sheet_title(table: str, lang: str) -> str:
    return t(f"rbook.sheet.{table}", lang)


def _label_key(table: str, key: str) -> str | None:
    cat = catalogue()
    for k in (f"rbook.col.{table}.{key}", f"rbook.col.{key}"):
        if k in cat:
            return k
    return None


def column_label(table: str, key: str, lang: str) -> str:
    """``Pertanyaan (question)``: the label in ``lang`` and the key the reader goes by."""
    k = _label_key(table, key)
    return f"{t(k, lang)} ({key})" if k else key


def _label_param(table: str, key: str) -> str:
    k = _label_key(table, key)
    return Key(k) if k else key


_HEADER_KEY = re.compile(r"\(\s*([A-Za-z_][\w.]*)\s*\)\s*$")


def header_key(text: object) -> str:
    s = str(text).strip()
    m = _HEADER_KEY.search(s)
    return m.group(1) if m else s


# --- export -----------------------------------------------------------------------------------


def _walk(obj: Any, path: tuple[str, ...], keys: tuple[Any, ...] = ()) -> Iterator[tuple]:
    """(parent keys, element) for every element at ``path`` (the last list's elements are rows)."""
    if not path:
        yield keys, obj
        return
    head, rest = path[0], path[1:]
    value = getattr(obj, head, None)
    if value is None:
        return
    if isinstance(value, list):
        for el in value:
            if rest:
                yield from _walk(el, rest, (*keys, getattr(el, _key_field(type(el)))))
            else:
                yield keys, el
    else:
        yield from _walk(value, rest, keys) if rest else iter([(keys, value)])


def _get(obj: Any, dotted: str) -> tuple[bool, Any]:
    for part in dotted.split("."):
        if obj is None or not hasattr(obj, part):
            return False, None
        obj = getattr(obj, part)
    return True, obj


def _float_exact(d: Decimal) -> bool:
    try:
        return Decimal(repr(float(d))) == d and abs(d) < 10**15
    except (OverflowError, InvalidOperation):
        return False


def cell_value(value: Any, column: Column | None = None) -> Any:
    """A model value as written in a cell: numbers that a float holds exactly as numbers, other
    numbers and fractions (``2/3``) as text, flags as Ya / Tidak."""
    if value is None:
        return NONE_MARKS[0] if column is not None and column.none_mark else None
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, Exact):
        norm = value.normalize()
        if not isinstance(norm, Decimal):
            return str(value)
        value = norm
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and abs(value) < 10**15:
            return int(value)
        # a float of 15+ digits would read back as a formula's rounded result (MV624): text
        exact = _float_exact(value) and not _inexact(float(value))
        return float(value) if exact else format(value.normalize(), "f")
    return value


def export_book(rubric: Rubric, dest: str | Path, lang: str = DEFAULT_LANG) -> Path:
    """Write ``rubric`` as a staff workbook at ``dest`` (the caller decides about overwriting)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    dest = Path(dest)
    wb = Workbook()
    help_ws = wb.active
    assert help_ws is not None
    help_ws.title = sheet_title("help", lang)
    _write_help(help_ws, lang)
    bold = Font(bold=True)
    layouts = {tb.name: layout(tb) for tb in TABLES}
    sizes: dict[str, int] = {}
    for tb in TABLES:
        rows = _table_rows(rubric, layouts[tb.name])
        sizes[tb.name] = len(rows)
    for tb in TABLES:
        lay = layouts[tb.name]
        ws = wb.create_sheet(sheet_title(tb.name, lang))
        if tb.kind == "fields":
            heads = [
                f"{t('rbook.col.field', lang)} (key)",
                f"{t('rbook.col.value', lang)} (value)",
            ]
        else:
            heads = [column_label(tb.name, k, lang) for k in lay.parent_keys]
            heads += [column_label(tb.name, c.key, lang) for c in lay.columns]
        ws.append(heads)
        for cell in ws[1]:
            cell.font = bold
        rows = _table_rows(rubric, lay)
        for r, row in enumerate(rows, start=2):
            for c, value in enumerate(row, start=1):
                cell = ws.cell(row=r, column=c, value=_xlsx_text(value))
                if isinstance(value, str):
                    cell.data_type = "s"  # text starting with "=" stays text, not a formula
                    if len(value) > 60:
                        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.freeze_panes = "B2" if tb.kind == "fields" else "A2"
        for c, head in enumerate(heads, start=1):
            longest = max([len(head)] + [len(str(row[c - 1] or "")) for row in rows])
            letter = ws.cell(row=1, column=c).column_letter
            ws.column_dimensions[letter].width = max(10, min(longest + 2, 70))
        _validations(ws, tb, lay, rubric, layouts, sizes, lang, DataValidation)
    wb.save(dest)
    return dest


_XLSX_ESCAPE = re.compile(r"_x[0-9A-Fa-f]{4}_|[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xlsx_text(value: Any) -> Any:
    """Text as the xlsx format stores it: a control character (which openpyxl refuses) as
    ``_x0001_`` and a literal ``_x0041_`` as ``_x005F_x0041_``, both of which a reader
    (calamine, Excel) turns back into the text itself."""
    if not isinstance(value, str):
        return value

    def escape(m: re.Match[str]) -> str:
        hit = m.group(0)
        return "_x005F" + hit if len(hit) > 1 else f"_x{ord(hit):04X}_"

    return _XLSX_ESCAPE.sub(escape, value)


def _table_rows(rubric: Rubric, lay: Layout) -> list[list[Any]]:
    tb = lay.table
    rows: list[list[Any]] = []
    if tb.kind == "fields":
        for col in lay.columns:
            _, value = _get(rubric, col.key)
            rows.append([col.key, cell_value(value, col)])
        return rows
    for keys, el in _walk(rubric, tb.path):
        parent = [cell_value(k) for k in keys]
        if tb.kind == "mapping":
            rows += [[*parent, k, cell_value(v)] for k, v in el.items()]
        elif tb.kind == "values":
            rows.append([*parent, el])
        else:
            rows.append([*parent, *(cell_value(_get(el, c.key)[1], c) for c in lay.columns)])
    return rows


def _write_help(ws: Any, lang: str) -> None:
    from openpyxl.styles import Alignment, Font

    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 100
    ws.append([t("rbook.help.title", lang)])
    ws["A1"].font = Font(bold=True, size=14)
    n = 1
    while f"rbook.help.{n}" in catalogue():
        ws.append([None, t(f"rbook.help.{n}", lang)])
        n += 1
    ws.append([])
    ws.append([t("rbook.help.sheets", lang)])
    ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
    for tb in TABLES:
        ws.append([sheet_title(tb.name, lang), t(f"rbook.about.{tb.name}", lang)])
    for row in ws.iter_rows(min_col=2, max_col=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


#: Columns whose values are codes of another table's rows: (table, column) -> that table.
_REFERENCES = {
    ("indicators", "aspect"): "aspects",
    ("indicators", "group"): "groups",
    ("stages", "gate.stage"): "stages",
    ("instrument", "lead_unit"): "unit_types",
    ("instrument", "verification.ungraded"): "verification",
}


def _validations(
    ws: Any,
    tb: Table,
    lay: Layout,
    rubric: Rubric,
    layouts: dict[str, Layout],
    sizes: dict[str, int],
    lang: str,
    DataValidation: Any,
) -> None:
    """Drop-down lists: fixed choices, Ya/Tidak flags, codes of the rows of another sheet."""
    last = max(sizes[tb.name] + 300, 500)

    def code_range(target: str) -> str:
        other = layouts[target]
        col = len(other.parent_keys) + 1
        letter = ws.cell(row=1, column=col).column_letter
        return (
            f"'{sheet_title(target, lang)}'!${letter}$2:${letter}${max(sizes[target] + 300, 500)}"
        )

    def add(formula: str, ref: str) -> None:
        dv = DataValidation(type="list", formula1=formula, allow_blank=True)
        dv.error = t("rbook.dv.error", lang)
        dv.errorStyle = "warning"  # a new code typed before its row exists is still allowed
        ws.add_data_validation(dv)
        dv.add(ref)

    def formula_for(column: Column, table_name: str) -> str | None:
        target = _REFERENCES.get((table_name, column.key))
        if target:
            return code_range(target)
        if column.kind == "bool":
            return f'"{YES},{NO}"'
        if column.kind == "choice" and len(",".join(column.choices)) < 250:
            return '"' + ",".join(column.choices) + '"'
        return None

    if tb.kind == "fields":
        for r, col in enumerate(lay.columns, start=2):
            formula = formula_for(col, "instrument")
            if formula:
                add(formula, f"B{r}")
        return
    offset = len(lay.parent_keys)
    for k, parent in enumerate(lay.parents):
        target = next(x.name for x in TABLES if x.path == parent and x.kind == "rows")
        letter = ws.cell(row=1, column=k + 1).column_letter
        add(code_range(target), f"{letter}2:{letter}{last}")
    for c, col in enumerate(lay.columns, start=offset + 1):
        formula = formula_for(col, tb.name)
        if formula:
            letter = ws.cell(row=1, column=c).column_letter
            add(formula, f"{letter}2:{letter}{last}")


# --- import -----------------------------------------------------------------------------------


@dataclass
class BookResult:
    """What reading a rubric workbook gave: the rubric (None when any problem) and problems."""

    file: str
    rubric: Rubric | None = None
    problems: list[Problem] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.rubric is not None and not self.problems


#: One separator followed by exactly three digits, after a non-zero whole part: 1.000, 12,500.
_THOUSANDS = re.compile(r"^\s*[+-]?[1-9]\d{0,2}[.,]\d{3}\s*$")
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+\s*(/\s*\d+(,\d+)?\s*)?$")


def _from_cell(raw: Any, column: Column) -> tuple[bool, Any]:
    """(present, value as the validator takes it) for one cell."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return False, None
    if isinstance(raw, bool):
        raw = YES if raw else NO
    if isinstance(raw, float):
        d = Decimal(repr(raw))
        raw = str(int(d)) if d == d.to_integral_value() else format(d.normalize(), "f")
    elif isinstance(raw, int):
        raw = str(raw)
    elif not isinstance(raw, str):
        raw = str(raw)  # a date or time: the validator says what it expected
    text = raw.strip()
    if text.casefold() in NONE_MARKS:
        return True, None
    if column.kind == "bool":
        low = text.casefold()
        if low in _TRUE:
            return True, True
        if low in _FALSE:
            return True, False
    if column.kind in ("number", "exact", "int") and _DECIMAL_COMMA.match(text):
        text = text.replace(",", ".")
    return True, text


def _set(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for p in parts[:-1]:
        target = target.setdefault(p, {})
    target[parts[-1]] = value


class _Reader:
    def __init__(self, file: str):
        self.file = file
        self.data: dict[str, Any] = {}
        self.problems: list[Problem] = []
        #: error path of the rubric data -> (sheet, cell, table, column key, raw text)
        self.where: dict[str, tuple[str, str, str, str, str]] = {}
        #: sheet name and table of each list of the rubric itself ("aspects" -> Aspek)
        self.sheets: dict[str, tuple[str, str]] = {}
        #: rows by their keys, per list path: (dict, error path)
        self.index: dict[tuple[str, ...], dict[tuple[Any, ...], tuple[dict, str]]] = {}
        #: (sheet, cell) of the cells whose value is already reported as hidden or unusable
        self.flagged: set[tuple[str, str]] = set()
        #: cells of the indicator and checklist item codes, by code (see _duplicate_cell)
        self.code_cells: dict[str, list[tuple[str, str]]] | None = None

    def flag(self, code: str, sheet: str, pos: tuple[int, int] | str, **params: Any) -> None:
        cell = pos if isinstance(pos, str) else _cell(*pos)
        self.problems.append(Problem.make(code, self.file, sheet, cell, **params))
        self.flagged.add((sheet, cell))

    def check_number(self, sheet: str, cell: str, raw: Any, column: Column) -> None:
        """``1.000`` or ``1,000`` typed as text in a number cell: one thousand (as Indonesian
        and English write thousands) or one (a decimal point or comma)? Asked, not guessed."""
        numeric = column.kind in ("number", "exact", "int")
        if numeric and isinstance(raw, str) and _THOUSANDS.match(raw):
            self.flag("MV625", sheet, cell, value=raw.strip())

    def mark(self, path: str, sheet: str, cell: str, table: str, key: str, raw: Any) -> None:
        shown = _from_cell(raw, Column(key, "text"))[1]
        self.where.setdefault(path, (sheet, cell, table, key, "" if shown is None else shown))

    def locate(self, path: str) -> tuple[str, str, str, str, str]:
        p = path
        while True:
            if p in self.where:
                return self.where[p]
            if not p:
                return ("", "", "", "", "")
            p = re.sub(r"(\[\d+\]|\.[^.\[\]]+|^[^.\[\]]+)$", "", p)


def _cell(row: int, col: int) -> str:
    from monev.cells import cell_ref

    return cell_ref(row, col)


def _find_sheet(names: list[str], table: str) -> str | None:
    wanted = {sheet_title(table, lang).strip().casefold() for lang in LANGS} | {table}
    return next((n for n in names if n.strip().casefold() in wanted), None)


def read_book(path: str | Path, display_name: str | None = None) -> BookResult:
    """Read a rubric workbook, check it as a rubric file is checked; never raises on bad input."""
    from monev.cells import TooLarge, open_book
    from monev.limits import MAX_CELLS
    from monev.scan import scan_workbook

    path = Path(path)
    name = display_name or path.name
    result = BookResult(name)
    pre = scan_workbook(path, name, None)
    if pre.problem:
        result.problems.append(pre.problem)
        return result
    try:
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(str(path))
        try:
            names = list(wb.sheet_names)
            found = {tb.name: _find_sheet(names, tb.name) for tb in TABLES}
            merged = {real: _merged_ranges(wb, path, real) for real in found.values() if real}
        finally:
            wb.close()
        others = [n for n in names if n not in found.values() and _find_sheet([n], "help") is None]
        book = open_book(path, [s for s in found.values() if s] + others, rich="")
    except TooLarge as exc:
        result.problems.append(
            Problem.make("MV111", name, limit=Key("limit.cells"), value=exc.detail, max=MAX_CELLS)
        )
        return result
    except Exception as exc:  # calamine raises many types for a broken file
        result.problems.append(Problem.make("MV101", name, reason=str(exc)[:200]))
        return result
    reader = _Reader(name)
    if any(_too_many_rows(reader, tb, book.sheets[real]) for tb, real in _present(found)):
        result.problems.extend(reader.problems)
        return _sorted(result)
    for tb in TABLES:
        real = found[tb.name]
        if real is None:
            if tb.required:
                title = sheet_title(tb.name, DEFAULT_LANG)
                result.problems.append(
                    Problem.make("MV601", name, title, "", sheet=Key(f"rbook.sheet.{tb.name}"))
                )
            continue
        sheet = book.sheets[real]
        if len(tb.path) == 1:  # a list of the rubric itself: "no rows" is said of the sheet
            reader.sheets[tb.path[0]] = (sheet.name, tb.name)
        _add_extras(path, sheet)
        _check_cells(reader, sheet, merged.get(real, []))
        _read_table(reader, tb, layout(tb), sheet.name, sheet.rows)
    _renamed_sheets(reader, [book.sheets[n] for n in others if n in book.sheets], found)
    result.data = reader.data
    result.problems.extend(reader.problems)
    if any(p.code == "MV601" for p in result.problems):
        return _sorted(result)
    try:
        rubric = parse_rubric(dump_yaml(reader.data), file=name)
    except RubricError as exc:
        verdicts = _problems(reader, exc) + _second_pass(reader, exc)
        # a cell already said to hide its value (a formula, a merge...) is not judged again
        result.problems.extend(p for p in verdicts if (p.sheet, p.cell) not in reader.flagged)
        return _sorted(result)
    if not result.problems:
        result.rubric = rubric
    return _sorted(result)


# --- what a cell's value hides (wp-rbook2) ------------------------------------------------------


Span = tuple[tuple[int, int], tuple[int, int]]  # first and last cell, zero-based


def _merged_ranges(wb: Any, path: Path, sheet: str) -> list[Span]:
    try:
        spans = list(wb.get_sheet_by_name(sheet).merged_cell_ranges or [])
    except Exception:  # a file calamine reads without merge information
        spans = []
    return spans or _ods_merged(path, sheet)


def _ods_merged(path: Path, sheet_name: str, most: int = 10_000) -> list[Span]:
    """Merged cells of an .ods sheet (calamine gives none): a cell spanning rows or columns."""
    import zipfile
    from xml.etree.ElementTree import ParseError, iterparse

    ns = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"

    def number(elem: Any, attr: str) -> int:
        try:
            return max(1, int(elem.get(ns + attr, "1")))
        except ValueError:
            return 1

    out: list[Span] = []
    row, col, inside = -1, 0, False
    try:
        with zipfile.ZipFile(path) as zf:
            if "content.xml" not in zf.namelist():
                return out
            with zf.open("content.xml") as fh:
                for event, elem in iterparse(fh, events=("start", "end")):
                    tag = elem.tag
                    if tag == ns + "table":
                        if event == "start":
                            inside = elem.get(ns + "name") == sheet_name
                        elif inside:
                            break
                    elif not inside:
                        if event == "end":
                            elem.clear()
                    elif tag == ns + "table-row":
                        if event == "start":
                            row, col = row + 1, 0
                        else:
                            row += number(elem, "number-rows-repeated") - 1
                            elem.clear()
                    elif event == "start" and tag in (ns + "table-cell", ns + "covered-table-cell"):
                        rows, cols = (
                            number(elem, "number-rows-spanned"),
                            number(elem, "number-columns-spanned"),
                        )
                        if tag == ns + "table-cell" and (rows > 1 or cols > 1) and len(out) < most:
                            out.append(((row, col), (row + rows - 1, col + cols - 1)))
                        col += number(elem, "number-columns-repeated")
    except (KeyError, zipfile.BadZipFile, ParseError, OSError, ValueError, RuntimeError):
        return out
    return out


def _add_extras(path: Path, sheet: Any) -> None:
    """Percent formats, formulas never calculated and Excel errors of ``sheet`` (which its values
    alone do not show: a formula without a value and ``#REF!`` both read as an empty cell)."""
    from monev.cells import _add_extras as add

    add(path, sheet)


def _inexact(value: float) -> bool:
    """A float with 15 or more significant digits: nobody types that, a formula or a division
    gave it (``=100/3`` is saved as 33.333333333333336 by Excel, 33.3333333333333 by
    LibreOffice), and the rubric wants the exact value (``100/3`` as text)."""
    digits = repr(abs(value)).split("e")[0].replace(".", "").lstrip("0")
    return len(digits) >= 15


def _date_text(value: Any) -> str:
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0):
        return value.date().isoformat()
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _check_cells(reader: _Reader, sheet: Any, merged: list[Any]) -> None:
    """Cells whose value is not what the person typed or meant: each a problem at its cell, never
    a silent default (an empty weight is 1) or a silently different number (10% is 0.1)."""
    for pos in sorted(sheet.pending_formulas):
        reader.flag("MV617", sheet.name, pos)
    for pos, error in sorted(sheet.errors.items()):
        reader.flag("MV618", sheet.name, pos, value=error or "#?")
    for pos in sorted(sheet.percent):
        value = sheet.value(pos)
        if isinstance(value, int | float) and not isinstance(value, bool):
            shown = format((Decimal(repr(value)) * 100).normalize(), "f") + "%"
            reader.flag("MV619", sheet.name, pos, value=shown.removesuffix("%"), shown=shown)
    for r, row in enumerate(sheet.rows):
        for c, value in enumerate(row):
            if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
                reader.flag("MV620", sheet.name, (r, c), value=_date_text(value))
            elif isinstance(value, float) and (r, c) not in sheet.percent and _inexact(value):
                reader.flag("MV624", sheet.name, (r, c), value=repr(value))
    for (r0, c0), (r1, c1) in merged:
        if (r0, c0) == (r1, c1):
            continue
        span = f"{_cell(r0, c0)}:{_cell(r1, c1)}"
        reader.flag("MV621", sheet.name, (r0, c0), range=span)
        for r in range(r0, min(r1, r0 + 50_000) + 1):
            for c in range(c0, min(c1, c0 + 1_000) + 1):
                reader.flagged.add((sheet.name, _cell(r, c)))


def _present(found: dict[str, str | None]) -> list[tuple[Table, str]]:
    return [(tb, real) for tb in TABLES if (real := found[tb.name]) is not None]


def _too_many_rows(reader: _Reader, tb: Table, sheet: Any) -> bool:
    """A list of the rubric itself longer than the validator allows: said of the sheet before
    any row is read (10,000 rows would take long to check one by one, all to be refused)."""
    from monev.rubric import MAX_COUNTS

    limit = MAX_COUNTS.get(tb.path[0]) if len(tb.path) == 1 else None
    if limit is None:
        return False
    count = sum(1 for row in sheet.rows[1:] if not _is_blank(row))
    if count <= limit:
        return False
    title = Key(f"rbook.sheet.{tb.name}")
    params = {"sheet": title, "count": count, "max": limit}
    reader.problems.append(Problem.make("MV623", reader.file, sheet.name, "A1", **params))
    return True


def _renamed_sheets(reader: _Reader, others: list[Any], found: dict[str, str | None]) -> None:
    """A sheet of another name whose headings are those of a sheet the workbook lacks: renamed
    (``Predikat 2024``), and without this its rows would be dropped without a word."""
    missing = [tb for tb in TABLES if found[tb.name] is None and tb.kind != "fields"]
    for sheet in others:
        if not sheet.rows:
            continue
        keys = {m.group(1) for head in sheet.rows[0] if (m := _HEADER_KEY.search(str(head or "")))}
        best = None
        for tb in missing:
            lay = layout(tb)
            known = set(lay.parent_keys) | {c.key for c in lay.columns}
            if keys and keys <= known and (best is None or len(known) < best[1]):
                best = (tb, len(known))
        if best is not None:
            reader.problems.append(
                Problem.make(
                    "MV622",
                    reader.file,
                    sheet.name,
                    "A1",
                    name=sheet.name,
                    sheet=Key(f"rbook.sheet.{best[0].name}"),
                )
            )


def _sorted(result: BookResult) -> BookResult:
    result.problems.sort()
    return result


def _is_blank(row: list[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def _read_table(reader: _Reader, tb: Table, lay: Layout, sheet: str, rows: list[list[Any]]) -> None:
    if rows and tb.kind == "fields":
        _read_fields(reader, lay, sheet, rows)
    elif rows:
        _read_rows(reader, tb, lay, sheet, rows)


def _read_fields(reader: _Reader, lay: Layout, sheet: str, rows: list[list[Any]]) -> None:
    """The instrument sheet: a field's key in column A, its value in column B."""
    by_key = {c.key: c for c in lay.columns}
    seen: set[str] = set()
    for r, row in enumerate(rows[1:], start=1):
        if _is_blank(row):
            continue
        key = header_key(row[0]) if not _is_blank(row[:1]) else ""
        raw = row[1] if len(row) > 1 else ""
        col = by_key.get(key)
        if col is None or key in seen:
            code = "MV603" if col is None else "MV616"
            reader.problems.append(
                Problem.make(code, reader.file, sheet, _cell(r, 0), key=key or "-")
            )
            continue
        seen.add(key)
        reader.mark(col.key, sheet, _cell(r, 1), "instrument", col.key, raw)
        reader.check_number(sheet, _cell(r, 1), raw, col)
        present, value = _from_cell(raw, col)
        if present:
            _set(reader.data, col.key, value)
    for col in lay.columns:  # a required field without its row: the sheet's first cell
        reader.mark(col.key, sheet, "A1", "instrument", col.key, "")
    reader.mark("", sheet, "A1", "instrument", "", "")


def _header(
    reader: _Reader, tb: Table, lay: Layout, sheet: str, header: list[Any]
) -> dict[str, int] | None:
    """Column positions by key; None when a parent key column is missing (rows unattachable)."""
    known = set(lay.parent_keys) | {c.key for c in lay.columns}
    positions: dict[str, int] = {}
    for c, head in enumerate(header):
        if _is_blank([head]):
            continue
        key = header_key(head)
        code = "MV602" if key not in known else "MV613" if key in positions else ""
        if code:
            reader.problems.append(
                Problem.make(code, reader.file, sheet, _cell(0, c), column=str(head))
            )
        else:
            positions[key] = c
    for key in lay.parent_keys:
        if key not in positions:
            label = _label_param(tb.name, key)
            reader.problems.append(Problem.make("MV614", reader.file, sheet, "A1", column=label))
            return None
    return positions


def _read_rows(reader: _Reader, tb: Table, lay: Layout, sheet: str, rows: list[list[Any]]) -> None:
    """A sheet of rows: each attached under its parent row (found by the parent key columns)."""
    positions = _header(reader, tb, lay, sheet, rows[0])
    if positions is None:
        return
    keys = lay.parent_keys
    parent_list = lay.parents[-1] if lay.parents else None
    for r, row in enumerate(rows[1:], start=1):
        if _is_blank(row):
            continue
        raws = {k: row[c] if c < len(row) else "" for k, c in positions.items()}
        pkeys = tuple(_from_cell(raws.get(k), Column(k, "text"))[1] for k in keys)
        holder: dict[str, Any] = reader.data
        holder_path = ""
        rest = tb.path
        if parent_list is not None:
            hit = reader.index.get(parent_list, {}).get(pkeys)
            if hit is None:
                j = next(
                    (
                        j
                        for j in range(len(keys))
                        if reader.index.get(lay.parents[j], {}).get(pkeys[: j + 1]) is None
                    ),
                    len(keys) - 1,
                )
                reader.problems.append(
                    Problem.make(
                        "MV604",
                        reader.file,
                        sheet,
                        _cell(r, positions[keys[j]]),
                        value=str(pkeys[j] or "-"),
                        column=_label_param(tb.name, keys[j]),
                    )
                )
                continue
            holder, holder_path = hit
            rest = tb.path[len(parent_list) :]
        for attr in rest[:-1]:
            holder = holder.setdefault(attr, {})
            holder_path = _path(holder_path, attr)
        coll_path = _path(holder_path, rest[-1])
        # a collection's own errors are about its totals or order: point at that column
        total = next((k for k in ("weight", "max", "min") if k in positions), None)
        head = _cell(0, positions[total]) if total else "A1"
        reader.mark(coll_path, sheet, head, tb.name, total or "", "")
        put = {"mapping": _put_mapping, "values": _put_value, "rows": _put_row}[tb.kind]
        put(reader, lay, _Place(sheet, r, positions, raws, holder, rest[-1], coll_path, pkeys))


@dataclass
class _Place:
    """Where one row of a sheet goes: its cells, and the parent data it is added to."""

    sheet: str
    row: int
    positions: dict[str, int]
    raws: dict[str, Any]
    holder: dict[str, Any]
    attr: str
    path: str  # the error path of the collection (``indicators[3].answer.options``)
    pkeys: tuple[Any, ...]

    def cell(self, key: str) -> str:
        return _cell(self.row, self.positions.get(key, 0))


def _put_mapping(reader: _Reader, lay: Layout, at: _Place) -> None:
    c_key, c_val = lay.columns
    present_k, key = _from_cell(at.raws.get("key"), c_key)
    present_v, value = _from_cell(at.raws.get("value"), c_val)
    key_text = str(key) if present_k else ""
    target = at.holder.setdefault(at.attr, {})
    cell = at.cell("value")
    reader.check_number(at.sheet, cell, at.raws.get("value"), c_val)
    reader.mark(
        f"{at.path}.{key_text}", at.sheet, cell, lay.table.name, "value", at.raws.get("value")
    )
    if key_text in target:
        reader.problems.append(
            Problem.make("MV606", reader.file, at.sheet, at.cell("key"), value=key_text or "-")
        )
        return
    target[key_text] = value if present_v else None


def _put_value(reader: _Reader, lay: Layout, at: _Place) -> None:
    present, value = _from_cell(at.raws.get("value"), lay.columns[0])
    target = at.holder.setdefault(at.attr, [])
    where = f"{at.path}[{len(target)}]"
    reader.mark(where, at.sheet, at.cell("value"), lay.table.name, "value", at.raws.get("value"))
    target.append(value if present else "")


def _put_row(reader: _Reader, lay: Layout, at: _Place) -> None:
    target = at.holder.setdefault(at.attr, [])
    el_path = f"{at.path}[{len(target)}]"
    element: dict[str, Any] = {}
    table = lay.table.name
    reader.mark(el_path, at.sheet, _cell(at.row, len(lay.parent_keys)), table, "", "")
    for col in lay.columns:
        cell = at.cell(col.key)
        raw = at.raws.get(col.key)
        parts = col.key.split(".")
        for n in range(1, len(parts)):  # "answer" points at answer.type's cell
            reader.mark(_path(el_path, ".".join(parts[:n])), at.sheet, cell, table, col.key, raw)
        reader.mark(_path(el_path, col.key), at.sheet, cell, table, col.key, raw)
        reader.check_number(at.sheet, cell, raw, col)
        present, value = _from_cell(raw, col)
        if present:
            _set(element, col.key, value)
    target.append(element)
    assert lay.model is not None
    own = element.get(_key_field(lay.model))
    if own is not None:
        index = reader.index.setdefault(lay.table.path, {})
        index.setdefault((*at.pkeys, own), (element, el_path))


def _path(base: str, attr: str) -> str:
    return f"{base}.{attr}" if base else attr


# --- the validator's verdicts as problems ---------------------------------------------------------

_CLASSES = [
    (re.compile(r"^Field required$"), "MV610"),
    (re.compile(r"^Extra inputs are not permitted$"), "MV612"),
    (
        re.compile(
            r"(^Input should be a valid (decimal|number|integer)|^Decimal input|expected a number)"
        ),
        "MV611",
    ),
    (re.compile(r"^Input should be a finite number"), "MV611"),
    (re.compile(r"^(Input tag .* does not match|Unable to extract tag)"), "MV609"),
    (re.compile(r"^duplicate "), "MV606"),
    (
        re.compile(
            r"^(unknown (aspect|group)|gate names|.* is not one of the"
            r"|not a level of|group .* is not under)"
        ),
        "MV607",
    ),
    (re.compile(r"add up to (?P<total>\S+), not 100$"), "MV608"),
]


def _sentence(msg: str, lang: str) -> str:
    """The rubric validator's own sentence for ``msg`` in ``lang`` (as ``monev rubric check``)."""
    line = RubricError("F", [("P", msg)]).lines(lang)[0]
    return line.split(": ", 2)[2]


def _tokens(path: str) -> list[str | int]:
    """``indicators[3].answer.min`` -> ``["indicators", 3, "answer", "min"]``."""
    out: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        out.append(int(index) if index else name)
    return out


def _placeholder(kind: str, n: int) -> Any:
    """A value every field of ``kind`` accepts (codes unique, so no false duplicates)."""
    return {"number": "1", "exact": "1", "int": "2024", "bool": False}.get(kind, f"x{n}")


def _patched(reader: _Reader, errors: list[tuple[str, str]]) -> tuple[Any, set[str]] | None:
    """The data with every value the model refused replaced by a harmless one (or removed when
    optional), so the checks across values (duplicates, references, totals) can run too; None
    when a refusal concerns more than one value (a list too long, the whole answer...)."""
    import copy

    data = copy.deepcopy(reader.data)
    replaced: set[str] = set()
    columns = {(tb.name, c.key): c for tb in TABLES for c in layout(tb).columns}
    for n, (path, msg) in enumerate(errors):
        tokens = _tokens(path)
        if not tokens or isinstance(tokens[-1], int):
            return None
        parent: Any = data
        for tok in tokens[:-1]:
            try:
                parent = parent[tok]
            except (KeyError, IndexError, TypeError):
                return None
        if not isinstance(parent, dict):
            return None
        leaf = tokens[-1]
        _sheet, _cell_ref, table, key, _raw = reader.locate(path)
        column = columns.get((table, key)) or columns.get((table, "value"))
        if msg.startswith(("Input tag", "Unable to extract tag")):
            parent[leaf] = {"type": "ya_tidak"}
        elif msg == "Extra inputs are not permitted" or (
            column is not None and not msg.startswith("Field required") and column.none_mark
        ):
            parent.pop(leaf, None)
        elif column is not None:
            parent[leaf] = _placeholder(column.kind, n)
        else:
            return None
        replaced.add(path)
    return data, replaced


def _second_pass(reader: _Reader, exc: RubricError) -> list[Problem]:
    """The checks across values, run on the data with the refused values replaced; what they
    say about a replaced value (or a total or order it is part of) is left out."""
    patched = _patched(reader, exc.errors)
    if patched is None:
        return []
    data, replaced = patched
    try:
        parse_rubric(dump_yaml(data), file=exc.file)
    except RubricError as again:

        def related(path: str) -> bool:
            return any(
                r == path or r.startswith((path + ".", path + "[")) or path.startswith(r + ".")
                for r in replaced
            )

        kept = [(p, m) for p, m in again.errors if not related(p)]
        return _problems(reader, RubricError(exc.file, kept))
    return []


def _problems(reader: _Reader, exc: RubricError) -> list[Problem]:
    out: list[Problem] = []
    dup_seen: dict[str, int] = {}
    for path, msg in exc.errors:
        sheet, cell, table, key, raw = reader.locate(path)
        code = next((c for pattern, c in _CLASSES if pattern.search(msg)), "MV605")
        if path in reader.sheets and (code == "MV610" or msg.startswith("List should have")):
            sheet, table = reader.sheets[path]
            if path not in reader.where:  # no row at all: the sheet is empty
                out.append(
                    Problem.make("MV615", exc.file, sheet, "", sheet=Key(f"rbook.sheet.{table}"))
                )
                continue
        params: dict[str, Any] = {
            "value": raw if raw != "" else "-",
            "column": _label_param(table, key) if key else "-",
            "detail_id": _sentence(msg, "id"),
            "detail_en": _sentence(msg, "en"),
        }
        m = re.search(r"add up to (\S+), not 100", msg)
        if code == "MV608" and m:
            params["total"] = m.group(1)
        if code == "MV606":
            dm = re.match(r"^duplicate (?:code |unit type |level |variant )?'(.*)'$", msg)
            if dm:
                params["value"] = dm.group(1)
                hit = _duplicate_cell(reader, path, dm.group(1), dup_seen)
                if hit:
                    sheet, cell = hit
        out.append(Problem.make(code, exc.file, sheet, cell, **params))
    return out


_ROW_CODE = re.compile(r"^indicators\[\d+\](\.answer\.items\[\d+\])?\.code$")


def _duplicate_cell(
    reader: _Reader, path: str, code: str, seen: dict[str, int]
) -> tuple[str, str] | None:
    """The cell of the second (third, ...) row with ``code`` among indicators and checklist items:
    the validator's index there counts questionnaire rows (both kinds), not rows of one sheet."""
    if not re.fullmatch(r"indicators\[\d+\]", path):
        return None
    if reader.code_cells is None:  # built once: 2,000 duplicates must not scan 2,000 times
        reader.code_cells = {}
        for p, (sheet, cell, _table, _key, raw) in reader.where.items():
            if _ROW_CODE.match(p):
                reader.code_cells.setdefault(raw.strip(), []).append((sheet, cell))
    hits = reader.code_cells.get(code, [])
    n = seen.get(code, 0) + 1
    seen[code] = n
    return hits[n] if len(hits) > n else None


# --- YAML -------------------------------------------------------------------------------------


def _yaml_value(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return model_data(value)
    if isinstance(value, list):
        return [_yaml_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _yaml_value(v) for k, v in value.items()}
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, Exact):
        norm = value.normalize()
        if not isinstance(norm, Decimal):
            return str(value)
        value = norm
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        return float(value) if _float_exact(value) else format(value.normalize(), "f")
    return value


def model_data(model: BaseModel) -> dict[str, Any]:
    """A model as plain YAML data, fields equal to their default left out, numbers exact."""
    out: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if not info.is_required() and value == info.get_default(call_default_factory=True):
            continue
        out[name] = _yaml_value(value)
    return out


def dump_yaml(data: dict[str, Any], comment: str = "") -> str:
    import yaml

    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    head = "".join(f"# {line}\n" for line in comment.splitlines())
    return head + text


def same_rubric(a: Rubric, b: Rubric) -> bool:
    """Equal rules, whatever file each was loaded from (the model's fields, values compared)."""
    return a.model_dump() == b.model_dump()


def rubric_yaml(rubric: Rubric, comment: str = "") -> str:
    """The rubric as YAML text that :func:`monev.rubric.parse_rubric` loads back equal."""
    text = dump_yaml(model_data(rubric), comment)
    again = parse_rubric(text, file="<generated>")
    if not same_rubric(
        again, rubric
    ):  # pragma: no cover - a bug in this module, not a user's mistake
        raise AssertionError("the generated YAML does not load back to the same rubric")
    return text


def import_book(
    src: str | Path, dest: str | Path, *, overwrite: bool = False, lang: str = DEFAULT_LANG
) -> BookResult:
    """Read the workbook ``src``; when it has no problem, write the rubric as YAML to ``dest``.

    Raises FileExistsError when ``dest`` exists and ``overwrite`` is false (before reading).
    Nothing is written when there is any problem.
    """
    dest = Path(dest)
    if not overwrite and (dest.exists() or dest.is_symlink()):
        raise FileExistsError(str(dest))
    result = read_book(src)
    if result.rubric is None or result.problems:
        return result
    comment = t("rbook.yaml_comment", lang, file=Path(src).name)
    text = rubric_yaml(result.rubric, comment)
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(dest)
    return result
