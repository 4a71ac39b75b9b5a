"""Optional step between reading and scoring: does the evidence survive a verifier's check?

KI verifiers open every evidence link. A link that is broken, unreachable, asks for a login or an
access request (Google Drive answers 200 with a "Request access" page), or does not lead to a
document (an empty page, a folder listing, a home page) does not count; nor does a file name whose
file is missing beside the workbook, is not a PDF or image, or is over 2 MB (the KI e-monev limit).

Nothing here runs unless asked (``--check-links``). Links are fetched concurrently with httpx,
bounded per host and overall, with retries and an on-disk cache with a maximum age. The servers
are untrusted: each link and the whole run have a time budget, bodies are decoded here under a
size cap, and hosts that resolve to internal addresses are not fetched unless allowed.
The results are plain data (:class:`Check`) that :func:`apply_checks` attaches to a questionnaire;
scoring stays pure.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import math
import os
import re
import socket
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monev.evidence_items import URL
from monev.problems import Key, Problem
from monev.workbook import SHEET_QUESTIONS, Questionnaire

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_BODY_BYTES = 512 * 1024
USER_AGENT = "monev evidence check (+https://pypi.org/project/monev/)"

OK, BROKEN, UNREACHABLE, LOGIN, NOT_DOCUMENT = (
    "ok",
    "broken",
    "unreachable",
    "login",
    "not_document",
)
FILE_MISSING, FILE_TYPE, FILE_TOO_LARGE = "file_missing", "file_type", "file_too_large"
# Not fetched: an internal address (detail: the address) or the run's time was up (RUN_LIMIT).
# Counts as evidence, as it would offline; never cached.
NOT_CHECKED = "not_checked"
RUN_LIMIT = "run time limit"
# The server's answer was not read: stacked or unknown Content-Encoding, undecodable data.
REFUSED = "refused"
CACHED_STATUSES = frozenset({OK, BROKEN, UNREACHABLE, LOGIN, NOT_DOCUMENT, REFUSED})
MAX_CACHE_BYTES = 64 * 1024 * 1024
MAX_REDIRECTS = 10
REDIRECT_CODES = (301, 302, 303, 307, 308)
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

LOGIN_HOSTS = {
    "accounts.google.com",
    "login.microsoftonline.com",
    "login.live.com",
    "login.microsoft.com",
    "sso.godaddy.com",
}
LOGIN_PATH = re.compile(
    r"(^|/)(login|signin|sign-in|sign_in|servicelogin|auth|sso|masuk)(/|$|\.|\?)", re.I
)
ACCESS_MARKERS = re.compile(
    r"request access|you need access|you need permission|minta akses|meminta akses|"
    r"anda memerlukan akses|anda perlu izin|access denied|type=[\"']?password",
    re.I,
)
LISTING_MARKERS = re.compile(r"<title>\s*index of /|directory listing for /", re.I)
DOCUMENT_TYPES = (
    "application/pdf",
    "image/",
    "application/vnd.",
    "application/msword",
    "application/zip",
    "application/octet-stream",
    "text/csv",
)
FILE_MAGIC = {
    ".pdf": (b"%PDF",),
    ".png": (b"\x89PNG",),
    ".jpg": (b"\xff\xd8",),
    ".jpeg": (b"\xff\xd8",),
    ".gif": (b"GIF8",),
    ".webp": (b"RIFF",),
}


@dataclass(frozen=True)
class Check:
    """The outcome of checking one piece of evidence (a URL or a file name)."""

    target: str
    status: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def counts(self) -> bool:
        """Does this evidence count? Ok, or not checked (which counts as it would offline)."""
        return self.status in (OK, NOT_CHECKED)


def is_url(part: str) -> bool:
    return part.lower().startswith(("http://", "https://"))


def classify_response(
    url: str, status: int, content_type: str, body: bytes, hops: list[str]
) -> Check:
    """Decide what a verifier would make of this answer to a GET of ``url``."""
    for hop in [*hops, url]:
        parts = urlsplit(hop)
        if parts.hostname in LOGIN_HOSTS or LOGIN_PATH.search(parts.path):
            return Check(url, LOGIN, f"→ {parts.hostname}{parts.path}")
    if status in (401, 403, 407):
        return Check(url, LOGIN, f"HTTP {status}")
    if status >= 400:
        return Check(url, BROKEN, f"HTTP {status}")
    ctype = content_type.split(";")[0].strip().lower()
    if ctype.startswith(DOCUMENT_TYPES):
        return Check(url, OK, ctype) if body or status == 204 else Check(url, NOT_DOCUMENT, "0 B")
    text = body.decode("utf-8", "replace")
    if ACCESS_MARKERS.search(text):
        return Check(url, LOGIN, "access request page")
    if LISTING_MARKERS.search(text):
        return Check(url, NOT_DOCUMENT, "folder listing")
    visible = re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>|\s+", " ", text, flags=re.S)
    if len(visible.strip()) < 20:
        return Check(url, NOT_DOCUMENT, "empty page")
    target = urlsplit(url)
    if "/drive/folders/" in target.path:
        return Check(url, NOT_DOCUMENT, "folder")
    if target.path in ("", "/") and not target.query:
        return Check(url, NOT_DOCUMENT, "home page")
    return Check(url, OK, ctype or "text")


def check_file(name: str, folder: Path) -> Check:
    """A file named as evidence: beside the workbook, a PDF or image, at most 2 MB."""
    path = folder / name
    try:
        resolved = path.resolve()
        inside = resolved.parent == folder.resolve() or folder.resolve() in resolved.parents
    except OSError:
        inside = False
    if not inside or not path.is_file():
        return Check(name, FILE_MISSING)
    suffix = path.suffix.lower()
    if suffix not in FILE_MAGIC:
        return Check(name, FILE_TYPE, suffix or "?")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        return Check(name, FILE_TOO_LARGE, f"{size / 1024 / 1024:.1f} MB")
    with path.open("rb") as fh:
        head = fh.read(8)
    if not head.startswith(FILE_MAGIC[suffix]):
        # Language-neutral detail: the name's type against the content's (".pdf ≠ .png").
        found = next((k for k, magic in FILE_MAGIC.items() if head.startswith(magic)), "?")
        return Check(name, FILE_TYPE, f"{suffix} ≠ {found}")
    return Check(name, OK, f"{size // 1024} KB")


class LinkCache:
    """URL -> (status, detail, checked_at) in a JSON file; entries older than max_age are stale.

    The file is validated on load: an entry of the wrong shape (not an object, no known
    ``status``, a ``checked_at`` that is not a finite number) is dropped, and a file that is not
    a JSON object at all counts as empty. :meth:`save` merges this run's entries with what is on
    disk under a lock (``<cache>.lock``), so two runs sharing one cache lose nothing.
    """

    def __init__(self, path: Path | None, max_age: float):
        self.path = path
        self.max_age = max_age
        self.entries: dict[str, dict[str, Any]] = load_cache_entries(path) if path else {}
        self._added: dict[str, dict[str, Any]] = {}

    def get(self, url: str, now: float) -> Check | None:
        e = self.entries.get(url)
        if e and now - e["checked_at"] <= self.max_age:
            return Check(url, e["status"], e["detail"])
        return None

    def put(self, check: Check, now: float) -> None:
        entry = {"status": check.status, "detail": check.detail, "checked_at": float(now)}
        self.entries[check.target] = entry
        self._added[check.target] = entry

    def save(self) -> None:
        """Merge this run's entries into the file on disk (newest wins); never raises OSError."""
        if not self.path or not self._added:
            return
        tmp = None
        try:
            if not self.path.parent.exists():
                # Its own folder only for its owner (0700): the user's monev cache folder, where
                # the secret and compiled templates are kept only while no one else may write
                # (monev.resources.private_folder); a umask of 002 made it group-writable.
                self.path.parent.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(FileExistsError):
                    os.mkdir(self.path.parent, 0o700)
            with _file_lock(self.path):
                merged = load_cache_entries(self.path)
                for url, entry in self._added.items():
                    old = merged.get(url)
                    if old is None or old["checked_at"] <= entry["checked_at"]:
                        merged[url] = entry
                fd, tmp = tempfile.mkstemp(
                    dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
                )
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(merged, fh, indent=1, sort_keys=True)
                os.chmod(tmp, 0o666 & ~_umask())  # as a plain open() would create it
                os.replace(tmp, self.path)
                tmp = None
            self.entries = merged
            self._added = {}
        except OSError:
            pass  # a cache that cannot be written costs a re-fetch next time, not the run
        finally:
            if tmp:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def load_cache_entries(path: Path) -> dict[str, dict[str, Any]]:
    """The valid entries of a cache file; anything unreadable or of the wrong shape is dropped."""
    try:
        if path.stat().st_size > MAX_CACHE_BYTES:
            return {}
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    entries: dict[str, dict[str, Any]] = {}
    for url, e in data.items():
        if not (isinstance(url, str) and isinstance(e, dict)):
            continue
        status, detail, at = e.get("status"), e.get("detail", ""), e.get("checked_at")
        if status not in CACHED_STATUSES or not isinstance(detail, str):
            continue
        if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
            continue
        entries[url] = {"status": status, "detail": detail, "checked_at": float(at)}
    return entries


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (no lock where the platform has no fcntl)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; the merge still keeps what was on disk before
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def default_cache_path() -> Path | None:
    """``links.json`` in monev's folder of the user's cache (:func:`monev.resources.user_cache`:
    a relative ``XDG_CACHE_HOME`` is ignored); None (no cache) when there is no such folder."""
    from monev.resources import user_cache

    folder = user_cache()
    return None if folder is None else folder / "links.json"


