"""Who an office is: the one identity rule of the package.

An office is its normalised name: case, spaces and punctuation ignored (``"Dinas  Kesehatan."``
and ``"DINAS KESEHATAN"`` are one office). Every place that asks "is this the same office?" (copies
in one run, last year's results, report file names) uses :func:`office_key`.
"""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[\W_]+")


def office_key(name: str) -> str:
    """``"Kel. Bugul  Lor "`` -> ``"kel bugul lor"``: the identity of an office by its name."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", str(name)).casefold()).strip()
