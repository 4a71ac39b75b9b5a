"""Text as it leaves monev, made safe for where it goes: one function per destination.

An office's workbook (or a file name) can hold any character: control characters (a Word line
break pasted into Excel arrives as ``_x000B_``, i.e. U+000B), terminal escape sequences, lone
surrogates from a file name that is not UTF-8, 32,767-character cells, unbroken 32,000-character
URLs. results.json keeps every value whole (JSON escapes control characters; lone surrogates are
written as ``\\uXXXX`` escapes by :func:`monev.results.dumps`). Everything else is shown, so it is
cleaned where it is written:

* :func:`for_xlsx`: characters Excel's file format refuses become visible escapes (``\\x01``; a
  vertical tab or form feed becomes a line break), and text over Excel's cell limit is cut with a
  visible marker (:data:`XLSX_CELL_LIMIT`; the caller lists the cut cells);
* :func:`for_csv`: the same characters escaped, then the formula-prefix rule (:func:`formula_safe`);
* :func:`for_terminal`: no control character, escape sequence, C1 code or bidirectional override
  reaches a terminal; each is shown as a visible escape (``\\x1b[31m``);
* :func:`for_pdf`: control characters removed, unbroken runs longer than :data:`PDF_RUN_LIMIT`
  shown as their start, ``…`` and their end, and a field longer than :data:`PDF_TEXT_LIMIT`
  shortened, so that layout time stays linear in the size of the input.

Lists are capped for display too: :func:`capped` keeps the first :data:`PROBLEMS_SHOWN` problems
of a file and says how many more there are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

#: Excel's (and LibreOffice's) maximum number of characters in one cell.
XLSX_CELL_LIMIT = 32_767
#: Longest run of non-space characters shown whole in a report; longer runs show head … tail.
PDF_RUN_LIMIT = 140
PDF_RUN_HEAD, PDF_RUN_TAIL = 120, 20
#: Longest text field shown whole in a report (the full value is in results.json).
PDF_TEXT_LIMIT = 4_000
#: Problems of one file listed in the terminal and the PDF; the rest are counted (results.json
#: and ``monev check --json`` keep them all).
PROBLEMS_SHOWN = 200

_SURROGATES = "\ud800-\udfff"
# Exactly the characters openpyxl refuses (its ILLEGAL_CHARACTERS_RE), plus lone surrogates,
# which cannot be encoded as UTF-8 at all.
_XLSX_BAD = re.compile(f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f{_SURROGATES}]")
_CSV_BAD = re.compile(f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f{_SURROGATES}]")
# Everything a terminal may act on: C0 (newline and tab included: one value, one line), DEL,
# C1 (U+009B is a one-character CSI), bidirectional embeddings, overrides and isolates.
_TERMINAL_BAD = re.compile(
    f"[\\x00-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069{_SURROGATES}]"
)
_PDF_BAD = re.compile(f"[\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f{_SURROGATES}]")
_PDF_BREAKS = re.compile("[\\x0b\\x0c\\r\\u2028\\u2029]")
_LONG_RUN = re.compile(f"\\S{{{PDF_RUN_LIMIT + 1},}}")

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

T = TypeVar("T")


def visible_escape(ch: str) -> str:
    """``\\x1b`` for one character, as Python would write it in a string."""
    code = ord(ch)
    if code == 0x0A:
        return "\\n"
    if code == 0x09:
        return "\\t"
    if code == 0x0D:
        return "\\r"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _escape(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub(lambda m: visible_escape(m.group()), text)


def for_terminal(text: str) -> str:
    """One line of plain text a terminal shows as is: every control character made visible."""
    return _escape(_TERMINAL_BAD, str(text))


def formula_safe(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula (CSV/XLSX injection) with a ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def for_csv(value: Any) -> Any:
    """A CSV field: control characters and lone surrogates escaped, formulas neutralised."""
    if isinstance(value, str):
        value = _escape(_CSV_BAD, value)
    return formula_safe(value)


def truncation_marker(length: int, lang: str = "id") -> str:
    from monev.i18n import fmt_number, t

    return t("text.truncated", lang, length=fmt_number(length, lang, 0))


def for_xlsx(value: Any, lang: str = "id") -> tuple[Any, int]:
    """(cell value, original length when the text was cut else 0) for openpyxl.

    Vertical tabs and form feeds (a Word line break) become line breaks; other characters the file
    format refuses become visible escapes; then formulas are neutralised; text over
    :data:`XLSX_CELL_LIMIT` is cut and ends with a visible marker.
    """
    if not isinstance(value, str):
        return value, 0
    text = value.replace("\x0b", "\n").replace("\x0c", "\n")
    text = formula_safe(_escape(_XLSX_BAD, text))
    if len(text) <= XLSX_CELL_LIMIT:
        return text, 0
    marker = truncation_marker(len(value), lang)
    return text[: XLSX_CELL_LIMIT - len(marker)] + marker, len(value)


def _shorten_run(m: re.Match[str]) -> str:
    run = m.group()
    return run[:PDF_RUN_HEAD] + "…" + run[-PDF_RUN_TAIL:]


def for_pdf(text: str) -> str:
    """Text for a report page: control characters removed, long runs and long fields shortened."""
    text = _PDF_BREAKS.sub("\n", str(text))
    text = _PDF_BAD.sub(lambda m: "\ufffd" if "\ud800" <= m.group() <= "\udfff" else "", text)
    text = _LONG_RUN.sub(_shorten_run, text)
    return text[:PDF_TEXT_LIMIT] + "…" if len(text) > PDF_TEXT_LIMIT else text


def for_pdf_full(text: str) -> str:
    """Text a report needs whole (a link target): only control characters are removed."""
    text = _PDF_BREAKS.sub(" ", str(text))
    return _PDF_BAD.sub(lambda m: "\ufffd" if "\ud800" <= m.group() <= "\udfff" else "", text)


def capped(items: Sequence[T], limit: int = PROBLEMS_SHOWN) -> tuple[list[T], int]:
    """The first ``limit`` items and how many were left out."""
    return list(items[:limit]), max(0, len(items) - limit)
