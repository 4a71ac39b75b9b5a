"""Differential tests for the reader's and scorer's fast paths (issue 13: CPU per workbook).

Each fast path replaced a plain version; here both run on random inputs and must agree exactly,
so the equivalence is proved on many cases rather than assumed.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import zipfile
from fractions import Fraction
from pathlib import Path
from xml.etree.ElementTree import ParseError
from xml.parsers import expat

import pytest
from helpers import questionnaire, small_rubric
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monev import cells, limits, scan, scoring, workbook
from monev import evidence_items as ev
from monev import rubric as rubric_module
from monev.problems import Key
from monev.rounding import round_half_up
from monev.rubric import Checklist, Rounding, Rubric, load_rubric
from monev.scoring import score, score_indicator

DATA = Path(__file__).parent / "data" / "rubrics"
RUBRICS = [load_rubric(), load_rubric("ki-kalbar-2025"), small_rubric()] + [
    load_rubric(p) for p in sorted(DATA.glob("*.yaml"))
]

# --- the extras' byte checks (monev.cells._may_hold) ---------------------------------------------

_PIECES = [
    b"<",
    b">",
    b"/",
    b":",
    b" ",
    b"\t",
    b"\n",
    b"\r",
    b"\x0b",
    b"\x0c",
    b"f",
    b"x",
    b"x:",
    b"_1",
    b"c",
    b"s",
    b"e",
    b'"',
    b"=",
    b"t",
    b"hyperlink",
    b"formula1",
    b't="e"',
    b' t="e"',
    b"\tt=",
    b"<c ",
    b"<f>",
    b"</f>",
]
_XMLISH = st.lists(st.sampled_from(_PIECES), max_size=40).map(b"".join)


@settings(max_examples=3000, deadline=None)
@given(_XMLISH)
def test_the_byte_checks_answer_as_the_patterns_do(data):
    for pattern in (cells._FORMULA_TAG, cells._HYPERLINK_TAG, cells._ERROR_CELL):
        assert cells._may_hold(data, pattern) == (pattern.search(data) is not None), data


@pytest.mark.parametrize(
    ("data", "formula", "link", "error"),
    [
        (b"<formula1>0</formula1><hyperlinks/>", False, False, False),
        (b"<c r='A1'><f>1+1</f></c>", True, False, False),
        (b"<x:f\n/>", True, False, False),
        (b'<hyperlink ref="A1"/>', False, True, False),
        (b'<c r="A1"\tt="e"><v>#N/A</v></c>', False, False, True),
        (b'<c r="A1" tt="e"/>', False, False, False),  # tt= is not t=
        (b"<f", False, False, False),  # the name runs to the end of the data
    ],
)
def test_the_byte_checks_on_sheet_fragments(data, formula, link, error):
    assert cells._may_hold(data, cells._FORMULA_TAG) is formula
    assert cells._may_hold(data, cells._HYPERLINK_TAG) is link
    assert cells._may_hold(data, cells._ERROR_CELL) is error


# --- the scorer's arithmetic (monev.scoring) -----------------------------------------------------

_FRACTIONS = st.fractions(min_value=-10, max_value=10, max_denominator=1000)


@given(st.lists(_FRACTIONS, max_size=30))
def test_sum_is_the_exact_sum(values):
    assert scoring._sum(values) == sum(values, Fraction(0))
    assert type(scoring._sum(values)) is Fraction


@given(_FRACTIONS, st.one_of(_FRACTIONS, st.sampled_from([Fraction(0), Fraction(1)])))
def test_times_is_the_product(a, b):
    assert scoring._times(a, b) == a * b
    assert type(scoring._times(a, b)) is Fraction


def _rounded(value: Fraction, places: int | None) -> Fraction:
    return value if places is None else Fraction(round_half_up(value, places))


def _reference(rubric: Rubric, q) -> tuple:
    """The scorer's totals computed the plain way (one Fraction sum per step), as before."""
    shares = rubric.max_points()
    inds = [
        score_indicator(i, q.answers, shares.get(i.code, Fraction(0)), rubric)
        for a in rubric.aspects
        for i in rubric.indicators_of(a.code)
    ]
    r = rubric.rounding
    places = r.indicators
    claimed_of = {s.code: _rounded(s.max_points * s.value_claimed, places) for s in inds}
    kept_of = {s.code: _rounded(s.max_points * s.value, places) for s in inds}
    where = {i.code: i.group for i in rubric.indicators}

    def node(code: str) -> tuple[Fraction, Fraction]:
        c = sum((claimed_of[s.code] for s in inds if where.get(s.code) == code), Fraction(0))
        k = sum((kept_of[s.code] for s in inds if where.get(s.code) == code), Fraction(0))
        for g in rubric.groups:
            if g.parent == code:
                gc, gk = node(g.code)
                c, k = c + gc, k + gk
        is_group = any(g.code == code for g in rubric.groups)
        p = r.groups if is_group else None
        return _rounded(c, p), _rounded(k, p)

    aspects = []
    for a in rubric.aspects:
        c = sum(
            (claimed_of[s.code] for s in inds if s.aspect == a.code and where.get(s.code) is None),
            Fraction(0),
        )
        k = sum(
            (kept_of[s.code] for s in inds if s.aspect == a.code and where.get(s.code) is None),
            Fraction(0),
        )
        for g in rubric.groups:
            if g.parent == a.code:
                gc, gk = node(g.code)
                c, k = c + gc, k + gk
        aspects.append((_rounded(c, r.aspects), _rounded(k, r.aspects)))
    groups = [node(g.code) for g in rubric.groups]
    points = [(claimed_of[s.code], kept_of[s.code]) for s in inds]
    return aspects, groups, points


