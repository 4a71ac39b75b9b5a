"""Where the shipped data lives: rubric files and report templates.

In the repository they sit at the top level (``scoring_rules/``, ``reports/``) as the design card
asks. A wheel carries them inside the package as ``monev/_data/...``. This module finds either;
and the user's own cache folder (:func:`user_cache`) with its secret (:func:`user_secret`).
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
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
    ``~/.cache/monev``; compiled templates and the secret of the read cache). None when there
    is no home folder to put it in. A relative ``XDG_CACHE_HOME`` is ignored, as the XDG base
    directory specification asks (it would name a folder under whatever folder monev runs in).
    Where the path is; whether monev may use it is :func:`private_folder`'s answer."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base or not os.path.isabs(base):
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError):  # no HOME and no password entry
            return None
        if not os.path.isabs(base):
            return None
    return Path(base) / "monev"


def _posix() -> bool:
    """Whether files have owners and permission bits to check (not on Windows)."""
    return hasattr(os, "geteuid")


@dataclass(frozen=True)
class Refusal:
    """Why monev does not use a folder or the secret of the user's cache (:func:`folder_refusal`,
    :func:`secret_refusal`): the one answer both the caches and ``monev doctor`` act on.

    ``reason``: ``missing`` (not there yet: made on first use), ``link``, ``not-folder``,
    ``not-file`` (a pipe, a device, a folder in place of the secret), ``others-write`` (a folder
    with a group or other write bit), ``others-read`` (a secret with a group or other bit),
    ``owner`` (another user's), ``size`` (a secret not of 32 bytes), ``error`` (the system
    refused to look: ``error`` holds its text) or ``no-home`` (no folder to put the cache in).
    ``mode`` (permission bits), ``size`` and ``owner`` (uid) are those found."""

    reason: str
    path: Path | None
    mode: int = 0
    size: int = 0
    owner: int = -1
    error: str = ""


def _owner_refusal(path: Path, st: os.stat_result, others: int, reason: str) -> Refusal | None:
    """Another user's file (``owner``), or one with any of the ``others`` permission bits."""
    if not _posix():
        return None
    if st.st_uid != os.geteuid():
        return Refusal("owner", path, st.st_mode & 0o7777, st.st_size, st.st_uid)
    if st.st_mode & others:
        return Refusal(reason, path, st.st_mode & 0o7777, st.st_size, st.st_uid)
    return None


def _os_refusal(path: Path, exc: OSError) -> Refusal:
    """An OS error met while looking at ``path``: a link where none is followed (``O_NOFOLLOW``
    gives ELOOP), a folder missing, or the system's own refusal."""
    import errno

    if exc.errno == errno.ELOOP:
        return Refusal("link", path)
    if isinstance(exc, FileNotFoundError):
        return Refusal("missing", path)
    return Refusal("error", path, error=exc.strerror or str(exc))


def folder_refusal(path: Path, make: bool = False) -> Refusal | None:
    """None when monev may keep what it runs or trusts (compiled templates, the secret) in the
    folder ``path``: a real folder, not a link, owned by this user and writable by no one else
    (no group or other write bit); else why not. ``make``: create it (mode 0700) when it is
    missing. Where files have no owners (Windows) only the first part is checked. Never raises."""
    try:
        if make:
            if not os.path.lexists(path.parent):
                path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.mkdir(path, 0o700)
        st = os.lstat(path)
    except OSError as exc:
        return _os_refusal(path, exc)
    if stat.S_ISLNK(st.st_mode):
        return Refusal("link", path)
    if not stat.S_ISDIR(st.st_mode):
        return Refusal("not-folder", path, st.st_mode & 0o7777, st.st_size)
    return _owner_refusal(path, st, 0o022, "others-write")


def private_folder(path: Path, make: bool = False) -> bool:
    """Whether monev may keep what it runs or trusts in the folder ``path``
    (:func:`folder_refusal` finds nothing against it). Never raises."""
    return folder_refusal(path, make) is None


SECRET = "secret"
SECRET_BYTES = 32


