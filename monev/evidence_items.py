"""What an evidence cell offers a verifier, item by item.

A cell's evidence is its hyperlink target plus the items in its text: first every URL (with a
scheme; ``www.…`` or a domain with a path is accepted too, with a warning to add ``https://``), then
the rest split on new lines, commas and semicolons, surrounding punctuation stripped. A file name
may contain spaces.

Only two kinds of item can be opened by a verifier: a **url** and a bare **file** name of a
document or image (to be sent with, or found beside, the workbook). A **local_path** (``C:\\…``,
a folder path) points at the officer's own computer; anything else (``-``, ``lihat lampiran``,
``ada di kantor``) is **other**. Evidence counts in the verifiable score only if at least one item
can be opened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

URL, FILE, LOCAL_PATH, OTHER = "url", "file", "local_path", "other"

DOCUMENT_SUFFIXES = "pdf|jpe?g|png|gif|webp|docx?|xlsx?|odt|ods|pptx?"
_FILE = re.compile(rf"^[^/\\:*?\"<>|]+\.({DOCUMENT_SUFFIXES})$", re.I)
_LOCAL = re.compile(rf"^([a-z]:[\\/]|\\\\|~[\\/]|/|file:)|[\\/].*\.({DOCUMENT_SUFFIXES})$", re.I)
# A URL ends at white space, a comma or a semicolon, or where the next URL starts.
_SCHEME_URL = re.compile(r"https?://[^\s,;<>\"'\[\]{}]+?(?=https?://|[\s,;<>\"'\[\]{}]|$)", re.I)
_BARE_URL = re.compile(
    r"(?<![\w@./-])(?:www\.[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/[^\s,;<>\"']*)?"
    r"|(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}/[^\s,;<>\"']*)",
    re.I,
)
_SPLIT = re.compile(r"[\n\r,;]+")
_TRAILING = ".:!?)]}'\">"
_STRIP = " \t\"'()[]{}<>.:!?*•·–—-"


@dataclass(frozen=True)
class EvidenceItem:
    kind: str  # url, file, local_path or other
    text: str  # as written (trimmed)
    target: str = ""  # the URL to open (with https:// added where it was missing) or file name
    scheme_added: bool = False
    from_link: bool = False  # the cell's hyperlink, not its text

    @property
    def verifiable(self) -> bool:
        return self.kind in (URL, FILE)

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "text": self.text, "target": self.target}


def _clean_url(url: str) -> str:
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def _link_item(link: str) -> EvidenceItem:
    link = link.strip()
    if re.match(r"https?://", link, re.I):
        return EvidenceItem(URL, link, link, from_link=True)
    if re.match(r"www\.", link, re.I):
        return EvidenceItem(URL, link, "https://" + link, scheme_added=True, from_link=True)
    if _LOCAL.search(link):
        return EvidenceItem(LOCAL_PATH, link, from_link=True)
    if _FILE.match(link):
        return EvidenceItem(FILE, link, link, from_link=True)
    return EvidenceItem(OTHER, link, from_link=True)


def _piece(piece: str) -> EvidenceItem | None:
    """One piece of text between separators; None when it is only spaces or punctuation."""
    raw = " ".join(piece.split())
    text = raw.strip(_STRIP)
    if not text:
        return None
    if _LOCAL.search(text):
        return EvidenceItem(LOCAL_PATH, text)
    if _FILE.match(text):
        return EvidenceItem(FILE, text, text)
    return EvidenceItem(OTHER, raw)


def parse_evidence(text: str, link: str = "") -> tuple[EvidenceItem, ...]:
    """The items of one evidence cell: its hyperlink target, then URLs, then other pieces.

    With a hyperlink, the cell's text is its display label: only URLs and file names in it are
    items, not the label itself (``Lihat dokumen``).
    """
    items: list[EvidenceItem] = []
    seen: set[str] = set()

    def add(item: EvidenceItem) -> None:
        key = item.target or item.text
        if key not in seen:
            seen.add(key)
            items.append(item)

    if link.strip():
        add(_link_item(link))
    rest = text or ""
    for m in _SCHEME_URL.finditer(rest):
        url = _clean_url(m.group(0))
        if len(url) > len("https://"):
            add(EvidenceItem(URL, url, url))
    rest = _SCHEME_URL.sub(" ", rest)
    for m in _BARE_URL.finditer(rest):
        url = _clean_url(m.group(0))
        add(EvidenceItem(URL, url, "https://" + url, scheme_added=True))
    rest = _BARE_URL.sub(" ", rest)
    for piece in _SPLIT.split(rest):
        item = _piece(piece)
        if item is None or (link.strip() and not item.verifiable):
            continue
        add(item)
    if not items and (text or "").strip():
        # Only punctuation (``-``, ``...``): still something typed, and nothing to open.
        add(EvidenceItem(OTHER, " ".join(text.split())))
    return tuple(items)