@st.composite
def _answers(draw, rubric: Rubric):
    rows = []
    levels = [lv.name for lv in rubric.verification.levels] if rubric.verification else []
    verdicts = [None, None, *(levels or ["Sesuai", "Tidak Sesuai"])]
    for ind, item in rubric.rows():
        spec = ind.answer
        if item is None and isinstance(spec, Checklist):
            continue
        kind = spec.type
        if kind in ("computed", "number") or draw(st.integers(0, 5)) == 0:
            continue  # unanswered
        if kind == "ya_tidak" or (kind == "checklist" and not spec.options):
            raw: object = draw(st.sampled_from(["Ya", "Tidak"]))
        elif kind in ("options", "checklist"):
            raw = draw(st.sampled_from(spec.choices()))
        elif kind == "percent":
            raw = draw(st.decimals(0, 100, places=2))
        elif kind == "threshold":
            raw = draw(st.integers(0, 30))
        else:
            raw = draw(st.text(max_size=5))
        evidence = draw(st.sampled_from(["", "https://ppid.contoh.go.id/a", "-", "sk.pdf"]))
        verdict = draw(st.sampled_from(verdicts))
        code = item.code if item else ind.code
        rows.append((code, raw, evidence, verdict) if verdict else (code, raw, evidence))
    return rows


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
@pytest.mark.parametrize("rubric", RUBRICS, ids=lambda r: r.id)
@pytest.mark.parametrize("rounding", [None, Rounding(indicators=2, groups=1, aspects=0)])
def test_the_scorer_totals_as_plain_fraction_sums_do(rubric, rounding, data):
    if rounding is not None:
        rubric = rubric.model_copy(update={"rounding": rounding})
    q = questionnaire(rubric, data.draw(_answers(rubric)))
    got = score(rubric, q)
    aspects, groups, points = _reference(rubric, q)
    assert [(a.claimed, a.verifiable) for a in got.aspects] == aspects
    assert [(g.claimed, g.verifiable) for g in got.groups] == groups
    assert [(s.points_claimed, s.points) for s in got.indicators] == points
    assert got.saq_claimed_exact == sum((a[0] for a in aspects), Fraction(0))
    assert got.saq_verifiable_exact == sum((a[1] for a in aspects), Fraction(0))
    for value in (got.saq_claimed_exact, *(a.verifiable for a in got.aspects)):
        assert type(value) is Fraction


def test_a_copy_of_a_rubric_with_other_weights_is_scored_with_its_own_shares():
    """The scorer keeps what it computed of a rubric by the rubric object: a copy with other
    weights (another object) must not be scored with the first one's shares."""
    rubric = small_rubric()
    rows = [("A-01", "Ya", "https://x.go.id/a"), ("A-02", "Ya", "https://x.go.id/b")]
    q = questionnaire(rubric, rows)
    before = score(rubric, q)
    # A-03 weighs 2 of A's 4: make 60 x 2/4 = 30 points of aspect A.
    assert before.aspects[0].verifiable == 30
    heavier = rubric.model_copy(
        update={
            "indicators": [
                replace_weight(i, 6) if i.code == "A-03" else i for i in rubric.indicators
            ]
        }
    )
    # Now A-03 weighs 6 of 8: make 60 x 2/8 = 15 points.
    assert score(heavier, q).aspects[0].verifiable == 15
    assert score(rubric, q).aspects[0].verifiable == 30


