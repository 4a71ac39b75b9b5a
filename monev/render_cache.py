"""The render cache: a PDF made once is reused while what it is made of stays the same.

A PDF of ``monev score`` is a function of its final HTML, its attachment (name and bytes), the run's
date (the PDF dates come from ``as_of``; WeasyPrint and pydyf do not read ``SOURCE_DATE_EPOCH``),
and the renderer's surroundings: monev's version and the code that calls WeasyPrint
(``monev/report.py``), the files in ``reports/`` (report.css and the templates), the
versions of WeasyPrint and the Python libraries it writes with, the native text libraries it loads
and the font files fontconfig can choose from. :func:`cache_key` hashes exactly these; the hash of
the surroundings (:func:`environment`) is computed once per run, in the parent.

The cache lives in the output folder's ``.cache/pdf/`` (carried from set to set by
:class:`monev.outputs.OutputFolder`): ``<key>.pdf`` files and ``index.json`` mapping each key to
the sha256 and size of its file. A cached file is used only when its bytes hash to what the index
says (a truncated, edited or half-written file is rendered again), and an unreadable index counts
as empty. Each entry and input mapping of the index carries an HMAC with the user's secret
(:func:`monev.resources.user_secret`): one planted by anyone else who can write the output folder
is never used; without a secret there is no cache. Workers only read the cache; the parent
writes it, once the rendering is over (:meth:`RenderCache.save` links the run's new PDFs in), so a
run killed while rendering leaves the cache as it was. :meth:`RenderCache.save` keeps only the
entries the current run used and removes only the other files it wrote, so the cache never holds
more than one run's PDFs.

A second level spares a re-run the final HTML of the offices that did not change: the index also
maps each office's render *input* (:func:`input_key`: the office's result as the template sees it,
the run's date and language, the rubric, and :func:`code_identity`, the hash of monev's code and
message catalogue, on top of :func:`environment`) to the key of the PDF made from it. A run looks
the input up first; only a mapping whose PDF is in the cache and verifies is used, anything else
builds the HTML and looks up (or renders) by the HTML as before.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import hashlib
import hmac
import json
import os
import shutil
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monev.outputs import write_atomic
from monev.resources import data_dir

#: Changes when the layout or the key changes: older caches are then never matched.
FORMAT = "monev-render-cache 3"
SUBDIR = "pdf"
INDEX = "index.json"
#: Python distributions whose code decides a PDF's bytes.
DISTRIBUTIONS = (
    "weasyprint",
    "pydyf",
    "fonttools",
    "tinycss2",
    "cssselect2",
    "tinyhtml5",
    "Pillow",
)
#: Native libraries WeasyPrint loads to lay out text and read fonts (their file identities).
LIBRARIES = ("libpango-1.0", "libpangoft2-1.0", "libharfbuzz", "libfontconfig", "libfreetype")
LIB_DIRS = ("/usr/lib", "/usr/lib64", "/usr/local/lib", "/usr/lib/*-linux-gnu", "/opt/homebrew/lib")


def _font_dirs() -> list[Path]:
    home = Path.home()
    data_home = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    dirs = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path("/etc/fonts")]
    dirs += [home / ".fonts", data_home / "fonts", Path("/Library/Fonts"), home / "Library/Fonts"]
    if sys.platform == "win32":
        dirs.append(Path(os.environ.get("WINDIR", "C:/Windows")) / "Fonts")
    return dirs


def _identity(path: str) -> str:
    """A file's identity without reading it: where it is, its size and its modification time."""
    try:
        st = os.stat(path)
    except OSError:
        return f"{path} -"
    return f"{path} {st.st_size} {st.st_mtime_ns}"


