"""The pre-scan and the reader share their work (issue 13 item 1: CPU per workbook).

The pre-scan (:mod:`monev.scan`) decompresses the parts of a workbook the reader's extras
(:mod:`monev.cells`) read again: it keeps their bytes, and the reader takes them instead of
opening the zip a second time. Each test compares the shared way with the plain one (the reader
opening the zip itself, as before) on workbooks that carry every kind of extra.
"""

from __future__ import annotations

import dataclasses
import io
import unicodedata
import zipfile
from pathlib import Path

import pytest
from helpers import ods, write_workbook
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monev import cells, limits, scan, workbook
from monev import evidence_items as ev
from monev.cells import open_book
from monev.problems import Key
from monev.scan import scan_workbook
from monev.workbook import read_questionnaire

EV = "https://ppid.contoh.go.id/bukti"
SHEETS = ["Kuesioner", "Identitas"]
STRICT = {
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main": (
        "http://purl.oclc.org/ooxml/spreadsheetml/main"
    ),
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships": (
        "http://purl.oclc.org/ooxml/officeDocument/relationships"
    ),
}


def _rewrite(src: Path, dst: Path, edit) -> Path:
    """A copy of ``src`` with every ``xl/*.xml`` part's text passed through ``edit``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.startswith("xl/") and info.filename.endswith(".xml"):
                data = edit(data.decode()).encode()
            zout.writestr(info.filename, data)
    return dst


def _ods(dst: Path) -> Path:
    """A small .ods with a percentage, a link, a formula without a value and an error."""
    rows = (
        "<table:table-row><table:table-cell><text:p>Kode</text:p></table:table-cell>"
        "<table:table-cell><text:p>Jawaban</text:p></table:table-cell>"
        "<table:table-cell><text:p>Bukti</text:p></table:table-cell></table:table-row>"
        '<table:table-row><table:table-cell office:value-type="string"><text:p>PI-03</text:p>'
        '</table:table-cell><table:table-cell office:value-type="percentage" '
        'office:value="0.95"><text:p>95%</text:p></table:table-cell>'
        '<table:table-cell office:value-type="string"><text:p><text:a xlink:href="../sk.pdf">'
        "SK</text:a></text:p></table:table-cell></table:table-row>"
        '<table:table-row><table:table-cell table:formula="of:=1+1"/>'
        '<table:table-cell table:formula="of:=1/0" office:value-type="float" office:value="0" '
        'calcext:value-type="error"><text:p>#DIV/0!</text:p></table:table-cell>'
        "</table:table-row>"
    )
    return ods(
        dst,
        rows,
        namespaces='xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"',
        manifest=MANIFEST,
    )


MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" manifest:version="1.2" '
    'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


@pytest.fixture(scope="module")
def books(tmp_path_factory, rubric) -> list[Path]:
    """Workbooks with every extra: percent formats, hyperlinks, a formula without a value, a
    HYPERLINK() formula, Excel errors; the same in Strict OOXML; an .ods; a plain one."""
    folder = tmp_path_factory.mktemp("books")
    rows = [
        ("JI-01", "Ya", EV),
        ("JI-02", "#N/A", EV),
        ("JI-03", "=1+1", "Lihat dokumen"),
        ("JI-04", "Ya", '=HYPERLINK("https://ppid.contoh.go.id/sk.pdf","SK")'),
        ("PI-03", 0.95, EV),
    ]
    rich = write_workbook(
        folder / "kaya.xlsx",
        rubric,
        rows,
        percent=["PI-03"],
        links={"JI-03": "https://ppid.contoh.go.id/dip.pdf"},
    )

    def strict(text: str) -> str:
        for old, new in STRICT.items():
            text = text.replace(f'"{old}"', f'"{new}"')
        return text

    return [
        rich,
        _rewrite(rich, folder / "strict.xlsx", strict),
        write_workbook(folder / "polos.xlsx", rubric, [("JI-01", "Ya", EV)]),
        _ods(folder / "lo.ods"),
    ]


def _seen(book: cells.Book) -> dict:
    return {
        want: (s.name, s.rows, s.percent, s.links, s.pending_formulas, s.errors)
        for want, s in book.sheets.items()
    }


def test_the_scan_keeps_the_bytes_the_reader_reads_again(books):
    rich = books[0]
    kept = scan_workbook(rich, sheets=SHEETS)
    assert kept.ok
    with zipfile.ZipFile(rich) as zf:
        assert kept.names == frozenset(zf.namelist())
        assert set(kept.parts) == {
            "xl/workbook.xml",
            "xl/_rels/workbook.xml.rels",
            "xl/styles.xml",
            "xl/worksheets/sheet1.xml",
            "xl/worksheets/sheet2.xml",
        }
        assert all(kept.parts[p] == zf.read(p) for p in kept.parts)
    ods = scan_workbook(books[3], sheets=SHEETS)
    assert set(ods.parts) == {"content.xml"}


def test_the_reader_finds_the_same_with_the_scans_bytes(books):
    """Every extra of every book is found, and the same as when the reader unzips the parts."""
    found = []
    for path in books:
        pre = scan_workbook(path, sheets=SHEETS)
        assert pre.ok, (path, pre.problem)
        shared = open_book(
            path, SHEETS, rich="Kuesioner", parts=pre.parts, names=pre.names, plain=pre.plain
        )
        plain = open_book(path, SHEETS, rich="Kuesioner")
        assert _seen(shared) == _seen(plain), path.name
        found.append(shared.sheets["Kuesioner"])
    rich = found[0]
    # The template's answers are column E, evidence F; JI-01 is row 8 (0-based row 7).
    assert rich.percent and rich.errors and rich.pending_formulas and len(rich.links) == 2
    lo = found[3]
    assert lo.percent == {(1, 1)} and lo.links == {(1, 2): "sk.pdf"}
    assert lo.pending_formulas == {(2, 0)} and lo.errors == {(2, 1): "#DIV/0!"}


def test_the_reader_does_not_unzip_what_the_scan_kept(books, monkeypatch):
    """With the scan's bytes, the extras of a workbook without hyperlinks need no zip at all
    (before: the zip was opened and every part decompressed a second time)."""
    rich, polos = books[0], books[2]
    pre, pre_polos = (scan_workbook(p, sheets=SHEETS) for p in (rich, polos))
    expected = _seen(open_book(rich, SHEETS, rich="Kuesioner"))

    opened: list[str] = []
    real_zip = zipfile.ZipFile

    def counting(file, *args, **kwargs):
        opened.append(Path(file).name)
        return real_zip(file, *args, **kwargs)

    monkeypatch.setattr(cells.zipfile, "ZipFile", counting)
    book = open_book(rich, SHEETS, rich="Kuesioner", parts=pre.parts, names=pre.names)
    assert _seen(book) == expected
    # The hyperlink's target is in the sheet's own relationships, which the scan does not read:
    # only for that is the zip opened (once).
    assert opened == ["kaya.xlsx"]
    opened.clear()
    book = open_book(polos, SHEETS, rich="Kuesioner", parts=pre_polos.parts, names=pre_polos.names)
    assert opened == [] and book.sheets["Kuesioner"].rows


def test_parts_over_the_allowance_are_read_from_the_zip(books, monkeypatch):
    """Kept bytes are bounded: beyond :data:`monev.scan._KEEP_BYTES` in all, a part is not kept
    (and never held whole while it is scanned), and the reader unzips it as before."""
    rich = books[0]
    with zipfile.ZipFile(rich) as zf:
        sizes = {p: zf.getinfo(p).file_size for p in zf.namelist()}
    # The workbook (small) fits; the allowance ends before the larger sheets.
    allowance = sizes["xl/workbook.xml"] + sizes["xl/_rels/workbook.xml.rels"]
    monkeypatch.setattr(scan, "_KEEP_BYTES", allowance)
    pre = scan_workbook(rich, sheets=SHEETS)
    assert set(pre.parts) == {"xl/workbook.xml", "xl/_rels/workbook.xml.rels"}
    shared = open_book(rich, SHEETS, rich="Kuesioner", parts=pre.parts, names=pre.names)
    assert _seen(shared) == _seen(open_book(rich, SHEETS, rich="Kuesioner"))
    monkeypatch.setattr(scan, "_KEEP_BYTES", 0)
    assert scan_workbook(rich, sheets=SHEETS).parts == {}


# --- an evidence cell that is one link (monev.evidence_items._one_url, _trim_end) ----------------


def _old_whole(text: str) -> bool:
    whole = ev._SCHEME_URL.match(text)
    return whole is not None and whole.end() == len(text)


def _old_trim_end(url: str) -> str:
    end = len(url)
    opened = url.count("(")
    closed = url.count(")")
    while end:
        ch = url[end - 1]
        if ch == ")" and opened >= closed:
            break
        if ch == ")" or ch in ".:!?'\">" or unicodedata.category(ch) in ("Pe", "Pf", "Po", "Cf"):
            if ch == ")":
                closed -= 1
            end -= 1
            continue
        break
    return url[:end]


# Schemes in any case (``ſ`` and the Kelvin sign fold to s and k under re.I), stop characters,
# a second scheme or a bare ``://`` anywhere, punctuation that ends a sentence.
_LINKISH = st.lists(
    st.sampled_from(
        [
            "https://",
            "http://",
            "HTTPS://",
            "hTtP://",
            "httpſ://",
            "://",
            ":/",
            "http:",
            "x",
            "go.id",
            "/",
            "K",
            "é",
            " ",
            "\n",
            ",",
            ";",
            ")",
            "(",
            ".",
            "\u200b",
            "\u201d",
            "a_(b)",
            "?u=",
            "9",
        ]
    ),
    max_size=8,
).map("".join)


@settings(max_examples=3000, deadline=None)
@example("https://x.go.id/a")
@example("https://x.go.id/?u=https://y.go.id")  # a second scheme: two items, not one
@example("https://x.go.id/?u=://y")  # a bare :// is not a scheme
@example("httpſ://x")
@example("https://")
@example("https://a\n")
@given(st.one_of(_LINKISH, st.text(max_size=30)))
def test_one_link_is_found_as_by_the_lazy_match(text):
    assert ev._one_url(text) == _old_whole(text), text


@settings(max_examples=3000, deadline=None)
@example("https://x.go.id/a")
@example("https://x.go.id/")
@example("https://x.go.id/a_(b)")
@example("https://x.go.id/a).")
@example("")
@given(st.one_of(_LINKISH, st.text(max_size=30)))
def test_trimming_a_link_is_what_it_was(url):
    assert ev._trim_end(url) == _old_trim_end(url)


# --- the reader's rows (monev.workbook._answer, _text_keep_lines, _header) -----------------------


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "code": st.text(max_size=6),
            "row": st.integers(1, 10_000),
            "parsed": st.none(),
            "raw": st.text(max_size=6),
            "evidence": st.text(max_size=12),
        },
        optional={
            "note": st.text(max_size=4),
            "verification": st.none() | st.sampled_from(["Sesuai", "Tidak Sesuai"]),
            "verifier_note": st.text(max_size=4),
            "evidence_cell": st.text(max_size=4),
            "evidence_link": st.text(max_size=4),
            "evidence_items": st.just(()) | st.just((ev.EvidenceItem(ev.URL, "u", "u"),)),
            "evidence_failed": st.text(max_size=4),
            "verification_unclear": st.booleans(),
            "verification_trusted": st.booleans(),
            "verification_cell": st.text(max_size=4),
        },
    )
)
def test_an_answer_built_for_the_hot_loop_is_the_constructors(values):
    fast, plain = workbook._answer(**values), workbook.Answer(**values)
    assert fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)
    assert list(vars(fast).items()) == list(vars(plain).items())  # the same fields, in order
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.code = "x"  # type: ignore[misc]


def test_an_answer_without_a_required_field_is_refused_as_by_the_constructor():
    """``_answer`` fills fields from their defaults; one without a default must be given, or it
    would hold dataclasses.MISSING (cold review of wp-scan2)."""
    with pytest.raises(TypeError):
        workbook.Answer(code="x", row=1, parsed=None, raw="")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="evidence"):
        workbook._answer(code="x", row=1, parsed=None, raw="")


def test_the_reader_gives_every_field_of_an_answer(books, rubric):
    """A field the hot loop forgot would keep the MISSING default; a misspelt one would be an
    attribute of its own: both show in the fields' names and values."""
    q = read_questionnaire(books[0], rubric)
    assert q.answers
    names = [f.name for f in dataclasses.fields(workbook.Answer)]
    for a in q.answers.values():
        assert list(vars(a)) == names
        assert dataclasses.MISSING not in vars(a).values()
        assert a == workbook.Answer(**vars(a))


