"""Step 2a of the pipeline: a workbook's bytes as cells, the way Excel and LibreOffice show them.

Values come from python-calamine (fast). What calamine does not give, and what a person sees in the
cell, comes from one streaming pass over the sheet's XML:

* the number format: ``95%`` typed in Excel is stored as ``0.95`` with a percent format;
* the hyperlink target behind display text (``Lihat dokumen`` -> ``https://…/sk.pdf``), from the
  sheet's ``<hyperlinks>`` and relationships (xlsx), ``text:a`` (ods) or a ``HYPERLINK()`` formula;
* formulas without a cached value (a generated file never opened in Excel), and Excel errors
  (``#N/A``, ``#DIV/0!``), both of which calamine reads as empty.

Nothing here judges the content: :mod:`monev.workbook` turns cells into answers and problems.
What a file may hold is checked before this step by :mod:`monev.scan` (limits before work).
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import zipfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import ParseError, iterparse

from monev.limits import MAX_CELLS

#: Hyperlinks over ranges (``F2:F9``) are applied to at most this many cells in all.
MAX_LINK_CELLS = 10_000

Pos = tuple[int, int]  # zero-based (row, column)


@dataclass
class Sheet:
    """One sheet: values by zero-based row and column, and what the values alone do not say."""

    name: str
    rows: list[list[Any]]
    percent: set[Pos] = field(default_factory=set)
    links: dict[Pos, str] = field(default_factory=dict)
    pending_formulas: set[Pos] = field(default_factory=set)
    #: Cells holding an Excel error (``#N/A``, ``#DIV/0!``), which calamine reads as empty.
    errors: dict[Pos, str] = field(default_factory=dict)

    def value(self, pos: Pos) -> Any:
        r, c = pos
        if r < len(self.rows) and c < len(self.rows[r]):
            return self.rows[r][c]
        return ""


@dataclass
class Book:
    sheet_names: list[str]
    sheets: dict[str, Sheet]


@functools.lru_cache(maxsize=1024)
def col_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_ref(row: int, col: int) -> str:
    """Zero-based row/column -> ``F17``."""
    return f"{col_letter(col)}{row + 1}"


_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")


def parse_ref(ref: str) -> Pos | None:
    """``F17`` -> (16, 5); None when not a cell reference."""
    m = _REF.match(ref.strip())
    if not m:
        return None
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


def is_lock_file(path: Path) -> bool:
    return path.name.startswith("~$") or path.name.startswith(".~lock.")


def find_sheet(names: list[str], wanted: str) -> str | None:
    """The sheet called ``wanted``, ignoring case and surrounding spaces."""
    for n in names:
        if n.strip().casefold() == wanted.casefold():
            return n
    return None


class TooLarge(Exception):
    """A sheet beyond the cell limit (checked before calamine builds its grid)."""

    def __init__(self, detail: str):
        self.detail = detail
        super().__init__(detail)


def open_book(
    path: Path,
    wanted: list[str],
    rich: str,
    *,
    parts: Mapping[str, bytes] | None = None,
    names: Collection[str] | None = None,
    plain: Collection[str] = (),
) -> Book:
    """Load the sheets named in ``wanted`` (those present); ``rich`` gets formats and links.

    Call it after :func:`monev.scan.scan_workbook` has accepted the file (type, size and used
    range are checked there, before any grid is built). Raises :class:`TooLarge` for a sheet over
    :data:`monev.limits.MAX_CELLS`, and whatever calamine raises for a broken file (the caller
    turns both into problems). ``parts``, ``names`` and ``plain`` are the scan's
    :attr:`~monev.scan.Scan.parts`, :attr:`~monev.scan.Scan.names` and
    :attr:`~monev.scan.Scan.plain` of the same file: the parts found there are not unzipped
    again (the zip is opened only for a part that is not), and a plain sheet is not searched
    for formulas, hyperlinks and errors the scan did not see.
    """
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    try:
        sheet_names = list(wb.sheet_names)
        sheets: dict[str, Sheet] = {}
        for want in wanted:
            real = find_sheet(sheet_names, want)
            if real is None:
                continue
            sheet = wb.get_sheet_by_name(real)
            cells = sheet.total_height * max(sheet.total_width, 1)
            if cells > MAX_CELLS:
                raise TooLarge(f"{sheet.total_height} x {sheet.total_width}")
            sheets[want] = Sheet(real, sheet.to_python(skip_empty_area=False))
    finally:
        wb.close()
    target = sheets.get(rich)
    if target is not None:
        _add_extras(path, target, parts, names, plain)
    return Book(sheet_names, sheets)


# --- what the values do not say ---------------------------------------------------------------

_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
#: Excel's "Strict Open XML Spreadsheet" names the same elements and attributes in these.
_NS_STRICT_MAIN = "{http://purl.oclc.org/ooxml/spreadsheetml/main}"
_NS_STRICT_REL = "{http://purl.oclc.org/ooxml/officeDocument/relationships}"
_NS_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_NS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_NS_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_NS_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_NS_XLINK = "{http://www.w3.org/1999/xlink}"


def _main(local: str) -> frozenset[str]:
    """An element's names in both spreadsheet namespaces (transitional and Strict)."""
    return frozenset((f"{_NS_MAIN}{local}", f"{_NS_STRICT_MAIN}{local}"))


