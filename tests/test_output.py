"""Every number as it leaves monev is rounded by the one rule (half up, once), in every output.

Tie values (exactly ``…,xx5``) and values whose decimal expansion does not end go through the
library's own outputs: results.json, ranking.csv, rekap.xlsx (read back with openpyxl), the
terminal table, both reports' HTML, the group means and the percentages of the heat map.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal
from fractions import Fraction

import openpyxl
import pytest
from helpers import write_workbook
from hypothesis import example, given
from hypothesis import strategies as st

from monev.batch import score_paths
from monev.i18n import fmt_number
from monev.report import city_context, render_city_html, render_office_html
from monev.results import dumps, num, to_csv, to_xlsx
from monev.rounding import round_half_up
from monev.rubric import parse_rubric
from monev.scoring import round2

D = Decimal
F = Fraction
EV = "https://ppid.contoh.go.id/bukti"

# Aspect A (98): weights add up to 19,600, so one weight unit is 98/19600 = 0.005 points.
#   T-01 16,025 units = 80.125 points (a tie); T-02 20 = 0.10; T-03 22 = 0.11.
# Aspect B (1): U-01 weight 1 of 8 = 0.125 points, 12.5 % of the aspect (a tie).
# Aspect C (1): three equal items of 1/3 point each (a decimal expansion that does not end).
TIE_RUBRIC = """
id: uji-seri
title: Rubrik uji pembulatan
year: 2024
category: Uji
version: "1.0"
aspects:
  - {code: A, name: Aspek A, weight: 98}
  - {code: B, name: Aspek B, weight: 1}
  - {code: C, name: Aspek C, weight: 1}
indicators:
  - {code: T-01, aspect: A, question: Satu, answer: {type: ya_tidak}, weight: 16025}
  - {code: T-02, aspect: A, question: Dua, answer: {type: ya_tidak}, weight: 20}
  - {code: T-03, aspect: A, question: Tiga, answer: {type: ya_tidak}, weight: 22}
  - {code: T-04, aspect: A, question: Empat, answer: {type: ya_tidak}, weight: 3533}
  - {code: U-01, aspect: B, question: Lima, answer: {type: ya_tidak}, weight: 1}
  - {code: U-02, aspect: B, question: Enam, answer: {type: ya_tidak}, weight: 7}
  - {code: V-01, aspect: C, question: Tujuh, answer: {type: ya_tidak}}
  - {code: V-02, aspect: C, question: Delapan, answer: {type: ya_tidak}}
  - {code: V-03, aspect: C, question: Sembilan, answer: {type: ya_tidak}}
predicates:
  - {name: Informatif, min: 90}
  - {name: Menuju Informatif, min: 80}
  - {name: Cukup Informatif, min: 60}
  - {name: Kurang Informatif, min: 40}
  - {name: Tidak Informatif, min: 0}
stages:
  - {code: saq, name: SAQ, weight: 100}
