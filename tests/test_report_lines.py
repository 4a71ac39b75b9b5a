"""Issue 13 item 3 (margin): a render worker does not break the same line of text twice.

Every office report has the same questions, headings and answers in the same column widths, so
a worker rendering a city's offices asked Pango again and again where the same lines break.
``monev.report._LineCache`` answers WeasyPrint's ``split_first_line`` from memory for a text it
has already broken in the same width and font: the same boxes, pages and bytes.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from conftest import DEMO
from test_kecamatan import city  # noqa: F401  (the fixture: a kecamatan with its kelurahan)

from monev import report
from monev.batch import score_paths

AS_OF = dt.date(2024, 11, 13)
TWO = [DEMO / "dinkes.xlsx", DEMO / "kel-pohjentrek.xlsx"]

#: A page that takes the paths of line breaking the reports do not: spacing, tabs kept by
#: ``white-space: pre``, a soft hyphen, words broken anywhere, strikes and overlines, another
#: language, right to left, a small-caps font feature.
ODD = """<!DOCTYPE html><html lang="id"><body style="width: 60mm">
<p style="letter-spacing: 0.5pt; word-spacing: 2pt">Informasi publik yang wajib diumumkan
secara berkala oleh badan publik</p>
<pre style="tab-size: 4">kode\tjawaban\tbukti</pre>
<p style="hyphens: manual">Keterbuka&shy;an informasi pub&shy;lik di seluruh kelurahan kota</p>
<p style="overflow-wrap: anywhere">https://ppid.kotalestari.go.id/dokumen/sangat/panjang/sekali</p>
<p style="text-decoration: line-through overline">dicoret dan bergaris atas</p>
<p lang="en" style="font-variant: small-caps">Public information officer</p>
<p dir="rtl">معلومات عامة</p>
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
def test_a_second_render_of_a_report_breaks_no_line_again(rubric):
    """Counted at WeasyPrint's own ``create_layout``, which every line breaking starts with:
    the second time the same report is laid out Pango is not asked at all (before: as many
    layouts as the first time, about 1,200 for an office)."""
    from weasyprint.text import line_break

    run = score_paths(TWO, rubric, as_of=AS_OF)
    html = report.render_office_html(run, run.offices[0])
    made: list[int] = []
    layout = line_break.create_layout

    def counting(*args: Any, **kwargs: Any) -> Any:
        made.append(1)
        return layout(*args, **kwargs)

    first = report.html_to_pdf(html, AS_OF)
    line_break.create_layout = counting
    try:
        again = report.html_to_pdf(html, AS_OF)
    finally:
        line_break.create_layout = layout
    assert again == first
    assert made == []


@pytest.mark.pdf
def test_the_key_holds_every_property_weasyprint_reads_to_break_a_line(
    monkeypatch,
    rubric,
    city,  # noqa: F811
):
    """What WeasyPrint's split_first_line reads from the style, recorded on an office, a city
    and a kecamatan report and on a page of odd text, is all in LINE_PROPERTIES: a property
    left out would let two texts that break differently share an answer."""
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


@pytest.mark.pdf
def test_every_kind_of_report_has_the_bytes_weasyprint_alone_gives(
    monkeypatch,
    rubric,
    city,  # noqa: F811
):
    """Rendered one after the other with the cache (the second office finds lines the first
    one broke), then each again with WeasyPrint's own split_first_line: the same bytes."""
    from weasyprint.layout import inline

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
    cached, asked = [], []
    for html in pages:
        before = len(found)
        cached.append(report.html_to_pdf(html, AS_OF))
        asked.append(len(found) - before)
    assert asked[1] < asked[0]  # the second office finds lines the first one broke
    monkeypatch.setattr(inline, "split_first_line", split)
    alone = [report.html_to_pdf(html, AS_OF) for html in pages]
    assert cached == alone
    print("lines broken by WeasyPrint per page:", asked)


class Layout:
    """Stands for WeasyPrint's released Pango layout: its text and figures only."""

    def __init__(self, text: str) -> None:
        self.text, self.justification_spacing = text, 0


class Style(dict[str, Any]):
    font_config = object()


def style(**changes: Any) -> Style:
    values = Style.fromkeys(report.LINE_PROPERTIES, "normal")
    values.update({"font_size": 11.0, "text_decoration_line": {"underline"}, **changes})
    return values


def test_each_caller_gets_its_own_layout_and_a_changed_property_is_another_line():
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


def test_what_may_not_be_kept_is_asked_each_time(monkeypatch):
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
