"""Issue 13 item 3: cheaper office PDFs, same pages and same bytes.

A render worker keeps WeasyPrint's font configuration and the parsed stylesheet from one report
to the next, and the HTML loses the whitespace between block tags before WeasyPrint reads it.
Neither may change a PDF: a report rendered after others in the same process has the bytes of
the same report rendered alone in a fresh process.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEMO, ROOT
from test_kecamatan import city  # noqa: F401  (the fixture: a kecamatan with its kelurahan)

from monev import report
from monev.batch import score_paths

AS_OF = dt.date(2024, 11, 13)


def test_compacting_drops_only_whitespace_that_never_shows():
    html = (
        '<table>\n  <tr>\n    <td>JI-01</td>\n    <td class="num">2,86 / 2,86</td>\n  </tr>\n'
        "</table>\n<p><b>Target</b>: <i>dua</i> langkah</p>\n"
        '<td class="small ev">\n<a href="https://x">https://x</a>\n<br>\n<span>b</span></td>'
    )
    assert report.compact_html(html) == (
        '<table><tr><td>JI-01</td><td class="num">2,86 / 2,86</td></tr>'
        "</table><p><b>Target</b>: <i>dua</i> langkah</p>"
        # inside a cell only the gap after its start tag goes (it collapses at the line start);
        # the space between inline tags (</a> <br>, </b>: <i>) is text and stays
        '<td class="small ev"><a href="https://x">https://x</a>\n<br>\n<span>b</span></td>'
    )


def test_the_stylesheet_link_is_found_in_every_report_template():
    """html_to_pdf hands WeasyPrint the parsed report.css in place of the link: a template
    whose link is spelled differently would get no stylesheet at all."""
    for name in ("office.html.j2", "city.html.j2", "kecamatan.html.j2"):
        text = (ROOT / "reports" / name).read_text("utf-8")
        assert report._STYLESHEET_LINK.findall(text) == ["report.css"], name


@pytest.mark.pdf
def test_the_stylesheet_is_parsed_once_per_process(monkeypatch, rubric):
    import weasyprint

    parsed = []

    class CountingCSS(weasyprint.CSS):
        def __init__(self, *args, **kwargs):
            parsed.append(kwargs.get("base_url"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(weasyprint, "CSS", CountingCSS)
    monkeypatch.setattr(report._LOCAL, "pid", None, raising=False)  # as in a fresh worker
    run = score_paths([DEMO / "dinkes.xlsx", DEMO / "kel-pohjentrek.xlsx"], rubric, as_of=AS_OF)
    for o in run.offices:
        report.html_to_pdf(report.render_office_html(run, o), AS_OF)
    # two reports, one parse of report.css and one of the user-agent sheet ua.css
    assert sorted(Path(p).name for p in parsed) == ["report.css", "ua.css"]


FRESH = """
import sys, datetime as dt
from pathlib import Path
from monev.batch import score_paths
from monev.rubric import load_rubric
from monev import report
day = dt.date(2024, 11, 13)
run = score_paths([Path(sys.argv[1]), Path(sys.argv[2])], load_rubric(), as_of=day)
o = next(o for o in run.offices if o.file == "dinkes.xlsx")
html = report.render_office_html(run, o)
att = (report.ATTACHMENT_NAME, report.office_attachment(run, o, "id"))
sys.stdout.buffer.write(report.html_to_pdf(html, day, att))
"""


@pytest.mark.pdf
def test_a_report_after_others_in_one_worker_has_the_bytes_of_a_fresh_process(rubric):
    files = [DEMO / "dinkes.xlsx", DEMO / "kel-pohjentrek.xlsx"]
    run = score_paths(files, rubric, as_of=AS_OF)
    other = next(o for o in run.offices if o.file == "kel-pohjentrek.xlsx")
    dinkes = next(o for o in run.offices if o.file == "dinkes.xlsx")
    report.html_to_pdf(report.render_office_html(run, other), AS_OF)  # fonts and sheet warm
    warm = report.html_to_pdf(
        report.render_office_html(run, dinkes),
        AS_OF,
        (report.ATTACHMENT_NAME, report.office_attachment(run, dinkes, "id")),
    )
    fresh = subprocess.run(
        [sys.executable, "-c", FRESH, *map(str, files)],
        capture_output=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert fresh[:5] == b"%PDF-" and warm == fresh


def test_the_message_catalogue_is_read_with_libyaml_when_there(monkeypatch):
    """Every command reads messages.yaml before any work (0.22 s with PyYAML's pure-Python
    loader, 0.04 s with LibYAML's, measured here): same data, the fast loader."""
    import yaml

    from monev import i18n

    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML without LibYAML")
    loaders = []
    real = yaml.load

    def load(stream, Loader):
        loaders.append(Loader)
        return real(stream, Loader=Loader)

    monkeypatch.setattr(yaml, "load", load)
    i18n.catalogue.cache_clear()
    try:
        fast = i18n.catalogue()
    finally:
        i18n.catalogue.cache_clear()
    assert loaders == [yaml.CSafeLoader]
    text = (ROOT / "monev" / "messages.yaml").read_text("utf-8")
    assert fast == yaml.safe_load(text)


# --- The small user-agent stylesheet (reports/ua.css) --------------------------------------


def test_every_report_template_is_made_of_tags_the_small_user_agent_sheet_covers(rubric):
    """The office, city and kecamatan pages get reports/ua.css in place of WeasyPrint's own
    sheet (about a tenth of an office PDF's time) only while they use no other tag: a new tag
    in a template would silently bring the slower sheet back."""
    run = score_paths([DEMO / "dinkes.xlsx", DEMO / "kel-pohjentrek.xlsx"], rubric, as_of=AS_OF)
    for o in run.offices:
        assert report.small_ua_fits(report.render_office_html(run, o)), o.file
    assert report.small_ua_fits(report.render_city_html(run))
    for name in ("office.html.j2", "city.html.j2", "kecamatan.html.j2", "macros.html.j2"):
        text = (ROOT / "reports" / name).read_text("utf-8")
        tags = {t.lower() for t in re.findall(r"<([A-Za-z][A-Za-z0-9]*)", text)}
        assert tags <= report.SMALL_UA_TAGS, (name, tags - report.SMALL_UA_TAGS)


@pytest.mark.parametrize(
    "html",
    [
        "<p>Skor <em>94,74</em></p>",  # a tag ua.css has no rules for
        '<p dir="rtl">x</p>',  # an attribute the full sheet styles
        "<table rules=all><tr><td>x</td></tr></table>",
        "<p hidden>x</p>",
    ],
)
def test_a_page_with_anything_else_gets_weasyprints_own_sheet(html):
    assert report.small_ua_fits("<p>Skor <b>94,74</b><br></p>")
    assert not report.small_ua_fits(html)


def _both_ways(monkeypatch, html, *args):
    small = report.html_to_pdf(html, AS_OF, *args)
    with monkeypatch.context() as m:
        m.setattr(report, "small_ua_fits", lambda page: False)
        full = report.html_to_pdf(html, AS_OF, *args)
    return small, full


@pytest.mark.pdf
def test_the_small_user_agent_sheet_makes_the_same_bytes_as_weasyprints_own(monkeypatch, rubric):
    """Same pages, byte for byte, with reports/ua.css and with WeasyPrint's full sheet: an
    office with a plan and problems, one without, and the city report (a WeasyPrint upgrade
    whose sheet styles our tags differently fails here)."""
    files = [DEMO / "dinkes.xlsx", DEMO / "kel-pohjentrek.xlsx", DEMO / "kec-gadingrejo.xlsx"]
    run = score_paths(files, rubric, as_of=AS_OF)
    pages = [report.render_office_html(run, o) for o in run.offices]
    pages.append(report.render_city_html(run))
    for html in pages:
        small, full = _both_ways(monkeypatch, html)
        assert small[:5] == b"%PDF-" and small == full


@pytest.mark.pdf
def test_the_kecamatan_report_too_has_the_same_bytes_with_the_small_sheet(monkeypatch, city):  # noqa: F811
    g = city.kecamatan_groups()[0]
    html = report.render_kecamatan_html(city, g)
    assert report.small_ua_fits(html)
    small, full = _both_ways(monkeypatch, html)
    assert small[:5] == b"%PDF-" and small == full


# --- Streams compressed once, HTML patterns made once (issue 13 item 3, wp-pdfcpu3) ----------


def _office_page(rubric):
    run = score_paths([DEMO / "dinkes.xlsx"], rubric, as_of=AS_OF)
    o = run.offices[0]
    return report.render_office_html(run, o), (
        report.ATTACHMENT_NAME,
        report.office_attachment(run, o, "id"),
    )


@pytest.mark.pdf
def test_each_stream_is_compressed_once_and_the_pdf_keeps_its_bytes(monkeypatch, rubric):
    """pydyf compresses a stream each time its bytes are asked for, and with a PDF identifier
    they are asked for twice (to write the object, then to hash every object for the
    identifier): the fonts and the page content were compressed twice. report.compress_once
    compresses them once, before pydyf writes, as pydyf would: at pydyf's level the same
    bytes; at report.PDF_COMPRESSION the same pages (the text read back is the same)."""
    import zlib

    import pydyf

    html, attachment = _office_page(rubric)
    report.html_to_pdf(html, AS_OF, attachment)  # fonts and stylesheets warm
    calls = []

    class Counting:
        def compressobj(self, level=-1):
            calls.append(level)
            return zlib.compressobj(level)

    monkeypatch.setattr(pydyf, "zlib", Counting())
    quicker = report.html_to_pdf(html, AS_OF, attachment)
    assert report.PDF_COMPRESSION == 6 and len(calls) == 3
    monkeypatch.setattr(report, "PDF_COMPRESSION", 9)  # pydyf's own level
    calls.clear()
    once = report.html_to_pdf(html, AS_OF, attachment)
    # pydyf itself now compresses only the streams it makes while writing: the object stream
    # (twice: written, then hashed for the identifier) and the cross-reference stream (once).
    # Before, it also compressed each of the page, font and attachment streams twice.
    assert len(calls) == 3
    with monkeypatch.context() as m:
        m.setattr(report, "compress_once", lambda document, pdf: None)
        pydyf_own = report.html_to_pdf(html, AS_OF, attachment)
    assert len(calls) > 3 + 2 * 5  # 5 pages: at least their 5 content streams, twice each
    assert once[:5] == b"%PDF-" and once == pydyf_own
    assert _text(quicker) == _text(once) and len(quicker) < 1.03 * len(once)


def _text(pdf: bytes) -> list[str]:
    import io

    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_tinyhtml5_finds_the_patterns_it_made_and_parses_the_same_tree(monkeypatch, rubric):
    """tinyhtml5 2.1 kept each pattern of ``chars_until`` under the wrong key, so it made it
    again for every run of text (about 40 % of parsing a report). After
    report._cache_parser_patterns a second page builds no pattern, and the tree is the same."""
    import xml.etree.ElementTree as ET

    import tinyhtml5
    from tinyhtml5 import inputstream

    def parse(page):
        return ET.tostring(tinyhtml5.parse(page, namespace_html_elements=False))

    page = report.compact_html(_office_page(rubric)[0])
    monkeypatch.setattr(inputstream, "characters_until_regex", {})  # tinyhtml5's own
    plain = parse(page)
    assert len(inputstream.characters_until_regex) < 20
    assert all(hasattr(k[0], "pattern") for k in inputstream.characters_until_regex)  # the bug

    made = []
    original = report._ParserPatterns.__missing__

    def counting(self, key):
        made.append(key)
        return original(self, key)

    monkeypatch.setattr(report._ParserPatterns, "__missing__", counting)
    monkeypatch.setattr(inputstream, "characters_until_regex", {})
    report._cache_parser_patterns()
    first = parse(page)
    assert made and len(made) == len(set(made)) < 20  # each pattern made once
    again = parse(page)
    assert len(made) == len(set(made))  # the second page made none
    assert first == again == plain


@pytest.mark.pdf
def test_the_tag_query_finds_what_cssselect2_finds(monkeypatch, rubric, city):  # noqa: F811
    """WeasyPrint walks every page twice through cssselect2 to find its stylesheets and its
    metadata; on our pages report._TagQuery answers those two queries (and any query by tag
    names) with the same elements in the same order, and hands anything else to cssselect2."""
    html, _ = _office_page(rubric)
    pages = [html, report.render_city_html(city)]
    pages.append(report.render_kecamatan_html(city, city.kecamatan_groups()[0]))
    ua = report._stylesheet(*reversed(report._renderer()), report.SMALL_UA)
    quick = report._small_ua_html(ua)
    asked = []
    for page in pages:
        doc = quick(string=report.compact_html(page), base_url=str(ROOT / "reports"))
        query = doc.wrapper_element.query_all
        assert isinstance(query, report._TagQuery)
        monkeypatch.setattr(query, "general", lambda *s: asked.append(s) or iter(()))
        general = type(doc.wrapper_element).query_all.__get__(doc.wrapper_element)
        for selectors in (("style", "link"), ("title", "meta", "link"), ("td",), ("rect", "a")):
            found = [w.etree_element for w in query(*selectors)]
            assert found == [w.etree_element for w in general(*selectors)], selectors
        assert [len(list(query("meta"))), len(list(query("title")))] == [4, 1]
        list(query("td.num"))
    assert asked == [("td.num",)] * 3  # not a tag name: cssselect2's own query


def test_parser_patterns_answer_only_tinyhtml5s_own_key_shape():
    """A later tinyhtml5 keying by a 2-character string would unpack as (characters, opposite)
    and get a wrong pattern: any other key is left to tinyhtml5's own KeyError path (found by a
    cold review)."""
    from monev import report

    patterns = report._ParserPatterns()
    assert patterns[(frozenset("<&"), False)].match("abc<")
    for key in ("<&", ("<", "&"), ("<&", 1)):
        with pytest.raises(KeyError):
            patterns[key]