def _old_text_keep_lines(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return "\n".join(" ".join(line.split()) for line in value.splitlines()).strip()
    return workbook._text(value)


@settings(max_examples=2000, deadline=None)
@given(
    st.one_of(
        st.text(alphabet=" \t\n\r\x0b\x0c\x1c\x85\u2028\u3000\u00a0ab", max_size=12),
        st.text(max_size=20),
        st.none(),
        st.integers(),
        st.floats(),
        st.booleans(),
    )
)
def test_evidence_text_keeps_its_lines_as_it_did(value):
    assert workbook._text_keep_lines(value) == _old_text_keep_lines(value)


def _old_header(rows):
    best = None
    for r, row in enumerate(rows[: workbook.HEADER_SEARCH_ROWS]):
        cols: dict[str, int] = {}
        for c, value in enumerate(row):
            k = workbook._key(value)
            for key, aliases in workbook.ALIASES.items():
                if k in aliases and key not in cols:
                    cols[key] = c
        if "code" in cols and "answer" in cols:
            if all(k in cols for k in workbook.REQUIRED):
                return r, cols
            best = best or (r, cols)
    return best


_HEADINGS = [
    *sorted({a for aliases in workbook.ALIASES.values() for a in aliases}),
    "Kode:",
    "JAWABAN (Ya/Tidak)",
    "Bukti*",
    "",
    "x",
    None,
    7,
]


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(_HEADINGS), max_size=10),
        max_size=workbook.HEADER_SEARCH_ROWS + 3,
    )
)
def test_the_header_row_is_found_as_it_was(rows):
    assert workbook._header(rows) == _old_header(rows)