def replace_weight(indicator, weight):
    return indicator.model_copy(update={"weight": Fraction(weight)})


def test_reference_is_not_trivially_equal():
    """The differential test above would pass if both sides were 0: make sure real points flow."""
    rubric = load_rubric()
    q = questionnaire(rubric, [("JI-01", "Ya", "https://ppid.contoh.go.id/dip")])
    aspects, _, _ = _reference(rubric, q)
    assert any(a[1] > 0 for a in aspects)
    assert re.fullmatch(r"\d+(\.\d+)?", str(score(rubric, q).saq_verifiable))


# --- the pre-scan's sheet walk (monev.scan._sheet_walk) -----------------------------------------


class _OldExtent(scan._Extent):
    """``_Extent.hit`` as it was: the cell named before the limits are checked."""

    def hit(self, last_row: int, last_col: int) -> None:
        grew = False
        if last_row > self.rows:
            self.rows, grew = last_row, True
        if last_col > self.columns:
            self.columns, grew = last_col, True
        if not grew:
            return
        cell = f"{scan._col_letters(min(last_col, 16384 * 1024))}{last_row}"
        if last_row > limits.MAX_ROWS:
            raise scan._limit(self.file, "rows", last_row, limits.MAX_ROWS, self.sheet, cell)
        if last_col > limits.MAX_COLUMNS:
            raise scan._limit(self.file, "columns", last_col, limits.MAX_COLUMNS, self.sheet, cell)
        if self.rows * self.columns > limits.MAX_CELLS:
            cells = self.rows * self.columns
            raise scan._limit(self.file, "cells", cells, limits.MAX_CELLS, self.sheet, cell)


class _OldWalk:
    """The sheet walk as it was (a class, its state in attributes), the reference."""

    def __init__(self, extent: scan._Extent) -> None:
        self.extent = extent
        self.elements = self.row = self.col = self.cell_depth = self.chars = 0
        self.ends: list[str] = []

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.elements += 1
        depth = self.elements - len(self.ends)
        if depth > limits.MAX_XML_DEPTH or self.elements > limits.MAX_XML_ELEMENTS:
            scan._over(self.extent, depth, self.elements)
        if tag in scan._C:
            ref = attrs.get("r")
            pos = scan._position(ref) if ref else None
            if pos:
                self.row, self.col = pos
            else:
                self.col += 1
            self.cell_depth, self.chars = depth, 0
        elif tag in scan._ROW:
            self.row = scan._int(attrs.get("r"), self.row + 1)
            self.col = 0
            self.cell_depth = 0
        elif tag in scan._VALUE and depth == self.cell_depth + 1 and self.cell_depth:
            self.extent.hit(self.row, self.col)

    def text(self, data: str) -> None:
        if self.cell_depth:
            self.chars += len(data)
            if self.chars > limits.MAX_CELL_CHARS:
                self.extent.chars(self.chars, self.row, self.col)


def _walk(xml: bytes, old: bool) -> object:
    """What a walk of ``xml`` finds: the extent, or the problem that refused it."""
    parser = expat.ParserCreate(namespace_separator=scan._SEP)
    if old:
        extent: scan._Extent = _OldExtent("f.xlsx", "Kuesioner")
        w = _OldWalk(extent)
        handlers = (w.start, w.ends.append, w.text)
    else:
        extent = scan._Extent("f.xlsx", "Kuesioner")
        handlers = scan._sheet_walk(extent)
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = handlers
    parser.buffer_text = True
    try:
        parser.Parse(xml, True)
    except scan._Refuse as refused:
        p = refused.problem
        return (p.code, p.sheet, p.cell, p.params)
    except expat.ExpatError:
        return "malformed"
    return extent.done()


_NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_X = b'xmlns:x="http://purl.oclc.org/ooxml/spreadsheetml/main"'