class Refused(Exception):
    """A server answer monev will not read (an encoding it cannot decode within the cap)."""


class InternalAddress(Exception):
    """A host that resolves to a loopback, private, link-local or otherwise internal address."""

    def __init__(self, host: str, address: str):
        super().__init__(f"{host} -> {address}")
        self.host = host
        self.address = address


def internal_address(text: str) -> bool:
    """Is this IP address one a link must not reach (anything not globally routable)?

    IPv6 forms that carry an IPv4 address (mapped, 6to4, Teredo, NAT64) are judged by it too.
    Something that does not parse as an address counts as internal.
    """
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and internal_address(str(embedded)):
            return True
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (blocking; run in a thread)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class BodyDecoder:
    """Decode a response body incrementally without ever holding more than ``limit`` bytes.

    Only identity, gzip and deflate are read, one at a time: stacked encodings (``gzip, gzip``,
    1.8 KB on the wire for gigabytes decoded) and any other encoding raise :class:`Refused`.
    """

    def __init__(self, content_encoding: str, limit: int):
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1:
            raise Refused(f"stacked Content-Encoding: {', '.join(codings)}"[:80])
        if codings and codings[0] not in ("gzip", "x-gzip", "deflate"):
            raise Refused(f"Content-Encoding: {codings[0]}"[:80])
        self.coding = codings[0] if codings else ""
        self.limit = limit
        self.size = 0
        self._z: Any = None
        self._members = 0

    @property
    def full(self) -> bool:
        return self.size >= self.limit

    def feed(self, raw: bytes) -> bytes:
        out = bytearray()
        data = raw
        while data and self.size + len(out) < self.limit:
            room = self.limit - self.size - len(out)
            if not self.coding:
                out += data[:room]
                break
            if self._z is None:
                if self._members and self.coding == "deflate":
                    break  # bytes after the end of a deflate stream: ignored
                self._z = zlib.decompressobj(self._wbits(data))
                self._members += 1
            try:
                out += self._z.decompress(data, room)
            except zlib.error:
                if self._members > 1:
                    break  # garbage after a complete gzip member: ignored
                raise Refused(f"{self.coding} data not readable") from None
            if self._z.eof:
                data, self._z = self._z.unused_data, None
            else:
                data = self._z.unconsumed_tail
        self.size += len(out)
        return bytes(out)

    def _wbits(self, data: bytes) -> int:
        if self.coding != "deflate":
            return 16 + zlib.MAX_WBITS
        header = int.from_bytes(data[:2], "big")
        zlib_header = len(data) >= 2 and data[0] & 0x0F == 8 and header % 31 == 0
        return zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS


def _pinned_backend(inner: Any, allowed: Callable[[str], bool]) -> Any:
    """A network backend that resolves each host itself, refuses internal addresses and connects
    to the very address it checked (so a second DNS answer cannot point elsewhere: rebinding)."""
    import httpcore

    class PinnedBackend(httpcore.AsyncNetworkBackend):
        async def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Any = None,
        ) -> Any:
            kw = {"timeout": timeout, "local_address": local_address}
            kw["socket_options"] = socket_options
            if allowed(host):
                return await inner.connect_tcp(host, port, **kw)
            import asyncio

            loop = asyncio.get_running_loop()
            try:
                addresses = await loop.run_in_executor(None, resolve, host, port)
            except OSError as exc:
                raise httpcore.ConnectError(str(exc)) from exc
            for address in addresses:
                if internal_address(address):
                    raise InternalAddress(host, address)
            last: Exception = httpcore.ConnectError(f"{host}: no address")
            for address in addresses:
                try:
                    return await inner.connect_tcp(address, port, **kw)
                except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                    last = exc
            raise last

        async def connect_unix_socket(self, *args: Any, **kw: Any) -> Any:
            return await inner.connect_unix_socket(*args, **kw)

        async def sleep(self, seconds: float) -> None:
            await inner.sleep(seconds)

    return PinnedBackend()


