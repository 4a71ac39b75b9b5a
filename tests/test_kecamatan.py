"""The kecamatan view (issue 10 item 3): grouping, the city report's coverage section and
kecamatan sections, and the camat's report ``kecamatan/<name>.pdf``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from fractions import Fraction

import pytest
from test_registry import registry_csv, workbook

from monev.batch import score_paths
from monev.i18n import fmt_number
from monev.registry import load_registry
from monev.report import (
    KECAMATAN_ATTACHMENT,
    kecamatan_context,
    render_city_html,
    render_reports,
)
from monev.scoring import round2

AS_OF = dt.date(2026, 11, 1)
SIX = (
    "Dinas Kesehatan,OPD,,,,dr. Ani 0343-1\n"
    "Dinas Sosial,OPD,,,,Budi 0343-2\n"
    "Kecamatan Gadingrejo,Kecamatan,,,,Camat 0343-3\n"
    "Kelurahan Sebani,Kelurahan,Gadingrejo,,,Lurah 0343-4\n"
    "Kelurahan Bugul Lor,Kelurahan,Gadingrejo,,,Lurah 0343-5\n"
    "Kelurahan Bukir,Kelurahan,Gadingrejo,,,Lurah 0343-6\n"
)


@pytest.fixture
def city(tmp_path, rubric):
    """6 registered offices, 4 workbooks: Dinas Sosial and Kelurahan Bukir have not sent.
    Kelurahan Sebani answers JI-01 "Ya" with evidence, Kelurahan Bugul Lor "Tidak": Sebani is
    ahead of Bugul Lor (JI-01 is its only answer that scores)."""
    reg = load_registry(registry_csv(tmp_path / "daftar.csv", SIX))
    src = tmp_path / "in"
    src.mkdir()
    workbook(src / "a.xlsx", rubric, "Dinas Kesehatan")
    workbook(src / "b.xlsx", rubric, "Kecamatan Gadingrejo", "Kecamatan", "Gadingrejo")
    workbook(src / "c.xlsx", rubric, "Kelurahan Bugul Lor", "Kelurahan", "Gadingrejo", "Tidak")
    workbook(src / "d.xlsx", rubric, "Kelurahan Sebani", "Kelurahan", "Gadingrejo")
    return score_paths([src], rubric, registry=reg, as_of=AS_OF)


def test_kecamatan_grouping_ranks_kelurahan_and_lists_the_missing(city):
    groups = city.kecamatan_groups()
    assert [g.name for g in groups] == ["Gadingrejo"]
    g = groups[0]
    assert g.office is not None and g.office.name == "Kecamatan Gadingrejo"
    sebani, bugul = g.kelurahan
    assert (sebani.name, bugul.name) == ("Kelurahan Sebani", "Kelurahan Bugul Lor")
    assert sebani.score.score > bugul.score.score
    assert [e.name for e in g.missing] == ["Kelurahan Bukir"]
    # Gadingrejo expects its own office + 3 kelurahan = 4; Bukir missing: 3 sent.
    assert (g.sent, g.expected) == (3, 4)
    ctx = kecamatan_context(city, g)
    k = ctx.k
    assert [r["rank"] for r in k["kelurahan"]] == [1, 2]
    # The mean of the two published scores, exact, rounded half up.
    assert k["mean"] == round2((Fraction(sebani.score.score) + Fraction(bugul.score.score)) / 2)
    assert k["lowest"] is bugul
    # Distribution: one count per band, summing to the 2 kelurahan that sent.
    assert sum(b["count"] for b in k["bands"]) == 2
    # Each kelurahan's three fixes are the first three of its improvement plan, largest first.
    for row in ctx.rows:
        gains = [s.gain for s in row["steps"]]
        assert len(gains) == 3 and gains == sorted(gains, reverse=True)
        assert row["after"] == row["steps"][-1].cumulative
    # Most of them (more than half of 2 = both) miss an indicator: JI-01 is not among them,
    # since Sebani has it in full.
    codes = [m["code"] for m in ctx.common]
    assert codes and "JI-01" not in codes and all(m["count"] == 2 for m in ctx.common)


def test_city_report_has_a_coverage_section_with_the_missing_offices(city):
    html = render_city_html(city)
    start = html.index("Cakupan: kantor yang sudah mengirim")
    # It comes up front, before the count per predicate.
    assert start < html.index("Jumlah kantor per predikat")
    # sent / expected: 4 of 6 in all, 2 missing.
    assert "4 dari 6 kantor yang terdaftar sudah mengirim kuesioner; 2 belum." in html
    section = html[start : html.index("Jumlah kantor per predikat")]
    cells = re.findall(
        r"<tr><td>([^<]+)</td><td class=\"num[^\"]*\">(\d+)</td>"
        r"<td class=\"num\">(\d+)</td></tr>",
        section,
    )
    # Per unit type in the rubric's order: OPD 1/2, Kecamatan 1/1, Kelurahan 2/3 (Bukir);
    # per kecamatan: Gadingrejo 3/4 (its office + 2 of 3 kelurahan).
    assert cells == [
        ("OPD", "1", "2"),
        ("Kecamatan", "1", "1"),
        ("Kelurahan", "2", "3"),
        ("Gadingrejo", "3", "4"),
    ]
    assert "Belum mengirim (2 kantor)" in section
    assert section.index("Dinas Sosial") < section.index("Kelurahan Bukir")
    # kota.pdf may be published (UU PDP): the contacts are in rekap.xlsx, not here.
    assert "Budi 0343-2" not in html and "Lurah 0343-6" not in html
    assert "rekap.xlsx, lembar Belum Mengirim" in section
    # The kecamatan section: its office, its kelurahan in rank order, who has not sent.
    kec = html[html.index("Per kecamatan") :]
    assert "terendah Kelurahan Bugul Lor" in kec
    table = kec[kec.index('<table class="heat kec-heat">') :]
    assert table.index("Kelurahan Sebani") < table.index("Kelurahan Bugul Lor")
    assert "Kelurahan Bukir." in kec


def test_city_report_without_registry_has_no_coverage_section(tmp_path, rubric):
    src = tmp_path / "in"
    src.mkdir()
    workbook(src / "a.xlsx", rubric, "Kelurahan Sebani", "Kelurahan", "Gadingrejo")
    html = render_city_html(score_paths([src], rubric, as_of=AS_OF))
    assert "Cakupan" not in html and "Per kecamatan" not in html


def _text(path) -> str:
    from pypdf import PdfReader

    return "\n".join(p.extract_text() for p in PdfReader(path).pages)


@pytest.mark.pdf
def test_kecamatan_pdf_ranks_kelurahan_with_their_fixes(city, tmp_path):
    out1, out2 = tmp_path / "o1", tmp_path / "o2"
    written = render_reports(city, out1)
    pdf = out1 / "kecamatan" / "gadingrejo.pdf"  # safe_name("Gadingrejo")
    assert pdf in written
    text = _text(pdf)
    assert "Laporan Kecamatan Gadingrejo" in text
    sebani, bugul = city.kecamatan_groups()[0].kelurahan
    # Names in rank order: in the ranked heat map (after its last column, SP) and in the fixes
    # table (after its heading); the stats line before them names the lowest, Bugul Lor.
    heat = text[text.index("SP (10)") :]
    assert heat.index("Kelurahan Sebani") < heat.index("Kelurahan Bugul Lor")
    fixes = text[text.index("Perbaiki lebih dulu") :]
    assert fixes.index("Kelurahan Sebani") < fixes.index("Kelurahan Bugul Lor")
    # Figures in published style: decimal comma, two places (e.g. 94,74).
    for o in (sebani, bugul):
        assert fmt_number(o.score.score, "id") in text
        assert re.fullmatch(r"\d+,\d\d", fmt_number(o.score.score, "id"))
    assert "Kelurahan Bukir" in text  # not sent: listed, not ranked
    from pypdf import PdfReader

    data = json.loads(PdfReader(pdf).attachments[KECAMATAN_ATTACHMENT][0])
    assert data["kecamatan"] == "Gadingrejo"
    assert [o["name"] for o in data["offices"]] == [
        "Kecamatan Gadingrejo",
        "Kelurahan Sebani",
        "Kelurahan Bugul Lor",
    ]
    assert [m["name"] for m in data["missing"]] == ["Kelurahan Bukir"]
    render_reports(city, out2)
    assert pdf.read_bytes() == (out2 / "kecamatan" / "gadingrejo.pdf").read_bytes()


@pytest.mark.pdf
def test_no_kecamatan_pdfs_without_a_registry(tmp_path, rubric):
    src = tmp_path / "in"
    src.mkdir()
    workbook(src / "a.xlsx", rubric, "Kelurahan Sebani", "Kelurahan", "Gadingrejo")
    render_reports(score_paths([src], rubric, as_of=AS_OF), tmp_path / "o")
    assert not (tmp_path / "o" / "kecamatan").exists()


def test_kecamatan_report_title_comes_from_the_rubric(city):
    from monev.report import kecamatan_title

    g = city.kecamatan_groups()[0]
    assert kecamatan_context(city, g).title == "Laporan Kecamatan Gadingrejo"  # monev's own
    titled = city.rubric.model_copy(
        update={
            "titles": city.rubric.titles.model_copy(
                update={"kecamatan_report": "Rekap Monev KIP Kec. {name}"}
            )
        }
    )
    run = dataclasses.replace(city, rubric=titled)
    assert kecamatan_context(run, g).title == "Rekap Monev KIP Kec. Gadingrejo"
    # Without {name} the name follows a colon; other braces are the rubric's own text.
    assert kecamatan_title("Laporan {tahun}", "Gadingrejo", "id") == "Laporan {tahun}: Gadingrejo"