def environment() -> str:
    """The hash of everything around the HTML that a PDF's bytes depend on (see module doc).

    Fonts are identified by every file under the font folders and fontconfig's configuration:
    which file a glyph comes from is Pango's choice, so a font added or changed anywhere there
    counts. Cheap (no WeasyPrint import): versions come from the installed metadata.
    """
    from importlib.util import find_spec

    from monev import __version__

    lines = [FORMAT, f"python {sys.version_info[:2]}", f"monev {__version__}"]
    spec = find_spec("monev.report")  # the code that calls WeasyPrint (its options, the PDF id)
    if spec is not None and spec.origin:
        lines.append(f"report.py {hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()}")
    lines += [f"{name} {_version(name)}" for name in DISTRIBUTIONS]
    reports = data_dir("reports")
    lines.append(f"base {reports}")
    for path in sorted(Path(reports).iterdir()):
        if path.is_file():
            lines.append(f"{path.name} {hashlib.sha256(path.read_bytes()).hexdigest()}")
    for lib in LIBRARIES:
        for d in LIB_DIRS:
            for found in sorted(glob.glob(f"{d}/{lib}.so*") + glob.glob(f"{d}/{lib}*.dylib")):
                lines.append(_identity(os.path.realpath(found)))
    for top in _font_dirs():
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            lines += [_identity(os.path.join(dirpath, f)) for f in sorted(filenames)]
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def cache_key(
    env: str,
    as_of: dt.date,
    html: str,
    attachment: tuple[str, str] | None = None,
    more: tuple[tuple[str, str], ...] = (),
) -> str:
    """The key of one PDF: sha256 over the surroundings, the date, the HTML and the attachment.

    Each part is preceded by its length, so no two different sets of parts hash alike.
    """
    parts = [env, as_of.isoformat(), html]
    parts += list(attachment) if attachment else ["-"]
    for name, text in more:  # the city report's results.json and rubric
        parts += [name, text]
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8")
        h.update(b"%d:" % len(data))
        h.update(data)
    return h.hexdigest()


#: Python distributions whose code decides an office report's HTML and attachment.
HTML_DISTRIBUTIONS = ("jinja2", "markupsafe", "babel", "msgspec", "pyyaml")


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def code_identity(package: Path | None = None) -> str:
    """The hash of monev's own code and message catalogue (every ``monev/*.py`` and
    ``messages.yaml`` in ``package``, monev's folder by default): what turns an office's result
    into its HTML besides the templates (which :func:`environment` hashes). Any change to them
    changes every :func:`input_key`."""
    package = package or Path(__file__).resolve().parent
    h = hashlib.sha256(FORMAT.encode("utf-8"))
    # The libraries that turn it into HTML and the attachment (templates and escaping, number
    # and date formats, JSON, the catalogue's YAML): an upgrade must not match an older PDF.
    h.update(sys.version.encode("utf-8"))
    for dist in HTML_DISTRIBUTIONS:
        h.update(f"{dist} {_version(dist)};".encode())
    for path in [*sorted(package.glob("*.py")), package / "messages.yaml"]:
        data = path.read_bytes()
        h.update(b"%s %d:" % (path.name.encode("utf-8"), len(data)))
        h.update(data)
    return h.hexdigest()


def input_key(env: str, code: str, as_of: dt.date, lang: str, *parts: bytes) -> str:
    """The key of one report's render input: the surroundings, monev's code, the date, the
    language and ``parts`` (the report's data, serialised by the caller), length-prefixed."""
    h = hashlib.sha256(b"inputs\0")
    for part in (env.encode(), code.encode(), as_of.isoformat().encode(), lang.encode(), *parts):
        h.update(b"%d:" % len(part))
        h.update(part)
    return h.hexdigest()


