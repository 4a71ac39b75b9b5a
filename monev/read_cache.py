"""The read cache: a workbook read and scored by one run is not read again by the next one while
nothing its result depends on changed.

A workbook's result (:class:`~monev.results.OfficeResult`, or the :class:`~monev.results.Rejected`
the reader made of it) is a function of the workbook's bytes, its name in the run, the rubric (its
file's sha256), the run's read options (the stages file, the registry, what the workbooks are
trusted with), and the code that reads and scores: monev's own (:func:`monev.render_cache.
code_identity`, every module and the message catalogue) and the libraries it reads with.
:func:`ReadCache.key` hashes exactly these. A rubric made in code (no file hash) is never cached,
nor is a run that checks links (their answers change without the workbook changing), nor a
workbook that could not be opened or stopped its reader (MV101, MV110: the cause may be the
machine's memory, not the bytes; it is tried again).

The cache lives in the output folder's ``.cache/read/`` (carried from set to set like the render
cache): ``<key>.pickle`` files and ``index.json`` with each file's HMAC-SHA256 (over the format,
the key and the bytes) under a secret kept in the user's cache folder
(:func:`monev.resources.user_secret`). A result is unpickled only when its bytes carry that HMAC
for its key, and used only when it is an office's result or a rejection of the workbook with the
sha256 and display name just hashed, so a file edited, truncated, copied onto another key or put
there by anyone without the user's secret (an output folder may be shared) is never used: the
workbook is read again; so is anything else that goes wrong reading the cache. No secret (no home
folder, or one monev may not trust): no read cache; nor when ``.cache`` or ``.cache/read`` is a
link or not the user's. Only regular files within the index's sizes are read, and only the names
the cache writes are removed. The parent writes the cache once the run's outputs are made
(``monev score``: after the rendering, as the render cache), so a run killed before leaves it as
it was; only the entries the run used are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monev.outputs import write_atomic
from monev.render_cache import _is_key  # 64 hex digits: a key or a MAC
from monev.resources import user_cache, user_secret

#: Changes when the layout or the key changes: older caches are then never matched.
FORMAT = "monev-read-cache 2"
#: The largest result the cache reads (an office's result is a few tens of KB); a planted index
#: cannot make the parent read a larger file (found by a cold review).
MAX_ENTRY_BYTES = 8 * 1024 * 1024
SUBDIR = "read"
INDEX = "index.json"
#: Libraries whose code decides what a workbook reads as.
DISTRIBUTIONS = (
    "python-calamine",
    "openpyxl",
    "defusedxml",
    # the rubric's validation (coercion of its values) and the YAML it is read from
    "pydantic",
    "pydantic-core",
    "PyYAML",
)


def secret_path() -> Path | None:
    """Where the user's secret is (:func:`monev.resources.user_secret`)."""
    folder = user_cache()
    return None if folder is None else folder / "secret"


def _versions() -> str:
    from importlib import metadata

    out = []
    for dist in DISTRIBUTIONS:
        try:
            out.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            out.append(f"{dist} -")
    return ";".join(out)


