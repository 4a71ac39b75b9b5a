"""The output folder of a run, as one object: checked before any work, switched in whole at the end.

A run never writes into ``--out`` directly. :meth:`OutputFolder.open` checks the folder (before any
scoring), takes a lock and makes a *staging* folder beside it, in the same parent (so the switch is
a rename on one file system). The run writes everything into :attr:`OutputFolder.staging`;
:meth:`OutputFolder.commit` then writes the manifest and switches the new set in:

1. ``out`` is renamed to ``.<name>.monev-old-<id>`` (the previous set, kept whole);
2. the staging folder is renamed to ``out``;
3. the render cache (``.cache/``) and files a user added are moved from the previous set into the
   new one;
4. the files the previous manifest lists are removed, then the previous folder if it is empty.

An interrupted run (Ctrl-C, ``kill -9``) therefore leaves the previous complete set; the next run
removes the staging folder it left (recognised by its manifest) and, if the kill fell between
steps 1 and 2, renames the previous set back. Where the platform cannot rename a folder that holds
an open file (Windows, with ``rekap.xlsx`` open in Excel), step 1 fails: the previous set is kept,
the new one is discarded and :class:`OutputError` says which folder to close.

The manifest (``.monev-manifest.json``) lists every file monev wrote, with its sha256. monev only
removes or replaces files it lists: a non-empty folder without a manifest is refused, a listed file
changed since monev wrote it is refused (move it out first), and any other file a user added is
kept and carried into the new set (refused only if the new run writes a file of the same name).

A second run into the same folder is stopped by a lock (``lockf`` on ``.<name>.monev-lock`` beside
the folder; the kernel drops it when the process dies, so a killed run never leaves a stale lock).

Every problem here is a usage error with a message key (``cli.out.*`` in ``messages.yaml``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import secrets
import shutil
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from monev import __version__
from monev.i18n import technical

MANIFEST = ".monev-manifest.json"
#: Folder inside ``out`` kept from run to run (a render cache); never listed, always carried over.
CACHE = ".cache"
#: What every run writes at these names; a user's file there is refused before any work.
FIXED = ("results.json", "results-publik.json", "ranking.csv", "rekap.xlsx", "kota.pdf", "kantor")
_NEW, _OLD, _LOCK = "monev-new", "monev-old", "monev-lock"
_SHOWN = 3  # file names shown in a message


class OutputError(Exception):
    """A problem with the output folder: a usage error, found before any work where possible.

    ``key`` is a message key in ``messages.yaml``; ``params`` fill its placeholders.
    """

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key, params)
        self.key = key
        self.params = params


def inside(child: Path, parent: Path) -> bool:
    """True when ``child`` is ``parent`` or lies under it (after resolving links)."""
    c, p = Path(child).resolve(), Path(parent).resolve()
    return c == p or p in c.parents


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(root: Path) -> list[str]:
    """Every file (and symlink) under ``root``, as a POSIX relative path; manifest, cache aside."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here == root:
            dirnames[:] = [d for d in dirnames if d != CACHE]
        for d in dirnames:
            if (here / d).is_symlink():  # os.walk does not descend into it: treat as a file
                found.append((here / d).relative_to(root).as_posix())
        for f in filenames:
            rel = (here / f).relative_to(root).as_posix()
            if rel != MANIFEST:
                found.append(rel)
    return sorted(found)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of ``folder``; None when it has none. Raises ValueError when it is damaged."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in files.values()
    ):
        raise ValueError(f"{MANIFEST}: no valid 'files' table")
    return data