@st.composite
def _sheet(draw) -> bytes:
    refs = st.sampled_from(["A1", "B2", "C3", "J9", "K1", "Z40", "$C$7", "AB3", "1A", "", None])
    texts = st.text(alphabet="ab <&", max_size=12).map(
        lambda t: t.replace("&", "&amp;").replace("<", "&lt;")
    )
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        r = draw(st.sampled_from(["", ' r="3"', ' r="12"', ' r="x"', ' r="40"']))
        cells = []
        for _ in range(draw(st.integers(0, 5))):
            ref = draw(refs)
            attr = "" if ref is None else f' r="{ref}"'
            tag = draw(st.sampled_from(["c", "x:c"]))
            inner = draw(
                st.sampled_from(
                    [
                        "",
                        "<v>{t}</v>",
                        "<is><t>{t}</t></is>",
                        "<f>1</f>",
                        "<x:v>{t}</x:v>",
                        "<d><v>{t}</v></d>",
                        "<is><r><t>{t}</t></r><t>{t}</t></is>",
                        "{t}",
                    ]
                )
            ).format(t=draw(texts))
            cells.append(f"<{tag}{attr}>{inner}</{tag}>")
        nest = draw(st.integers(0, 3))
        body = "".join(cells)
        for _ in range(nest):
            body = f"<g>{body}</g>"
        rows.append(f"<row{r}>{body}</row>")
    data = "<sheetData>" + "".join(rows) + "</sheetData>"
    return b"<worksheet " + _NS + b" " + _X + b">" + data.encode() + b"</worksheet>"


@settings(max_examples=600, deadline=None)
@given(_sheet())
def test_the_sheet_walk_finds_what_the_old_walk_found(monkeypatch_limits, xml):
    assert _walk(xml, old=False) == _walk(xml, old=True)


@pytest.fixture(scope="module")
def monkeypatch_limits():
    """Small limits, so that random sheets reach each of them (and the first one reached
    decides the problem)."""
    mp = pytest.MonkeyPatch()
    small = {
        "MAX_XML_DEPTH": 7,
        "MAX_XML_ELEMENTS": 90,
        "MAX_CELL_CHARS": 20,
        "MAX_ROWS": 30,
        "MAX_COLUMNS": 20,
        "MAX_CELLS": 200,
    }
    for name, value in small.items():
        mp.setattr(limits, name, value)
    yield
    mp.undo()


def test_the_sheet_walk_reaches_every_limit(monkeypatch_limits):
    """The random sheets above can end in every outcome (else the comparison proves little)."""
    seen = set()
    for xml in [
        b"<worksheet " + _NS + b"><sheetData><row><c r='J9'><v>1</v></c></row></sheetData>"
        b"</worksheet>",  # a value at J9: 9 rows, 10 columns
        b"<worksheet " + _NS + b"><sheetData><row><c r='A40'><v>1</v></c></row></sheetData>"
        b"</worksheet>",  # row 40 > 30
        b"<worksheet " + _NS + b"><sheetData><row><c r='Z1'><v>1</v></c></row></sheetData>"
        b"</worksheet>",  # column 26 > 20
        b"<worksheet " + _NS + b"><sheetData><row><c r='T11'><v>1</v></c></row></sheetData>"
        b"</worksheet>",  # 11 x 20 = 220 cells > 200
        b"<worksheet " + _NS + b"><sheetData><row><c r='A1'><v>" + b"a" * 21 + b"</v></c>"
        b"</row></sheetData></worksheet>",  # 21 characters > 20
        b"<worksheet " + _NS + b">" + b"<g>" * 7 + b"</g>" * 7 + b"</worksheet>",  # depth 8 > 7
    ]:
        got = _walk(xml, old=False)
        assert got == _walk(xml, old=True)
        seen.add(got if isinstance(got, scan.SheetExtent) else got[3][0][1])
    assert seen == {
        scan.SheetExtent("Kuesioner", 9, 10),
        Key("limit.rows"),
        Key("limit.columns"),
        Key("limit.cells"),
        Key("limit.cell_chars"),
        Key("limit.xml_depth"),
    }


# --- the reader's cell text (monev.workbook._text) ----------------------------------------------


def _old_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m-%d")
    return " ".join(str(value).split())


class _Str(str):
    def __str__(self) -> str:
        return "shown " + self


_CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.text(alphabet=" \t\n\u00a0\u3000ab").map(_Str),
    st.datetimes(),
    st.dates(),
)


@given(_CELLS)
def test_cell_text_is_what_it_was(value):
    assert workbook._text(value) == _old_text(value)