@dataclass
class RenderCache:
    """The PDFs of the previous runs, by key. Open with :meth:`open`; picklable (workers read)."""

    folder: Path
    env: str
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    used: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: dict[str, Path | bytes] = field(default_factory=dict)
    #: Render input key -> the key of the PDF made from it (see the module doc).
    inputs: dict[str, str] = field(default_factory=dict)
    inputs_used: dict[str, str] = field(default_factory=dict)
    #: :func:`code_identity`, computed once (:meth:`code`).
    code_hash: str = ""

    def code(self) -> str:
        """:func:`code_identity`, computed on the first call (``monev score`` makes that call
        while the workbooks are read, see :func:`monev.report.prepare_rendering`)."""
        if not self.code_hash:
            self.code_hash = code_identity()
        return self.code_hash

    #: False when the folder is not one the cache may use (:func:`usable_folder`), or there is
    #: no user's secret to sign its index with: nothing is read from it, written to it or
    #: removed from it.
    usable: bool = True
    #: The user's secret (:func:`monev.resources.user_secret`): the index's entries and input
    #: mappings carry an HMAC with it, so an index edited or planted by anyone who can write the
    #: output folder (a shared folder) never makes a run publish a PDF it did not render.
    secret: bytes | None = field(default=None, repr=False)

    @classmethod
    def open(cls, cache: Path, env: str | None = None) -> RenderCache:
        """The cache in ``cache/pdf`` (``cache`` is the output folder's ``.cache``)."""
        from monev.resources import user_secret

        folder = Path(cache) / SUBDIR
        entries: dict[str, dict[str, Any]] = {}
        inputs: dict[str, str] = {}
        env = env if env is not None else environment()
        secret = user_secret() if usable_folder(folder) else None
        if secret is None:
            return cls(folder, env, usable=False)
        try:
            raw = json.loads(read_regular(folder / INDEX, MAX_INDEX_BYTES).decode("utf-8"))
            if raw.get("format") == FORMAT and isinstance(raw.get("entries"), dict):
                for k, v in raw["entries"].items():
                    if not (_is_key(k) and isinstance(v, dict)):
                        continue
                    sha, size = v.get("sha256"), v.get("size")
                    if (
                        _is_key(sha)
                        and type(size) is int
                        and size >= 0
                        and _signed(secret, v.get("mac"), "pdf", k, str(sha), str(size))
                    ):
                        entries[k] = {"sha256": sha, "size": size}
                mapped, macs = raw.get("inputs"), raw.get("input_macs")
                if isinstance(mapped, dict) and isinstance(macs, dict):
                    inputs = {
                        k: v
                        for k, v in mapped.items()
                        if _is_key(k)
                        and v in entries
                        and _signed(secret, macs.get(k), "input", k, v)
                    }
        except (OSError, ValueError, AttributeError, TypeError):
            pass  # no index, or one that cannot be read: nothing is trusted
        return cls(folder, env, entries, inputs=inputs, secret=secret)

    def lookup(self, input_key: str) -> tuple[str, bytes] | None:
        """The PDF key and verified bytes the render input ``input_key`` made last time, or
        None (no mapping, no entry, or a file that does not hash to its entry)."""
        key = self.inputs.get(input_key)
        if key is None:
            return None
        data = self.get(key)
        return None if data is None else (key, data)

    def link(self, input_key: str, key: str) -> None:
        """This run's render input ``input_key`` made the PDF ``key`` (in the parent)."""
        self.inputs[input_key] = self.inputs_used[input_key] = key

    def key(
        self,
        as_of: dt.date,
        html: str,
        attachment: tuple[str, str] | None = None,
        more: tuple[tuple[str, str], ...] = (),
    ) -> str:
        return cache_key(self.env, as_of, html, attachment, more)

    def get(self, key: str) -> bytes | None:
        """The cached PDF of ``key``, only when its bytes hash to the index entry; else None."""
        entry = self.entries.get(key)
        if entry is None or not isinstance(entry.get("size"), int):
            return None
        try:
            # The index is not signed: its size is a limit only up to MAX_PDF_BYTES.
            data = read_regular(self.folder / f"{key}.pdf", min(entry["size"], MAX_PDF_BYTES))
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            return None
        return data

    def keep(self, key: str) -> None:
        """The current run reused ``key`` (in the parent)."""
        if key in self.entries:
            self.used[key] = self.entries[key]

    def put(self, key: str, data: bytes, written: Path | None = None) -> None:
        """Record a PDF just rendered (in the parent); :meth:`save` stores it.

        ``written``: where the run wrote those bytes (its output file), linked or copied into the
        cache by :meth:`save`, so the cache changes only after the rendering, not during it.
        """
        entry = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        self.entries[key] = self.used[key] = entry
        self.pending[key] = written if written is not None else data

    def save(self) -> None:
        """Store the PDFs rendered by this run, write the index of the entries it used and
        remove every other file."""
        if not self.usable or not self.secret or (not self.used and not self.folder.exists()):
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        if not usable_folder(self.folder):  # replaced by a link while the run went on
            return
        for key, source in self.pending.items():
            dest = self.folder / f"{key}.pdf"
            if isinstance(source, bytes):
                write_atomic(dest, source)
                continue
            tmp = self.folder / f".monev-{key[:16]}.tmp"
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            try:
                os.link(source, tmp)  # the output file's bytes, without a copy
            except OSError:
                shutil.copyfile(source, tmp)
            os.replace(tmp, dest)
        self.pending.clear()
        inputs = {k: v for k, v in self.inputs_used.items() if v in self.used}
        secret = self.secret or b""
        entries = {
            k: {**e, "mac": _sign(secret, "pdf", k, e["sha256"], str(e["size"]))}
            for k, e in sorted(self.used.items())
        }
        index = {
            "format": FORMAT,
            "entries": entries,
            "inputs": dict(sorted(inputs.items())),
            "input_macs": {k: _sign(secret, "input", k, v) for k, v in sorted(inputs.items())},
        }
        write_index(self.folder, index, self.used, ".pdf")