def write_atomic(dest: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``dest``, then rename it into place.

    The file is created with mode 0o666 less the umask (``tempfile.mkstemp`` would make it 0600).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".monev-{secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, dest)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _write_manifest(folder: Path, state: str, files: dict[str, dict[str, Any]]) -> None:
    data = {
        "monev": __version__,
        "state": state,
        "written": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "files": files,
    }
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    write_atomic(folder / MANIFEST, text.encode("utf-8"))


class _Owned:
    """Which files of a folder are monev's (listed, unchanged), changed, or the user's."""

    def __init__(self, folder: Path) -> None:
        manifest = read_manifest(folder)
        listed = manifest["files"] if manifest else {}
        self.listed: list[str] = []
        self.user: list[str] = []
        self.changed: list[str] = []
        for rel in _files(folder):
            path = folder / rel
            entry = listed.get(rel)
            if entry is None or path.is_symlink() or not path.is_file():  # a FIFO is not hashed
                self.user.append(rel)
            elif _sha256(path) != entry["sha256"]:
                self.changed.append(rel)
            else:
                self.listed.append(rel)
        #: Empty folders (a user's, say ``arsip/``): carried over, not pruned with the old set.
        self.empty = sorted(
            rel.as_posix()
            for d, dirs, files in os.walk(folder)
            for rel in [Path(d).relative_to(folder)]
            if not dirs and not files and rel.parts and rel.parts[0] != CACHE
        )


#: Lock files held by this process: a POSIX record lock does not exclude a second run in the
#: same process (a web front end's threads), so this process keeps its own list too.
_HELD: set[str] = set()
_HELD_GUARD = threading.Lock()


def _lock(path: Path) -> IO[bytes]:
    """Hold an exclusive lock on ``path`` (created if missing); raise BlockingIOError when held,
    by another process or by another run in this one.

    The lock file is removed when the run ends (:func:`_unlock`); a run that finds it removed
    between opening and locking it opens it again, so two runs never hold two different files.
    """
    key = os.path.abspath(path)
    with _HELD_GUARD:
        if key in _HELD:
            raise BlockingIOError(errno.EAGAIN, "held by another run in this process")
        _HELD.add(key)
    try:
        return _lock_file(path)
    except BaseException:
        with _HELD_GUARD:
            _HELD.discard(key)
        raise


def _lock_file(path: Path) -> IO[bytes]:
    while True:
        fh = open(path, "a+b")  # noqa: SIM115 - held for the whole run, closed by _unlock()
        try:
            if sys.platform == "win32":
                import msvcrt

                try:
                    msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
                except OSError as exc:
                    raise BlockingIOError(errno.EAGAIN, str(exc)) from exc
                return fh
            import fcntl

            # A POSIX record lock, not flock(): worker processes forked during the run do not
            # inherit it, so a run killed with -9 never leaves its lock held by orphans.
            fcntl.lockf(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB, 1)
            try:
                if os.path.samestat(os.fstat(fh.fileno()), os.stat(path)):
                    return fh
            except FileNotFoundError:
                pass
        except BaseException:
            fh.close()
            raise
        fh.close()


def _unlock(fh: IO[bytes]) -> None:
    """Remove the lock file (not on Windows, where an open file cannot be removed), then drop it."""
    if sys.platform != "win32":
        with contextlib.suppress(OSError):
            os.unlink(fh.name)
    fh.close()
    with _HELD_GUARD:
        _HELD.discard(os.path.abspath(fh.name))


def _prune(root: Path) -> None:
    """Remove the empty folders under ``root`` (bottom up) and ``root`` itself when empty."""
    for dirpath, _, _ in os.walk(root, topdown=False):
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)


def _carry(old: Path, new: Path, rels: Iterable[str]) -> None:
    """Move ``rels`` (user files, the cache) from the previous set into the new one."""
    for rel in rels:
        src, dest = old / rel, new / rel
        if not os.path.lexists(src) or os.path.lexists(dest):
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.rename(src, dest)


def _retire(old: Path, new: Path, owned: _Owned | None = None) -> None:
    """Carry the cache and the user's files from ``old`` into ``new``, then remove monev's files.

    ``owned`` is what :class:`_Owned` found in ``old`` (computed here when not given).
    """
    owned = owned or _Owned(old)
    _carry(old, new, [CACHE, *owned.user, *owned.changed])
    for rel in owned.empty:
        (new / rel).mkdir(parents=True, exist_ok=True)
    for rel in owned.listed:
        (old / rel).unlink()
    (old / MANIFEST).unlink(missing_ok=True)
    _prune(old)


