"""Scoring, from hand-computed cases (the arithmetic is in each test) and property tests."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from helpers import answer_rows, questionnaire, small_rubric, write_workbook
from hypothesis import given, settings
from hypothesis import strategies as st

from monev.rubric import Checklist, Percent, Threshold
from monev.scoring import STATUS_NO_EVIDENCE, round2, score
from monev.workbook import read_questionnaire

D = Decimal
EV = "https://ppid.contoh.go.id/bukti"


def test_small_rubric_claimed_and_verifiable_by_hand():
    r = small_rubric()
    q = questionnaire(
        r,
        [
            ("A-01", "Ya", EV),  # weight 1, value 1, proven
            ("A-02", "Tidak"),  # weight 1, value 0
            ("A-03", "Ya"),  # weight 2, value 1, NO evidence
            ("B-01", "B", EV),  # 0.75, proven
            ("B-02.1", "Ya", EV),
            ("B-02.2", "Ya", EV),
            ("B-02.3", "Ya"),
            ("B-02.4", "Tidak"),
            ("B-03", "12 permohonan"),  # informational, not scored
        ],
    )
    s = score(r, q)
    # Claimed:  A = 60 x (1 + 0 + 2x1) / 4 = 45;  B = 40 x (0.75 + 3/4) / 2 = 30;  SAQ = 75
    # Verifiable: A = 60 x (1 + 0 + 0) / 4 = 15;  B = 40 x (0.75 + 2/4) / 2 = 25;  SAQ = 40
    assert [a.claimed for a in s.aspects] == [45, 30]
    assert [a.verifiable for a in s.aspects] == [15, 25]
    assert s.saq_claimed == D("75.00")
    assert s.saq_verifiable == D("40.00")
    assert s.evidence_loss == D("35.00")
    assert s.score == D("40.00")
    assert s.predicate == "Kurang Informatif"
    a03 = next(i for i in s.indicators if i.code == "A-03")
    assert a03.status == STATUS_NO_EVIDENCE
    assert a03.max_points == 30  # 60 x 2 / 4
    b03 = next(i for i in s.indicators if i.code == "B-03")
    assert b03.max_points == 0 and b03.points == 0


def test_round_once_half_up():
    assert round2(Fraction(3125, 1000)) == D("3.13")  # banker's rounding would give 3.12
    assert round2(Fraction(100, 3)) == D("33.33")
    assert round2(Fraction(200, 3)) == D("66.67")
    assert round2(Fraction(8999, 100) + Fraction(1, 200)) == D("90.00")  # 89.995 -> 90.00
    assert round2(Fraction(0)) == D("0.00")


THIRDS_RUBRIC = """
id: uji-pertiga
title: Rubrik uji pertiga
year: 2024
category: Uji
version: "1.0"
aspects:
  - {code: A, name: Aspek A, weight: 50}
  - {code: B, name: Aspek B, weight: 50}
indicators:
  - {code: A-01, aspect: A, question: Satu, answer: {type: ya_tidak}}
  - {code: A-02, aspect: A, question: Dua, answer: {type: ya_tidak}}
  - {code: A-03, aspect: A, question: Tiga, answer: {type: ya_tidak}}
  - {code: B-01, aspect: B, question: Empat, answer: {type: ya_tidak}}
  - {code: B-02, aspect: B, question: Lima, answer: {type: ya_tidak}}
  - {code: B-03, aspect: B, question: Enam, answer: {type: ya_tidak}}
predicates:
  - {name: Informatif, min: 90}
  - {name: Tidak Informatif, min: 0}
stages:
  - {code: saq, name: SAQ, weight: 100}