@dataclass
class LinkChecker:
    """Fetch evidence URLs concurrently and classify each (see :func:`classify_response`).

    ``timeout`` bounds each link as a whole (connecting, headers, body, redirects and retries);
    ``run_timeout`` bounds the whole run: links not reached by then are "not checked". A host
    resolving to an internal address (loopback, private, link-local, ...) is not fetched, at any
    redirect hop, unless ``allow_internal`` or the host is in ``allow_hosts``: such a link is
    "not checked" too and, like a link not checked at all, does not lower the score.
    """

    cache_path: Path | None = None
    max_age: float = 24 * 3600
    timeout: float = 10.0
    retries: int = 2
    per_host: int = 4
    concurrency: int = 32
    progress: Callable[[int, int], None] | None = None
    run_timeout: float = 600.0
    allow_internal: bool = False
    allow_hosts: Iterable[str] = ()
    fetched: int = 0  # how many URLs went to the network in the last run (cache misses)

    def check(self, urls: Iterable[str]) -> dict[str, Check]:
        unique = sorted(set(urls))
        cache = LinkCache(self.cache_path, self.max_age)
        now = time.time()
        results: dict[str, Check] = {}
        todo = []
        for url in unique:
            hit = cache.get(url, now)
            if hit:
                results[url] = hit
            else:
                todo.append(url)
        self.fetched = len(todo)
        if todo:
            import asyncio  # here: its import is not paid by runs without link checks

            fetched = asyncio.run(self._fetch_all(todo, len(unique) - len(todo), len(unique)))
            for check in fetched:
                results[check.target] = check
                if check.status in CACHED_STATUSES:
                    cache.put(check, now)
            cache.save()
        elif self.progress:
            self.progress(len(unique), len(unique))
        return results

    def _allowed(self, host: str) -> bool:
        names = {h.strip().lower().rstrip(".") for h in self.allow_hosts}
        return self.allow_internal or host.lower().rstrip(".") in names

    async def _fetch_all(self, urls: list[str], done: int, total: int) -> list[Check]:
        import asyncio

        import httpx

        overall = asyncio.Semaphore(self.concurrency)
        hosts: dict[str, asyncio.Semaphore] = {}
        counter = [done]
        limits = httpx.Limits(
            max_connections=self.concurrency, max_keepalive_connections=self.concurrency
        )
        transport = httpx.AsyncHTTPTransport(limits=limits, verify=True)
        pool = getattr(transport, "_pool", None)
        if not self.allow_internal and hasattr(pool, "_network_backend"):
            # Pin each connection to the address that passed the check (DNS rebinding).
            pool._network_backend = _pinned_backend(pool._network_backend, self._allowed)  # type: ignore[union-attr]
        async with httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(self.timeout),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            transport=transport,
        ) as client:

            async def one(url: str) -> Check:
                host = urlsplit(url).hostname or ""
                sem = hosts.setdefault(host, asyncio.Semaphore(self.per_host))
                async with overall, sem:
                    result = await self._fetch(client, url)
                counter[0] += 1
                if self.progress:
                    self.progress(counter[0], total)
                return result

            tasks = [asyncio.ensure_future(one(u)) for u in urls]
            _, pending = await asyncio.wait(tasks, timeout=self.run_timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if pending and self.progress:
            self.progress(total, total)
        return [
            Check(u, NOT_CHECKED, RUN_LIMIT) if t in pending else t.result()
            for u, t in zip(urls, tasks, strict=True)
        ]

    async def _fetch(self, client: Any, url: str) -> Check:
        """One link within its whole budget (``timeout``), retries included."""
        import asyncio

        last = [Check(url, UNREACHABLE, "timeout")]
        try:
            return await asyncio.wait_for(self._attempts(client, url, last), self.timeout)
        except asyncio.TimeoutError:
            if last[0].detail.startswith("HTTP 5"):
                return last[0]
            return Check(url, UNREACHABLE, "timeout")

    async def _attempts(self, client: Any, url: str, last: list[Check]) -> Check:
        import asyncio

        import httpx

        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(0.2 * 2 ** (attempt - 1))
            try:
                result = await self._follow(client, url)
            except InternalAddress as exc:
                return Check(url, NOT_CHECKED, exc.address)
            except Refused as exc:
                return Check(url, REFUSED, str(exc))
            except httpx.TimeoutException:
                result = Check(url, UNREACHABLE, "timeout")
            except httpx.InvalidURL:
                return Check(url, BROKEN, "invalid URL")
            except (httpx.HTTPError, OSError, ValueError) as exc:
                result = Check(url, UNREACHABLE, type(exc).__name__)
            last[0] = result
            if result.status != UNREACHABLE and not result.detail.startswith("HTTP 5"):
                return result
        return last[0]

    async def _follow(self, client: Any, url: str) -> Check:
        """GET ``url``, following redirects one hop at a time; every hop's host is checked."""
        import httpx

        hops: list[str] = []
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            await self._guard(current)
            status, ctype, body, location = await self._get(client, current)
            hops.append(current)
            if location is None:
                return classify_response(url, status, ctype, body, hops)
            try:
                current = str(httpx.URL(current).join(location))
            except (httpx.InvalidURL, ValueError):
                return Check(url, BROKEN, "invalid redirect")
            if not is_url(current):
                return Check(url, BROKEN, "redirect to a non-http link")
            if current in hops:
                return Check(url, BROKEN, "redirect loop")
        return Check(url, BROKEN, "redirect loop")

    async def _guard(self, url: str) -> None:
        """Refuse a hop whose host resolves to an internal address (also when a proxy is used)."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not host or self._allowed(host):
            return  # no host: httpx refuses the URL itself
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        import asyncio

        try:
            addresses = await asyncio.get_running_loop().run_in_executor(None, resolve, host, port)
        except (OSError, UnicodeError):
            return  # not resolvable here: the request fails, or a proxy resolves it
        for address in addresses:
            if internal_address(address):
                raise InternalAddress(host, address)

    async def _get(self, client: Any, url: str) -> tuple[int, str, bytes, str | None]:
        """(status, content type, first bytes of the decoded body, redirect location)."""
        async with client.stream("GET", url) as r:
            if r.status_code in REDIRECT_CODES and r.headers.get("location"):
                return r.status_code, "", b"", r.headers["location"]
            ctype = r.headers.get("content-type", "")
            if r.status_code >= 400:
                return r.status_code, ctype, b"", None
            limit = 16 if ctype.lower().startswith(DOCUMENT_TYPES) else MAX_BODY_BYTES
            decoder = BodyDecoder(r.headers.get("content-encoding", ""), limit)
            body = bytearray()
            wire = 0
            async for raw in r.aiter_raw():
                wire += len(raw)
                body += decoder.feed(raw)
                if decoder.full or wire >= MAX_BODY_BYTES:
                    break
            return r.status_code, ctype, bytes(body), None


def evidence_targets(q: Questionnaire) -> tuple[list[str], list[str]]:
    """(URLs, file names) named as evidence of positive answers in ``q``."""
    urls: list[str] = []
    files: list[str] = []
    for a in q.answers.values():
        if not (a.parsed and a.parsed.value):
            continue
        for item in a.evidence_items:
            if item.verifiable:
                (urls if item.kind == URL else files).append(item.target)
    return urls, files


def apply_checks(q: Questionnaire, folder: Path, links: dict[str, Check]) -> Questionnaire:
    """Mark answers whose every piece of evidence failed, and add a problem for each failure."""
    answers = dict(q.answers)
    problems = list(q.problems)
    for code, a in q.answers.items():
        if not (a.parsed and a.parsed.value):
            continue
        parts = [i for i in a.evidence_items if i.verifiable]
        if not parts:
            continue  # nothing a verifier can open: already 0 (evidence_unverifiable)
        checks = [
            links.get(p.target) or Check(p.target, UNREACHABLE, "not checked")
            if p.kind == URL
            else check_file(p.target, folder)
            for p in parts
        ]
        for c in checks:
            if c.status == NOT_CHECKED:
                problems.append(_not_checked_problem(q.file, a.evidence_cell, code, c))
            elif not c.ok:
                problems.append(
                    Problem.make(
                        "MV304" if is_url(c.target) else "MV305",
                        q.file,
                        SHEET_QUESTIONS,
                        a.evidence_cell,
                        code=code,
                        target=c.target[:80],
                        reason=Key(f"evidence.{c.status}"),
                        detail=c.detail,
                    )
                )
        if not any(c.counts for c in checks):
            answers[code] = dataclasses.replace(
                a, evidence_failed=",".join(sorted({c.status for c in checks}))
            )
    return dataclasses.replace(q, answers=answers, problems=problems)


def _not_checked_problem(file: str, cell: str, code: str, c: Check) -> Problem:
    """MV307 when the run's time was up before the link, MV306 for an internal address."""
    if c.detail == RUN_LIMIT:
        return Problem.make("MV307", file, SHEET_QUESTIONS, cell, code=code, target=c.target[:80])
    return Problem.make(
        "MV306", file, SHEET_QUESTIONS, cell, code=code, target=c.target[:80], address=c.detail
    )
