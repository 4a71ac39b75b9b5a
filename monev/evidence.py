"""Optional step between reading and scoring: does the evidence survive a verifier's check?

KI verifiers open every evidence link. A link that is broken, unreachable, asks for a login or an
access request (Google Drive answers 200 with a "Request access" page), or does not lead to a
document (an empty page, a folder listing, a home page) does not count; nor does a file name whose
file is missing beside the workbook, is not a PDF or image, or is over 2 MB (the KI e-monev limit).

Nothing here runs unless asked (``--check-links``). Links are fetched concurrently with httpx,
bounded per host and overall, with timeouts, retries and an on-disk cache with a maximum age.
The results are plain data (:class:`Check`) that :func:`apply_checks` attaches to a questionnaire;
scoring stays pure.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import time
from collections.abc import Callable, Iterable
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
        return Check(name, FILE_TYPE, f"{suffix} ≠ isi")
    return Check(name, OK, f"{size // 1024} KB")


class LinkCache:
    """URL -> (status, detail, checked_at) in a JSON file; entries older than max_age are stale."""

    def __init__(self, path: Path | None, max_age: float):
        self.path = path
        self.max_age = max_age
        self.entries: dict[str, dict[str, Any]] = {}
        if path and path.is_file():
            try:
                self.entries = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.entries = {}

    def get(self, url: str, now: float) -> Check | None:
        e = self.entries.get(url)
        if e and now - float(e.get("checked_at", 0)) <= self.max_age:
            return Check(url, str(e["status"]), str(e.get("detail", "")))
        return None

    def put(self, check: Check, now: float) -> None:
        self.entries[check.target] = {
            "status": check.status,
            "detail": check.detail,
            "checked_at": now,
        }

    def save(self) -> None:
        if not self.path:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.entries, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)


def default_cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "monev" / "links.json"


@dataclass
class LinkChecker:
    """Fetch evidence URLs concurrently and classify each (see :func:`classify_response`)."""

    cache_path: Path | None = None
    max_age: float = 24 * 3600
    timeout: float = 10.0
    retries: int = 2
    per_host: int = 4
    concurrency: int = 32
    progress: Callable[[int, int], None] | None = None
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
            fetched = asyncio.run(self._fetch_all(todo, len(unique) - len(todo), len(unique)))
            for check in fetched:
                results[check.target] = check
                cache.put(check, now)
            cache.save()
        elif self.progress:
            self.progress(len(unique), len(unique))
        return results

    async def _fetch_all(self, urls: list[str], done: int, total: int) -> list[Check]:
        import httpx

        overall = asyncio.Semaphore(self.concurrency)
        hosts: dict[str, asyncio.Semaphore] = {}
        counter = [done]
        limits = httpx.Limits(
            max_connections=self.concurrency, max_keepalive_connections=self.concurrency
        )
        async with httpx.AsyncClient(
            follow_redirects=True,
            max_redirects=10,
            timeout=httpx.Timeout(self.timeout),
            limits=limits,
            headers={"User-Agent": USER_AGENT},
            verify=True,
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

            return list(await asyncio.gather(*(one(u) for u in urls)))

    async def _fetch(self, client: Any, url: str) -> Check:
        import httpx

        last = Check(url, UNREACHABLE, "?")
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(0.2 * 2 ** (attempt - 1))
            try:
                async with client.stream("GET", url) as r:
                    body = b""
                    ctype = r.headers.get("content-type", "")
                    if not ctype.lower().startswith(DOCUMENT_TYPES):
                        async for chunk in r.aiter_bytes():
                            body += chunk
                            if len(body) >= MAX_BODY_BYTES:
                                break
                    else:
                        async for chunk in r.aiter_bytes():
                            body = chunk[:16]
                            break
                    hops = [str(h.url) for h in r.history] + [str(r.url)]
                    last = classify_response(url, r.status_code, ctype, body, hops)
            except httpx.TooManyRedirects:
                return Check(url, BROKEN, "redirect loop")
            except httpx.TimeoutException:
                last = Check(url, UNREACHABLE, "timeout")
            except httpx.InvalidURL:
                return Check(url, BROKEN, "invalid URL")
            except (httpx.HTTPError, OSError, ValueError) as exc:
                last = Check(url, UNREACHABLE, type(exc).__name__)
            if last.status != UNREACHABLE and not last.detail.startswith("HTTP 5"):
                return last
        return last


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
            if not c.ok:
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
        if not any(c.ok for c in checks):
            answers[code] = dataclasses.replace(
                a, evidence_failed=",".join(sorted({c.status for c in checks}))
            )
    return dataclasses.replace(q, answers=answers, problems=problems)