def _sign(secret: bytes, *parts: str) -> str:
    """The HMAC-SHA256 (hex) of an index item: the cache's format and ``parts``."""
    return hmac.new(secret, "\0".join((FORMAT, *parts)).encode("utf-8"), hashlib.sha256).hexdigest()


def _signed(secret: bytes, mac: Any, *parts: str) -> bool:
    return _is_key(mac) and hmac.compare_digest(mac, _sign(secret, *parts))


def _is_key(text: Any) -> bool:
    return isinstance(text, str) and len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def write_index(folder: Path, index: dict[str, Any], kept: Iterable[str], suffix: str) -> None:
    """Write a cache's ``index.json`` into ``folder`` and remove its other files: the files of
    ``kept`` keys (``<key><suffix>``) stay, and only names a cache writes are ever removed
    (:func:`own_file`), whatever else the folder holds. The render cache and the read cache
    (:mod:`monev.read_cache`) both end their ``save`` here."""
    text = json.dumps(index, indent=1, sort_keys=True) + "\n"
    write_atomic(folder / INDEX, text.encode("utf-8"))
    keep = {f"{k}{suffix}" for k in kept} | {INDEX}
    for path in folder.iterdir():
        if path.name not in keep and own_file(path.name, suffix) and not path.is_dir():
            with contextlib.suppress(OSError):
                path.unlink()


def own_file(name: str, suffix: str) -> bool:
    """A file name a cache writes: ``<key><suffix>`` or a temporary file of
    :func:`monev.outputs.write_atomic`."""
    if name.startswith(".monev-") and name.endswith(".tmp"):
        return True
    return name.endswith(suffix) and _is_key(name[: -len(suffix)])


#: The largest cached PDF read (the city report of 10,000 offices is a few MB).
MAX_PDF_BYTES = 256 * 1024 * 1024
#: The largest index.json the cache reads (an index of 10,000 offices is about 3 MB).
MAX_INDEX_BYTES = 64 * 1024 * 1024


def usable_folder(folder: Path) -> bool:
    """Whether a cache may use ``folder`` (``.cache/pdf``): it and its parent ``.cache`` are
    each missing or a real folder, not a link, owned by this user where ownership exists.
    A link there would make the cache write into, and remove files from, another folder."""
    for path in (folder.parent, folder):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        except OSError:
            return False
        if not stat.S_ISDIR(st.st_mode):
            return False
        if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
            return False
    return True


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of ``path`` when it is a regular file (not a link, a pipe or a device) of at
    most ``limit`` bytes; else OSError. Never blocks on a pipe planted under the name."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            raise OSError(f"not a regular file of at most {limit} bytes: {path}")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"larger than {limit} bytes: {path}")
    return data


# --- compiled templates ------------------------------------------------------------------------

#: The first line of a compiled template's file; the file's layout changes with it.
TEMPLATE_FORMAT = b"monev-template-cache 2\n"
#: The largest compiled template file read (the four shipped ones are 20-120 KB).
MAX_TEMPLATE_BYTES = 16 * 1024 * 1024


def template_folder() -> Path | None:
    """Where compiled report templates are kept: ``$XDG_CACHE_HOME/monev/templates`` (by default
    ``~/.cache/monev/templates``), the user's own cache, beside the read cache's secret. Not the
    output folder: a compiled template is code that runs, and an output folder may be shared.
    None when there is no home folder to put it in."""
    from monev.resources import user_cache

    folder = user_cache()
    return None if folder is None else folder / "templates"