_ROW, _C, _HYPERLINK, _SHEET = _main("row"), _main("c"), _main("hyperlink"), _main("sheet")
_NUM_FMT, _XF, _CELL_XFS = _main("numFmt"), _main("xf"), _main("cellXfs")
_REL_IDS = (f"{_NS_REL}id", f"{_NS_STRICT_REL}id")


def _rel_id(elem: Any) -> str | None:
    """An element's ``r:id`` in either namespace."""
    return elem.get(_REL_IDS[0]) or elem.get(_REL_IDS[1])


#: Built-in number formats that show a percent (0% and 0.00%).
_PERCENT_BUILTIN = {9, 10}
#: A ``numFmtId`` attribute, either quote, blanks around ``=`` (as :data:`_STYLE_ATTR`).
_FORMAT_ID_ATTR = re.compile(rb"""numFmtId\s*=\s*(?:"([^"]*)"|'([^']*)')""")
#: A ``s`` (style) attribute however XML allows it to be written: either quote, blanks around
#: ``=``. Its value is plain digits in every file Excel or LibreOffice writes; any other value
#: (a character reference such as ``&#49;3``, other digits) is left to the walk to read.
_STYLE_ATTR = re.compile(rb"""\ss\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
_HYPERLINK_TAG = re.compile(rb"<(?:\w+:)?hyperlink[\s>/]")
_ERROR_CELL = re.compile(rb'\st="e"')
_NS_CALCEXT = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}"
# Only a literal first argument: HYPERLINK("https://site/"&A8&".pdf") is not a known link.
_HYPERLINK_FORMULA = re.compile(r'^\s*(?:of:)?=?\s*HYPERLINK\(\s*"((?:[^"]|"")*)"\s*[,;)]', re.I)


#: What every match of each pattern contains: a tag name after ``<`` or after a prefix's ``:``,
#: followed by a byte that ends the name. Finding those with ``bytes.find`` (C) is much faster
#: than the pattern itself, which tries a match at every ``<`` of the sheet; the pattern then
#: decides, so the answer is the pattern's own (``tests/test_reading_speed.py`` compares them).
_NEEDLES = {
    _FORMULA_TAG: (b"<f", b":f"),
    _HYPERLINK_TAG: (b"<hyperlink", b":hyperlink"),
    _ERROR_CELL: (b't="e"',),
}
_NAME_ENDS = frozenset(b" \t\n\r\x0b\x0c>/")


def _may_hold(data: bytes, pattern: re.Pattern[bytes]) -> bool:
    """``pattern.search(data) is not None``, without the search where no needle can match."""
    for needle in _NEEDLES[pattern]:
        tag = needle[-1:] != b'"'  # a tag name must end; an attribute needle stands alone
        at = data.find(needle)
        while at != -1:
            end = at + len(needle)
            if not tag or (end < len(data) and data[end] in _NAME_ENDS):
                return pattern.search(data) is not None
            at = data.find(needle, end)
    return False


class _Package:
    """A workbook's zip members: the bytes already read (``known``), else read from the file,
    which is opened only when a member is not known (the same bytes either way)."""

    def __init__(self, path: Path, known: Mapping[str, bytes]) -> None:
        self.path, self.known = path, known
        self._zf: zipfile.ZipFile | None = None

    def _zip(self) -> zipfile.ZipFile:
        if self._zf is None:
            self._zf = zipfile.ZipFile(self.path)
        return self._zf

    def namelist(self) -> list[str]:
        return self._zip().namelist()

    def size(self, name: str) -> int:
        data = self.known.get(name)
        return len(data) if data is not None else self._zip().getinfo(name).file_size

    def read(self, name: str) -> bytes:
        data = self.known.get(name)
        return data if data is not None else self._zip().read(name)

    def open(self, name: str) -> IO[bytes]:
        data = self.known.get(name)
        return io.BytesIO(data) if data is not None else self._zip().open(name)

    def close(self) -> None:
        if self._zf is not None:
            self._zf.close()


def _add_extras(
    path: Path,
    sheet: Sheet,
    parts: Mapping[str, bytes] | None = None,
    names: Collection[str] | None = None,
    plain: Collection[str] = (),
) -> None:
    """Fill ``sheet.percent``, ``links`` and ``pending_formulas``; a file that hides them keeps
    its plain values (nothing here may stop the read). ``parts``, ``names`` and ``plain``: see
    :func:`open_book` (without ``names``, neither ``parts`` nor ``plain`` is used)."""
    scanned = names is not None
    package = _Package(path, parts if parts is not None and scanned else {})
    try:
        try:
            members = set(names) if names is not None else set(package.namelist())
            if "xl/workbook.xml" in members:
                _xlsx_extras(package, members, sheet, plain if scanned else ())
            elif "content.xml" in members:
                _ods_extras(package, sheet)
        finally:
            package.close()
    except (KeyError, zipfile.BadZipFile, ParseError, OSError, ValueError, RuntimeError):
        return


def _percent_code(code: str) -> bool:
    """Does a custom number format show a percent? (``%`` outside quotes, escapes and brackets)"""
    plain = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code)
    return "%" in plain


def _percent_styles(zf: _Package, names: set[str]) -> set[int]:
    """Indexes of the cell formats (``s`` attribute) that show a percent."""
    if "xl/styles.xml" not in names:
        return set()
    data = zf.read("xl/styles.xml")
    if b"%" not in data and not _may_use_style(data, _PERCENT_BUILTIN, _FORMAT_ID_ATTR):
        return set()  # the common case: no percent format at all, nothing to parse
    custom: dict[int, bool] = {}
    found: set[int] = set()
    in_xfs = False
    index = 0
    with io.BytesIO(data) as fh:
        for event, elem in iterparse(fh, events=("start", "end")):
            tag = elem.tag
            if event == "start":
                if tag in _CELL_XFS:
                    in_xfs = True
                continue
            if tag in _NUM_FMT:
                with contextlib.suppress(ValueError):
                    custom[int(elem.get("numFmtId", "-1"))] = _percent_code(
                        elem.get("formatCode", "")
                    )
            elif tag in _XF and in_xfs:
                try:
                    fmt = int(elem.get("numFmtId", "0"))
                except ValueError:
                    fmt = 0
                if fmt in _PERCENT_BUILTIN or custom.get(fmt, False):
                    found.add(index)
                index += 1
            elif tag in _CELL_XFS:
                in_xfs = False
            elem.clear()
    return found


_WORKBOOK_PARTS = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")
#: Workbook parts up to this size are looked up by their bytes (the same template's workbooks
#: share them); larger ones are streamed.
_SMALL_PART = 64 * 1024


def _sheet_part(zf: _Package | zipfile.ZipFile, sheet_name: str) -> str | None:
    """The zip member of the sheet named ``sheet_name`` (``xl/worksheets/sheet2.xml``)."""
    try:
        small = all(_size(zf, n) <= _SMALL_PART for n in _WORKBOOK_PARTS)
    except KeyError:
        small = False
    if small:
        return _sheet_part_of(zf.read(_WORKBOOK_PARTS[0]), zf.read(_WORKBOOK_PARTS[1]), sheet_name)
    return _find_sheet_part(zf.open, sheet_name)


def _size(zf: _Package | zipfile.ZipFile, name: str) -> int:
    return zf.size(name) if isinstance(zf, _Package) else zf.getinfo(name).file_size


@functools.lru_cache(maxsize=64)
def _sheet_part_of(workbook: bytes, rels: bytes, sheet_name: str) -> str | None:
    """:func:`_find_sheet_part` of the two parts' bytes (a pure function of them: kept)."""
    parts = dict(zip(_WORKBOOK_PARTS, (workbook, rels), strict=True))
    return _find_sheet_part(lambda name: io.BytesIO(parts[name]), sheet_name)


def _find_sheet_part(open_part: Callable[[str], IO[bytes]], sheet_name: str) -> str | None:
    rid = None
    with open_part("xl/workbook.xml") as fh:
        for _, elem in iterparse(fh):
            if elem.tag in _SHEET and elem.get("name") == sheet_name:
                rid = _rel_id(elem)
                break
    if rid is None:
        return None
    with open_part("xl/_rels/workbook.xml.rels") as fh:
        for _, elem in iterparse(fh):
            if elem.tag == f"{_NS_PKG}Relationship" and elem.get("Id") == rid:
                target = elem.get("Target", "")
                return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return None


def _relationships(zf: _Package, names: set[str], part: str) -> dict[str, str]:
    folder, _, base = part.rpartition("/")
    rels = f"{folder}/_rels/{base}.rels"
    if rels not in names:
        return {}
    out = {}
    with zf.open(rels) as fh:
        for _, elem in iterparse(fh):
            if elem.tag == f"{_NS_PKG}Relationship":
                out[elem.get("Id", "")] = elem.get("Target", "")
    return out


def _range(ref: str, budget: int) -> list[Pos]:
    """``F2`` or ``F2:G4`` -> the cells, at most ``budget`` of them."""
    first, _, last = ref.partition(":")
    a = parse_ref(first)
    b = parse_ref(last) if last else a
    if a is None or b is None:
        return []
    out: list[Pos] = []
    for r in range(min(a[0], b[0]), max(a[0], b[0]) + 1):
        for c in range(min(a[1], b[1]), max(a[1], b[1]) + 1):
            if len(out) >= budget:
                return out
            out.append((r, c))
    return out


def _may_use_style(
    data: bytes, styles: Collection[int], attr: re.Pattern[bytes] = _STYLE_ATTR
) -> bool:
    """Whether an ``attr`` attribute in ``data`` (a cell's style; a format's id) may hold one
    of ``styles`` (never a false no: a value that is not plain ASCII digits may be one)."""
    for double, single in attr.findall(data):
        value = double or single
        if not value.isdigit() or int(value) in styles:  # bytes.isdigit: ASCII digits only
            return True
    return False


def _xlsx_extras(zf: _Package, names: set[str], sheet: Sheet, plain: Collection[str] = ()) -> None:
    part = _sheet_part(zf, sheet.name)
    if part is None or part not in names:
        return
    percent_styles = _percent_styles(zf, names)
    data = zf.read(part)
    # Walking every cell in Python costs ~4x the whole calamine read: do it only when a cell
    # can carry a percent format, a formula or a hyperlink (most filled workbooks have none).
    # In a part the pre-scan walked without seeing a formula, a hyperlink or an error cell
    # (``plain``), only a percent format can be found: the byte searches are not needed.
    if not (
        (percent_styles and _may_use_style(data, percent_styles))
        or (
            part not in plain
            and (
                _may_hold(data, _FORMULA_TAG)
                or _may_hold(data, _HYPERLINK_TAG)
                or _may_hold(data, _ERROR_CELL)
            )
        )
    ):
        return
    link_ids: list[tuple[str, str]] = []  # (ref, relationship id)
    row = -1
    col = -1
    with io.BytesIO(data) as fh:
        for event, elem in iterparse(fh, events=("start", "end")):
            tag = elem.tag
            if event == "start":
                if tag in _ROW:
                    try:
                        row = int(elem.get("r", "")) - 1
                    except ValueError:
                        row += 1
                    col = -1
                elif tag in _C:
                    pos = parse_ref(elem.get("r", ""))
                    row, col = pos if pos else (row, col + 1)
                continue
            if tag in _C:
                ns = tag[:-1]  # the cell's namespace: its value and formula are in it
                pos = (row, col)
                style = elem.get("s")
                # isdecimal, not isdigit: int() refuses a superscript digit ("²")
                if style and style.isdecimal() and int(style) in percent_styles:
                    sheet.percent.add(pos)
                value = elem.find(f"{ns}v")
                if elem.get("t") == "e":
                    sheet.errors[pos] = (value.text or "").strip() if value is not None else ""
                formula = elem.find(f"{ns}f")
                if formula is not None:
                    if pos not in sheet.errors and (
                        value is None or not (value.text or "").strip()
                    ):
                        sheet.pending_formulas.add(pos)
                    m = _HYPERLINK_FORMULA.match(formula.text or "")
                    if m:
                        sheet.links[pos] = m.group(1).replace('""', '"')
                elem.clear()
            elif tag in _ROW:
                elem.clear()
            elif tag in _HYPERLINK:
                rid = _rel_id(elem)
                if rid:
                    link_ids.append((elem.get("ref", ""), rid))
    if link_ids:
        rels = _relationships(zf, names, part)
        budget = MAX_LINK_CELLS
        for ref, rid in link_ids:
            target = rels.get(rid, "")
            if target and budget > 0:
                cells = _range(ref, budget)
                budget -= len(cells)
                for pos in cells:
                    sheet.links.setdefault(pos, target)


def _repeat(elem: Any, attr: str) -> int:
    try:
        return max(1, int(elem.get(f"{_NS_TABLE}{attr}", "1")))
    except ValueError:
        return 1


def _ods_extras(zf: _Package, sheet: Sheet) -> None:
    """The same from an .ods ``content.xml``: percentage cells, ``text:a`` links, formulas
    without a value. Repeated rows and columns are counted, never expanded."""
    in_table = False
    row = col = 0
    cell_tags = (f"{_NS_TABLE}table-cell", f"{_NS_TABLE}covered-table-cell")
    with zf.open("content.xml") as fh:
        for event, elem in iterparse(fh, events=("start", "end")):
            tag = elem.tag
            if tag == f"{_NS_TABLE}table":
                if event == "end" and in_table:
                    return
                in_table = event == "start" and elem.get(f"{_NS_TABLE}name") == sheet.name
                row = 0
                continue
            if not in_table:
                continue
            if tag == f"{_NS_TABLE}table-row":
                if event == "start":
                    col = 0
                else:
                    row += _repeat(elem, "number-rows-repeated")
                    elem.clear()
            elif tag in cell_tags and event == "end":
                pos = (row, col)
                kind = elem.get(f"{_NS_OFFICE}value-type")
                if kind == "percentage":
                    sheet.percent.add(pos)
                if elem.get(f"{_NS_CALCEXT}value-type") == "error":
                    sheet.errors[pos] = "".join(elem.itertext()).strip()
                elif elem.get(f"{_NS_TABLE}formula") and kind is None:
                    sheet.pending_formulas.add(pos)
                for a in elem.iter(f"{_NS_TEXT}a"):
                    href = a.get(f"{_NS_XLINK}href")
                    if href:
                        # ODF links are relative to the package: "../x.pdf" is beside the file.
                        href = href[3:] if href.startswith("../") else href
                        sheet.links.setdefault(pos, href)
                        break
                m = _HYPERLINK_FORMULA.match(elem.get(f"{_NS_TABLE}formula") or "")
                if m:
                    sheet.links.setdefault(pos, m.group(1).replace('""', '"'))
                col += _repeat(elem, "number-columns-repeated")
                elem.clear()
