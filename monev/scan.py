"""Pre-scan of a workbook: prove it small before any reader builds a grid from it.

The spreadsheet reader (calamine) builds one grid per sheet from A1 to the last cell that holds a
value, and expands ODS repeated rows and columns. One far-away cell (``XFD1048576``) asks it for a
512 GiB grid, and a 24 KB .ods can ask for gigabytes. :func:`scan_workbook` finds out first, in
bounded time and memory, by streaming:

* the size on disk (``stat``), before a byte is read;
* the file's type from its first bytes (not a workbook, legacy .xls, encrypted);
* the zip directory (entries, declared sizes), then the XML parts themselves, counting the bytes
  actually decompressed (a directory can understate them);
* each sheet the reader will load, element by element, to find the real used range from the
  ``<row r>`` / ``<c r>`` positions of cells that hold a value (``<dimension>`` can lie), and in an
  .ods ``content.xml`` the ``number-rows-repeated`` / ``number-columns-repeated`` counts of cells
  with content (repeated EMPTY cells, as LibreOffice writes to the sheet's end, cost nothing);
* the length of every cell text and shared string, the XML nesting depth and element count.

Every limit lives in :mod:`monev.limits`. The first one exceeded comes back as a problem naming
the limit, the value found and the sheet and cell where it was found.
"""

from __future__ import annotations

import functools
import hashlib
import re
import zipfile
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.parsers import expat

from monev import limits
from monev.i18n import technical
from monev.problems import Key, Problem

__all__ = ["Scan", "SheetExtent", "scan_workbook"]

_CHUNK = 64 * 1024
# Any number of letters and digits: a reference past Excel's own (``AAAAAAAAAAAA10``) is a cell
# far away for the reader too (calamine allocated it and aborted), never "the next column".
_REF = re.compile(r"^\$?([A-Za-z]+)\$?([0-9]+)$")
#: Where a reference's column letters or row digits go beyond these, the position is capped here
#: (far past every limit; no huge number is built from a hostile reference).
_FAR_LETTERS, _FAR_DIGITS = 7, 15
# Transitional and Strict OOXML name the same elements in different namespaces.
_MAINS = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
_RELS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_SEP = "\x01"
#: What reading a damaged zip raises (an encrypted entry raises RuntimeError).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    zlib.error,
)  # namespace separator given to expat: "{ns}\x01{local}"


@dataclass(frozen=True)
class SheetExtent:
    """The grid a reader builds for one sheet: from A1 to the last row and column with a value."""

    name: str
    rows: int = 0
    columns: int = 0

    @property
    def cells(self) -> int:
        return self.rows * self.columns


