"""Real instruments other than KI Jatim, written as rubric files (issue 12 item 1).

Each rubric in tests/data/rubrics names its public sources in ``source_notes``; each test scores
a small case whose figures are computed by hand in the comments.
"""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from helpers import questionnaire, write_workbook
from typer.testing import CliRunner

from monev.cli import app
from monev.rubric import Exact, RubricError, load_rubric, parse_rubric
from monev.scoring import score

D = Decimal
RUBRICS = Path(__file__).parent / "data" / "rubrics"
EV = "https://ppid.contoh.go.id/bukti"


def rubric(name: str):
    return load_rubric(RUBRICS / f"{name}.yaml")


# --- (a) exact option values and weights --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2/3", Fraction(2, 3)),
        ("2.2/3", Fraction(22, 30)),
        ("5/6", Fraction(5, 6)),
        ("0.75", Fraction(3, 4)),
        (0.5, Fraction(1, 2)),
        (1, Fraction(1)),
    ],
)
def test_exact_numbers_are_fractions(text, value):
    v = Exact.parse(text)
    assert v == value
    assert isinstance(v, Fraction)


def test_exact_numbers_print_as_decimals_or_fractions():
    assert f"{Exact.parse('0.75').normalize():f}" == "0.75"
    assert f"{Exact.parse('2.2/3').normalize():f}" == "11/15"


@pytest.mark.parametrize("bad", ["2/0", "1/3/4", "abc", "-1/2", "1e3", True])
def test_exact_numbers_refuse_what_is_not_one(bad):
    with pytest.raises(ValueError):
        Exact.parse(bad)


def test_option_value_above_one_names_its_path():
    text = (RUBRICS / "kemenhub-2024.yaml").read_text(encoding="utf-8")
    text = text.replace(
        '{label: Hampir sesuai, value: "2.8/3"}', '{label: Hampir sesuai, value: "4/3"}', 1
    )
    with pytest.raises(RubricError) as err:
        parse_rubric(text, "k.yaml")
    assert "indicators[0].answer.options[1].value" in str(err.value)


KEMENHUB_GRADES = {
    # items graded below Sesuai in the case below; everything else is Sesuai (full points)
    **{f"K-{n:02d}": "Cukup" for n in (1, 4, 11, 12, 13, 20, 21, 24, 31, 34)},  # 3-point items
    **{f"K-{n:02d}": "Cukup" for n in (2, 3, 5, 6, 7, 25, 27, 28)},  # 2-point items
    **{f"K-{n:02d}": "Cukup" for n in (14, 15, 16, 17, 18, 19, 23)},  # 1-point items
    "K-10": "Cukup",  # 4 points, Cukup = 2
    "K-08": "Cukup",  # 4 points, Cukup = 3.2
}


def test_kemenhub_exact_total_is_80():
    r = rubric("kemenhub-2024")
    # The 35 items' points add up to 100 (aspects I = 55, II = 41, III = 4), so each item's
    # max_points is its own points: aspect weight x item points / aspect points = item points.
    assert sum(Fraction(i.weight) for i in r.indicators) == 100
    rows = [(f"K-{n:02d}", KEMENHUB_GRADES.get(f"K-{n:02d}", "Sesuai"), EV) for n in range(1, 36)]
    s = score(r, questionnaire(r, rows))
    # Points lost against 100:
    #   ten 3-point items at Cukup (2.2):  10 x 0.8 = 8
    #   eight 2-point items at Cukup (1.2): 8 x 0.8 = 6.4
    #   seven 1-point items at Cukup (0.6): 7 x 0.4 = 2.8
    #   K-10 (4 points) at Cukup (2):       2
    #   K-08 (4 points) at Cukup (3.2):     0.8
    #   total lost 20  ->  100 - 20 = 80, exactly (a 28-digit decimal 2.2/3 gave 79.99...97)
    assert s.saq_verifiable_exact == Fraction(80)
    assert s.saq_claimed_exact == Fraction(80)
    assert s.score == D("80.00")
    # Per aspect:
    #   I lost 3-pt (1,4,11,12,13,20,21) 7 x 0.8 = 5.6, 2-pt (2,3,5,6,7) 5 x 0.8 = 4,
    #     1-pt (14..19) 6 x 0.4 = 2.4, K-10 2, K-08 0.8  ->  55 - 14.8 = 40.2
    #   II lost 3-pt (24,31,34) 3 x 0.8 = 2.4, 2-pt (25,27,28) 3 x 0.8 = 2.4, 1-pt (23) 0.4
    #     ->  41 - 5.2 = 35.8
    #   III (K-35, Sesuai) keeps its 4 points;  40.2 + 35.8 + 4 = 80
    assert [a.verifiable for a in s.aspects] == [Fraction(402, 10), Fraction(358, 10), 4]


# --- (b) an instrument without predicate bands: ranking only --------------------------------


def test_rubric_without_predicates_scores_with_predicate_none():
    r = rubric("kemenhub-2024")
    assert r.predicates == []
    s = score(r, questionnaire(r, [("K-01", "Sesuai", EV)]))
    assert s.predicate == ""  # results.json writes null
    assert s.score == D("3.00")  # one 3-point item, full


def test_cli_results_json_without_predicates(tmp_path):
    r = rubric("kemenhub-2024")
    folder = tmp_path / "in"
    folder.mkdir()
    # Office A: K-01 Sesuai (3) + K-09 Hampir sesuai (5 of 6) = 8;  office B: K-35 Sesuai = 4
    write_workbook(
        folder / "a.xlsx",
        r,
        [("K-01", "Sesuai", EV), ("K-09", "Hampir sesuai", EV)],
        office="Unit A",
    )
    write_workbook(folder / "b.xlsx", r, [("K-35", "Sesuai", EV)], office="Unit B")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app,
        [
            "score",
            str(folder),
            "--rubric",
            str(RUBRICS / "kemenhub-2024.yaml"),
            "--out",
            str(out),
            "--no-pdf",
        ],
    )
    assert res.exit_code in (0, 1), res.output
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    got = {o["name"]: (o["rank"], o["score"], o["predicate"]) for o in data["offices"]}
    assert got == {"Unit A": (1, 8.0, None), "Unit B": (2, 4.0, None)}
    assert data["summary"]["predicates"] == {}
