"""Computed answers from named numbers (issue 12 item 1: Zona Integritas ratios from counts).

The rubric is tests/data/rubrics/zi-lke-wbk.yaml with one computed criterion added to pillar PPC,
as the LKE asks it: "persentase pegawai yang mengikuti pengembangan kompetensi" = the staff
trained / all staff, both typed as counts on their own rows.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from helpers import COL, write_workbook

from monev import formula
from monev.cells import col_letter
from monev.rubric import RubricError, parse_rubric
from monev.scoring import score
from monev.workbook import read_questionnaire

D = Decimal
ZI = Path(__file__).parent / "data" / "rubrics" / "zi-lke-wbk.yaml"
EV = "https://ppid.contoh.go.id/bukti"
PILLARS = ["PPA", "PPB", "PPC", "PPD", "PPE", "PPF", "PRA", "PRB", "PRC", "PRD", "PRE", "PRF"]

COMPUTED = """
- {code: PPC-2.A, aspect: PPC, question: 'Jumlah pegawai yang mengikuti pengembangan kompetensi',
   answer: {type: number, unit: orang}, evidence_required: false}
- {code: PPC-2.B, aspect: PPC, question: 'Jumlah seluruh pegawai',
   answer: {type: number, unit: orang}, evidence_required: false}
- code: PPC-2
  aspect: PPC
  question: 'Persentase pegawai yang mengikuti pengembangan kompetensi'
  answer: {type: computed, numbers: {dilatih: PPC-2.A, pegawai: PPC-2.B}, formula: FORMULA}
