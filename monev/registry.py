"""The city's registry of offices: who is expected to send a questionnaire, and who each office is.

The PPID Utama keeps one row per office it expects (``daftar.xlsx`` or ``.csv``), with columns found
by their header name (Indonesian, or the English aliases):

==================  ===========================================================================
Nama Kantor         the office's name; the name it is shown under everywhere
Jenis Unit          PPID Utama, OPD, Kecamatan or Kelurahan
Induk/Kecamatan     the kecamatan of a kelurahan (required for a Kelurahan; for a Kecamatan it
                    defaults to its own name without "Kecamatan")
Nama Lain           other names it is known by (``Kel. Bugul Lor``), separated by ``;`` or
                    new lines
Nama Lama           former names (offices renamed, or merged from several, between years)
Kontak              who to call about the questionnaire
==================  ===========================================================================

With a registry, each workbook is matched by :func:`monev.identity.office_key` of its name to an
entry's name, other name or old name; the entry is then the office's identity. Reading never raises
on bad input: every bad row is a :class:`~monev.problems.Problem` with its sheet and cell.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monev.cells import cell_ref, find_sheet
from monev.i18n import DEFAULT_LANG, Detail, t, technical
from monev.identity import office_key
from monev.problems import Key, Problem
from monev.workbook import UNIT_TYPES

SHEET = "Daftar Kantor"
SHEET_HELP = "Petunjuk"
#: Column keys -> the header the template writes, in this order.
COLUMNS = {
    "name": "Nama Kantor",
    "unit_type": "Jenis Unit",
    "kecamatan": "Induk/Kecamatan",
    "other_names": "Nama Lain",
    "old_names": "Nama Lama",
    "contact": "Kontak",
}
#: Header names accepted for each column (normalised: case, spaces around ``/`` ignored).
ALIASES = {
    "name": ["nama kantor", "nama", "kantor", "nama unit", "office", "office name", "name"],
    "unit_type": ["jenis unit", "jenis", "unit type", "type"],
    "kecamatan": ["induk/kecamatan", "induk", "kecamatan", "parent", "parent/kecamatan"],
    "other_names": ["nama lain", "other names", "other name", "aliases", "alias"],
    "old_names": ["nama lama", "old names", "old name", "former names"],
    "contact": ["kontak", "narahubung", "contact"],
}
READABLE = {".xlsx", ".xlsm", ".ods", ".csv"}
WRITABLE = {".xlsx", ".csv"}
HEADER_SEARCH_ROWS = 10
MAX_CELLS = 200_000
_MULTI = re.compile(r"[;\n\r]+")
_KEC_PREFIX = re.compile(r"^\s*(kecamatan|kec\.?)\s+", re.I)


@dataclass(frozen=True)
class Entry:
    """One office the city expects, as its registry row says."""

    name: str
    unit_type: str
    kecamatan: str = ""
    other_names: tuple[str, ...] = ()
    old_names: tuple[str, ...] = ()
    contact: str = ""
    #: Where the row is (``Daftar Kantor!A7``), for messages.
    cell: str = ""

    @property
    def key(self) -> str:
        return office_key(self.name)


@dataclass(frozen=True)
class Match:
    entry: Entry
    #: How the workbook's name matched: ``name``, ``other`` (Nama Lain) or ``old`` (Nama Lama).
    via: str


@dataclass(frozen=True)
class Count:
    sent: int
    expected: int


@dataclass(frozen=True)
class Coverage:
    """Registry offices that sent a workbook, of those expected: in all, per unit type and per
    kecamatan (offices without a kecamatan, such as the OPD, are only in the first two)."""

    total: Count
    by_unit_type: dict[str, Count]
    by_kecamatan: dict[str, Count]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": self.total.sent,
            "expected": self.total.expected,
            "unit_types": [
                {"unit_type": k, "sent": c.sent, "expected": c.expected}
                for k, c in self.by_unit_type.items()
            ],
            "kecamatan": [
                {"kecamatan": k, "sent": c.sent, "expected": c.expected}
                for k, c in self.by_kecamatan.items()
            ],
        }

    def lines(self, missing: list[Entry], lang: str = DEFAULT_LANG, limit: int = 10) -> list[str]:
        """The terminal's coverage lines: counts, then the offices that have not sent."""
        parts = ", ".join(f"{k} {c.sent}/{c.expected}" for k, c in self.by_unit_type.items())
        out = [
            t(
                "registry.coverage",
                lang,
                sent=self.total.sent,
                expected=self.total.expected,
                parts=parts,
            )
        ]
        if self.by_kecamatan:
            kec = ", ".join(f"{k} {c.sent}/{c.expected}" for k, c in self.by_kecamatan.items())
            out.append(t("registry.coverage_kecamatan", lang, parts=kec))
        if missing:
            names = ", ".join(e.name for e in missing[:limit])
            more = len(missing) - limit
            if more > 0:
                names += " " + t("registry.and_more", lang, count=more)
            out.append(t("registry.missing", lang, count=len(missing), names=names))
        return out


