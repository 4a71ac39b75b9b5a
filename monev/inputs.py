"""The inputs of a run: which files under the paths given are questionnaires, and their names.

Files named directly are taken as they are; folders are searched (recursively) for
spreadsheet-like files. Folders that monev itself wrote (they carry its manifest) are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from monev.cells import is_lock_file
from monev.outputs import MANIFEST

# Spreadsheet-like files found in a folder are inputs: the ones monev cannot score (.xls, .csv)
# are then rejected with their reason instead of silently ignored. Other files (evidence PDFs,
# images) are not inputs.

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".ods", ".xls", ".xlsb", ".csv"}


class InputError(Exception):
    """An input path that does not exist, or is neither a file nor a folder (a FIFO, a device):
    a usage error, not a bad workbook. ``key`` is the message's catalogue key."""

    def __init__(self, path: str, key: str = "cli.missing_input"):
        self.path = path
        self.key = key
        super().__init__(path)


def collect(inputs: Iterable[str | Path]) -> list[Path]:
    """Files named directly are taken as they are; folders are searched for workbooks."""
    found: list[Path] = []
    seen: set[Path] = set()
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            # Folders monev wrote (they carry its manifest) hold outputs, not inputs.
            outputs = {m.parent for m in path.rglob(MANIFEST)}
            candidates = sorted(
                (
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and (p.suffix.lower() in WORKBOOK_SUFFIXES or is_lock_file(p))
                    and not outputs.intersection(p.parents)
                ),
                key=lambda p: str(p.relative_to(path)).casefold(),
            )
        elif path.is_file():
            candidates = [path]
        elif path.exists():
            raise InputError(str(raw), "cli.input_not_regular")
        else:
            raise InputError(str(raw))
        for p in candidates:
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                found.append(p)
    return found


def _display_names(paths: list[Path]) -> list[str]:
    """Names that identify each file in reports: the file name, or a longer tail when two clash."""
    names = [p.name for p in paths]
    if len(set(names)) == len(names):
        return names
    common = Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))
    return [str(p.resolve().relative_to(common)) for p in paths]
