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
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monev.resources import Refusal

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
    #: The catalogue key of the state word, when not the usual present/missing.
    state: str = ""
    #: Lines said below the check, each a catalogue key with its parameters.
    notes: tuple[tuple[str, dict[str, Any]], ...] = ()


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
    HarfBuzz-Subset, LibreOffice (for the round-trip tests), poppler (to look at PDFs), and
    whether monev's per-user cache can be used (:func:`cache_check`)."""
    checks = [Check("python", True, platform.python_version())]
    pdf = pdf_support(quick=False)
    checks.append(pdf)
    if pdf.ok and render:
        checks.append(_test_render())
    checks.append(_library("harfbuzz-subset", ("harfbuzz-subset", "libharfbuzz-subset.so.0")))
    checks.append(_program("libreoffice", ("soffice", "libreoffice")))
    checks.append(_program("pdftoppm", ("pdftoppm",)))
    checks.append(cache_check())
    return checks


#: What to do about a refused folder or secret (:class:`monev.resources.Refusal`), by what was
#: refused and why; the texts are ``cli.doctor.cache.todo.*``.
_TODO = {
    ("folder", "others-write"): "chmod",
    ("folder", "link"): "remove_folder",
    ("folder", "not-folder"): "remove_folder",
    ("folder", "owner"): "owner_folder",
    ("folder", "error"): "check",
    ("secret", "error"): "check",
}


def cache_check() -> Check:
    """Whether monev's per-user cache (:func:`monev.resources.user_cache`) can be used: its
    folder, its secret and its ``templates`` folder, judged by the very checks the read cache,
    the render cache and the template cache make (:func:`monev.resources.folder_refusal`,
    :func:`monev.resources.secret_refusal`). When they cannot, the notes say why, which caches
    are off, and what to do. Only looks: creates and changes nothing (a missing folder or secret
    is fine: monev makes it on first use)."""
    from monev.render_cache import template_folder
    from monev.resources import SECRET, Refusal, folder_refusal, secret_refusal, user_cache

    folder = user_cache()
    if folder is None:
        refusal = Refusal("no-home", None)
        return _cache_refused("-", refusal, "folder", "cli.doctor.cache.off_all")
    found = folder_refusal(folder)
    if found is not None and found.reason == "missing":
        return Check("cache", True, str(folder), "cli.doctor.cache.ok", _new(folder))
    if found is not None:
        return _cache_refused(str(folder), found, "folder", "cli.doctor.cache.off_all")
    found = secret_refusal(folder / SECRET)
    notes = _new(folder / SECRET) if found is not None and found.reason == "missing" else ()
    if found is not None and found.reason != "missing":
        return _cache_refused(str(folder), found, "secret", "cli.doctor.cache.off_all")
    templates = template_folder() or folder / "templates"
    found = folder_refusal(templates)
    if found is not None and found.reason != "missing":
        return _cache_refused(str(folder), found, "folder", "cli.doctor.cache.off_templates")
    return Check("cache", True, str(folder), "cli.doctor.cache.ok", notes)


def _new(path: Path) -> tuple[tuple[str, dict[str, Any]], ...]:
    return (("cli.doctor.cache.new", {"path": str(path)}),)


def _cache_refused(detail: str, refusal: Refusal, what: str, off: str) -> Check:
    """The failed cache check: why (``cli.doctor.cache.<reason>``), which caches are off, and
    what to do."""
    params: dict[str, Any] = {
        "path": str(refusal.path),
        "mode": f"{refusal.mode:04o}",
        "size": refusal.size,
        "owner": refusal.owner,
        "detail": refusal.error,
    }
    todo = _TODO.get((what, refusal.reason), "remove_secret" if what == "secret" else "set_home")
    notes: tuple[tuple[str, dict[str, Any]], ...] = (
        (f"cli.doctor.cache.{refusal.reason}", params),
        (off, {}),
        (f"cli.doctor.cache.todo.{todo}", params),
    )
    return Check("cache", False, detail, "cli.doctor.cache.unused", notes)


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