def test_the_header_of_an_alias_named_twice_goes_to_the_first_key(monkeypatch):
    """One alias under two keys (a rubric-era change could do it): both columns get it, in
    ALIASES order, as before."""
    aliases = dict(workbook.ALIASES)
    aliases["note"] = [*aliases["note"], "bukti"]
    monkeypatch.setattr(workbook, "ALIASES", aliases)
    rows = [["Kode", "Jawaban", "Bukti"]]
    assert (
        workbook._header(rows)
        == _old_header(rows)
        == (0, {"code": 0, "answer": 1, "evidence": 2, "note": 2})
    )


# --- sheets the scan found plain (monev.scan.Scan.plain, monev.cells._xlsx_extras) --------------

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_STRICT_MAIN = STRICT[MAIN]

# Each piece stands in a <row>: cells with and without an extra, extras under another prefix,
# in another namespace or in Strict OOXML, and look-alikes in comments, text and CDATA.
_CELLS = [
    '<c r="A1" t="e"><v>#N/A</v></c>',
    '<c t="e"/>',
    '<c r="B2"><f>1+1</f></c>',
    '<c r="B3"><f>1+1</f><v>2</v></c>',
    '<c r="C3"><f>HYPERLINK("https://x.go.id/a","a")</f><v>a</v></c>',
    f'<x:c xmlns:x="{MAIN}" r="D4" t="e"><x:v>#REF!</x:v></x:c>',
    f'<x:c xmlns:x="{MAIN}" r="D5"><x:f>2</x:f></x:c>',
    '<c xmlns="urn:lain" r="E1" t="e"/>',
    '<c r="E2"><f xmlns="urn:lain">1</f></c>',
    f'<c xmlns="{_STRICT_MAIN}" r="E3" t="e"/>',
    f'<c xmlns="{_STRICT_MAIN}" r="E4"><f>1</f></c>',
    '<c r="F1" xmlns:o="urn:lain" o:t="e"/>',
    '<c r="F2" t="s"><v>0</v></c>',
    '<c r="F3" t="inlineStr"><is><t>&lt;f&gt; t="e" &lt;hyperlink</t></is></c>',
    '<c r="F4" t="inlineStr"><is><t><![CDATA[<f>1</f><hyperlink ref="A1"/>]]></t></is></c>',
    '<!-- <c t="e"><f>1</f></c> <hyperlink ref="A1"/> -->',
    '<c r="G1"><v>7</v></c>',
    "<c/>",
    '<c r="G2"><is><f>1</f></is></c>',  # a formula element deeper than a cell's child
]
_TAILS = [
    "",
    '<hyperlinks><hyperlink ref="A1" r:id="rId1"/></hyperlinks>',
    '<hyperlinks><hyperlink ref="A1:B2" r:id="rId1"/></hyperlinks>',
    '<hyperlinks><hyperlink ref="A1"/></hyperlinks>',
    f'<y:hyperlinks xmlns:y="{MAIN}"><y:hyperlink ref="C1" r:id="rId1"/></y:hyperlinks>',
    '<hyperlinks xmlns="urn:lain"><hyperlink ref="A1" r:id="rId1"/></hyperlinks>',
    "<!-- <hyperlink ref='A1'/> -->",
]


