"""Where the shipped data lives: rubric files and report templates.

In the repository they sit at the top level (``scoring_rules/``, ``reports/``) as the design card
asks. A wheel carries them inside the package as ``monev/_data/...``. This module finds either;
and the user's own cache folder (:func:`user_cache`) with its secret (:func:`user_secret`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder of shipped data called ``name`` (``scoring_rules`` or ``reports``)."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"monev is missing its data folder {name!r}; reinstall the package")


def import_weasyprint() -> Any:
    """WeasyPrint, imported with its system libraries found by their file names first.

    WeasyPrint tries each library (Pango, HarfBuzz, fontconfig...) under several names, and a
    name without a file suffix goes through :func:`ctypes.util.find_library`, which on Linux
    starts ``ldconfig`` (and ``gcc``) each time: 22 calls, 0.3-0.5 s of every process that
    renders PDFs. With ``find_library`` answering None, WeasyPrint goes on to the names the
    system's loader finds itself (``libpango-1.0.so.0``, ``.dylib``, ``.dll``). Where that fails
    (a library only ``find_library`` can find), WeasyPrint is imported again the usual way, so
    nothing is lost but the time. Raises what ``import weasyprint`` raises.
    """
    import contextlib
    import ctypes.util
    import io
    import sys

    if "weasyprint" in sys.modules:
        return sys.modules["weasyprint"]
    original = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:  # WeasyPrint prints its installation help before raising: not for this first try
        with contextlib.redirect_stdout(io.StringIO()):
            import weasyprint

        return weasyprint
    except Exception:
        for name in [m for m in sys.modules if m == "weasyprint" or m.startswith("weasyprint.")]:
            del sys.modules[name]
    finally:
        ctypes.util.find_library = original
    import weasyprint

    return weasyprint


def user_cache() -> Path | None:
    """monev's folder in the user's cache: ``$XDG_CACHE_HOME/monev`` (by default
    ``~/.cache/monev``; link checks, compiled templates, validated rubrics). None when there is
    no home folder to put it in."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError):  # no HOME and no password entry
            return None
    return Path(base) / "monev"


def user_secret() -> bytes | None:
    """The user's secret (``user_cache()/secret``: 32 random bytes, mode 0600, made on first
    use), the key of the HMACs that let monev unpickle what it cached; None when it can neither
    be read nor made."""
    import secrets

    folder = user_cache()
    if folder is None:
        return None
    path = folder / "secret"
    with contextlib.suppress(OSError):
        data = path.read_bytes()
        if len(data) == 32:
            return data
    with contextlib.suppress(OSError):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = secrets.token_bytes(32)
        tmp = folder / f".secret-{secrets.token_hex(6)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        return data
    return None