"""


@pytest.fixture(scope="module")
def tie_run(tmp_path_factory):
    r = parse_rubric(TIE_RUBRIC, "uji-seri.yaml")
    folder = tmp_path_factory.mktemp("seri")
    offices = {
        # 80.125 exactly -> 80.13 (half-even would give 80.12)
        "seri.xlsx": ("Dinas Seri", "OPD", [("T-01", "Ya", EV)]),
        # 80.125 + 1/3 = 80.4583… -> 80.46
        "pertiga.xlsx": ("Dinas Pertiga", "OPD", [("T-01", "Ya", EV), ("V-01", "Ya", EV)]),
        # 0.125 exactly -> 0.13; aspect B is 0.125 / 1 = 12.5 % -> 13 %
        "persen.xlsx": ("Dinas Persen", "OPD", [("U-01", "Ya", EV)]),
        # Kelurahan: 0.10 and 0.11, mean 0.105 -> 0.11 (half-even would give 0.10)
        "satu.xlsx": ("Kelurahan Satu", "Kelurahan", [("T-02", "Ya", EV)]),
        "dua.xlsx": ("Kelurahan Dua", "Kelurahan", [("T-03", "Ya", EV)]),
    }
    for file, (name, unit, rows) in offices.items():
        write_workbook(folder / file, r, rows, office=name, unit_type=unit)
    return score_paths([folder], r, as_of=dt.date(2024, 11, 13))


def _office(run, name):
    return next(o for o in run.offices if o.name == name)


EXPECTED = {  # office -> published score, by hand (see tie_run)
    "Dinas Seri": "80.13",
    "Dinas Pertiga": "80.46",
    "Dinas Persen": "0.13",
    "Kelurahan Satu": "0.10",
    "Kelurahan Dua": "0.11",
}


def test_the_exact_values_are_what_the_comments_say(tie_run):
    assert _office(tie_run, "Dinas Seri").score.final_exact == F(80125, 1000)
    assert _office(tie_run, "Dinas Pertiga").score.final_exact == F(80125, 1000) + F(1, 3)
    assert _office(tie_run, "Dinas Persen").score.final_exact == F(1, 8)


def test_one_helper_ties_and_endless_fractions():
    # Ties go up (away from zero), for Fraction and Decimal alike.
    for value in (F(80125, 1000), D("80.125")):
        assert round_half_up(value) == D("80.13") and round2(value) == D("80.13")
        assert fmt_number(value) == "80,13" and fmt_number(value, "en") == "80.13"
    assert round_half_up(F(-1, 8)) == D("-0.13") == round_half_up(D("-0.125"))
    # Just below a tie stays down; fmt_number used to divide in 28 digits and round up here.
    below = F(80125, 1000) - F(1, 10**30)
    assert round_half_up(below) == D("80.12") and fmt_number(below) == "80,12"
    assert round_half_up(F(7333, 77)) == D("95.23") and fmt_number(F(7333, 77)) == "95,23"
    assert round_half_up(F(1, 3), 4) == D("0.3333") and fmt_number(F(2, 3), places=4) == "0,6667"
    assert num(F(1, 8), 2) == D("0.13") and str(num(F(1, 3), 4)) == "0.3333"
    # Percent with no decimals: 12.5 -> 13 (Python's format() would give 12).
    assert fmt_number(F(25, 2), places=0) == "13" and f"{12.5:.0f}" == "12"


def test_json_carries_the_rounded_figures(tie_run):
    data = json.loads(tie_run.to_json())
    scores = {o["name"]: o["score"] for o in data["offices"]}
    assert scores == {k: float(v) for k, v in EXPECTED.items()}
    text = tie_run.to_json()
    assert '"score": 80.13,' in text and '"score": 0.10,' in text
    persen = next(o for o in data["offices"] if o["name"] == "Dinas Persen")
    assert [a["score"] for a in persen["aspects"]] == [0, 0.13, 0]
    pertiga = next(o for o in data["offices"] if o["name"] == "Dinas Pertiga")
    v01 = next(i for i in pertiga["indicators"] if i["code"] == "V-01")
    assert v01["points"] == 0.3333 and v01["points_exact"] == "1/3"


def test_csv_carries_the_rounded_figures(tie_run):
    rows = list(csv.DictReader(io.StringIO(to_csv(tie_run))))
    assert {r["name"]: r["score"] for r in rows} == EXPECTED
    persen = next(r for r in rows if r["name"] == "Dinas Persen")
    assert persen["aspect_B"] == "0.13"


def test_xlsx_carries_the_rounded_figures(tie_run):
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(tie_run)))
    ranking = list(wb["Peringkat"].iter_rows(values_only=True))
    col = ranking[0].index("Nilai akhir")
    assert {r[1]: r[col] for r in ranking[1:]} == {k: float(v) for k, v in EXPECTED.items()}
    assert wb["Peringkat"].cell(row=2, column=col + 1).number_format == "0.00"
    # Indicator points: the 4-decimal figure results.json carries, not float(1/3) = 0.33333…
    long = list(wb["Indikator"].iter_rows(values_only=True))
    head = long[0]
    v01 = next(r for r in long if r[1] == "Dinas Pertiga" and r[2] == "V-01")
    assert v01[head.index("Poin")] == 0.3333 and v01[head.index("Nilai jawaban (0-1)")] == 1.0


def test_terminal_table_shows_the_rounded_figures(tie_run, capsys):
    from monev.cli import _print_ranking

    _print_ranking(tie_run, "id")
    out = capsys.readouterr().out
    for name, score in EXPECTED.items():
        line = next(line for line in out.splitlines() if name in line)
        assert score.replace(".", ",") in line


def test_group_means_round_half_up(tie_run):
    ctx = city_context(tie_run)
    groups = {g["unit"]: g["mean"] for g in ctx.groups}
    # Kelurahan: (0.10 + 0.11) / 2 = 0.105 -> 0.11.  OPD: (80.13 + 80.46 + 0.13) / 3 = 53.5733…
    assert groups == {"Kelurahan": D("0.11"), "OPD": D("53.57")}
    html = render_city_html(tie_run)
    assert re.search(r"<td>Kelurahan</td><td class=\"num\">2</td><td class=\"num\">0,11</td>", html)


def test_city_html_heat_map_percentages_round_half_up(tie_run):
    html = render_city_html(tie_run)
    row = next(line for line in html.splitlines() if 'class="name">' in line and "Persen" in line)
    # Aspect B of Dinas Persen: 0.125 of 1 point = 12.5 % -> 13 %.  A: 0 %.  C: 0 %.
    assert re.findall(r">(\d+%)</td>", row) == ["0%", "13%", "0%"]
    assert "80,13" in html and "80,46" in html


def test_office_html_shows_the_rounded_figures(tie_run):
    html = render_office_html(tie_run, _office(tie_run, "Dinas Seri"))
    assert '<div class="value">80,13</div>' in html
    html = render_office_html(tie_run, _office(tie_run, "Dinas Persen"))
    assert '<div class="value">0,13</div>' in html
    assert "0,13 / 1</div>" in html  # aspect chart label: 0.125 -> 0,13


@pytest.mark.pdf
def test_office_pdf_text_shows_the_tie_rounded_up(tie_run):
    from pypdf import PdfReader

    from monev.report import html_to_pdf

    o = _office(tie_run, "Dinas Seri")
    pdf = html_to_pdf(render_office_html(tie_run, o), tie_run.as_of)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "80,13" in text and "80,12" not in text


# --- results.json: library data is data ------------------------------------------------------


def test_to_dict_returns_numbers_not_placeholders(tie_run):
    data = tie_run.to_dict()
    office = data["offices"][0]
    assert isinstance(office["score"], Decimal) and office["score"] == D("80.46")
    assert isinstance(office["saq"]["verifiable"], Decimal)

    def strings(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from strings(v)
        elif isinstance(value, list):
            for v in value:
                yield from strings(v)
        elif isinstance(value, str):
            yield value

    assert not [s for s in strings(data) if "\x00" in s]


def test_dumps_cannot_be_fooled_by_a_string_that_looks_like_its_placeholder():
    # The old encoding turned this user text into the number 5.
    text = dumps({"note": "\x00N:5", "score": D("5.00")})
    assert json.loads(text) == {"note": "\x00N:5", "score": 5}
    assert '"score": 5.00' in text


def test_dumps_writes_lone_surrogates_as_escapes():
    # A file name that is not UTF-8 reaches Python as lone surrogates (os.fsdecode).
    name = b"dinas-\xe9.xlsx".decode("utf-8", "surrogateescape")
    text = dumps({"file": name})
    text.encode("utf-8")  # never raises
    assert json.loads(text) == {"file": name}


@example(n=-4, d=1, places=0)  # -0.04 rounds to 0: "0", where Decimal says "-0"
@given(
    n=st.integers(-(10**12), 10**12),
    d=st.integers(1, 10**9),
    places=st.integers(0, 6),
)
def test_half_up_in_integers_is_the_rule_for_every_fraction(n, d, places):
    """round_half_up works in integers (issue 13: it is called for every figure of every output);
    it agrees with the rule written with fractions and, on every value a Decimal holds exactly,
    with Decimal's own ROUND_HALF_UP."""
    from decimal import ROUND_HALF_UP, localcontext

    q = F(n, d)
    scaled = abs(q) * 10**places + F(1, 2)
    units = scaled.numerator // scaled.denominator
    sign = 1 if q < 0 and units else 0
    want = D((sign, tuple(int(c) for c in str(units)), -places))
    got = round_half_up(q, places)
    assert got == want and str(got) == str(want)  # the same digits and the same sign
    exact_decimal = D(n).scaleb(-(places + 2))  # two more decimals than are kept: exact
    with localcontext() as ctx:
        ctx.prec = 60
        expect = exact_decimal.quantize(D(1).scaleb(-places), rounding=ROUND_HALF_UP)
        got = round_half_up(exact_decimal, places)
        # the same digits; a negative value that rounds to zero is "0.00", never "-0.00"
        assert got == expect and str(got) == str(expect if expect else expect.copy_abs())
