"""What an evidence cell offers a verifier, item by item.

A cell's evidence is its hyperlink target plus the items in its text: first every URL (with a
scheme; ``www.…``, a domain with a path or a bare ``….go.id`` domain is accepted too, with a
warning to add ``https://``), then the rest split on new lines, commas, semicolons, ``|`` and the
word ``dan``, surrounding punctuation stripped. A file name may contain spaces.

Only two kinds of item can be opened by a verifier: a **url** and a bare **file** name of a
document or image (to be sent with, or found beside, the workbook). A **local_path** (``C:\\…``,
a folder path) points at the officer's own computer; a **mistyped** link (``htps://…``,
``http//…``) opens nothing; anything else (``-``, ``lihat lampiran``, ``ada di kantor``) is
**other**. Evidence counts in the verifiable score only if at least one item can be opened.

Parsing is linear in the length of the cell, and only the first :data:`MAX_PARSED` characters of
a cell are split into items (a cell holds at most 32,767).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

URL, FILE, LOCAL_PATH, MISTYPED, OTHER = "url", "file", "local_path", "mistyped", "other"

MAX_PARSED = 8_000
DOCUMENT_SUFFIXES = "pdf|jpe?g|png|gif|webp|docx?|xlsx?|odt|ods|pptx?"
_FILE = re.compile(rf"^[^/\\:*?\"<>|]+\.({DOCUMENT_SUFFIXES})$", re.I)
_DOC_SUFFIX = re.compile(rf"\.({DOCUMENT_SUFFIXES})$", re.I)
_LOCAL_START = re.compile(r"^([a-z]:[\\/]|\\\\|~[\\/]|/|file:)", re.I)
# Characters that end a URL: white space, separators, quotes and brackets of any script.
_URL_STOP = "\\s,;<>\"'\\[\\]{}|“”‘’«»（）【】「」\u200b\u200c\u200d\u2060\ufeff"
_SCHEME_URL = re.compile(rf"https?://[^{_URL_STOP}]+?(?=https?://|[{_URL_STOP}]|$)", re.I)
# The same first URL when it spans the whole text (see _one_url): a greedy run, then a check
# that no other scheme starts after the first character of the address.
_WHOLE_URL = re.compile(rf"(https?://)[^{_URL_STOP}]+", re.I)
_SCHEME = re.compile(r"https?://", re.I)
_WORD_END = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_TLDS = "id|com|net|org|info|io|co|gov|edu|biz|me|app|site|online|xyz|link|ly|gl"
_BARE_URL = re.compile(
    rf"(?<![\w@./-])(?:www\.[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/[^{_URL_STOP}]*)?"
    rf"|(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{{2,}}/[^{_URL_STOP}]*"
    rf"|(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:{_TLDS})(?![\w.]))",
    re.I,
)
_MISTYPED = re.compile(r"^(h?t{1,2}p?s?[:;]?/{1,2}|h?t{1,2}ps?//|ftp://|https?:/(?!/))\S", re.I)
_SPLIT = re.compile(r"[\n\r,;|]+|\s+dan\s+", re.I)
_TRAILING_NOTE = re.compile(r"\s*[(（][^()（）]*[)）]$")
_STRIP = " \t\"'()[]{}<>.:!?*•·–—-“”‘’«»（）"


@dataclass(frozen=True)
class EvidenceItem:
    kind: str  # url, file, local_path, mistyped or other
    text: str  # as written (trimmed)
    target: str = ""  # the URL to open (with https:// added where it was missing) or file name
    scheme_added: bool = False
    from_link: bool = False  # the cell's hyperlink, not its text

    @property
    def verifiable(self) -> bool:
        return self.kind in (URL, FILE)

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "text": self.text, "target": self.target}


def _trim_end(url: str) -> str:
    """Drop punctuation that ends a sentence, not the URL (one pass, from the end)."""
    if url[-1:] in _WORD_END:
        return url  # the loop below stops at once at a letter or digit
    end = len(url)
    opened = url.count("(")
    closed = url.count(")")
    while end:
        ch = url[end - 1]
        if ch == ")" and opened >= closed:
            break  # .../wiki/A_(b)
        if ch == ")" or ch in ".:!?'\">" or unicodedata.category(ch) in ("Pe", "Pf", "Po", "Cf"):
            if ch == ")":
                closed -= 1
            end -= 1
            continue
        break
    return url[:end]


def _is_local(text: str) -> bool:
    """A path on the officer's computer: a drive, a share, a home or absolute folder, or a
    document inside a folder (``Dokumen/sk.pdf``)."""
    if _LOCAL_START.match(text):
        return True
    return ("/" in text or "\\" in text) and bool(_DOC_SUFFIX.search(text))


def _link_item(link: str) -> EvidenceItem:
    link = link.strip()
    if re.match(r"https?://", link, re.I):
        return EvidenceItem(URL, link, link, from_link=True)
    if re.match(r"www\.", link, re.I):
        return EvidenceItem(URL, link, "https://" + link, scheme_added=True, from_link=True)
    name = unquote(link)  # Excel stores a link to "SK PPID.pdf" beside the file as SK%20PPID.pdf
    if name.startswith("../") and _FILE.match(name[3:]):
        name = name[3:]  # LibreOffice writes links relative to the file itself: ../SK PPID.pdf
    if _FILE.match(name):
        return EvidenceItem(FILE, name, name, from_link=True)
    if _is_local(name):
        return EvidenceItem(LOCAL_PATH, name, from_link=True)
    return EvidenceItem(OTHER, link, from_link=True)


def _piece(piece: str) -> EvidenceItem | None:
    """One piece of text between separators; None when it is only spaces or punctuation."""
    visible = (  # zero-width characters dropped (ASCII has none)
        piece
        if piece.isascii()
        else "".join(ch for ch in piece if unicodedata.category(ch) != "Cf")
    )
    raw = " ".join(visible.split())
    text = raw.strip(_STRIP)
    if not text:
        return None
    if _MISTYPED.match(text):
        return EvidenceItem(MISTYPED, text)
    if _is_local(text):
        return EvidenceItem(LOCAL_PATH, text)
    name = _TRAILING_NOTE.sub("", raw).strip(_STRIP)  # "sk ppid.pdf (terlampir)"
    if _FILE.match(name):
        return EvidenceItem(FILE, name, name)
    return EvidenceItem(OTHER, raw)


def _one_url(text: str) -> bool:
    """Does ``_SCHEME_URL.match(text)`` span the whole text? Without that lazy match, which
    tries its lookahead at every character (three times slower on a typical link).

    The lazy match stops at the first position after the address's first character where a
    stop character, the end or another ``https?://`` comes: it spans the text exactly when the
    text is a scheme and stop-free characters (the greedy run) and no scheme starts there.
    Another scheme needs a ``://`` after that position; only then is it looked for.
    """
    whole = _WHOLE_URL.fullmatch(text)
    if whole is None:
        return False
    after = whole.end(1) + 1
    return text.find("://", after) == -1 or _SCHEME.search(text, after) is None


def parse_evidence(text: str, link: str = "") -> tuple[EvidenceItem, ...]:
    """The items of one evidence cell: its hyperlink target, then URLs, then other pieces.

    With a hyperlink, the cell's text is its display label: only URLs and file names in it are
    items, not the label itself (``Lihat dokumen``).
    """
    text = text or ""
    if not link.strip():
        if not text:
            return ()  # an empty cell (most of a workbook's unanswered rows)
        if len(text) <= MAX_PARSED and _one_url(text):
            # The most common filled cell, one link and nothing else: what the steps below
            # give for it (the link, and no other piece), without them.
            url = _trim_end(text)
            if len(url) > len("https://"):
                return (EvidenceItem(URL, url, url),)
    items: list[EvidenceItem] = []
    seen: set[str] = set()

    def add(item: EvidenceItem) -> None:
        key = item.target or item.text
        if key not in seen:
            seen.add(key)
            items.append(item)

    if link.strip():
        add(_link_item(link))
    rest = (text or "")[:MAX_PARSED]
    for m in _SCHEME_URL.finditer(rest):
        url = _trim_end(m.group(0))
        if len(url) > len("https://"):
            add(EvidenceItem(URL, url, url))
    rest = _SCHEME_URL.sub(" ", rest)
    for m in _BARE_URL.finditer(rest):
        url = _trim_end(m.group(0))
        if not _DOC_SUFFIX.search(url):  # "sk.pdf" is a file name, not a domain
            add(EvidenceItem(URL, url, "https://" + url, scheme_added=True))
    rest = _BARE_URL.sub(lambda m: m.group(0) if _DOC_SUFFIX.search(m.group(0)) else " ", rest)
    for piece in _SPLIT.split(rest):
        item = _piece(piece)
        if item is None or (link.strip() and not item.verifiable):
            continue
        add(item)
    if not items and (text or "").strip():
        # Only punctuation (``-``, ``...``): still something typed, and nothing to open.
        add(EvidenceItem(OTHER, " ".join(text.split())[:200]))
    return tuple(items)