@dataclass
class Registry:
    """The offices a city expects, with the problems found reading the file."""

    file: str
    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: The unit types a row may have, in report order (the rubric's).
    unit_types: list[str] = field(default_factory=lambda: list(UNIT_TYPES))
    _index: dict[str, Match] = field(default_factory=dict, repr=False)

    @property
    def usable(self) -> bool:
        """No row is wrong: a run can rely on it (every error would misplace an office)."""
        return bool(self.entries) and not any(
            p.severity in ("fatal", "error") for p in self.problems
        )

    def match(self, name: str) -> Match | None:
        """The entry whose name, other name or old name is ``name`` (by :func:`office_key`)."""
        return self._index.get(office_key(name))

    def suggestions(self, name: str, n: int = 3) -> list[str]:
        """The registry names closest to ``name`` (its entries' names, for a problem message)."""
        by_key: dict[str, str] = {}
        for key, m in self._index.items():
            by_key.setdefault(key, m.entry.name)
        close = difflib.get_close_matches(office_key(name), list(by_key), n=n * 2, cutoff=0.5)
        names: list[str] = []
        for k in close:
            if by_key[k] not in names:
                names.append(by_key[k])
        return names[:n]

    def coverage(self, sent: set[str]) -> Coverage:
        """Counts of entries whose key is in ``sent``, of all entries."""

        def count(entries: list[Entry]) -> Count:
            return Count(sum(e.key in sent for e in entries), len(entries))

        known = list(self.unit_types)
        order = known + sorted({e.unit_type for e in self.entries} - set(known))
        by_unit = {
            u: count([e for e in self.entries if e.unit_type == u])
            for u in order
            if any(e.unit_type == u for e in self.entries)
        }
        kecs = sorted({e.kecamatan for e in self.entries if e.kecamatan}, key=str.casefold)
        by_kec = {k: count([e for e in self.entries if e.kecamatan == k]) for k in kecs}
        return Coverage(count(self.entries), by_unit, by_kec)

    def missing(self, sent: set[str]) -> list[Entry]:
        """Entries with no workbook, in registry order."""
        return [e for e in self.entries if e.key not in sent]

    def renames(self, known: set[str] | None = None) -> dict[str, str]:
        """For year-over-year matching: office key -> the key it had last year.

        With ``known`` (last year's office keys), the first of the entry's name, other names and
        old names that last year knew; without, the first old name.
        """
        out: dict[str, str] = {}
        for e in self.entries:
            names = [e.name, *e.other_names, *e.old_names]
            keys = [office_key(n) for n in names]
            if known is None:
                if e.old_names:
                    out[e.key] = office_key(e.old_names[0])
                continue
            hit = next((k for k in keys if k in known), None)
            if hit is not None and hit != e.key:
                out[e.key] = hit
        return out

    def _add(self, entry: Entry, sheet: str, cells: dict[str, str]) -> None:
        """Index the entry's names; a name already taken by another entry is an error."""
        self.entries.append(entry)
        own: set[str] = set()
        names = [("name", entry.name, "name")]
        names += [("other", n, "other_names") for n in entry.other_names]
        names += [("old", n, "old_names") for n in entry.old_names]
        for via, name, column in names:
            key = office_key(name)
            if not key or key in own:
                continue
            own.add(key)
            taken = self._index.get(key)
            if taken is not None:
                self.problems.append(
                    Problem.make(
                        "MV445",
                        self.file,
                        sheet,
                        cells[column],
                        value=name,
                        office=entry.name,
                        other=taken.entry.name,
                        other_cell=taken.entry.cell,
                    )
                )
                continue
            self._index[key] = Match(entry, via)


# --- reading -----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A cell as text: integral floats without ``.0`` (phone numbers), spaces collapsed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _names(value: Any) -> tuple[str, ...]:
    """``"Kel. Bugul Lor; Bugul Lor"`` (or one per line) -> the names."""
    raw = "" if value is None else str(value)
    return tuple(n for n in (_text(part) for part in _MULTI.split(raw)) if n)


def _header_key(value: Any) -> str:
    text = _text(value).casefold().rstrip(":*").strip()
    return re.sub(r"\s*/\s*", "/", text)


def _find_header(rows: list[list[Any]]) -> tuple[int, dict[str, int]] | None:
    for r, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        cols: dict[str, int] = {}
        for c, value in enumerate(row):
            k = _header_key(value)
            for key, aliases in ALIASES.items():
                if k in aliases and key not in cols:
                    cols[key] = c
        if "name" in cols:
            return r, cols
    return None


def _rows_xlsx(path: Path, name: str) -> tuple[str, list[list[Any]]] | Problem:
    """The sheet holding the registry (``Daftar Kantor``, else the first with a header)."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises many types for broken files
        return Problem.make("MV440", name, reason=Key("registry.broken"), detail=technical(exc))
    try:
        names = list(wb.sheet_names)
        preferred = find_sheet(names, SHEET)
        order = ([preferred] if preferred else []) + [n for n in names if n != preferred]
        first: tuple[str, list[list[Any]]] | None = None
        for sheet_name in order:
            sheet = wb.get_sheet_by_name(sheet_name)
            if sheet.total_height * max(sheet.total_width, 1) > MAX_CELLS:
                return Problem.make(
                    "MV440",
                    name,
                    reason=Key("registry.too_large"),
                    detail=Detail(f"{sheet_name}: {sheet.total_height} x {sheet.total_width}"),
                )
            rows = sheet.to_python(skip_empty_area=False)
            first = first or (sheet_name, rows)
            if _find_header(rows) is not None:
                return sheet_name, rows
        return first or (SHEET, [])
    except Exception as exc:
        return Problem.make("MV440", name, reason=Key("registry.broken"), detail=technical(exc))
    finally:
        wb.close()


def _rows_csv(data: bytes, name: str) -> list[list[Any]] | Problem:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Problem.make("MV440", name, reason=Key("registry.not_utf8"))
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        return Problem.make("MV440", name, reason=Key("registry.broken"), detail=technical(exc))


def load_registry(path: str | Path, unit_types: Iterable[str] | None = None) -> Registry:
    """Read and check a registry file against ``unit_types`` (default: the default rubric's).

    Never raises on bad input: see :attr:`Registry.problems`.
    """
    path = Path(path)
    name = path.name
    reg = Registry(file=name, unit_types=list(unit_types or UNIT_TYPES))
    suffix = path.suffix.lower()
    if suffix not in READABLE:
        reg.problems.append(Problem.make("MV440", name, reason=Key("registry.bad_suffix")))
        return reg
    try:
        data = path.read_bytes()
    except OSError as exc:
        unreadable = Problem.make(
            "MV440", name, reason=Key("registry.unopenable"), detail=technical(exc)
        )
        reg.problems.append(unreadable)
        return reg
    if suffix == ".csv":
        sheet = path.stem  # the sheet name a spreadsheet shows for a CSV file
        got: Any = _rows_csv(data, name)
    else:
        got = _rows_xlsx(path, name)
        if not isinstance(got, Problem):
            sheet, got = got
    if isinstance(got, Problem):
        reg.problems.append(got)
        return reg
    _read_rows(reg, sheet, got)
    return reg


def _read_rows(reg: Registry, sheet: str, rows: list[list[Any]]) -> None:
    found = _find_header(rows)
    if found is None:
        first = next((r for r in rows if any(_text(v) for v in r)), [])
        reg.problems.append(
            Problem.make(
                "MV441",
                reg.file,
                sheet,
                "",
                column=COLUMNS["name"],
                found=", ".join(_text(v) for v in first if _text(v))[:120] or "-",
            )
        )
        return
    header, cols = found
    for r in range(header + 1, len(rows)):
        row = rows[r]

        def get(key: str, row: list[Any] = row) -> Any:
            c = cols.get(key)
            return row[c] if c is not None and c < len(row) else None

        def at(key: str, r: int = r) -> str:
            return cell_ref(r, cols.get(key, cols["name"]))

        if not any(_text(v) for v in row):
            continue
        office = _text(get("name"))
        if not office:
            reg.problems.append(Problem.make("MV442", reg.file, sheet, at("name"), row=str(r + 1)))
            continue
        raw_unit = _text(get("unit_type"))
        unit = next((u for u in reg.unit_types if office_key(u) == office_key(raw_unit)), None)
        if unit is None:
            reg.problems.append(
                Problem.make(
                    "MV443",
                    reg.file,
                    sheet,
                    at("unit_type"),
                    value=raw_unit or "-",
                    office=office,
                    allowed=", ".join(reg.unit_types),
                )
            )
            unit = raw_unit
        kec = _text(get("kecamatan"))
        if not kec and unit == "Kecamatan":
            kec = _KEC_PREFIX.sub("", office)
        if not kec and unit == "Kelurahan":
            reg.problems.append(
                Problem.make("MV444", reg.file, sheet, at("kecamatan"), office=office)
            )
        entry = Entry(
            name=office,
            unit_type=unit,
            kecamatan=kec,
            other_names=_names(get("other_names")),
            old_names=_names(get("old_names")),
            contact=_text(get("contact")),
            cell=f"{sheet}!{at('name')}",
        )
        reg._add(entry, sheet, {k: at(k) for k in COLUMNS})
    if not reg.entries and not reg.problems:
        reg.problems.append(Problem.make("MV449", reg.file, sheet, ""))


# --- matching workbooks ------------------------------------------------------------------------


def identify(
    reg: Registry, file: str, name: str, unit_type: str, kecamatan: str
) -> tuple[Entry | None, list[Problem]]:
    """The registry entry of a workbook's office, and the problems that says.

    No entry: one ``fatal`` problem naming the closest registry names. An entry: warnings where
    the workbook's unit type or kecamatan differ from the registry's (the registry wins), or where
    it is known under an old name.
    """
    m = reg.match(name)
    if m is None:
        close = reg.suggestions(name)
        return None, [
            Problem.make(
                "MV446",
                file,
                "Identitas",
                "",
                office=name,
                registry=reg.file,
                suggestions=", ".join(close) if close else "-",
            )
        ]
    e = m.entry
    problems = []
    if m.via == "old":
        problems.append(Problem.make("MV448", file, "Identitas", "", found=name, office=e.name))
    for label, found, used in (
        ("registry.field.unit_type", unit_type, e.unit_type),
        ("registry.field.kecamatan", kecamatan, e.kecamatan),
    ):
        if found and office_key(found) != office_key(used):
            problems.append(
                Problem.make(
                    "MV447",
                    file,
                    "Identitas",
                    "",
                    field=Key(label),
                    found=found,
                    used=used or "-",
                    office=e.name,
                )
            )
    return e, problems


# --- writing -----------------------------------------------------------------------------------


def draft_entries(
    identities: Iterable[tuple[str, str, str]], unit_types: Iterable[str] | None = None
) -> list[Entry]:
    """Registry entries from (name, unit type, kecamatan) as workbooks give them.

    Identities with one :func:`office_key` are one entry: its name is the spelling not in capitals
    only, then the most frequent, then the first; its unit type and kecamatan the first non-empty.
    Sorted by unit type (in ``unit_types`` order: PPID Utama, OPD, Kecamatan, Kelurahan by
    default), kecamatan and name.
    """
    spellings: dict[str, list[str]] = {}
    found: dict[str, list[str]] = {}
    for name, unit, kec in identities:
        key = office_key(name)
        spellings.setdefault(key, []).append(name)
        got = found.setdefault(key, [unit, kec])
        got[0] = got[0] or unit
        got[1] = got[1] or kec

    def best(names: list[str]) -> str:
        return max(names, key=lambda n: (not n.isupper(), names.count(n), -names.index(n)))

    order = {u: i for i, u in enumerate(unit_types or UNIT_TYPES)}
    entries = [Entry(best(spellings[k]), u, kec) for k, (u, kec) in found.items()]
    return sorted(
        entries,
        key=lambda e: (order.get(e.unit_type, len(order)), e.kecamatan.casefold(), e.key),
    )


def _rows_of(entries: list[Entry]) -> list[list[str]]:
    return [
        [
            e.name,
            e.unit_type,
            e.kecamatan,
            "; ".join(e.other_names),
            "; ".join(e.old_names),
            e.contact,
        ]
        for e in entries
    ]


def registry_bytes(
    entries: list[Entry],
    suffix: str,
    lang: str = DEFAULT_LANG,
    unit_types: Iterable[str] | None = None,
) -> bytes:
    """A registry file (``.xlsx``: with an instructions sheet and a Jenis Unit drop-down of
    ``unit_types``, by default the default rubric's)."""
    units = list(unit_types or UNIT_TYPES)
    if suffix == ".csv":
        text = io.StringIO()
        w = csv.writer(text, lineterminator="\n")
        w.writerow(list(COLUMNS.values()))
        w.writerows(_rows_of(entries))
        return text.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    widths = {"name": 52, "unit_type": 12, "kecamatan": 16, "other_names": 30, "old_names": 30}
    for c, (key, title) in enumerate(COLUMNS.items(), start=1):
        cell = ws.cell(row=1, column=c, value=title)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F4E79")
        ws.column_dimensions[cell.column_letter].width = widths.get(key, 40)
    ws.freeze_panes = "A2"
    for r, values in enumerate(_rows_of(entries), start=2):
        for c, v in enumerate(values, start=1):
            if v:
                cell = ws.cell(row=r, column=c, value=v)
                cell.data_type = "s"  # a name like "=..." stays text, never a formula
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    dv = DataValidation(
        type="list",
        formula1='"' + ",".join(units) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=COLUMNS["unit_type"],
        error=t("registry.pick_unit_type", lang, allowed=", ".join(units)),
    )
    ws.add_data_validation(dv)
    dv.add(f"B2:B{max(1000, len(entries) + 200)}")
    help_ws = wb.create_sheet(SHEET_HELP)
    help_ws.column_dimensions["A"].width = 110
    for r, line in enumerate(t("registry.instructions", lang).splitlines(), start=1):
        cell = help_ws.cell(row=r, column=1, value=line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if r == 1:
            cell.font = Font(bold=True, size=13)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_registry(
    dest: str | Path,
    entries: list[Entry],
    *,
    force: bool = False,
    lang: str = DEFAULT_LANG,
    unit_types: Iterable[str] | None = None,
) -> Path:
    """Write a registry to ``dest`` (``.xlsx`` or ``.csv``) atomically.

    Raises :class:`FileExistsError` when ``dest`` exists and not ``force`` (a filled registry is
    work that must not be lost), :class:`ValueError` for another extension.
    """
    dest = Path(dest)
    suffix = dest.suffix.lower()
    if suffix not in WRITABLE:
        raise ValueError(suffix or dest.name)
    if dest.exists() and not force:
        raise FileExistsError(str(dest))
    data = registry_bytes(entries, suffix, lang, unit_types)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".monev-", suffix=suffix, dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


@dataclass
class Draft:
    """What ``monev offices from`` found: entries, and the files that gave no office."""

    entries: list[Entry]
    workbooks: int
    unused: list[Problem]


def draft_from_folder(inputs: Iterable[str | Path], rubric: Any) -> Draft:
    """Draft a registry from the workbooks received: name, unit type and kecamatan of each.

    Files that cannot be read, or that do not name their office, give no entry (their first
    problem says why).
    """
    from monev.inputs import _display_names, collect
    from monev.workbook import is_lock_file, read_questionnaire

    paths = [p for p in collect(inputs) if not is_lock_file(p)]
    identities = []
    unused = []
    for p, display in zip(paths, _display_names(paths), strict=True):
        q = read_questionnaire(p, rubric, display_name=display)
        bad = [x for x in q.problems if x.severity == "fatal" or x.code == "MV401"]
        if bad:
            unused.append(bad[0])
            continue
        identities.append((q.office.name, q.office.unit_type, q.office.kecamatan))
    return Draft(draft_entries(identities, rubric.unit_types), len(paths), unused)