def _mini_book(path: Path, cells_xml: str, tail: str) -> Path:
    sheet = (
        f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}"><sheetData><row r="1">{cells_xml}</row>'
        f"</sheetData>{tail}</worksheet>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
            '<sheet name="Kuesioner" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
            'Target="worksheets/sheet1.xml"/></Relationships>',
        )
        zf.writestr("xl/worksheets/sheet1.xml", sheet)
        zf.writestr(
            "xl/worksheets/_rels/sheet1.xml.rels",
            f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
            'Target="https://ppid.contoh.go.id/sk.pdf" TargetMode="External"/></Relationships>',
        )
    return path


def _extras(path: Path, **scanned) -> tuple:
    sheet = cells.Sheet("Kuesioner", [])
    cells._add_extras(path, sheet, **scanned)
    return sheet.percent, sheet.links, sheet.pending_formulas, sheet.errors


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@example(pieces=[], tail="")
@example(pieces=[0], tail="")
@example(pieces=[17], tail=_TAILS[1])
@given(
    pieces=st.lists(st.integers(0, len(_CELLS) - 1), max_size=6),
    tail=st.sampled_from(_TAILS),
)
def test_a_sheet_the_scan_found_plain_has_no_extras(tmp_path, pieces, tail):
    """What the reader finds with the scan's word for a plain sheet is what it finds by looking
    (the byte searches, then the walk), on sheets with every extra in odd places."""
    path = _mini_book(tmp_path / "kecil.xlsx", "".join(_CELLS[i] for i in pieces), tail)
    pre = scan_workbook(path, sheets=["Kuesioner"])
    assert pre.ok, pre.problem
    looked = _extras(path)
    told = _extras(path, parts=pre.parts, names=pre.names, plain=pre.plain)
    assert told == looked
    if "xl/worksheets/sheet1.xml" in pre.plain:
        assert looked == (set(), {}, set(), {})


