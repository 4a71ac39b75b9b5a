"""Differential tests for the reader's and scorer's fast paths (issue 13: CPU per workbook).

Each fast path replaced a plain version; here both run on random inputs and must agree exactly,
so the equivalence is proved on many cases rather than assumed.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest
from helpers import questionnaire, small_rubric
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monev import cells, scoring
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
