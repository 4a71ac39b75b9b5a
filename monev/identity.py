"""Who an office is: the one identity rule of the package.

An office is its normalised name: case, spaces and punctuation ignored (``"Dinas  Kesehatan."``
and ``"DINAS KESEHATAN"`` are one office). Every place that asks "is this the same office?" (copies
in one run, last year's results, report file names) uses :func:`office_key`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

_NON_WORD = re.compile(r"[\W_]+")


def office_key(name: str) -> str:
    """``"Kel. Bugul  Lor "`` -> ``"kel bugul lor"``: the identity of an office by its name."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", str(name)).casefold()).strip()


def tracked_key(name: str, track: str = "") -> str:
    """An office's identity plus its assessor track: the workbooks of one office from several
    assessors (a rubric's ``assessors``) are not copies of each other; "" for a name without one."""
    key = office_key(name)
    return f"{key} #{track}" if key and track else key


_MONTHS = {
    name: n
    for n, names in enumerate(
        [
            ("januari", "january", "jan"),
            ("februari", "february", "feb", "pebruari"),
            ("maret", "march", "mar"),
            ("april", "apr"),
            ("mei", "may"),
            ("juni", "june", "jun"),
            ("juli", "july", "jul"),
            ("agustus", "august", "agu", "agt", "aug"),
            ("september", "sep", "sept"),
            ("oktober", "october", "okt", "oct"),
            ("november", "nov", "nopember"),
            ("desember", "december", "des", "dec"),
        ],
        start=1,
    )
    for name in names
}
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_D_MONTH_Y = re.compile(r"^(\d{1,2})\s+([a-z]+)\.?\s+(\d{4})$")


def filled_on_date(text: str) -> dt.date | None:
    """``Tanggal Pengisian`` as a date: a real date, ISO text (``2024-05-01``), day/month/year as
    written in Indonesia (``01/05/2024``, ``1-5-2024``) or with the month's name (``1 Mei
    2024``); None when it cannot be read."""
    text = " ".join(text.split()).casefold()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        pass
    m = _DMY.match(text)
    if m:
        day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        m = _D_MONTH_Y.match(text)
        if not m or m.group(2) not in _MONTHS:
            return None
        day, month, year = int(m.group(1)), _MONTHS[m.group(2)], int(m.group(3))
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


@dataclass(frozen=True)
class Copy:
    """One workbook claiming an office: what decides which copy is the newest."""

    key: str  # the office's identity; "" for a workbook without a usable name (never a copy)
    filled_on: str
    modified: float  # file modification time, seconds
    file: str

    @property
    def date(self) -> dt.date | None:
        return filled_on_date(self.filled_on)

    def order(self) -> tuple[dt.date, float, str]:
        return (self.date or dt.date.min, self.modified, self.file)


def newest_copies(copies: list[Copy]) -> dict[int, tuple[int, str]]:
    """For each copy that is not the newest of its office: its index -> (index of the copy used,
    why that one: ``date``, ``mtime``, ``mtime_undated`` or ``name``).

    The newest is the one with the later ``Tanggal Pengisian`` (when it can be read), then the
    later file modification time, then the later file name: always one, deterministically. A
    workbook without a usable office name is never a copy of another.
    """
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(copies):
        if c.key:
            groups.setdefault(c.key, []).append(i)
    out: dict[int, tuple[int, str]] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        used = max(members, key=lambda i: copies[i].order())
        for i in members:
            if i != used:
                out[i] = (used, _why(copies[used], copies[i]))
    return out


def _why(used: Copy, other: Copy) -> str:
    """Which step of :meth:`Copy.order` chose ``used`` over ``other``."""
    if used.date != other.date:
        return "date"  # a later date, or a date against none
    if used.modified != other.modified:
        unreadable = any(c.filled_on.strip() and c.date is None for c in (used, other))
        return "mtime_undated" if unreadable else "mtime"
    return "name"