@dataclass
class Scan:
    """What the pre-scan found. ``problem`` is set when the file must not be read."""

    path: Path
    size: int = 0
    sha256: str = ""
    #: "xlsx" or "ods" when the file is a workbook the reader can open, else "".
    kind: str = ""
    #: The sheets scanned (the ones asked for that exist), by their name in the workbook.
    sheets: dict[str, SheetExtent] = field(default_factory=dict)
    problem: Problem | None = None
    #: The zip's member names, and the bytes of the parts the reader reads again (the workbook
    #: and its relationships, the styles, each scanned sheet or an .ods ``content.xml``), as the
    #: scan decompressed them: the reader does not unzip them a second time (issue 13).
    names: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    parts: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    #: The .xlsx sheet parts walked whole without a formula, a hyperlink or an error cell: in
    #: them, the reader looks only for percent formats.
    plain: set[str] = field(default_factory=set, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.problem is None


class _Refuse(Exception):
    """Stops a scan: the file is beyond a limit or not readable. Carries the problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


def scan_workbook(
    path: str | Path, display_name: str | None = None, sheets: Collection[str] | None = None
) -> Scan:
    """Scan ``path`` without loading it; ``sheets`` are the sheet names the reader will load.

    Sheet names match case-insensitively, ignoring surrounding spaces (as the reader does);
    ``None`` scans every sheet. Never raises on bad input: a refused file comes back with
    ``problem`` set (MV101-MV108 for what is not a readable workbook, MV111 for a limit).
    """
    path = Path(path)
    name = display_name or path.name
    scan = Scan(path=path)
    try:
        _scan(scan, name, None if sheets is None else {s.strip().casefold() for s in sheets})
    except _Refuse as refused:
        scan.problem = refused.problem
    except OSError as exc:
        scan.problem = Problem.make("MV101", name, reason=technical(exc))
    return scan


def _limit(
    name: str, what: str, value: int, maximum: int, sheet: str = "", cell: str = ""
) -> _Refuse:
    return _Refuse(
        Problem.make(
            "MV111", name, sheet, cell, limit=Key(f"limit.{what}"), value=value, max=maximum
        )
    )


def _scan(scan: Scan, name: str, wanted: set[str] | None) -> None:
    size = scan.path.stat().st_size  # before reading any byte
    scan.size = size
    if size > limits.MAX_FILE_BYTES:
        raise _limit(name, "file_bytes", size, limits.MAX_FILE_BYTES)
    if size == 0:
        raise _Refuse(Problem.make("MV102", name))
    digest = hashlib.sha256()
    head = b""
    ole_encrypted = False
    marker = "EncryptedPackage".encode("utf-16-le")
    tail = b""
    with scan.path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            if len(head) < 8192:
                head += chunk[: 8192 - len(head)]
            if head.startswith(b"\xd0\xcf\x11\xe0") and not ole_encrypted:
                ole_encrypted = marker in tail + chunk
                tail = chunk[-len(marker) :]
    scan.sha256 = digest.hexdigest()
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _Refuse(Problem.make("MV104" if ole_encrypted else "MV103", name))
    if not head.startswith(b"PK"):
        kind = Key("kind.text") if _looks_like_text(head) else Key("kind.unknown")
        raise _Refuse(Problem.make("MV108", name, kind=kind))
    try:
        with zipfile.ZipFile(scan.path) as zf:
            _scan_zip(scan, zf, name, wanted)
    except _ZIP_ERRORS as exc:  # a damaged zip: its directory, a compressed stream, a CRC
        raise _Refuse(Problem.make("MV101", name, reason=technical(exc))) from None


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Budget:
    """Decompressed bytes left for the whole workbook."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.left = limits.MAX_UNCOMPRESSED

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            mib = limits.MAX_UNCOMPRESSED // limits.MIB
            too_large = Problem.make("MV107", self.name, detail=Key("scan.unzipped_over"), mib=mib)
            raise _Refuse(too_large)


def _scan_zip(scan: Scan, zf: zipfile.ZipFile, name: str, wanted: set[str] | None) -> None:
    infos = zf.infolist()
    if len(infos) > limits.MAX_ZIP_ENTRIES:
        count = len(infos)
        raise _Refuse(Problem.make("MV107", name, detail=Key("scan.zip_entries"), count=count))
    total = sum(i.file_size for i in infos)
    if total > limits.MAX_UNCOMPRESSED:
        mib = total // limits.MIB
        raise _Refuse(Problem.make("MV107", name, detail=Key("scan.unzipped"), mib=mib))
    names = {i.filename for i in infos}
    scan.names = frozenset(names)
    budget = _Budget(name)
    if "xl/workbook.xml" in names:
        scan.kind = "xlsx"
        _scan_xlsx(scan, zf, names, name, wanted, budget)
    elif "content.xml" in names:
        scan.kind = "ods"
        _scan_ods(scan, zf, name, wanted, budget)
    else:
        raise _Refuse(Problem.make("MV108", name, kind=Key("kind.zip")))


def _parse(
    zf: zipfile.ZipFile,
    part: str,
    name: str,
    budget: _Budget,
    start: Callable[[str, dict[str, str], int], None] | None = None,
    end: Callable[[str, int], None] | None = None,
    text: Callable[[str], None] | None = None,
    sheet: str = "",
    handlers: tuple[Callable[..., None], Callable[[str], None], Callable[[str], None]]
    | None = None,
    keep: dict[str, bytes] | None = None,
) -> None:
    """Stream one XML part through expat (no tree is built), within the byte and depth budgets.

    ``handlers`` (start, end, text) replace the generic ones and then count depth and elements
    themselves (one Python call per event instead of two, for the large parts). With ``keep``,
    the part's bytes are kept there once it is parsed whole (see :func:`_kept`).
    """
    parser = expat.ParserCreate(namespace_separator=_SEP)
    depth = 0
    elements = 0

    def on_start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal depth, elements
        depth += 1
        elements += 1
        if depth > limits.MAX_XML_DEPTH:
            raise _limit(name, "xml_depth", depth, limits.MAX_XML_DEPTH, sheet)
        if elements > limits.MAX_XML_ELEMENTS:
            raise _limit(name, "xml_elements", elements, limits.MAX_XML_ELEMENTS, sheet)
        if start:
            start(tag, attrs, depth)

    def on_end(tag: str) -> None:
        nonlocal depth
        if end:
            end(tag, depth)
        depth -= 1

    def no_doctype(*_: object) -> None:
        raise _Refuse(Problem.make("MV101", name, reason=technical(f"{part}: DOCTYPE")))

    if handlers:
        start_h, end_h, text_h = handlers
        parser.StartElementHandler = start_h
        parser.EndElementHandler = end_h
        parser.CharacterDataHandler = text_h
    else:
        parser.StartElementHandler = on_start
        parser.EndElementHandler = on_end
        if text:
            parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = no_doctype
    parser.EntityDeclHandler = no_doctype
    parser.buffer_text = True
    try:
        with zf.open(part) as fh:
            chunks = _feed(parser, fh, budget, keep is not None)
    except expat.ExpatError as exc:
        reason = technical(f"{part}: {expat.ErrorString(exc.code)}")
        raise _Refuse(Problem.make("MV101", name, reason=reason)) from None
    _kept(keep, part, chunks)


def _feed(
    parser: expat.XMLParserType, fh: IO[bytes], budget: _Budget, keep: bool = False
) -> list[bytes] | None:
    chunks = _chunks(fh, budget, parser.Parse, keep)
    parser.Parse(b"", True)
    return chunks


def _count(
    zf: zipfile.ZipFile, part: str, budget: _Budget, keep: dict[str, bytes] | None = None
) -> None:
    with zf.open(part) as fh:
        chunks = _chunks(fh, budget, None, keep is not None)
    _kept(keep, part, chunks)


def _chunks(
    fh: IO[bytes],
    budget: _Budget,
    parse: Callable[[bytes, bool], object] | None,
    keep: bool,
) -> list[bytes] | None:
    """Read a part chunk by chunk within the budget, parsing each chunk as it comes; with
    ``keep``, return the chunks unless they come to more than :data:`_KEEP_BYTES` (then they are
    dropped at once, so keeping never holds more)."""
    chunks: list[bytes] | None = [] if keep else None
    size = 0
    while chunk := fh.read(_CHUNK):
        budget.take(len(chunk))
        if parse is not None:
            parse(chunk, False)
        if chunks is not None:
            size += len(chunk)
            if size > _KEEP_BYTES:
                chunks = None
            else:
                chunks.append(chunk)
    return chunks


#: At most this many decompressed bytes are kept for the reader (:attr:`Scan.parts`); a part
#: beyond them is read from the zip again, as before.
_KEEP_BYTES = 8 * limits.MIB


def _kept(keep: dict[str, bytes] | None, part: str, chunks: list[bytes] | None) -> None:
    """Keep the bytes of ``part`` (read whole, without error) in ``keep``, within the total."""
    if keep is None or chunks is None:
        return
    size = sum(map(len, chunks))
    if size + sum(map(len, keep.values())) <= _KEEP_BYTES:
        keep[part] = b"".join(chunks)


@functools.lru_cache(maxsize=65536)
def _position(ref: str) -> tuple[int, int] | None:
    """``"B3"`` -> (3, 2): 1-based row and column; None when ``ref`` is not a cell reference."""
    m = _REF.match(ref)
    if not m:
        return None
    letters, digits = m.groups()
    row = int(digits) if len(digits) <= _FAR_DIGITS else 10**_FAR_DIGITS
    col = _col_number(letters) if len(letters) <= _FAR_LETTERS else 26**_FAR_LETTERS
    return row, col


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _col_letters(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


class _Extent:
    """The used range of one sheet as it is streamed, refusing as soon as a limit is passed."""

    def __init__(self, file: str, sheet: str) -> None:
        self.file, self.sheet = file, sheet
        self.rows = self.columns = 0
        #: What the reader's extras look for, seen on the way (:data:`_MARKED`, ``"e"``).
        self.marks: set[str] = set()

    def hit(self, last_row: int, last_col: int) -> None:
        """A value reaches row ``last_row`` and column ``last_col`` (1-based)."""
        grew = False
        if last_row > self.rows:
            self.rows, grew = last_row, True
        if last_col > self.columns:
            self.columns, grew = last_col, True
        if not grew:
            return
        if (
            last_row <= limits.MAX_ROWS
            and last_col <= limits.MAX_COLUMNS
            and self.rows * self.columns <= limits.MAX_CELLS
        ):
            return  # within every limit (the checks below, without naming the cell)
        cell = f"{_col_letters(min(last_col, 16384 * 1024))}{last_row}"
        if last_row > limits.MAX_ROWS:
            raise _limit(self.file, "rows", last_row, limits.MAX_ROWS, self.sheet, cell)
        if last_col > limits.MAX_COLUMNS:
            raise _limit(self.file, "columns", last_col, limits.MAX_COLUMNS, self.sheet, cell)
        if self.rows * self.columns > limits.MAX_CELLS:
            cells = self.rows * self.columns
            raise _limit(self.file, "cells", cells, limits.MAX_CELLS, self.sheet, cell)

    def chars(self, n: int, row: int, col: int) -> None:
        if n > limits.MAX_CELL_CHARS:
            cell = f"{_col_letters(col)}{row}"
            raise _limit(self.file, "cell_chars", n, limits.MAX_CELL_CHARS, self.sheet, cell)

    def done(self) -> SheetExtent:
        return SheetExtent(self.sheet, self.rows, self.columns)


# --- xlsx --------------------------------------------------------------------------------------


def _xlsx_sheets(
    zf: zipfile.ZipFile,
    names: set[str],
    name: str,
    budget: _Budget,
    keep: dict[str, bytes] | None = None,
) -> list[tuple[str, str]]:
    """(sheet name, zip part) of every sheet, in workbook order."""
    sheets: list[tuple[str, str]] = []
    targets: dict[str, str] = {}

    sheet_tags = {f"{ns}{_SEP}sheet" for ns in _MAINS}
    id_attrs = [f"{ns}{_SEP}id" for ns in _RELS]

    def on_sheet(tag: str, attrs: dict[str, str], _depth: int) -> None:
        if tag in sheet_tags:
            rid = next((attrs[a] for a in id_attrs if a in attrs), "")
            sheets.append((attrs.get("name", ""), rid))

    def on_rel(tag: str, attrs: dict[str, str], _depth: int) -> None:
        if tag == f"{_PKG}{_SEP}Relationship":
            targets[attrs.get("Id", "")] = attrs.get("Target", "")

    _parse(zf, "xl/workbook.xml", name, budget, start=on_sheet, keep=keep)
    if "xl/_rels/workbook.xml.rels" in names:
        _parse(zf, "xl/_rels/workbook.xml.rels", name, budget, start=on_rel, keep=keep)
    out = []
    for sheet, rid in sheets:
        target = targets.get(rid, "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if part in names:
            out.append((sheet, part))
    return out


def _scan_xlsx(
    scan: Scan,
    zf: zipfile.ZipFile,
    names: set[str],
    name: str,
    wanted: set[str] | None,
    budget: _Budget,
) -> None:
    keep = scan.parts
    sheets = _xlsx_sheets(zf, names, name, budget, keep)
    parsed = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels"}
    if "xl/sharedStrings.xml" in names:
        _scan_shared_strings(zf, name, budget)
        parsed.add("xl/sharedStrings.xml")
    for sheet, part in sheets:
        if wanted is not None and sheet.strip().casefold() not in wanted:
            continue
        extent = _scan_xlsx_sheet(zf, part, name, sheet, budget, keep)
        scan.sheets[sheet] = extent.done()
        if not extent.marks:
            scan.plain.add(part)
        parsed.add(part)
    # The reader also loads the workbook-level parts (styles): count their bytes too.
    for part in sorted(names - parsed):
        if re.fullmatch(r"xl/[^/]+\.xml", part):
            _count(zf, part, budget, keep if part == "xl/styles.xml" else None)


def _scan_shared_strings(zf: zipfile.ZipFile, name: str, budget: _Budget) -> None:
    _parse(zf, "xl/sharedStrings.xml", name, budget, handlers=_strings_walk(name))


def _strings_walk(
    name: str,
) -> tuple[Callable[[str, dict[str, str]], None], Callable[[str], None], Callable[[str], None]]:
    """The (start, end, text) handlers that stream the shared strings: how many (``<si>``), how
    long each, within the depth and element limits. One Python call per element, as in
    :func:`_sheet_walk` (the generic handlers of :func:`_parse` take two, and a Python end).
    Text is counted for the string last opened."""
    ends: list[str] = []
    max_depth, max_elements = limits.MAX_XML_DEPTH, limits.MAX_XML_ELEMENTS
    max_strings, max_chars = limits.MAX_SHARED_STRINGS, limits.MAX_CELL_CHARS
    si = _SI
    elements = count = length = 0

    def start(tag: str, _attrs: dict[str, str]) -> None:
        nonlocal elements, count, length
        elements += 1
        depth = elements - len(ends)
        if depth > max_depth:
            raise _limit(name, "xml_depth", depth, max_depth)
        if elements > max_elements:
            raise _limit(name, "xml_elements", elements, max_elements)
        if tag in si:
            count += 1
            length = 0
            if count > max_strings:
                raise _limit(name, "shared_strings", count, max_strings)

    def text(data: str) -> None:
        nonlocal length
        length += len(data)
        if length > max_chars:
            raise _limit(name, "cell_chars", length, max_chars)

    return start, ends.append, text


_SI = frozenset(f"{ns}{_SEP}si" for ns in _MAINS)


def _sheet_walk(
    extent: _Extent,
) -> tuple[Callable[[str, dict[str, str]], None], Callable[[str], None], Callable[[str], None]]:
    """The (start, end, text) handlers that stream one .xlsx sheet: the hot path of the scan,
    one Python call per element, its state in the closure (cheaper than attributes).

    The end of an element is counted by ``ends.append`` (C code, no Python frame), so the depth
    is ``elements - len(ends)``. A cell counts once a ``<v>`` or ``<is>`` opens right inside it;
    text is counted for the cell last opened (text between cells only makes the count larger).

    On the way it notes in ``extent.marks`` every formula and hyperlink element and ``"e"`` for
    a cell of type ``e`` (an Excel error): a sheet without them has none of the reader's extras
    but percent formats (:attr:`Scan.plain`), and the reader need not look for them.
    """
    ends: list[str] = []
    max_depth, max_elements = limits.MAX_XML_DEPTH, limits.MAX_XML_ELEMENTS
    max_chars = limits.MAX_CELL_CHARS
    cell_tags, row_tags, value_tags, position = _C, _ROW, _VALUE, _position
    marked, mark = _MARKED, extent.marks.add
    elements = row = col = cell_depth = chars = 0

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal elements, row, col, cell_depth, chars
        elements += 1
        depth = elements - len(ends)
        if depth > max_depth or elements > max_elements:
            _over(extent, depth, elements)
        if tag in cell_tags:
            ref = attrs.get("r")
            pos = position(ref) if ref else None
            if pos:
                row, col = pos
            else:
                col += 1
            cell_depth, chars = depth, 0
            if attrs.get("t") == "e":
                mark("e")
        elif tag in row_tags:
            row = _int(attrs.get("r"), row + 1)
            col = 0
            cell_depth = 0
        elif (
            cell_depth
            and depth == cell_depth + 1
            and tag in value_tags
            and (row > extent.rows or col > extent.columns)  # else the extent does not grow
        ):
            extent.hit(row, col)
        elif tag in marked:
            mark(tag)

    def text(data: str) -> None:
        nonlocal chars
        if cell_depth:
            chars += len(data)
            if chars > max_chars:
                extent.chars(chars, row, col)

    return start, ends.append, text


_C = frozenset(f"{ns}{_SEP}c" for ns in _MAINS)
_ROW = frozenset(f"{ns}{_SEP}row" for ns in _MAINS)
_VALUE = frozenset(f"{ns}{_SEP}{t}" for ns in _MAINS for t in ("v", "is"))
_MARKED = frozenset(f"{ns}{_SEP}{t}" for ns in _MAINS for t in ("f", "hyperlink"))


def _over(extent: _Extent, depth: int, elements: int) -> None:
    if depth > limits.MAX_XML_DEPTH:
        raise _limit(extent.file, "xml_depth", depth, limits.MAX_XML_DEPTH, extent.sheet)
    raise _limit(extent.file, "xml_elements", elements, limits.MAX_XML_ELEMENTS, extent.sheet)


def _scan_xlsx_sheet(
    zf: zipfile.ZipFile,
    part: str,
    name: str,
    sheet: str,
    budget: _Budget,
    keep: dict[str, bytes] | None = None,
) -> _Extent:
    extent = _Extent(name, sheet)
    _parse(zf, part, name, budget, handlers=_sheet_walk(extent), keep=keep)
    return extent


# --- ods ---------------------------------------------------------------------------------------


def _scan_ods(
    scan: Scan, zf: zipfile.ZipFile, name: str, wanted: set[str] | None, budget: _Budget
) -> None:
    table_tag = f"{_TABLE}{_SEP}table"
    row_tag = f"{_TABLE}{_SEP}table-row"
    cell_tags = {f"{_TABLE}{_SEP}table-cell", f"{_TABLE}{_SEP}covered-table-cell"}
    space_tag = f"{_TEXT}{_SEP}s"
    value_type = f"{_OFFICE}{_SEP}value-type"
    formula = f"{_TABLE}{_SEP}formula"
    rows_rep = f"{_TABLE}{_SEP}number-rows-repeated"
    cols_rep = f"{_TABLE}{_SEP}number-columns-repeated"
    # One table at a time (nested sub-tables inside a cell count as that cell's content).
    st: dict[str, int] = {"table": 0, "row": 0, "rrep": 1, "rcols": 0, "col": 0, "crep": 1}
    st |= {"cell": 0, "content": 0, "chars": 0}
    extent: list[_Extent | None] = [None]

    def start(tag: str, attrs: dict[str, str], depth: int) -> None:
        if st["cell"]:
            if tag == space_tag:
                st["content"] = 1
                st["chars"] += max(_int(attrs.get(f"{_TEXT}{_SEP}c"), 1), 1)
                _check_chars()
            return
        if tag == table_tag and not st["table"]:
            sheet = attrs.get(f"{_TABLE}{_SEP}name", "")
            st["table"], st["row"] = depth, 0
            take = wanted is None or sheet.strip().casefold() in wanted
            extent[0] = _Extent(name, sheet) if take else None
        elif tag == row_tag and st["table"]:
            st["rrep"] = max(_int(attrs.get(rows_rep), 1), 1)
            st["col"], st["rcols"] = 0, 0
        elif tag in cell_tags and st["table"]:
            st["crep"] = max(_int(attrs.get(cols_rep), 1), 1)
            st["cell"], st["chars"] = depth, 0
            st["content"] = int(value_type in attrs or formula in attrs)
            st["chars"] = max((len(v) for v in attrs.values()), default=0)
            _check_chars()

    def _check_chars() -> None:
        ext = extent[0]
        if ext is not None:
            ext.chars(st["chars"], st["row"] + 1, st["col"] + 1)

    def end(tag: str, depth: int) -> None:
        if st["cell"]:
            if depth == st["cell"]:
                st["cell"] = 0
                if st["content"]:
                    st["rcols"] = st["col"] + st["crep"]
                st["col"] += st["crep"]
            return
        if tag == row_tag and st["table"]:
            ext = extent[0]
            if st["rcols"] and ext is not None:
                ext.hit(st["row"] + st["rrep"], st["rcols"])
            st["row"] += st["rrep"]
        elif tag == table_tag and depth == st["table"]:
            st["table"] = 0
            ext = extent[0]
            if ext is not None:
                scan.sheets[ext.sheet] = ext.done()

    def text(data: str) -> None:
        if st["cell"] and data:
            st["content"] = 1
            st["chars"] += len(data)
            _check_chars()

    _parse(zf, "content.xml", name, budget, start=start, end=end, text=text, keep=scan.parts)