"""


def zi_text(formula_text: str = "dilatih / pegawai") -> str:
    return ZI.read_text("utf-8") + COMPUTED.replace("FORMULA", repr(formula_text))


def zi(formula_text: str = "dilatih / pegawai"):
    return parse_rubric(zi_text(formula_text), "zi.yaml")


def full_rows(trained, staff, typed=None):
    rows = [(f"{p}-1", "A", EV) for p in PILLARS]
    rows += [("HBA-1", "100", EV), ("HBB-1", "100", EV), ("HPA-1", "100", EV)]
    rows += [("PPC-2.A", trained), ("PPC-2.B", staff), ("PPC-2", typed, EV)]
    return rows


def read(tmp_path, r, rows):
    path = write_workbook(tmp_path / "unit.xlsx", r, rows, unit_type="Unit kerja")
    return read_questionnaire(path, r)


def codes(q):
    return [p.code for p in q.problems]


def test_ratio_of_two_counts_scores_by_hand(tmp_path):
    r = zi()
    shares = r.max_points()
    # PPC (weight 5) now has two scored criteria of weight 1 each: 5 x 1 / 2 = 2.5 points each;
    # the two count rows are not scored themselves.
    assert shares["PPC-2"] == Fraction(5, 2)
    assert "PPC-2.A" not in shares
    q = read(tmp_path, r, full_rows(30, 40))
    assert codes(q) == []
    assert q.answers["PPC-2"].parsed.value == Fraction(3, 4)  # 30 / 40
    s = score(r, q)
    # PPC-2 = 2.5 x 3/4 = 1.875; every other criterion full: 100 - 2.5 + 1.875 = 99.375 -> 99.38
    assert s.score == D("99.38")
    # PPC = 2.5 + 1.875 = 4.375, above its WBK minimum 3.00
    assert dict((a.code, a.verifiable) for a in s.aspects)["PPC"] == Fraction(35, 8)
    assert s.predicate == "WBK"


def test_zero_denominator_is_a_problem_and_counts_zero(tmp_path):
    r = zi()
    q = read(tmp_path, r, full_rows(0, 0))
    mv631 = [p for p in q.problems if p.code == "MV631"]
    assert len(mv631) == 1 and mv631[0].param("divisor") == "pegawai"
    answer_col = col_letter(COL["answer"] - 1)
    assert mv631[0].cell == f"{answer_col}{q.answers['PPC-2'].row}"  # the computed row's answer
    assert "pembaginya (pegawai) bernilai 0" in mv631[0].message("id")
    s = score(r, q)
    # PPC-2 counts 0: 100 - 2.5 = 97.5; PPC = 2.5 < its minimum 3.00 -> not WBK
    assert s.score == D("97.50")
    assert s.predicate == "Belum WBK"


def test_missing_number_names_its_row(tmp_path):
    r = zi()
    q = read(tmp_path, r, full_rows(12, None))
    assert "MV630" in codes(q)
    mv630 = next(p for p in q.problems if p.code == "MV630")
    assert mv630.param("rows") == "PPC-2.B"
    assert "MV202" in codes(q)  # the empty count row itself, as any empty answer
    assert score(r, q).score == D("97.50")  # 100 - 2.5, as above


def test_result_outside_zero_to_one_is_refused(tmp_path):
    r = zi()
    q = read(tmp_path, r, full_rows(50, 40))  # 50 / 40 = 1.25: more trained than staff
    assert "MV632" in codes(q)
    assert next(p for p in q.problems if p.code == "MV632").param("value") == "125 %"
    assert score(r, q).score == D("97.50")
    # A rubric that caps the ratio instead: min(1, 50 / 40) = 1 -> full marks (100.00)
    capped = zi("min(1, ratio(dilatih, pegawai))")
    assert score(capped, read(tmp_path, capped, full_rows(50, 40))).score == D("100.00")


def test_answer_typed_on_a_computed_row_is_not_used(tmp_path):
    r = zi()
    q = read(tmp_path, r, full_rows(10, 40, typed="Ya"))
    assert codes(q) == ["MV633"]
    # 10 / 40 = 0.25, not the typed Ya: 100 - 2.5 + 2.5 x 0.25 = 98.125 -> 98.13
    assert score(r, q).score == D("98.13")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a / b", Fraction(3, 4)),
        ("ratio(a, b)", Fraction(3, 4)),
        ("sum(a, b, 1) / 100", Fraction(71, 100)),  # (30 + 40 + 1) / 100
        ("min(a, b) / max(a, b)", Fraction(3, 4)),
        ("(a + b) * 2 - -1", Fraction(141)),  # (30 + 40) x 2 + 1
        ("1 - a / b", Fraction(1, 4)),
        ("0.5 * a / b", Fraction(3, 8)),
    ],
)
def test_formula_operations(text, value):
    assert formula.evaluate(formula.parse(text), {"a": Fraction(30), "b": Fraction(40)}) == value


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("__import__('os')", "unexpected"),
        ("open(a)", "unknown function 'open'"),
        ("a ** b", "unexpected '*'"),
        ("ratio(a)", "ratio takes two numbers"),
        ("a +", "ends too early"),
        ("(" * 40 + "a" + ")" * 40, "nests at most"),
        ("+".join(["a"] * 100), "at most 60 parts"),
        ("a" + " + a" * 100, "at most 300 characters"),
        ("a b", "after the end"),
        ("12345678901 * a", "unexpected"),
    ],
)
def test_formula_refuses_what_it_cannot_compute(text, says):
    with pytest.raises(formula.FormulaError, match=says.replace("(", r"\(").replace("*", r"\*")):
        formula.parse(text)


def test_rubric_formula_mistakes_name_their_path():
    with pytest.raises(RubricError) as err:
        parse_rubric(zi_text("dilatih / staf"), "zi.yaml")
    where = "indicators[17].answer"
    assert (f"{where}.formula", "the formula uses 'staf', not one of numbers") in err.value.errors
    assert (f"{where}.numbers.pegawai", "the formula does not use this name") in err.value.errors
    with pytest.raises(RubricError) as err:
        parse_rubric(zi_text("open(dilatih)"), "zi.yaml")
    assert err.value.errors[0][0] == f"{where}.formula"
    assert "unknown function 'open'" in err.value.errors[0][1]
    bad = zi_text().replace("pegawai: PPC-2.B", "pegawai: PPC-1")
    with pytest.raises(RubricError) as err:
        parse_rubric(bad, "zi.yaml")
    assert (f"{where}.numbers.pegawai", "'PPC-1' is not an indicator of type number") in (
        err.value.errors
    )


def test_hostile_formula_is_refused_quickly():
    import time

    start = time.perf_counter()
    for text in ("(" * 100_000, "-" * 100_000 + "a", "a*" * 150):
        with pytest.raises(formula.FormulaError):
            formula.parse(text)
    assert time.perf_counter() - start < 5  # generous: each is refused after a few hundred tokens


def test_rubric_show_names_the_new_answer_types(tmp_path, capsys):
    from monev.cli import main

    path = tmp_path / "zi.yaml"
    path.write_text(zi_text(), encoding="utf-8")
    assert main(["rubric", "show", str(path)]) == 0  # was exit 3: no words for these types
    out = capsys.readouterr().out
    assert "PPC-2   [dihitung monev]" in out
    assert "PPC-2.B [angka untuk perhitungan, tidak dinilai sendiri]" in out
    assert main(["rubric", "show", str(path), "--lang", "en"]) == 0
    assert "[computed by monev]" in capsys.readouterr().out