"""


def test_rounding_happens_once_not_per_aspect():
    from monev.rubric import parse_rubric

    r = parse_rubric(THIRDS_RUBRIC, "uji-pertiga.yaml")
    q = questionnaire(r, [("A-01", "Ya", EV), ("B-01", "Ya", EV)])
    s = score(r, q)
    # Each aspect: 50 x 1/3 = 16.666…; rounded per aspect 16.67 + 16.67 = 33.34.
    # Rounded once: 100/3 = 33.333… -> 33.33.  The two ways differ, so this test tells them apart.
    assert [a.verifiable for a in s.aspects] == [Fraction(50, 3), Fraction(50, 3)]
    assert sum(round2(a.verifiable) for a in s.aspects) == D("33.34")
    assert s.score == D("33.33") and s.saq_claimed == D("33.33")


def test_verifier_decision_overrides_evidence_heuristic():
    r = small_rubric()
    q = questionnaire(
        r,
        [
            ("A-01", "Ya", EV, "Tidak Sesuai"),  # proven on paper, rejected by the verifier -> 0
            ("A-03", "Ya", "", "Sesuai"),  # no evidence, accepted by the verifier -> counts
        ],
    )
    s = score(r, q)
    # Claimed A = 60 x (1 + 2) / 4 = 45; verifiable A = 60 x 2 / 4 = 30.
    assert s.aspects[0].claimed == 45
    assert s.aspects[0].verifiable == 30


def test_later_stages_count_only_past_the_gate():
    r = small_rubric()
    full = [
        ("A-01", "Ya", EV),
        ("A-02", "Ya", EV),
        ("A-03", "Ya", EV),
        ("B-01", "B", EV),
        ("B-02.1", "Ya", EV),
        ("B-02.2", "Ya", EV),
        ("B-02.3", "Ya", EV),
        ("B-02.4", "Ya", EV),
    ]
    # SAQ = 60 + 40 x (0.75 + 1)/2 = 60 + 35 = 95.
    stages = {"visitasi": D("90"), "wawancara": D("80")}
    s = score(r, questionnaire(r, full, stages))
    # Final = (95 x 80 + 90 x 10 + 80 x 10) / 100 = 76 + 9 + 8 = 93.00
    assert s.saq_verifiable == D("95.00")
    assert s.staged and s.score == D("93.00")
    # Below the gate: A-03 (30 points) unproven -> SAQ 65 < 80, final stays the SAQ.
    below = [row if row[0] != "A-03" else ("A-03", "Ya") for row in full]
    s = score(r, questionnaire(r, below, stages))
    assert not s.gate_passed and not s.staged
    assert s.score == D("65.00") and s.predicate == "Cukup Informatif"
    # Stages incomplete: final = SAQ.
    s = score(r, questionnaire(r, full, {"visitasi": D("90")}))
    assert not s.staged and s.score == D("95.00")


@pytest.mark.parametrize(
    ("value", "band"),
    [
        ("90.00", "Informatif"),
        ("89.99", "Menuju Informatif"),
        ("80.00", "Menuju Informatif"),
        ("79.99", "Cukup Informatif"),
        ("60.00", "Cukup Informatif"),
        ("40.00", "Kurang Informatif"),
        ("39.99", "Tidak Informatif"),
        ("0.00", "Tidak Informatif"),
        ("100.00", "Informatif"),
    ],
)
def test_predicate_lower_bound_cutoffs(rubric, value, band):
    assert rubric.predicate(D(value)) == band


# --- the shipped rubric, through real workbooks from `monev template` ----------------------------


def best(rubric, with_evidence: bool = True, only_aspect: str | None = None):
    rows = []
    for ind, item in rubric.rows():
        if only_aspect and ind.aspect != only_aspect:
            continue
        if item is None and isinstance(ind.answer, Checklist):
            continue
        spec = ind.answer
        answer = {Threshold: 7, Percent: 100}.get(type(spec), "Ya")
        if spec.type == "info":
            answer = "10 permohonan"
        rows.append((item.code if item else ind.code, answer, EV if with_evidence else ""))
    return rows


def worst(rubric):
    rows = []
    for code in answer_rows(rubric):
        ind = next((i for i in rubric.indicators if i.code == code), None)
        spec = ind.answer if ind else None
        answer = 0 if isinstance(spec, Threshold | Percent) else "Tidak"
        if spec is not None and spec.type == "info":
            answer = "0"
        rows.append((code, answer))
    return rows


def test_best_answers_with_evidence_score_100(tmp_path, rubric):
    path = write_workbook(tmp_path / "best.xlsx", rubric, best(rubric))
    q = read_questionnaire(path, rubric)
    assert [p.code for p in q.problems] == []
    s = score(rubric, q)
    assert s.score == D("100.00") and s.predicate == "Informatif"


def test_all_tidak_scores_zero(tmp_path, rubric):
    q = read_questionnaire(write_workbook(tmp_path / "w.xlsx", rubric, worst(rubric)), rubric)
    s = score(rubric, q)
    assert s.saq_claimed == D("0.00") and s.score == D("0.00")
    assert s.predicate == "Tidak Informatif"


def test_all_ya_without_evidence_claims_100_proves_0(tmp_path, rubric):
    path = write_workbook(tmp_path / "noev.xlsx", rubric, best(rubric, with_evidence=False))
    s = score(rubric, read_questionnaire(path, rubric))
    assert s.saq_claimed == D("100.00")
    assert s.saq_verifiable == D("0.00")
    assert s.evidence_loss == D("100.00")


def test_only_jenis_informasi_scores_40(tmp_path, rubric):
    path = write_workbook(tmp_path / "ji.xlsx", rubric, best(rubric, only_aspect="JI"))
    s = score(rubric, read_questionnaire(path, rubric))
    # Jenis Informasi weighs 40; every other indicator is empty and counts 0.
    assert s.score == D("40.00")
    assert s.aspects[0].code == "JI" and s.aspects[0].verifiable == 40


def test_shipped_rubric_indicator_points_are_equal_shares(rubric):
    s = score(rubric, questionnaire(rubric, []))
    ji = [i for i in s.indicators if i.aspect == "JI"]
    assert len(ji) == 14 and all(i.max_points == Fraction(40, 14) for i in ji)
    assert sum(i.max_points for i in s.indicators) == 100


# --- properties -------------------------------------------------------------------------------


def _choices(rubric):
    out = {}
    for code in answer_rows(rubric):
        ind = next((i for i in rubric.indicators if i.code == code), None)
        spec = ind.answer if ind else None
        if isinstance(spec, Threshold):
            out[code] = [0, 2, 4, 9]
        elif isinstance(spec, Percent):
            out[code] = [0, 50, 95.5, 100]
        elif spec is not None and spec.type == "info":
            out[code] = ["5"]
        else:
            out[code] = ["Ya", "Tidak", None]
    return out


@st.composite
def answer_tables(draw, rubric):
    rows = []
    for code, options in _choices(rubric).items():
        rows.append((code, draw(st.sampled_from(options)), draw(st.sampled_from(["", EV]))))
    return rows


def _rubric():
    from monev.rubric import load_rubric

    return load_rubric("ki-jatim-2024")


SHIPPED = _rubric()


@settings(max_examples=150, deadline=None)
@given(answer_tables(SHIPPED))
def test_property_bounds_and_claimed_at_least_verifiable(rows):
    s = score(SHIPPED, questionnaire(SHIPPED, rows))
    assert D(0) <= s.saq_verifiable <= s.saq_claimed <= D(100)
    assert D(0) <= s.score <= D(100)
    for a in s.aspects:
        assert 0 <= a.verifiable <= a.claimed <= a.weight


@settings(max_examples=150, deadline=None)
@given(answer_tables(SHIPPED), st.data())
def test_property_monotonic_in_each_answer(rows, data):
    k = data.draw(st.integers(0, len(rows) - 1))
    code, _, evidence = rows[k]
    options = _choices(SHIPPED)[code]
    ranked = [o for o in options if o is not None]
    # Improving one answer (to a value at least as good) never lowers either figure.
    value = lambda o: SHIPPED_VALUE(code, o)  # noqa: E731
    lo, hi = sorted(data.draw(st.lists(st.sampled_from(ranked), min_size=2, max_size=2)), key=value)
    before = score(
        SHIPPED, questionnaire(SHIPPED, [*rows[:k], (code, lo, evidence), *rows[k + 1 :]])
    )
    after = score(
        SHIPPED, questionnaire(SHIPPED, [*rows[:k], (code, hi, evidence), *rows[k + 1 :]])
    )
    assert after.saq_claimed_exact >= before.saq_claimed_exact
    assert after.saq_verifiable_exact >= before.saq_verifiable_exact


def SHIPPED_VALUE(code, raw):
    specs = {item.code if item else ind.code: ind.answer for ind, item in SHIPPED.rows()}
    v = specs[code].parse(raw).value
    return v if v is not None else 0


# Row order: score() walks the rubric and the answers are keyed by code, so a test here could not
# fail; the real test (rows of a workbook in any order) is in test_workbook.py.


def test_readme_worked_example_by_independent_arithmetic(rubric):
    """The README's worked example, recomputed here without the scorer's rounding helper."""
    import re
    from decimal import ROUND_HALF_UP

    from conftest import DEMO, ROOT

    readme = " ".join(ROOT.joinpath("README.md").read_text(encoding="utf-8").split())
    m = re.search(
        r"exact verifiable SAQ (\d+)/(\d+) = [\d,]+… × 0,8 \+ (\d+) × 0,1 \+ (\d+) × 0,1 = "
        r"[\d,]+… → \*\*(\d+,\d\d)\*\*",
        readme,
    )
    assert m, "the README's worked example moved: update this test"
    num_, den, visitasi, wawancara, shown = m.groups()
    # 7333/77 x 0.8 + 92 x 0.1 + 90 x 0.1 = 5866.4/77 + 18.2 = 94.3870…, half up -> 94.39.
    exact = Fraction(int(num_), int(den)) * Fraction(8, 10) + Fraction(
        int(visitasi) + int(wawancara), 10
    )
    digits = D(exact.numerator * 10**6 // exact.denominator).scaleb(-6)  # 94.387012
    assert digits.quantize(D("0.01"), rounding=ROUND_HALF_UP) == D(shown.replace(",", "."))
    # And the scorer, on the demo workbook the README describes, agrees with it.
    from monev.stages import apply_stages, load_stages

    stages = load_stages(DEMO.parent / "contoh-tahapan.xlsx", rubric)
    q = apply_stages(read_questionnaire(DEMO / "diskominfotik.xlsx", rubric), rubric, stages)
    s = score(rubric, q)
    assert s.saq_verifiable_exact == Fraction(int(num_), int(den))
    assert s.stage_scores == {"visitasi": D(visitasi), "wawancara": D(wawancara)}
    assert s.score == D(shown.replace(",", "."))
    # Rounding the SAQ first would publish a different figure: 95.23 x 0.8 + 18.2 = 94.384 -> 94.38.
    assert (D("95.23") * D("0.8") + D("18.2")).quantize(D("0.01"), rounding=ROUND_HALF_UP) == D(
        "94.38"
    )