@dataclass
class ReadCache:
    """The results of the previous run's workbooks, by key. Open with :meth:`open`."""

    folder: Path
    secret: bytes
    #: What every key of this run shares: the code, the libraries, the rubric, the options.
    base: bytes = b""
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    used: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def open(cls, cache: Path) -> ReadCache | None:
        """The cache in ``cache/read`` (``cache`` is the output folder's ``.cache``); None when
        there is no user secret, or when ``.cache`` or ``.cache/read`` is not a folder the cache
        may use (:func:`monev.render_cache.usable_folder`: a link, or not the user's). :func:`reuse`
        binds it to a run's rubric and options."""
        from monev.render_cache import MAX_INDEX_BYTES, read_regular, usable_folder

        folder = Path(cache) / SUBDIR
        if not usable_folder(folder):
            return None
        secret = user_secret()
        if secret is None:
            return None
        entries: dict[str, dict[str, Any]] = {}
        try:
            raw = json.loads(read_regular(folder / INDEX, MAX_INDEX_BYTES).decode("utf-8"))
            if raw.get("format") == FORMAT and isinstance(raw.get("entries"), dict):
                entries = {
                    k: v
                    for k, v in raw["entries"].items()
                    if _is_key(k)
                    and isinstance(v, dict)
                    and _is_key(v.get("mac"))
                    and isinstance(v.get("size"), int)
                }
        except (OSError, ValueError, AttributeError):
            pass  # no index, or one that cannot be read: nothing is trusted
        return cls(folder, secret, b"", entries)

    def bind(self, rubric: Any, options: Any) -> bool:
        """Key this run's entries by ``rubric`` and the read ``options`` (pickled and hashed)
        besides monev's code and the reader libraries; False (nothing cached) when the rubric
        has no file hash (made in code: two of them could share id and version)."""
        if not getattr(rubric, "sha256", ""):
            return False
        from monev.render_cache import code_identity

        h = hashlib.sha256()
        for part in (
            FORMAT,
            code_identity(),
            _versions(),
            rubric.sha256,
            rubric.id,
            rubric.version,
            hashlib.sha256(pickle.dumps(options, protocol=5)).hexdigest(),
        ):
            data = part.encode("utf-8")
            h.update(b"%d:" % len(data))
            h.update(data)
        self.base = h.digest()
        return True

    def key(self, path: Path, name: str) -> tuple[str, str] | None:
        """The key of the workbook at ``path`` shown as ``name``, and the sha256 of its bytes;
        None when it is not a regular file within the reader's size limit or cannot be read
        (the reader, in its sandboxed worker, says why)."""
        import stat

        from monev import limits

        digest = hashlib.sha256()
        try:
            # O_NONBLOCK: a FIFO put there in place of a workbook must not stop the run here
            fd = os.open(
                path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
            )
            with os.fdopen(fd, "rb") as fh:
                st = os.fstat(fh.fileno())
                if not stat.S_ISREG(st.st_mode) or st.st_size > limits.MAX_FILE_BYTES:
                    return None
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
        except OSError:
            return None
        sha = digest.hexdigest()
        h = hashlib.sha256(self.base)
        for part in (name, Path(path).name, sha):
            encoded = part.encode("utf-8", "surrogateescape")
            h.update(b"%d:" % len(encoded))
            h.update(encoded)
        return h.hexdigest(), sha

    def _mac(self, key: str, data: bytes) -> str:
        """The HMAC of an entry: over the format, its key and its bytes, so an entry is valid
        only under the key it was made for (not copied onto another workbook's key)."""
        mac = hmac.new(self.secret, digestmod=hashlib.sha256)
        for part in (FORMAT.encode("utf-8"), key.encode("ascii"), data):
            mac.update(b"%d:" % len(part))
            mac.update(part)
        return mac.hexdigest()

    def get(self, key: str, sha256: str, name: str) -> Any:
        """The cached result of ``key``, only when its file carries the user's HMAC for that
        key and it is the result of the workbook with these ``sha256`` and display ``name``;
        else None (anything unexpected, whatever it is, is a miss: the workbook is read)."""
        try:
            return self._get(key, sha256, name)
        except Exception:
            return None

    def _get(self, key: str, sha256: str, name: str) -> Any:
        from monev.render_cache import read_regular
        from monev.results import OfficeResult, Rejected

        entry = self.entries.get(key)
        if entry is None:
            return None
        try:
            # The index is not signed: its size is a limit only up to MAX_ENTRY_BYTES.
            data = read_regular(self.folder / f"{key}.pickle", min(entry["size"], MAX_ENTRY_BYTES))
        except OSError:
            return None
        if not hmac.compare_digest(self._mac(key, data).encode(), entry["mac"].encode()):
            return None
        result = pickle.loads(data)
        if not isinstance(result, (OfficeResult, Rejected)):
            return None
        if result.sha256 != sha256 or result.file != name:
            return None
        self.used[key] = entry
        return result

    def put(self, key: str, result: Any) -> None:
        """Record a result just made (stored by :meth:`save`)."""
        data = pickle.dumps(result, protocol=5)
        entry = {"mac": self._mac(key, data), "size": len(data)}
        self.entries[key] = self.used[key] = entry
        self.pending[key] = data

    def save(self) -> None:
        """Store the results made by this run, write the index of the entries it used and
        remove the cache's other files (only names it writes: ``<key>.pickle``, a temporary
        file). A folder that cannot be written only costs the time; one replaced by a link
        meanwhile is left alone."""
        from monev.render_cache import usable_folder, write_index

        with contextlib.suppress(OSError):
            if not self.used and not self.folder.exists():
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            if not usable_folder(self.folder):
                return
            for key, data in self.pending.items():
                write_atomic(self.folder / f"{key}.pickle", data)
            self.pending.clear()
            index = {"format": FORMAT, "entries": dict(sorted(self.used.items()))}
            write_index(self.folder, index, self.used, ".pickle")


def reuse(
    cache: ReadCache | None,
    rubric: Any,
    options: Any,
    paths: list[Path],
    names: list[str],
    compute: Callable[[list[Path], list[str]], list[Any]],
) -> list[Any]:
    """``compute(paths, names)``, but the workbooks whose result is in ``cache`` (for ``rubric``
    and ``options``) are not given to it: their results come from the cache. New results whose
    sha256 is that of the bytes hashed for their key are recorded (not a file changed while it
    was read), unless the machine may be the cause (:data:`PASSING`: a workbook that could not
    be opened or stopped its reader); the caller stores them with :meth:`ReadCache.save` once
    the run is complete."""
    if cache is None or not cache.bind(rubric, options):
        return compute(paths, names)
    keys = [cache.key(p, n) for p, n in zip(paths, names, strict=True)]
    results: list[Any] = [
        cache.get(k[0], k[1], n) if k else None for k, n in zip(keys, names, strict=True)
    ]
    todo = [i for i, r in enumerate(results) if r is None]
    if todo:
        made = compute([paths[i] for i in todo], [names[i] for i in todo])
        for i, result in zip(todo, made, strict=True):
            results[i] = result
            k = keys[i]
            if k is not None and getattr(result, "sha256", None) == k[1] and _lasting(result):
                cache.put(k[0], result)
    return results


#: Problems that may come of the machine rather than the workbook's bytes: a workbook that
#: could not be opened (MV101: a MemoryError or an I/O error while opening is reported so) or
#: that stopped its reader (MV110: memory, CPU time). A result with one is never cached: the
#: next run tries again.
PASSING = frozenset({"MV101", "MV110"})


def _lasting(result: Any) -> bool:
    """Whether ``result`` depends on the workbook alone (see :data:`PASSING`)."""
    return not any(getattr(p, "code", None) in PASSING for p in getattr(result, "problems", ()))
