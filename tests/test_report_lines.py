"""Issue 13 item 3 (margin): a render worker does not break the same line of text twice.

Every office report has the same questions, headings and answers in the same column widths, so
a worker rendering a city's offices asked Pango again and again where the same lines break.
``monev.report._LineCache`` answers WeasyPrint's ``split_first_line`` from memory for a text it
has already broken in the same width and font: the same boxes, pages and bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest
from conftest import DEMO, ROOT
from test_kecamatan import city  # noqa: F401  (the fixture: a kecamatan with its kelurahan)

from monev import report
from monev.batch import score_paths

AS_OF = dt.date(2024, 11, 13)
TWO = [DEMO / "dinkes.xlsx", DEMO / "kel-pohjentrek.xlsx"]

#: A page that takes the paths of line breaking the reports do not: spacing, tabs kept by
#: ``white-space: pre``, a soft hyphen, words broken anywhere, strikes and overlines, another
#: language, right to left, a small-caps font feature, text in an SVG.
ODD = """<!DOCTYPE html><html lang="id"><body style="width: 60mm">
<p style="letter-spacing: 0.5pt; word-spacing: 2pt">Informasi publik yang wajib diumumkan
secara berkala oleh badan publik</p>
<pre style="tab-size: 4">kode\tjawaban\tbukti</pre>
<p style="hyphens: manual">Keterbuka&shy;an informasi pub&shy;lik di seluruh kelurahan kota</p>
<p style="overflow-wrap: anywhere">https://ppid.kotalestari.go.id/dokumen/sangat/panjang/sekali</p>
<p style="text-decoration: line-through overline">dicoret dan bergaris atas</p>
<p lang="en" style="font-variant: small-caps">Public information officer</p>
<p dir="rtl">معلومات عامة</p>
<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><text x="4" y="14">Teks SVG</text>
<text x="4" y="32" font-size="10">Teks SVG</text></svg>
</body></html>"""


class Recording:
    """A computed style that notes every property read from it."""

    def __init__(self, style: Any, reads: Counter[str]) -> None:
        self.style, self.reads = style, reads

    def __getitem__(self, name: str) -> Any:
        self.reads[name] += 1
        return self.style[name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.style, name)


def line_cache() -> report._LineCache:
    """The cache in front of WeasyPrint's split_first_line, installed by a first PDF."""
    from weasyprint.layout import inline

    report.html_to_pdf("<p>x</p>", AS_OF)
    assert isinstance(inline.split_first_line, report._LineCache)
    return inline.split_first_line


@pytest.mark.pdf
def test_a_second_render_of_a_report_lays_out_and_draws_almost_no_line_again(rubric):
    """Counted at WeasyPrint's own Pango layouts: ``create_layout``, which every line breaking
    starts with, and ``Layout.setup``, which every layout of a line (to break it, to measure
    a font's strut or to draw it) goes through. The second time the same report is rendered
    no line is broken again and only the first lines of each font on the page are drawn by
    WeasyPrint (before: as many layouts as the first time, about 640 and 1,250 for this
    office)."""
    from weasyprint.text import line_break

    run = score_paths(TWO, rubric, as_of=AS_OF)
    html = report.render_office_html(run, run.offices[0])
    made: Counter[str] = Counter()
    create, setup = line_break.create_layout, line_break.Layout.setup

    def creating(*args: Any, **kwargs: Any) -> Any:
        made["create_layout"] += 1
        return create(*args, **kwargs)

    def setting_up(self: Any, style: Any) -> Any:
        made["setup"] += 1
        return setup(self, style)

    first = report.html_to_pdf(html, AS_OF)
    line_break.create_layout, line_break.Layout.setup = creating, setting_up
    try:
        again = report.html_to_pdf(html, AS_OF)
    finally:
        line_break.create_layout, line_break.Layout.setup = create, setup
    assert again == first
    assert made["create_layout"] == 0
    assert made["setup"] < 40


#: Renders the pages of the JSON file argv[1] with WeasyPrint alone (none of monev's caches in
#: front of its functions) and writes their PDFs as JSON (latin-1 text) to stdout.
ALONE = """
import datetime as dt, json, sys
from monev import report
report._cache_text_lines = lambda: None
pages = json.load(open(sys.argv[1], encoding="utf-8"))
pdfs = [report.html_to_pdf(html, dt.date(2024, 11, 13)) for html in pages]
json.dump([pdf.decode("latin-1") for pdf in pdfs], sys.stdout)
"""


