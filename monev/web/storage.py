"""Upload bytes, stored by content hash: ``uploads/<aa>/<sha256><ext>``.

The uploaded file's name never becomes a path: only a known workbook extension of it is kept
(so the reader recognises the format), everything else is the hash. Files are written to a
temporary name and moved into place; an existing blob with the same hash is left as it is.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import IO

KNOWN_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
CHUNK = 64 * 1024


class TooLarge(Exception):
    pass


def display_name(raw: str) -> str:
    """The uploaded name for display: last path part only, no control characters, <= 120."""
    name = re.split(r"[\\/]", raw or "")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return (name or "unggahan")[:120]


def suffix_of(name: str) -> str:
    suffix = Path(display_name(name)).suffix.lower()
    return suffix if suffix in KNOWN_SUFFIXES else ".xlsx"


def blob_path(root: Path, sha256: str, suffix: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256) or suffix not in KNOWN_SUFFIXES:
        raise ValueError("not a blob name")
    return root / sha256[:2] / f"{sha256}{suffix}"


def store(root: Path, src: IO[bytes], suffix: str, limit: int) -> tuple[str, int, Path]:
    """Copy ``src`` into the store while counting; raise :class:`TooLarge` past ``limit``
    bytes (nothing is kept then). Returns (sha256, size, path)."""
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(prefix=".incoming-", dir=root)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := src.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(size)
                digest.update(chunk)
                out.write(chunk)
        sha = digest.hexdigest()
        dest = blob_path(root, sha, suffix)
        dest.parent.mkdir(exist_ok=True)
        if dest.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, dest)
        return sha, size, dest
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
