"""A small, fast .xlsx writer: sheets of text and numbers, streamed row by row into the zip.

rekap.xlsx has one row per office and indicator: 52,000 rows for 1,000 offices, 520,000 for a
city of 10,000. A general writer spends ~16 µs per cell on them (XlsxWriter, constant memory;
openpyxl is slower still); this one builds each row's XML with one string join and writes it
through a streaming zip entry, so memory stays flat and a cell costs about 1 µs (issue 13).

What it writes is what rekap.xlsx needs and no more: inline strings, numbers with a number
format, a bold header row, column widths, frozen panes, an autofilter, landscape printing on one
page width. The bytes depend only on what is written (no clock, fixed zip dates), so the same run
gives the same file.

Usage::

    book = Book(io.BytesIO())
    sheet = book.add_sheet("Peringkat", widths=[10, 30], freeze=(1, 2))
    sheet.row(["Peringkat", "Kantor"], style=book.bold)
    sheet.row([1, "Dinas A"])           # a cell is a str, an int or float, or (number, style)
    sheet.close()
    book.close()
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from typing import IO, Any

__all__ = ["Book", "SheetWriter", "col_letters"]

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_DATE = (1980, 1, 1, 0, 0, 0)  # every zip entry: the same bytes for the same content
#: Characters a cell's text cannot hold literally (Excel's ``_xHHHH_`` escapes), and text that
#: looks like such an escape (kept literal by escaping its underscore).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]|_(?=x[0-9A-Fa-f]{4}_)")
_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b-\x1f]|_x[0-9A-Fa-f]{4}_")
_ROWS_PER_WRITE = 2000


def col_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _escape(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _CONTROL.sub(_excel_escape, text)


def _excel_escape(m: re.Match[str]) -> str:
    return "_x005F_" if m.group() == "_" else f"_x{ord(m.group()):04X}_"


def _attr(text: str) -> str:
    return _escape(text).replace('"', "&quot;")


def _text_cell(ref: str, text: str, style: int = 0) -> str:
    if _NEEDS_ESCAPE.search(text):
        text = _escape(text)
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _number(value: float | int) -> str:
    return repr(value) if isinstance(value, float) else str(int(value))


def _width(chars: float) -> float:
    """Excel's stored column width for ``chars`` characters of the default font (7 px digits,
    5 px of padding), as Excel itself writes it."""
    if chars <= 0:
        return 0.0
    pixels = int(chars * 7 + 0.5) + 5
    return int(pixels / 7 * 256) / 256


class Book:
    """A workbook written into ``fh`` (a binary file or BytesIO) as its sheets are written."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._zip = zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, compresslevel=6)
        self._sheets: list[tuple[str, str | None]] = []  # (title, autofilter range)
        self._formats: dict[str, int] = {}  # number format code -> its id
        self._format_styles: dict[str, int] = {}  # number format code -> the style using it
        self._styles: list[tuple[int, int]] = [(0, 0), (0, 1)]  # (number format id, font id)
        self.bold = 1
        self._open: SheetWriter | None = None

    def number_format(self, code: str) -> int:
        """The style of a cell shown with number format ``code`` (``0.00``)."""
        if code not in self._formats:
            self._formats[code] = 164 + len(self._formats)
            self._format_styles[code] = len(self._styles)
            self._styles.append((self._formats[code], 0))
        return self._format_styles[code]

    def add_sheet(
        self,
        title: str,
        widths: Sequence[float] = (),
        freeze: tuple[int, int] = (0, 0),
        landscape: bool = False,
    ) -> SheetWriter:
        """A new sheet after the others; ``freeze`` = (rows, columns) that stay in view. Write
        its rows and close it before the next one."""
        if self._open is not None:
            raise RuntimeError("close the previous sheet first")
        self._sheets.append((title, None))
        number = len(self._sheets)
        info = zipfile.ZipInfo(f"xl/worksheets/sheet{number}.xml", _DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        fh = self._zip.open(info, "w", force_zip64=True)
        self._open = SheetWriter(self, fh, number, widths, freeze, landscape)
        return self._open

    def _closed(self, sheet: SheetWriter, filter_ref: str | None) -> None:
        self._sheets[sheet.number - 1] = (self._sheets[sheet.number - 1][0], filter_ref)
        self._open = None

    def _part(self, name: str, text: str) -> None:
        info = zipfile.ZipInfo(name, _DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        self._zip.writestr(info, (_HEAD + text).encode("utf-8"))

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
        n = len(self._sheets)
        sheets = "".join(
            f'<Override PartName="/xl/worksheets/sheet{k}.xml" ContentType="{_CT}.worksheet+xml"/>'
            for k in range(1, n + 1)
        )
        self._part(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f"{sheets}"
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
            "</Types>",
        )
        self._part(
            "_rels/.rels",
            f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        rels = "".join(
            f'<Relationship Id="rId{k}" Type="{_REL}/worksheet" Target="worksheets/sheet{k}.xml"/>'
            for k in range(1, n + 1)
        )
        rels += f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
        self._part(
            "xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{_PKG}">{rels}</Relationships>'
        )
        listed = "".join(
            f'<sheet name="{_attr(title)}" sheetId="{k}" r:id="rId{k}"/>'
            for k, (title, _) in enumerate(self._sheets, start=1)
        )
        names = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{k}" hidden="1">'
            f"{_attr(_quoted(title))}!{ref}</definedName>"
            for k, (title, ref) in enumerate(self._sheets)
            if ref
        )
        self._part(
            "xl/workbook.xml",
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView/></bookViews>'
            f"<sheets>{listed}</sheets>"
            + (f"<definedNames>{names}</definedNames>" if names else "")
            + "</workbook>",
        )
        self._part("xl/styles.xml", self._styles_xml())
        self._zip.close()

    def _styles_xml(self) -> str:
        fmts = "".join(
            f'<numFmt numFmtId="{i}" formatCode="{_attr(code)}"/>'
            for code, i in self._formats.items()
        )
        font = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
        xfs = "".join(
            f'<xf numFmtId="{fmt}" fontId="{font_id}" fillId="0" borderId="0" xfId="0"'
            + (' applyNumberFormat="1"' if fmt else "")
            + (' applyFont="1"' if font_id else "")
            + "/>"
            for fmt, font_id in self._styles
        )
        return (
            f'<styleSheet xmlns="{_MAIN}">'
            + (f'<numFmts count="{len(self._formats)}">{fmts}</numFmts>' if fmts else "")
            + f'<fonts count="2"><font>{font}</font><font><b/>{font}</font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            "</borders>"
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            "</cellStyleXfs>"
            f'<cellXfs count="{len(self._styles)}">{xfs}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
            "</cellStyles></styleSheet>"
        )


def _quoted(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


class SheetWriter:
    """One sheet, written top to bottom with :meth:`row`."""

    def __init__(
        self,
        book: Book,
        fh: IO[bytes],
        number: int,
        widths: Sequence[float],
        freeze: tuple[int, int],
        landscape: bool,
    ) -> None:
        self._book, self._fh, self.number = book, fh, number
        self.rows = 0
        self.columns = 0
        self._letters: list[str] = []
        self._pending: list[str] = []
        head = [f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">']
        if landscape:
            head.append('<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>')
        head.append(
            '<sheetViews><sheetView workbookViewId="0"'
            + (' tabSelected="1"' if number == 1 else "")
            + ">"
            + _pane(*freeze)
            + "</sheetView></sheetViews>"
        )
        head.append('<sheetFormatPr defaultRowHeight="15"/>')
        if widths:
            cols = "".join(
                f'<col min="{k}" max="{k}" width="{_width(w)}" customWidth="1"/>'
                for k, w in enumerate(widths, start=1)
            )
            head.append(f"<cols>{cols}</cols>")
        head.append("<sheetData>")
        self._landscape = landscape
        self._fh.write("".join(head).encode("utf-8"))

    def row(self, cells: Sequence[Any], style: int = 0) -> None:
        """The next row. A cell is text (``str``), a number (``int``/``float``), a ``(number,
        style)`` pair, or None (left empty); ``style`` applies to every text cell of the row."""
        self.rows += 1
        r = self.rows
        letters = self._letters
        while len(letters) < len(cells):
            letters.append(col_letters(len(letters)))
        out = [f'<row r="{r}">']
        for k, v in enumerate(cells):
            if v is None or v == "":
                continue
            ref = f"{letters[k]}{r}"
            if isinstance(v, str):
                out.append(_text_cell(ref, v, style))
            elif isinstance(v, tuple):
                out.append(f'<c r="{ref}" s="{v[1]}"><v>{_number(v[0])}</v></c>')
            else:
                out.append(f'<c r="{ref}"><v>{_number(v)}</v></c>')
        out.append("</row>")
        if len(cells) > self.columns:
            self.columns = len(cells)
        self._pending.append("".join(out))
        if len(self._pending) >= _ROWS_PER_WRITE:
            self._flush()

    def _flush(self) -> None:
        self._fh.write("".join(self._pending).encode("utf-8"))
        self._pending.clear()

    def close(self, autofilter: bool = True) -> None:
        """End the sheet; with ``autofilter``, a filter over its rows and columns."""
        self._flush()
        ref = None
        tail = ["</sheetData>"]
        if autofilter and self.rows and self.columns:
            last = col_letters(self.columns - 1)
            ref = f"A1:{last}{self.rows}"
            tail.append(f'<autoFilter ref="{ref}"/>')
        tail.append(
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3"'
            ' footer="0.3"/>'
        )
        if self._landscape:
            tail.append('<pageSetup orientation="landscape" fitToHeight="0"/>')
        tail.append("</worksheet>")
        self._fh.write("".join(tail).encode("utf-8"))
        self._fh.close()
        absolute = None
        if ref:
            first, last_cell = ref.split(":")
            absolute = _absolute(first) + ":" + _absolute(last_cell)
        self._book._closed(self, absolute)


def _absolute(ref: str) -> str:
    m = re.fullmatch(r"([A-Z]+)(\d+)", ref)
    assert m is not None
    return f"${m.group(1)}${m.group(2)}"


def _pane(rows: int, cols: int) -> str:
    """The frozen pane: ``rows`` rows and ``cols`` columns stay in view."""
    if not rows and not cols:
        return ""
    top_left = f"{col_letters(cols)}{rows + 1}"
    active = "bottomRight" if rows and cols else "bottomLeft" if rows else "topRight"
    split = (f' xSplit="{cols}"' if cols else "") + (f' ySplit="{rows}"' if rows else "")
    return (
        f'<pane{split} topLeftCell="{top_left}" activePane="{active}" state="frozen"/>'
        f'<selection pane="{active}"/>'
    )