def test_a_column_the_header_lacks_reads_empty_even_with_cells_right_of_the_header():
    """The reader reads each row at the header's column indexes, a missing column as empty: a
    cell right of the last named column (no header) is not a Verifikasi or Keterangan."""
    rubric = load_rubric()
    header = ["Kode", "Jawaban", "Bukti"]
    rows = [header, ["JI-01", "Ya", "https://ppid.contoh.go.id/dip", "Tidak Sesuai", "catatan"]]
    q = workbook.Questionnaire(file="f.xlsx", sha256="", office=workbook.Office(name="x"))
    workbook._read_answers(q, cells.Sheet("Kuesioner", rows), rubric)
    a = q.answers["JI-01"]
    assert (a.verification, a.note, a.verifier_note, a.verification_cell) == (None, "", "", "")
    assert a.parsed is not None and a.parsed.text == "Ya"
    assert a.evidence_cell == "C2"  # column 3 (C) of row 2


# --- answers and evidence (monev.rubric._norm, monev.evidence_items) -----------------------------


def _old_norm(raw: object) -> str:
    text = unicodedata.normalize("NFKC", str(raw))
    text = "".join(
        ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc") or ch in "\t\n"
    )
    return " ".join(text.split()).casefold()


_TEXTS = st.one_of(
    st.text(),
    st.text(alphabet="YaTidk \t\n\x00\x7f\u200b\uff39\u00a0ß.,;/-:()"),
    st.sampled_from(["Ya", " ya ", "TIDAK", "Tidak\u200b", "Ｙａ", "A", "sk.pdf"]),
)


@given(st.one_of(_TEXTS, st.integers(), st.floats(), st.booleans(), st.none()))
def test_answer_comparison_key_is_what_it_was(raw):
    assert rubric_module._norm(raw) == _old_norm(raw)


def _old_piece(piece: str) -> ev.EvidenceItem | None:
    visible = "".join(ch for ch in piece if unicodedata.category(ch) != "Cf")
    raw = " ".join(visible.split())
    text = raw.strip(ev._STRIP)
    if not text:
        return None
    if ev._MISTYPED.match(text):
        return ev.EvidenceItem(ev.MISTYPED, text)
    if ev._is_local(text):
        return ev.EvidenceItem(ev.LOCAL_PATH, text)
    name = ev._TRAILING_NOTE.sub("", raw).strip(ev._STRIP)
    if ev._FILE.match(name):
        return ev.EvidenceItem(ev.FILE, name, name)
    return ev.EvidenceItem(ev.OTHER, raw)


def _old_parse_evidence(text: str, link: str = "") -> tuple[ev.EvidenceItem, ...]:
    items: list[ev.EvidenceItem] = []
    seen: set[str] = set()

    def add(item: ev.EvidenceItem) -> None:
        key = item.target or item.text
        if key not in seen:
            seen.add(key)
            items.append(item)

    if link.strip():
        add(ev._link_item(link))
    rest = (text or "")[: ev.MAX_PARSED]
    for m in ev._SCHEME_URL.finditer(rest):
        url = ev._trim_end(m.group(0))
        if len(url) > len("https://"):
            add(ev.EvidenceItem(ev.URL, url, url))
    rest = ev._SCHEME_URL.sub(" ", rest)
    for m in ev._BARE_URL.finditer(rest):
        url = ev._trim_end(m.group(0))
        if not ev._DOC_SUFFIX.search(url):
            add(ev.EvidenceItem(ev.URL, url, "https://" + url, scheme_added=True))
    rest = ev._BARE_URL.sub(
        lambda m: m.group(0) if ev._DOC_SUFFIX.search(m.group(0)) else " ", rest
    )
    for piece in ev._SPLIT.split(rest):
        item = _old_piece(piece)
        if item is None or (link.strip() and not item.verifiable):
            continue
        add(item)
    if not items and (text or "").strip():
        add(ev.EvidenceItem(ev.OTHER, " ".join(text.split())[:200]))
    return tuple(items)


_EVIDENCE = st.one_of(
    st.text(max_size=60),
    st.lists(
        st.sampled_from(
            [
                "https://ppid.contoh.go.id/a",
                "www.x.go.id",
                "sk ppid.pdf",
                "C:\\dok\\a.pdf",
                "htps://x",
                " dan ",
                ", ",
                "\n",
                "-",
                "\u200b",
                "(terlampir)",
                "lihat",
                " ",
                "é",
                "http://",
                "https://a",
                "HTTPS://X.GO.ID/A_(b)",
                ").",
                "\u201d",
                "https://x.go.id/",
                "..",
                "https://x.go.id/sk.pdf",
            ]
        ),
        max_size=6,
    ).map("".join),
    st.text(alphabet="htps:/.x()é\u201d", max_size=20),
)


