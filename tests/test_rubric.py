"""Rubric files: the shipped rubric's content, and errors that name the file and the bad value."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
import yaml
from helpers import SMALL_RUBRIC

from monev.rubric import AnswerError, RubricError, load_rubric, parse_rubric, shipped


def test_shipped_rubric_content(rubric):
    assert "ki-jatim-2024" in shipped()
    assert rubric.reconstructed and "NOT OFFICIAL" in rubric.source_notes
    assert [(a.code, a.weight) for a in rubric.aspects] == [
        ("JI", 40),
        ("DG", 20),
        ("KI", 10),
        ("PI", 10),
        ("KO", 10),
        ("SP", 10),
    ]
    assert len(rubric.indicators) == 51  # every row of indicators-reconstructed.csv
    by = {i.code: i for i in rubric.indicators}
    assert by["KI-05"].answer.type == "threshold" and by["KI-05"].answer.min == 4
    assert by["PI-03"].answer.type == "percent"
    assert by["PI-05"].answer.type == "info" and not by["PI-05"].scored
    assert by["KO-02"].answer.type == "checklist" and len(by["KO-02"].answer.items) == 6
    assert all(i.evidence_required for i in rubric.indicators if i.scored)
    assert all(i.source for i in rubric.indicators)
    assert [(s.code, s.weight) for s in rubric.stages] == [
        ("saq", 80),
        ("visitasi", 10),
        ("wawancara", 10),
    ]
    assert rubric.stages[1].gate.min == 80
    assert len(rubric.sha256) == 64


def _mutated(change) -> str:
    data = yaml.safe_load(SMALL_RUBRIC)
    change(data)
    return yaml.safe_dump(data)


def _errors(text: str) -> list[tuple[str, str]]:
    with pytest.raises(RubricError) as info:
        parse_rubric(text, "bad.yaml")
    assert str(info.value).startswith("bad.yaml: ")
    return info.value.errors


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (lambda d: d["aspects"][1].update(weight="banyak"), "aspects[1].weight", "decimal"),
        (lambda d: d["aspects"][1].update(weight=30), "aspects", "add up to 90"),
        (lambda d: d["indicators"][0].update(aspect="Z"), "indicators[0].aspect", "unknown aspect"),
        (lambda d: d["indicators"][1].update(code="A-01"), "indicators[1]", "duplicate"),
        (
            lambda d: d["indicators"][3]["answer"]["options"][0].update(value=2),
            "indicators[3].answer.options[0].value",
            "less than or equal",
        ),
        (
            lambda d: d["indicators"][0]["answer"].update(type="bintang"),
            "indicators[0].answer",
            "tag",
        ),
        (lambda d: d["predicates"].reverse(), "predicates", "highest"),
        (lambda d: d["stages"][2].update(weight=20), "stages", "add up to 110"),
        (
            lambda d: d["stages"][1]["gate"].update(stage="wawancara"),
            "stages[1].gate.stage",
            "earlier",
        ),
        (lambda d: d.pop("version"), "version", "required"),
        (lambda d: d.update(extra=1), "extra", "not permitted"),
    ],
)
def test_bad_rubric_names_the_path(change, path, words):
    errors = _errors(_mutated(change))
    assert any(p == path and words.lower() in m.lower() for p, m in errors), errors


def test_yaml_syntax_error_names_the_line():
    errors = _errors("id: x\naspects: [\n")
    assert errors[0][0].startswith("line ")


def test_unknown_id_lists_the_known_ones():
    with pytest.raises(RubricError, match="ki-jatim-2024"):
        load_rubric("ki-jatim-1999")


def test_answer_types_parse_and_normalise():
    r = parse_rubric(SMALL_RUBRIC)
    ya = r.indicators[0].answer
    assert ya.parse("  YA ").text == "Ya" and ya.parse("tidak").value == 0
    with pytest.raises(AnswerError):
        ya.parse("yes")
    opts = r.indicators[3].answer
    assert opts.parse("b").value == Fraction(3, 4)
    from monev.rubric import Percent, Threshold

    th = Threshold(type="threshold", min=Decimal(4))
    assert th.parse(4).value == 1 and th.parse("3,5").value == 0 and th.parse(7.0).text == "7"
    with pytest.raises(AnswerError):
        th.parse(-1)
    pc = Percent(type="percent")
    assert pc.parse(85).value == Fraction(85, 100)
    # Issue 8: outside 0..100 is refused (with kind "range"), not silently clipped to 0 or 1.
    for bad in ("120%", -5, 150, float("inf"), float("nan")):
        with pytest.raises(AnswerError):
            pc.parse(bad)
    with pytest.raises(AnswerError) as info:
        pc.parse(150)
    assert info.value.kind == "range"
    assert pc.parse("95%").value == Fraction(95, 100) and pc.parse(100).value == 1