def template_cache(
    identity: str, folder: Path | None = None, lang: str = "id", secret: bytes | None = None
) -> Any:
    """A Jinja2 bytecode cache for the report templates: a template compiled once (about a
    quarter of a second for the four) is loaded by the next run in a few milliseconds.

    A compiled template is Python code that Jinja2 runs, so a file is loaded only when it
    carries an HMAC-SHA256 made with the user's ``secret`` (:func:`monev.resources.user_secret`,
    the read cache's) over its head, its template's key and its body; its head is this
    ``identity`` (:func:`code_identity`: monev's code, which sets the template options, and the
    Jinja2 and Python versions) and ``lang``; Jinja2 itself checks the template's source
    checksum. A file of another version or language, edited, truncated, half written, moved
    from another template's name or made without the secret is ignored and the template
    compiled again (and the file replaced). Files of other identities are removed when one is
    written (only names the cache writes), so the folder holds one monev's templates.

    None (no cache: every template is compiled) when there is no secret, or when the folder
    or its parent (``monev``) is not a real folder of the user's that no one else may write
    (:func:`monev.resources.private_folder`; made, mode 0700, when missing). A folder that
    cannot be written only costs the time. ``loaded`` and ``compiled`` name the templates' keys
    as they were loaded or compiled.
    """
    import hmac
    import re

    import jinja2

    from monev.resources import private_folder, user_secret

    where = folder if folder is not None else template_folder()
    if where is None or not re.fullmatch(r"[a-z]{2,8}", lang) or not _is_key(identity):
        return None
    key_secret = secret if secret is not None else user_secret()
    if key_secret is None:
        return None
    if not (private_folder(where.parent, make=True) and private_folder(where, make=True)):
        return None
    kept: Path = where
    kept_secret: bytes = key_secret
    head = TEMPLATE_FORMAT + identity.encode("ascii") + b"\n" + lang.encode("ascii") + b"\n"
    prefix = f"{identity[:16]}-{lang}-"
    ours = re.compile(r"(?:[0-9a-f]{16}-[a-z]{2,8}-)?[0-9a-f]{40}\.j2c")

    class TemplateCache(jinja2.BytecodeCache):
        def __init__(self) -> None:
            self.folder = kept
            self.loaded: list[str] = []
            self.compiled: list[str] = []
            self.cleaned = False

        def _path(self, bucket: Any) -> Path:
            return self.folder / f"{prefix}{bucket.key}.j2c"

        def _mac(self, bucket: Any, payload: bytes) -> bytes:
            mac = hmac.new(kept_secret, digestmod=hashlib.sha256)
            for part in (head, bucket.key.encode("ascii"), payload):
                mac.update(b"%d:" % len(part))
                mac.update(part)
            return mac.hexdigest().encode("ascii")

        def load_bytecode(self, bucket: Any) -> None:
            try:
                data = read_regular(self._path(bucket), MAX_TEMPLATE_BYTES)
                if not data.startswith(head):
                    return
                mac, _, payload = data[len(head) :].partition(b"\n")
                if not hmac.compare_digest(self._mac(bucket, payload), mac):
                    return
                bucket.bytecode_from_string(payload)  # Jinja2 checks its magic and the source
            except Exception:  # anything at all: compiled again
                bucket.reset()
                return
            if bucket.code is not None:
                self.loaded.append(bucket.key)

        def dump_bytecode(self, bucket: Any) -> None:
            self.compiled.append(bucket.key)
            payload = bucket.bytecode_to_string()
            with contextlib.suppress(OSError):
                mac = self._mac(bucket, payload)
                write_atomic(self._path(bucket), head + mac + b"\n" + payload)
                self._clean()

        def _clean(self) -> None:
            """Remove the compiled templates of other identities (other monev versions)."""
            if self.cleaned:
                return
            self.cleaned = True
            for path in self.folder.iterdir():
                name = path.name
                if ours.fullmatch(name) and not name.startswith(f"{identity[:16]}-"):
                    with contextlib.suppress(OSError):
                        path.unlink()

    return TemplateCache()