@pytest.mark.pdf
def test_every_kind_of_report_has_the_bytes_weasyprint_alone_gives(
    tmp_path,
    monkeypatch,
    rubric,
    city,  # noqa: F811
):
    """Rendered one after the other with the caches (the second office finds lines the first
    one broke and drew), then each again in a fresh process by WeasyPrint alone: the same
    bytes."""
    from weasyprint.draw import text as drawing

    cache = line_cache()
    run = score_paths(TWO, rubric, as_of=AS_OF)
    pages = [report.render_office_html(run, o) for o in run.offices]
    pages += [report.render_city_html(run), ODD]
    pages.append(report.render_kecamatan_html(city, city.kecamatan_groups()[0]))
    found: list[bool] = []
    split = cache.split

    def noting(*args: Any) -> Any:
        found.append(False)
        return split(*args)

    monkeypatch.setattr(cache, "split", noting)
    monkeypatch.setattr(cache, "kept", {})
    monkeypatch.setattr(drawing.draw_first_line, "kept", {})
    cached, asked = [], []
    for html in pages:
        before = len(found)
        cached.append(report.html_to_pdf(html, AS_OF))
        asked.append(len(found) - before)
    assert asked[1] < asked[0]  # the second office finds lines the first one broke
    source = tmp_path / "pages.json"
    source.write_text(json.dumps(pages), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-c", ALONE, str(source)], capture_output=True, check=True, cwd=ROOT
    ).stdout
    alone = [pdf.encode("latin-1") for pdf in json.loads(out)]
    assert len(alone) == len(cached) and all(pdf[:5] == b"%PDF-" for pdf in alone)
    for k, (mine, theirs) in enumerate(zip(cached, alone, strict=True)):
        assert mine == theirs, k


@pytest.mark.pdf
def test_the_key_holds_every_property_weasyprint_reads_to_break_a_line(
    monkeypatch,
    rubric,
    city,  # noqa: F811
):
    """What WeasyPrint's split_first_line reads from the style, recorded on an office, a city
    and a kecamatan report and on a page of odd text, is all in LINE_PROPERTIES: a property
    left out would let two texts that break differently share an answer. And the key WeasyPrint
    keeps a strut under reads only STRUT_PROPERTIES."""
    from weasyprint.text import line_break

    cache = line_cache()
    reads: Counter[str] = Counter()
    split = cache.split

    def recording(text: str, style: Any, *args: Any) -> Any:
        return split(text, Recording(style, reads), *args)

    monkeypatch.setattr(cache, "split", recording)
    monkeypatch.setattr(cache, "kept", {})  # every line broken by WeasyPrint, read and recorded
    run = score_paths(TWO, rubric, as_of=AS_OF)
    report.html_to_pdf(report.render_office_html(run, run.offices[0]), AS_OF)
    report.html_to_pdf(report.render_city_html(run), AS_OF)
    report.html_to_pdf(report.render_kecamatan_html(city, city.kecamatan_groups()[0]), AS_OF)
    report.html_to_pdf(ODD, AS_OF)
    assert {"font_size", "lang", "white_space", "tab_size", "letter_spacing"} <= set(reads)
    assert set(reads) <= set(report.LINE_PROPERTIES)
    strut_reads: Counter[str] = Counter()
    line_break._font_style_cache_key(Recording(Anything(), strut_reads), True)
    assert set(strut_reads) == set(report.STRUT_PROPERTIES)


class Layout:
    """Stands for WeasyPrint's released Pango layout: its text and figures only."""

    def __init__(self, text: str) -> None:
        self.text, self.justification_spacing = text, 0


class Style(dict[str, Any]):
    font_config = object()