def user_secret() -> bytes | None:
    """The user's secret (``user_cache()/secret``: 32 random bytes, mode 0600, made on first
    use), the key of the HMACs that let monev load what it cached (the read cache's results,
    the compiled templates); None when there is none monev may trust, and then nothing is
    cached. The folder must be :func:`private_folder`; the file a regular file (not a link, a
    pipe or a device), owned by the user, readable by no one else, of exactly 32 bytes
    (:func:`secret_refusal` says why not). A file there that fails these checks is left as it
    is (never written over): no cache. A new secret is written to a temporary name and linked
    into place, so two processes making it at once agree on one. The file is opened once per
    process while it stays the same file (:func:`_read_secret`)."""
    import secrets

    folder = user_cache()
    if folder is None or not private_folder(folder, make=True):
        return None
    path = folder / SECRET
    _clean_leftovers(folder)
    try:
        got = _read_secret(path)
        return got if isinstance(got, bytes) else None
    except FileNotFoundError:
        pass
    except OSError:
        return None
    tmp = folder / f".secret-{secrets.token_hex(6)}.tmp"
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(tmp, flags | getattr(os, "O_BINARY", 0), 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(SECRET_BYTES))
        try:
            os.link(tmp, path)  # never over a file made meanwhile (FileExistsError)
        except FileExistsError:
            pass
        except (OSError, NotImplementedError):
            if _posix():
                return None  # no hard links here; a rename could replace another's secret
            os.rename(tmp, path)  # Windows: fails when the name exists
        got = _read_secret(path)
        return got if isinstance(got, bytes) else None
    except OSError:
        return None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _stat_refusal(path: Path, st: os.stat_result) -> Refusal | None:
    """What is wrong with the secret file whose status is ``st`` (an ``fstat`` of the opened
    file, or an ``lstat`` of its name): not a regular file, not of 32 bytes, another user's, or
    readable or writable by anyone else."""
    if stat.S_ISLNK(st.st_mode):
        return Refusal("link", path)
    if not stat.S_ISREG(st.st_mode):
        return Refusal("not-file", path, st.st_mode & 0o7777)
    if st.st_size != SECRET_BYTES:
        return Refusal("size", path, st.st_mode & 0o7777, st.st_size)
    return _owner_refusal(path, st, 0o077, "others-read")


def _identity(st: os.stat_result) -> tuple[int, ...]:
    """What tells one secret file from another, or from itself rewritten."""
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


#: The secret last read: its path, its file's :func:`_identity` and its bytes. A process reads
#: the file once (the read cache, the render cache and the template cache each ask for it) while
#: an ``lstat`` of the name finds the same file, still passing every check.
_SECRET_READ: tuple[Path, tuple[int, ...], bytes] | None = None


def _read_secret(path: Path) -> bytes | Refusal:
    """The secret at ``path`` when it passes :func:`user_secret`'s checks, else why not;
    FileNotFoundError (or another OSError) when it cannot be opened. A file that an ``lstat``
    of ``path`` shows to be the one read before (same device, inode, modification time and
    size), passing the same checks on that ``lstat``, is not opened again: its bytes are
    remembered."""
    global _SECRET_READ
    known = _SECRET_READ
    if known is not None and known[0] == path:
        try:
            seen: os.stat_result | None = os.lstat(path)
        except OSError:
            seen = None
        if seen is not None and _identity(seen) == known[1] and not _stat_refusal(path, seen):
            return known[2]
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        refusal = _stat_refusal(path, st)
        if refusal is not None:
            return refusal
        data = fh.read(SECRET_BYTES + 1)
    if len(data) != SECRET_BYTES:  # changed while read
        return Refusal("size", path, st.st_mode & 0o7777, len(data))
    _SECRET_READ = (path, _identity(st), data)
    return data


def secret_refusal(path: Path) -> Refusal | None:
    """Why the secret at ``path`` cannot be used (:func:`user_secret`'s own checks), or None
    when it can; ``missing`` when there is none yet. Only looks: makes and changes nothing."""
    try:
        got = _read_secret(path)
    except OSError as exc:
        return _os_refusal(path, exc)
    return got if isinstance(got, Refusal) else None


def _clean_leftovers(folder: Path) -> None:
    """Remove the temporary files of secrets made by processes that died before linking them
    (older than a minute: a process making one now keeps its own)."""
    import time

    with contextlib.suppress(OSError):
        for path in folder.glob(".secret-*.tmp"):
            with contextlib.suppress(OSError):
                st = os.lstat(path)
                if stat.S_ISREG(st.st_mode) and time.time() - st.st_mtime > 60:
                    os.unlink(path)