class OutputFolder:
    """The output folder of one run. Use :meth:`open`, write into :attr:`staging`, then
    :meth:`commit`; :meth:`abort` (or leaving the ``with`` block without a commit) discards the
    new set and keeps the previous one.
    """

    def __init__(
        self, path: Path, staging: Path, run_id: str, lock: IO[bytes], shown: str = ""
    ) -> None:
        self.path = path
        self.shown = shown or str(path)
        self.staging = staging
        self.run_id = run_id
        self._lock: IO[bytes] | None = lock
        self.committed = False

    # --- opening ----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        out: str | Path,
        inputs: Iterable[str | Path] = (),
        *,
        allow_inside_input: bool = False,
    ) -> OutputFolder:
        """Check ``out`` against ``inputs``, lock it and make the staging folder beside it.

        Raises :class:`OutputError` for a file, a folder that cannot be created or written, a
        folder inside an input folder (unless ``allow_inside_input``) or holding an input, a
        non-empty folder monev did not write, a changed monev file, or a run already going on.
        """
        given = Path(out)
        shown = str(given)
        if given.exists() and not given.is_dir():
            raise OutputError("cli.out.not_folder", out=shown)
        for parent in given.absolute().parents:
            if parent.exists() and not parent.is_dir():
                raise OutputError("cli.out.under_file", out=shown, file=str(parent))
        real = given.resolve()
        if real.parent == real:
            raise OutputError("cli.out.not_monev", out=shown, files="/")
        for raw in inputs:
            path = Path(raw)
            if path.is_dir() and inside(real, path) and not allow_inside_input:
                raise OutputError("cli.out_inside_input", out=shown)
            if path.exists() and inside(path, real):
                raise OutputError("cli.out.contains_input", out=shown, input=str(raw))
        if real.is_dir() and os.path.ismount(real):
            raise OutputError("cli.out.mount", out=shown)
        try:
            real.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError("cli.out.not_creatable", out=shown, reason=_reason(exc)) from None
        if real.is_dir() and not os.access(real, os.W_OK | os.X_OK):
            raise OutputError("cli.out.read_only", out=shown)
        try:
            lock = _lock(real.parent / f".{real.name}.{_LOCK}")
        except BlockingIOError:
            raise OutputError("cli.out.busy", out=shown) from None
        except OSError as exc:
            raise OutputError("cli.out.not_writable", out=shown, reason=_reason(exc)) from None
        run_id = f"{os.getpid()}-{secrets.token_hex(4)}"
        staging = real.parent / f".{real.name}.{_NEW}-{run_id}"
        try:
            try:
                _recover(real)
            except OSError as exc:
                raise OutputError("cli.out.not_writable", out=shown, reason=_reason(exc)) from None
            _check_existing(real, shown)
            try:
                staging.mkdir()  # mode 0o777 less the umask
                _write_manifest(staging, "staging", {})
            except OSError as exc:
                shutil.rmtree(staging, ignore_errors=True)
                raise OutputError("cli.out.not_writable", out=shown, reason=_reason(exc)) from None
        except BaseException:
            _unlock(lock)
            raise
        return cls(real, staging, run_id, lock, shown)

    @property
    def cache(self) -> Path:
        """The folder a render cache may use during this run; it is carried into every new set."""
        return (self.path if self.path.is_dir() else self.staging) / CACHE

    # --- the switch -------------------------------------------------------------------------

    def commit(self) -> None:
        """Write the manifest of the staging folder and switch it in as ``out`` (see module doc)."""
        if self.committed or self._lock is None:
            raise RuntimeError("the output folder is already committed or aborted")
        shown = self.shown
        files = {
            rel: {"sha256": _sha256(p), "size": p.stat().st_size}
            for rel in _files(self.staging)
            for p in [self.staging / rel]
        }
        _write_manifest(self.staging, "complete", files)
        old, owned = None, None
        if self.path.is_dir():
            try:
                owned = _Owned(self.path)
            except (ValueError, UnicodeDecodeError) as exc:  # the manifest damaged during the run
                self.abort()
                raise OutputError(
                    "cli.out.bad_manifest", out=shown, reason=technical(exc)
                ) from None
            if owned.changed:  # changed while this run was going on
                self.abort()
                raise OutputError("cli.out.changed", out=shown, files=_some(owned.changed))
            clash = [rel for rel in owned.user if _clashes(rel, files)]
            if clash:
                self.abort()
                raise OutputError("cli.out.conflict", out=shown, files=_some(clash))
            old = self.path.parent / f".{self.path.name}.{_OLD}-{self.run_id}"
            try:
                os.rename(self.path, old)
            except OSError as exc:
                self.abort()
                raise OutputError("cli.out.switch_failed", out=shown, reason=_reason(exc)) from None
        try:
            os.rename(self.staging, self.path)
        except OSError as exc:
            if old is not None:
                os.rename(old, self.path)
            self.abort()
            raise OutputError("cli.out.switch_failed", out=shown, reason=_reason(exc)) from None
        self.committed = True
        if old is not None:
            with contextlib.suppress(OSError):  # the new set is in place; the next run retries
                _retire(old, self.path, owned)
        self.release()

    def abort(self) -> None:
        """Discard the new set (the previous one stays as it was) and release the lock."""
        if not self.committed:
            shutil.rmtree(self.staging, ignore_errors=True)
        self.release()

    def release(self) -> None:
        if self._lock is not None:
            _unlock(self._lock)
            self._lock = None

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _some(rels: list[str]) -> str:
    more = len(rels) - _SHOWN
    return ", ".join(rels[:_SHOWN]) + (f" (+{more})" if more > 0 else "")