@pytest.fixture
def own_fonts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in styles' font configuration taken for monev's own (only that one is cached)."""
    monkeypatch.setattr(report._LOCAL, "fonts", Style.font_config, raising=False)


class Anything(dict[str, Any]):
    """A style in which every property has the value 1."""

    def __missing__(self, name: str) -> int:
        return 1


def style(**changes: Any) -> Style:
    values = Style.fromkeys(report.LINE_PROPERTIES, "normal")
    values.update({"font_size": 11.0, "text_decoration_line": {"underline"}, **changes})
    return values


def test_each_caller_gets_its_own_layout_and_a_changed_property_is_another_line(own_fonts):
    calls: list[str] = []

    def split(text: str, s: Any, context: Any, width: float, *rest: Any) -> Any:
        calls.append(text)
        return Layout(text[:4]), 4, 5, 20.0, 12.0, 9.0

    cache = report._LineCache(split)
    first = cache("Ya dan", style(), None, 30.0, 0)
    first[0].justification_spacing = 3  # WeasyPrint's justification changes a box's layout
    second = cache("Ya dan", style(), None, 30.0, 0)
    assert second[0] is not first[0] and second[0].justification_spacing == 0
    assert second[1:] == (4, 5, 20.0, 12.0, 9.0) and calls == ["Ya dan"]
    cache("Ya dan", style(), None, 31.0, 0)  # another width
    cache("Ya dan", style(font_size=12.0), None, 30.0, 0)  # another font size
    cache("Ya dan", style(text_decoration_line={"overline"}), None, 30.0, 0)
    assert calls == ["Ya dan"] * 4


def test_what_may_not_be_kept_is_asked_each_time(monkeypatch, own_fonts):
    """Automatic hyphenation, a layout still holding Pango's objects, a value that cannot be a
    key: WeasyPrint answers every time. Past LIMIT lines the memory starts again."""
    calls: list[str] = []

    def split(text: str, s: Any, *rest: Any) -> Any:
        calls.append(text)
        layout = Layout(text)
        if text == "active":
            layout.layout = object()  # type: ignore[attr-defined]
        return layout, 1, None, 1.0, 1.0, 1.0

    cache = report._LineCache(split)
    for _ in range(2):
        cache("kata", style(hyphens="auto"), None, 10.0, 0)
        cache("active", style(), None, 10.0, 0)
        cache("daftar", style(font_family=[["DejaVu Sans"]]), None, 10.0, 0)
    assert calls == ["kata", "active", "daftar"] * 2
    monkeypatch.setattr(report._LineCache, "LIMIT", 2)
    for text in ("a", "b", "c", "a"):
        cache(text, style(), None, 10.0, 0)
    assert calls[6:] == ["a", "b", "c", "a"]  # "a" was forgotten when "c" came
    assert len(cache.kept) == 2


class Font:
    """Stands for one of a page's fonts in WeasyPrint's PDF writer."""

    def __init__(self, widths: dict[int, int] | None = None) -> None:
        self.hash, self.widths, self.to_unicode = "DVSANS", dict(widths or {}), {}
        self.png = self.svg = self.colr = self.bitmap = False


class Page:
    """Stands for a page's stream: what is written on it, and the page's fonts."""

    def __init__(self, fonts: dict[int, Font]) -> None:
        self._fonts, self.written = fonts, []

    def add_font(self, pango_font: Any) -> tuple[Font, float]:
        return self._fonts.setdefault(7, Font()), 8.5

    def set_text_matrix(self, *values: float) -> None:
        self.written.append(("matrix", *values))

    def set_font_size(self, name: str, size: float) -> None:
        self.written.append(("font", name, size))

    def show_text(self, text: str) -> None:
        self.written.append(("text", text))

    def set_text_rise(self, rise: float) -> None:
        self.written.append(("rise", rise))


class Matrix:
    def __init__(self, *values: float) -> None:
        self.values = values


#: One line as WeasyPrint draws it (the order of its calls, much simplified): glyph 0x24 is
#: read from the page's font when it knows it, else measured (500) and added; glyph 0x25 is
#: measured twice as often as it is not known, so it is added once and then read.
def draw(stream: Any, textbox: Any, overflow: str, ellipsis: str, matrix: Any) -> list[Any]:
    stream.set_text_matrix(*matrix.values)
    font, size = stream.add_font("pango-font")
    stream.set_font_size(font.hash, size)
    for glyph, text in ((0x24, "A"), (0x25, "B"), (0x25, "B")):
        if glyph not in font.to_unicode:
            font.to_unicode[glyph] = text
        if glyph in font.widths:
            font.widths[glyph]
        else:
            font.widths[glyph] = 500
    stream.show_text("<00240025>")
    return []


class TextBox:
    def __init__(self) -> None:
        self.text = "AB"
        self.style = style()
        self.pango_layout = Layout("AB")


def test_a_line_is_drawn_again_from_memory_only_on_a_page_that_knows_its_fonts(
    monkeypatch, own_fonts
):
    from weasyprint.text import fonts

    monkeypatch.setattr(fonts, "get_pango_font_key", lambda pango_font: (7, None, 8.5))
    activated: list[Any] = []
    cache = report._DrawCache(draw, activated.append)
    first = Page({})
    cache(first, TextBox(), "clip", "none", Matrix(1, 0, 0, -1, 10, 20))
    assert first.written == [
        ("matrix", 1, 0, 0, -1, 10, 20),
        ("font", "DVSANS", 8.5),
        ("text", "<00240025>"),
    ]
    assert first._fonts[7].widths == {0x24: 500, 0x25: 500}
    assert first._fonts[7].to_unicode == {0x24: "A", 0x25: "B"}
    assert len(activated) == 1  # drawn by WeasyPrint: its Pango layout was made
    # another page that knows the font: the same operations at the new place, no layout made
    second = Page({7: Font()})
    assert cache(second, TextBox(), "clip", "none", Matrix(1, 0, 0, -1, 30, 40)) == []
    assert second.written == [("matrix", 1, 0, 0, -1, 30, 40), *first.written[1:]]
    assert second._fonts[7].widths == {0x24: 500, 0x25: 500}
    assert second._fonts[7].to_unicode == {0x24: "A", 0x25: "B"}
    assert len(activated) == 1
    # a page that does not know the font yet, and one whose font measured 0x24 otherwise (at
    # another size): WeasyPrint draws the line itself
    for fonts_known in ({}, {7: Font({0x24: 499})}):
        page = Page(dict(fonts_known))
        cache(page, TextBox(), "clip", "none", Matrix(1, 0, 0, -1, 0, 0))
        assert page.written[0] == ("matrix", 1, 0, 0, -1, 0, 0)
    assert len(activated) == 3
    # an ellipsis is never replayed
    cache(Page({7: Font()}), TextBox(), "ellipsis", "none", Matrix(1, 0, 0, -1, 0, 0))
    assert len(activated) == 4


def test_a_layout_waits_for_its_first_use_to_be_made_again():
    made: list[str] = []

    class PangoLayout:
        def __init__(self) -> None:
            self.text = "x"

        def reactivate(self, style: Any) -> None:
            made.append(style)
            self.layout, self.language, self.style = "pango", "id", style

        def deactivate(self) -> None:
            del self.layout, self.language, self.style

    assert report._lazy_layouts(PangoLayout)
    waiting = PangoLayout()
    waiting.reactivate("gaya")
    assert made == []
    waiting.deactivate()  # never used: never made
    assert made == [] and not hasattr(waiting, "layout")
    used = PangoLayout()
    used.reactivate("gaya")
    assert used.layout == "pango" and made == ["gaya"]  # made when read
    used.deactivate()
    assert not hasattr(used, "layout")
    later = PangoLayout()
    later.reactivate("lain")
    report._activate(later)
    assert made == ["gaya", "lain"] and later.style == "lain"


# --- the cold review's findings on the text caches (each failed before its fix) ------------------


def _caches() -> list[Any]:
    from weasyprint.draw import text as drawing
    from weasyprint.layout import inline

    return [inline.split_first_line, inline.strut, drawing.draw_first_line]


@pytest.mark.pdf
def test_a_glyph_keeps_its_first_text_when_its_line_is_drawn_again():
    """One glyph may stand for "e" + U+0301 and for "é", or for "ﬁ" and "fi", in one line.
    WeasyPrint keeps a glyph's first text for the PDF's text layer; the draw cache kept the last,
    so the same report rendered again in the worker gave other bytes, and pdftotext read
    "André" where the page says "Andre\u0301"."""
    page = (  # "Tk" first: a line is replayed only on a page that already knows its font
        '<html lang="id"><body><p>Tk</p><p>Profil Andre\u0301 André \ufb01le profile</p>'
        "</body></html>"
    )
    first = report.html_to_pdf(page, AS_OF)
    assert report.html_to_pdf(page, AS_OF) == first


@pytest.mark.pdf
def test_a_font_face_added_later_is_not_answered_with_lines_broken_before_it():
    """A document that adds a font by ``@font-face`` to the shared font configuration changes
    how the same text breaks: lines broken before it were answered from the cache."""
    text = '<p style="font-family: Foo; width: 50mm">Hello world informasi publik Foo text</p>'
    face = (
        "<style>@font-face { font-family: Foo; src: url(file:///usr/share/fonts/truetype/"
        "dejavu/DejaVuSansMono.ttf) }</style>"
    )

    def renders() -> list[bytes]:
        report.html_to_pdf(f"<html><body>{text}</body></html>", AS_OF)
        after = report.html_to_pdf(f"<html><head>{face}</head><body>{text}</body></html>", AS_OF)
        for cache in _caches():
            cache.kept.clear()
        alone = report.html_to_pdf(f"<html><head>{face}</head><body>{text}</body></html>", AS_OF)
        return [after, alone]

    after, alone = _in_a_thread(renders)  # its own font configuration, which gets the font
    assert after == alone


def _in_a_thread(work: Any) -> Any:
    """``work()`` in a new thread: monev's font configuration there is the thread's own."""
    import threading

    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append(work()))
    t.start()
    t.join()
    return out[0]


@pytest.mark.pdf
def test_another_font_configuration_is_not_kept_alive_by_the_caches():
    """WeasyPrint used directly in the same process (a font configuration per document) kept
    every configuration alive through the caches' keys, and its @font-face folder with it."""
    import gc
    import weakref

    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    report.html_to_pdf("<p>x</p>", AS_OF)  # the caches in place
    fonts = FontConfiguration()
    HTML(string="<p>Informasi publik yang wajib diumumkan secara berkala</p>").write_pdf(
        font_config=fonts
    )
    gone = weakref.ref(fonts)
    del fonts
    gc.collect()
    assert gone() is None


