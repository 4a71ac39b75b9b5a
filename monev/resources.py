"""Where the shipped data lives: rubric files and report templates.

In the repository they sit at the top level (``scoring_rules/``, ``reports/``) as the design card
asks. A wheel carries them inside the package as ``monev/_data/...``. This module finds either.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder of shipped data called ``name`` (``scoring_rules`` or ``reports``)."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"monev is missing its data folder {name!r}; reinstall the package")
