"""What this machine has for monev, and what to install when something is missing.

PDF reports need WeasyPrint, which needs the system's Pango (and HarfBuzz, and fonts). A machine
without them (a fresh Windows PC, a slim Linux container) cannot render PDFs; every other output
still works with ``--no-pdf``. :func:`pdf_support` says so before any work is done, so a run never
fails half-way with a library error; :func:`diagnose` is ``monev doctor``.
"""

from __future__ import annotations

import platform
import shutil
import time
from dataclasses import dataclass

#: The install commands shown when Pango or fonts are missing, per system.
INSTALL = {
    "Debian/Ubuntu": "sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 "
    "libharfbuzz-subset0 fonts-dejavu-core",
    "Fedora": "sudo dnf install pango harfbuzz dejavu-sans-fonts",
    "macOS": "brew install pango",
    "Windows": "install MSYS2, then: pacman -S mingw-w64-x86_64-pango "
    "(see WeasyPrint's installation guide)",
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


#: Pango's library names on Linux, Windows and macOS: loading one takes milliseconds, where
#: importing WeasyPrint takes most of a second.
PANGO_NAMES = (
    "libpango-1.0.so.0",
    "libpango-1.0-0.dll",
    "libpango-1.0.dylib",
    "libpango-1.0.0.dylib",
)


def pdf_support(quick: bool = True) -> Check:
    """Can this machine render PDFs? First, quickly, is Pango there; else (or with ``quick``
    False) import WeasyPrint, which loads Pango the way it will when rendering: a missing system
    library is a failed check with its error as the detail, never an exception."""
    if quick:
        import ctypes

        for name in PANGO_NAMES:
            try:
                ctypes.CDLL(name)
            except OSError:
                continue
            return Check("pango", True, name)
    try:
        from monev.resources import import_weasyprint

        weasyprint = import_weasyprint()
    except (OSError, ImportError) as exc:  # OSError: cannot load library 'libpango-1.0-0'
        return Check("weasyprint", False, f"{type(exc).__name__}: {exc}"[:300])
    return Check("weasyprint", True, str(getattr(weasyprint, "__version__", "?")))


def diagnose(render: bool = True) -> list[Check]:
    """Everything ``monev doctor`` reports: Python, WeasyPrint/Pango, a test PDF's time,
    HarfBuzz-Subset, LibreOffice (for the round-trip tests), poppler (to look at PDFs)."""
    checks = [Check("python", True, platform.python_version())]
    pdf = pdf_support(quick=False)
    checks.append(pdf)
    if pdf.ok and render:
        checks.append(_test_render())
    checks.append(_library("harfbuzz-subset", ("harfbuzz-subset", "libharfbuzz-subset.so.0")))
    checks.append(_program("libreoffice", ("soffice", "libreoffice")))
    checks.append(_program("pdftoppm", ("pdftoppm",)))
    return checks


def _test_render() -> Check:
    import datetime as dt

    from monev.report import html_to_pdf

    start = time.perf_counter()
    try:
        data = html_to_pdf("<h1>monev</h1><p>Uji 94,74</p>", dt.date(2024, 11, 13))
    except Exception as exc:  # a broken font setup shows here
        return Check("test-pdf", False, f"{type(exc).__name__}: {exc}"[:300])
    return Check("test-pdf", True, f"{len(data)} B, {time.perf_counter() - start:.2f} s")


def _library(name: str, candidates: tuple[str, ...]) -> Check:
    from ctypes.util import find_library

    found = next((f for f in (find_library(c) for c in candidates) if f), None)
    if found is None:
        import glob

        hits = glob.glob("/usr/lib/*/libharfbuzz-subset.so*") + glob.glob(
            "/usr/lib/libharfbuzz-subset.so*"
        )
        found = hits[0] if hits else None
    return Check(name, found is not None, found or "-")


def _program(name: str, candidates: tuple[str, ...]) -> Check:
    found = next((p for p in (shutil.which(c) for c in candidates) if p), None)
    return Check(name, found is not None, found or "-")