def test_the_scan_marks_each_extra(tmp_path):
    """Each extra the reader looks for keeps its sheet out of ``plain``; look-alikes do not."""

    def plain(cells_xml: str, tail: str = "") -> bool:
        path = _mini_book(tmp_path / "x.xlsx", cells_xml, tail)
        return "xl/worksheets/sheet1.xml" in scan_workbook(path, sheets=["Kuesioner"]).plain

    assert plain(_CELLS[16])  # a number
    for look_alike in (7, 8, 11, 12, 13, 14, 15):
        assert plain(_CELLS[look_alike]), _CELLS[look_alike]
    for extra in (0, 1, 2, 4, 5, 6, 9, 10, 18):
        assert not plain(_CELLS[extra]), _CELLS[extra]
    assert not plain("", _TAILS[1]) and not plain("", _TAILS[4]) and plain("", _TAILS[5])


# --- the shared strings (monev.scan._strings_walk) -----------------------------------------------


def _old_scan_shared_strings(zf: zipfile.ZipFile, name: str, budget) -> None:
    """The shared strings' scan as it was: the generic handlers of ``_parse``."""
    count = 0
    length = 0
    si = {f"{ns}{scan._SEP}si" for ns in scan._MAINS}

    def start(tag, _attrs, _depth) -> None:
        nonlocal count, length
        if tag in si:
            count += 1
            length = 0
            if count > limits.MAX_SHARED_STRINGS:
                raise scan._limit(name, "shared_strings", count, limits.MAX_SHARED_STRINGS)

    def text(data: str) -> None:
        nonlocal length
        length += len(data)
        if length > limits.MAX_CELL_CHARS:
            raise scan._limit(name, "cell_chars", length, limits.MAX_CELL_CHARS)

    scan._parse(zf, "xl/sharedStrings.xml", name, budget, start=start, text=text)


