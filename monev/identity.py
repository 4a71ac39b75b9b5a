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


def filled_on_date(text: str) -> dt.date | None:
    """``Tanggal Pengisian`` as a date when it is a real date or ISO text (``2024-05-01``)."""
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


@dataclass(frozen=True)
class Copy:
    """One workbook claiming an office: what decides which copy is the newest."""

    key: str  # office_key of the name in the workbook
    filled_on: str
    modified: float  # file modification time, seconds
    file: str

    def order(self) -> tuple[dt.date, float, str]:
        return (filled_on_date(self.filled_on) or dt.date.min, self.modified, self.file)


def newest_copies(copies: list[Copy]) -> dict[int, int]:
    """For each copy that is not the newest of its office: its index -> the index of the copy used.

    The newest is the one with the later ``Tanggal Pengisian`` (when a real date or ISO text), then
    the later file modification time, then the later file name: always one, deterministically.
    """
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(copies):
        groups.setdefault(c.key, []).append(i)
    out: dict[int, int] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        used = max(members, key=lambda i: copies[i].order())
        out.update({i: used for i in members if i != used})
    return out