def test_a_long_text_is_not_kept(monkeypatch):
    """WeasyPrint asks for the first line of the REST of a paragraph: a long paragraph was kept
    once per line, its memory growing with the square of its length."""
    calls = []

    def split(text, *args):
        calls.append(text)
        return (type("L", (), {})(), 1, 2)

    own = object.__new__(type("FC", (), {"_folder": None}))
    monkeypatch.setattr(report._LOCAL, "fonts", own, raising=False)
    cache = report._LineCache(split)
    st = type("S", (), {"font_config": own, "__getitem__": lambda self, k: None})()
    monkeypatch.setattr(report, "_LINE_VALUES", lambda style: ())
    cache("x" * 10, st, None, 100, 0)
    cache("x" * 10, st, None, 100, 0)
    cache("y" * 2_000, st, None, 100, 0)
    cache("y" * 2_000, st, None, 100, 0)
    assert len(calls) == 3 and len(cache.kept) == 1


def test_the_caches_are_put_in_place_only_for_a_weasyprint_they_are_tested_with():
    """WeasyPrint 65 keeps its fonts elsewhere (every render crashed with the caches in place);
    a later one may read a property the keys do not hold."""
    assert report.covered_weasyprint("70.0") and report.covered_weasyprint("70.1")
    assert not report.covered_weasyprint("65.1")
    assert not report.covered_weasyprint("71.0")
    assert not report.covered_weasyprint("")


@pytest.mark.pdf
def test_a_new_thread_does_not_empty_or_wrap_the_caches_again():
    """Each thread's first render put the caches in place again: it emptied every thread's
    caches, and two threads at once could wrap a cache in another."""

    def first() -> list[Any]:
        report.html_to_pdf("<p>Informasi publik</p>", AS_OF)
        return [(c, set(c.kept)) for c in _caches()]

    before = _in_a_thread(first)
    assert all(keys for _, keys in before)
    _in_a_thread(lambda: report.html_to_pdf("<p>Teks lain</p>", AS_OF))
    after = _caches()
    assert [id(c) for c in after] == [id(c) for c, _ in before]
    assert all(keys <= set(c.kept) for c, keys in before)  # nothing emptied
    assert not isinstance(after[0].split, report._LineCache)