def _strings_outcome(xml: bytes, old: bool) -> object:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("xl/sharedStrings.xml", xml)
    with zipfile.ZipFile(buf) as zf:
        try:
            walk = _old_scan_shared_strings if old else scan._scan_shared_strings
            walk(zf, "f.xlsx", scan._Budget("f.xlsx"))
        except scan._Refuse as refused:
            p = refused.problem
            return (p.code, p.file, p.sheet, p.cell, p.params)
    return None


_SST_TAGS = ["si", "t", "r", "rPh", "x:si", "o:si"]


@st.composite
def _strings(draw) -> bytes:
    def node(level: int) -> str:
        tag = draw(st.sampled_from(_SST_TAGS))
        text = draw(st.sampled_from(["", "ab", "x" * 9, "&amp;", "<![CDATA[c<d]]>", " "]))
        children = "".join(
            node(level + 1) for _ in range(draw(st.integers(0, 2 if level < 8 else 0)))
        )
        return f"<{tag}>{text}{children}</{tag}>"

    body = "".join(node(1) for _ in range(draw(st.integers(0, 12))))
    root = "sst" if draw(st.booleans()) else "x:sst"
    return (f'<{root} xmlns="{MAIN}" xmlns:x="{MAIN}" xmlns:o="urn:lain">{body}</{root}>').encode()


@pytest.fixture
def small_limits(monkeypatch):
    """Small limits, so that random shared strings reach each of them."""
    for name, value in {
        "MAX_XML_DEPTH": 6,
        "MAX_XML_ELEMENTS": 40,
        "MAX_CELL_CHARS": 20,
        "MAX_SHARED_STRINGS": 8,
    }.items():
        monkeypatch.setattr(limits, name, value)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@example(xml=b"<sst/>")
@example(xml=b"<!DOCTYPE sst><sst/>")
@example(xml=b"<sst><si>")
# Element 41 (> 40) at depth 7 (> 6): the depth is named, as before.
@example(xml=(f'<sst xmlns="{MAIN}">' + "<t/>" * 34 + "<t>" * 6 + "</t>" * 6 + "</sst>").encode())
@example(xml=f'<sst xmlns="{MAIN}">{"<si/>" * 9}</sst>'.encode())
@given(xml=_strings())
def test_the_shared_strings_walk_finds_what_the_old_one_found(small_limits, xml):
    assert _strings_outcome(xml, old=False) == _strings_outcome(xml, old=True)


def test_the_shared_strings_walk_reaches_every_limit(small_limits):
    """Each limit is reached, and named the same way by both walks."""
    seen = set()
    for xml in [
        f'<sst xmlns="{MAIN}">' + "<si><t>a</t></si>" * 9 + "</sst>",  # 9 strings > 8
        f'<sst xmlns="{MAIN}"><si><t>' + "a" * 21 + "</t></si></sst>",  # 21 characters > 20
        f'<sst xmlns="{MAIN}">' + "<t>" * 6 + "</t>" * 6 + "</sst>",  # depth 7 > 6
        f'<sst xmlns="{MAIN}">' + "<t/>" * 40 + "</sst>",  # 41 elements > 40
    ]:
        got = _strings_outcome(xml.encode(), old=False)
        assert got is not None and got == _strings_outcome(xml.encode(), old=True)
        seen.add(got[4][0][1])  # the first parameter: the limit's name
    assert seen == {
        Key("limit.shared_strings"),
        Key("limit.cell_chars"),
        Key("limit.xml_depth"),
        Key("limit.xml_elements"),
    }


# --- a percent format behind an unusual attribute (cold review of wp-scan2) ----------------------

#: Excel's data validations that point at another sheet: a formula element in another namespace
#: (``xm:f``), which the reader's walk does not take for a cell's formula.
_EXT_LIST = (
    '<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
    'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
    '<x14:dataValidations count="1" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
    '<x14:dataValidation type="list"><x14:formula1><xm:f>Identitas!$A$1:$A$2</xm:f>'
    "</x14:formula1><xm:sqref>G8</xm:sqref></x14:dataValidation></x14:dataValidations></ext>"
    "</extLst></worksheet>"
)