@settings(max_examples=1500)
@example("http://..", "")  # one link that trims to nothing: not a link item
@example("https://x.", "")
@example("https://x.go.id/a).", "")
@example("https://x.go.id/a https://y.go.id", "")
@example("https://x.go.id/a", " ")
@given(_EVIDENCE, st.sampled_from(["", " ", "https://x.go.id/sk.pdf", "SK%20PPID.pdf", "\t"]))
def test_evidence_items_are_what_they_were(text, link):
    assert ev.parse_evidence(text, link) == _old_parse_evidence(text, link)


# --- the sheet's zip member (monev.cells._sheet_part) --------------------------------------------

_WB = (
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    "<sheets>{sheets}</sheets>{tail}"
)
_RELS = (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    "{rels}</Relationships>"
)


def _book(sheets: str, rels: str | None, tail: str = "</workbook>") -> zipfile.ZipFile:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("xl/workbook.xml", _WB.format(sheets=sheets, tail=tail))
        if rels is not None:
            zf.writestr("xl/_rels/workbook.xml.rels", _RELS.format(rels=rels))
    return zipfile.ZipFile(buf)


def _rel(rid: str, target: str) -> str:
    return f'<Relationship Id="{rid}" Target="{target}"/>'


def _sheet(name: str, rid: str) -> str:
    return f'<sheet name="{name}" r:id="{rid}"/>'


_PADDING = "<!--" + "x" * 70_000 + "-->"  # a workbook part over 64 KB is streamed


@pytest.mark.parametrize(
    ("sheets", "rels", "tail"),
    [
        (_sheet("Kuesioner", "rId2"), _rel("rId2", "worksheets/sheet2.xml"), "</workbook>"),
        (_sheet("Kuesioner", "rId2"), _rel("rId2", "/xl/worksheets/s.xml"), "</workbook>"),
        (
            _sheet("Kuesioner", "rId1") + _sheet("Kuesioner", "rId2"),
            _rel("rId1", "a.xml") + _rel("rId2", "b.xml"),
            "</workbook>",
        ),
        (_sheet("Kuesioner", "rId2"), _rel("rId2", "a.xml") + _rel("rId2", "b.xml"), "</workbook>"),
        (_sheet("Kuesioner", "rId9"), _rel("rId2", "a.xml"), "</workbook>"),
        (_sheet("Identitas", "rId1"), _rel("rId1", "a.xml"), "</workbook>"),
        (_sheet("Kuesioner", "rId2"), None, "</workbook>"),
        (_sheet("Identitas", "rId1"), None, "</workbook>"),
        (_sheet("Kuesioner", "rId2"), _rel("rId2", "a.xml"), "<broken"),  # after the match
        (_sheet("Identitas", "rId2"), _rel("rId2", "a.xml"), "<broken"),
        (_sheet("Kuesioner", "rId2"), _rel("rId2", "a.xml") + _PADDING, "</workbook>"),
        (_sheet("Kuesioner", "rId2"), _rel("rId2", "a.xml"), _PADDING + "</workbook>"),
    ],
)
def test_the_sheet_part_is_found_as_by_streaming(sheets, rels, tail):
    def outcome(find):
        with _book(sheets, rels, tail) as zf:
            try:
                return find(zf)
            except (KeyError, ParseError) as exc:
                return type(exc)

    for _ in range(2):  # the second time from what was kept
        new = outcome(lambda zf: cells._sheet_part(zf, "Kuesioner"))
        old = outcome(lambda zf: cells._find_sheet_part(zf.open, "Kuesioner"))
        assert new == old


def test_the_sheet_part_of_a_plain_workbook():
    with _book(_sheet("Kuesioner", "rId2"), _rel("rId2", "worksheets/sheet2.xml")) as zf:
        assert cells._sheet_part(zf, "Kuesioner") == "xl/worksheets/sheet2.xml"
        assert cells._sheet_part(zf, "Identitas") is None


@given(_TEXTS)
def test_ya_tidak_answers_are_what_they_were(raw):
    """Ya/Tidak rows share two immutable answers; each equals the one made before."""
    spec = rubric_module.YaTidak(type="ya_tidak")
    key = _old_norm(raw)
    try:
        got = spec.parse(raw)
    except rubric_module.AnswerError:
        assert key not in ("ya", "tidak")
    else:
        want = {"ya": ("Ya", Fraction(1)), "tidak": ("Tidak", Fraction(0))}[key]
        assert (got.text, got.value) == want and type(got.value) is Fraction