def _clashes(rel: str, new: dict[str, Any]) -> bool:
    """A user's file at a path the new set writes, at a folder of it (``kantor`` as a file), or
    under a path the new set writes as a file."""
    return rel in new or any(n.startswith(rel + "/") or rel.startswith(n + "/") for n in new)


def _check_existing(real: Path, shown: str) -> None:
    """Refuse an existing folder monev may not replace: not monev's, damaged, or changed."""
    if not real.is_dir():
        return
    try:
        manifest = read_manifest(real)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise OutputError("cli.out.bad_manifest", out=shown, reason=technical(exc)) from None
    if manifest is None:
        present = sorted(p.name for p in real.iterdir() if p.name != CACHE)
        if present and _legacy(real):
            raise OutputError("cli.out.legacy", out=shown, manifest=MANIFEST)
        if present:
            raise OutputError("cli.out.not_monev", out=shown, files=_some(present))
        return
    owned = _Owned(real)
    if owned.changed:
        raise OutputError("cli.out.changed", out=shown, files=_some(owned.changed))
    clash = [rel for rel in owned.user if rel in FIXED]
    if clash:
        raise OutputError("cli.out.conflict", out=shown, files=_some(clash))


def _legacy(real: Path) -> bool:
    """An output folder of a release before the manifest: its results.json names monev."""
    try:
        with open(real / "results.json", "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return b'"monev_version"' in head


def _recover(real: Path) -> None:
    """Clean what a killed run left beside ``real`` (only folders carrying monev's manifest)."""
    parent, stem = real.parent, f".{real.name}."
    leftovers = sorted(
        (p for p in parent.iterdir() if p.name.startswith(stem) and p.is_dir()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for p in leftovers:
        rest = p.name[len(stem) :]
        if p.is_symlink() or not (p / MANIFEST).is_file():
            continue
        if rest.startswith(_NEW + "-"):
            shutil.rmtree(p)
        elif rest.startswith(_OLD + "-"):
            if not os.path.lexists(real):
                os.rename(p, real)  # killed between the two renames: the previous set comes back
            else:
                with contextlib.suppress(ValueError):  # a damaged manifest: leave that folder be
                    _retire(p, real)