def _style_attr(form: str):
    """Every cell's ``s="N"`` written as ``form`` (the same attribute to an XML parser)."""
    import re

    def entity(m: re.Match[str]) -> str:
        return f's="&#{ord(m.group(1)[0])};{m.group(1)[1:]}"'

    forms = {
        "single": lambda t: re.sub(r'\ss="(\d+)"', r" s='\1'", t),
        "spaces": lambda t: re.sub(r'\ss="(\d+)"', r' s = "\1"', t),
        "newline": lambda t: re.sub(r'\ss="(\d+)"', '\n s=\n"\\1"', t),
        "entity": lambda t: re.sub(r'\ss="(\d+)"', lambda m: " " + entity(m), t),
    }
    return forms[form]


@pytest.mark.parametrize("form", ["single", "spaces", "newline", "entity"])
@pytest.mark.parametrize("ext", [False, True], ids=["alone", "with-xm-f"])
def test_a_percent_behind_an_unusual_attribute_is_still_a_percent(tmp_path, rubric, form, ext):
    """PI-03 typed as 95% (0.95 with a 0% format) stays 95 % however the style attribute is
    written. With ``s='13'`` and Excel's ``<xm:f>`` data validation in the sheet, wp-scan2's
    "plain sheet" path read 0.95 as 0.95 % and the office's score fell from 4.76 to 2.88; with
    ``s='13'`` alone, main had lost the percent already (the byte check knew only ``s="13"``)."""
    src = write_workbook(tmp_path / "asli.xlsx", rubric, [("PI-03", 0.95, EV)], percent=["PI-03"])
    edit = _style_attr(form)
    tail = _EXT_LIST if ext else "</worksheet>"
    dst = _rewrite(
        src,
        tmp_path / f"{form}.xlsx",
        lambda t: t if "<sheetData" not in t else edit(t).replace("</worksheet>", tail),
    )
    want = read_questionnaire(src, rubric)
    got = read_questionnaire(dst, rubric)
    assert want.answers["PI-03"].parsed == got.answers["PI-03"].parsed
    assert want.answers["PI-03"].parsed.text == "95"  # 0.95 shown as 95 %
    assert got.answers == want.answers
    assert [(p.code, p.cell, p.params) for p in got.problems] == [
        (p.code, p.cell, p.params) for p in want.problems
    ]


def test_a_strict_ooxml_workbook_keeps_its_percent_links_formulas_and_errors(books, rubric):
    """Excel's "Strict Open XML Spreadsheet" names the same parts in other namespaces. The
    reader's extras knew only the usual (transitional) names, so a Strict copy of a workbook lost
    its percent formats (95% read as 0.95 %), its hidden hyperlinks, its formulas without a value
    and its error cells. Found by the cold review of wp-scan2; main lost them too."""
    rich, strict = books[0], books[1]
    assert _seen(open_book(strict, SHEETS, rich="Kuesioner")) == _seen(
        open_book(rich, SHEETS, rich="Kuesioner")
    )
    a, b = read_questionnaire(rich, rubric), read_questionnaire(strict, rubric)
    assert b.answers["PI-03"].parsed == a.answers["PI-03"].parsed
    assert b.answers["PI-03"].parsed.text == "95"
    assert b.answers == a.answers
    assert [(p.code, p.cell) for p in b.problems] == [(p.code, p.cell) for p in a.problems]


@pytest.mark.parametrize("written", ["numFmtId='9'", 'numFmtId = "9"', 'numFmtId="09"'])
def test_a_built_in_percent_format_behind_an_unusual_attribute_is_found(tmp_path, rubric, written):
    """Excel's built-in 0% format is ``numFmtId="9"`` in styles.xml, with no ``%`` in the file:
    the check before parsing the styles knew only that spelling (cold review of wp-scan2)."""
    src = write_workbook(tmp_path / "asli.xlsx", rubric, [("PI-03", 0.95, EV)], percent=["PI-03"])
    dst = _rewrite(
        src,
        tmp_path / "gaya.xlsx",
        lambda t: t.replace('numFmtId="9"', written) if "<styleSheet" in t else t,
    )
    assert read_questionnaire(dst, rubric).answers["PI-03"].parsed.text == "95"
