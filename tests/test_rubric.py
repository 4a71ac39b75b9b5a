"""Rubric files: the shipped rubric's content, and errors that name the file and the bad value."""

from __future__ import annotations

import os
import time
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


# --- Rubric files are loaded with limits: size, aliases, nesting, counts, bounds (issue 9) ---


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        # A weight of 10**999999999 passed `rubric check` and then hung scoring; 1e5000 exited 3.
        (
            lambda d: d["indicators"][0].update(weight="1e999999999"),
            "indicators[0].weight",
            "expected a number",  # exponents are not rubric numbers
        ),
        (lambda d: d["indicators"][0].update(weight=1e300), "indicators[0].weight", "10 digits"),
        (
            lambda d: d["indicators"][0].update(weight=2_000_000),
            "indicators[0].weight",
            "at most 1000000",
        ),
        (
            lambda d: d["indicators"][3]["answer"]["options"][1].update(value="1e-999999999"),
            "indicators[3].answer.options[1].value",
            "expected a number",
        ),
        (
            lambda d: d["indicators"][3]["answer"]["options"][1].update(value=1e-300),
            "indicators[3].answer.options[1].value",
            "10 digits",
        ),
        (lambda d: d["aspects"][0].update(weight="60.00000000001"), "aspects[0].weight", "digits"),
        (lambda d: d["aspects"][0].update(weight=float("inf")), "aspects[0].weight", "finite"),
        (lambda d: d["predicates"][0].update(min="NaN"), "predicates[0].min", ""),
        (
            lambda d: d["indicators"].append(
                {
                    "code": "B-04",
                    "aspect": "B",
                    "question": "?",
                    "answer": {"type": "threshold", "min": "1e99"},
                }
            ),
            "indicators[6].answer.min",
            "digits",
        ),
        # The reader upper-cases a workbook's codes: a lowercase code here could never match.
        (lambda d: d["indicators"][0].update(code="a-01"), "indicators[0].code", "'A-01'"),
        (
            lambda d: d["indicators"][4]["answer"]["items"][0].update(code="B-02.1 "),
            "indicators[4].answer.items[0].code",
            "'B-02.1'",
        ),
        (
            lambda d: d["indicators"][3]["answer"].update(
                options=[{"label": f"L{k}", "value": 0} for k in range(51)]
            ),
            "indicators[3].answer.options",
            "limit of 50",
        ),
    ],
)
def test_numbers_codes_and_counts_are_bounded(change, path, words):
    errors = _errors(_mutated(change))
    assert any(p == path and words.lower() in m.lower() for p, m in errors), errors


def test_ten_thousand_aspects_are_refused_fast(tmp_path):
    """10,000 aspects took 16 s to check (an A x I scan) and 85 s for `template`."""
    head = SMALL_RUBRIC.split("aspects:")[0]
    tail = "predicates:" + SMALL_RUBRIC.split("predicates:")[1]
    aspects = "".join(f"  - code: X{i}\n    name: Aspek\n    weight: 0.01\n" for i in range(10_000))
    indicators = "".join(
        f"  - code: X{i}-01\n    aspect: X{i}\n    question: '?'\n"
        "    answer:\n      type: ya_tidak\n"
        for i in range(10_000)
    )
    path = tmp_path / "besar.yaml"
    path.write_text(f"{head}aspects:\n{aspects}indicators:\n{indicators}{tail}", encoding="utf-8")
    started = time.process_time()
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    assert time.process_time() - started < 10  # CPU seconds; generous (about 3 on one core)
    assert ("aspects", "10000 entries, more than the limit of 200") in info.value.errors


def test_largest_allowed_rubric_checks_and_indexes_once():
    """200 aspects x 2000 indicators: every aspect's indicators come from one index."""
    data = yaml.safe_load(SMALL_RUBRIC)
    data["aspects"] = [{"code": f"X{i}", "name": "Aspek", "weight": "0.5"} for i in range(200)]
    data["indicators"] = [
        {
            "code": f"X{i % 200}-{i}",
            "aspect": f"X{i % 200}",
            "question": "?",
            "answer": {"type": "ya_tidak"},
        }
        for i in range(2000)
    ]
    r = parse_rubric(yaml.safe_dump(data))
    # 2000 indicators over 200 aspects in turn: 10 each, in rubric order.
    assert [i.code for i in r.indicators_of("X7")] == [f"X7-{7 + 200 * k}" for k in range(10)]
    assert r.aspect("X199").weight == Decimal("0.5")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{c}: &{c} [" + ", ".join([f"*{p}"] * 10) + "]\n"
                for p, c in zip("abcdef", "bcdefg", strict=True)
            ),
            "more than 500000 values",
        ),
        ("[" * 5_000 + "]" * 5_000, "nested too deeply"),
        ("- " * 5_000 + "x\n", "nested too deeply"),
        ("id: a\nid: b\n", "line 2: the key 'id' appears twice"),
    ],
    ids=["alias-bomb", "deep-flow", "deep-block", "duplicate-key"],
)
def test_hostile_yaml_is_refused(text, words):
    errors = _errors(text)
    assert words in errors[0][1], errors


def test_oversized_rubric_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr("monev.rubric.MAX_RUBRIC_BYTES", 100)
    path = tmp_path / "r.yaml"
    path.write_text(SMALL_RUBRIC, encoding="utf-8")
    with pytest.raises(RubricError, match="larger than"):
        load_rubric(path)


def test_a_file_that_is_not_a_rubric_says_so(tmp_path):
    """`--rubric /etc/passwd` said "no shipped rubric with this id"."""
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/bin/sh\n")
    for ref in (passwd, tmp_path):
        with pytest.raises(RubricError) as info:
            load_rubric(str(ref))
        assert "not a rubric file" in info.value.errors[0][1]
    fifo = tmp_path / "pipa"
    os.mkfifo(fifo)  # reading it would wait for a writer for ever
    with pytest.raises(RubricError, match="not a regular file"):
        load_rubric(fifo)
    binary = tmp_path / "gambar.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(RubricError, match="not a rubric file"):
        load_rubric(binary)


@pytest.mark.parametrize(
    ("text", "limit", "id_words", "en_words"),
    [
        ("[" * 5_000 + "]" * 5_000, None, "bertingkat terlalu dalam", "nested too deeply"),
        (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{c}: &{c} [" + ", ".join([f"*{p}"] * 10) + "]\n"
                for p, c in zip("abcdef", "bcdefg", strict=True)
            ),
            None,
            "lebih dari 500000 nilai",
            "more than 500000 values",
        ),
        (SMALL_RUBRIC, 100, "lebih besar dari batas", "larger than the limit"),
    ],
    ids=["deep", "too-many-values", "too-large"],
)
def test_a_rubric_beyond_the_limits_says_which_limit(
    tmp_path, monkeypatch, text, limit, id_words, en_words
):
    """Found uploading hostile rubrics in the web form: they all said "Nilai di sini tidak sesuai
    format rubrik" (as if one value were wrong) with the reason only in English."""
    if limit is not None:
        monkeypatch.setattr("monev.rubric.MAX_RUBRIC_BYTES", limit)
    path = tmp_path / "r.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    (line_id,) = info.value.lines("id")
    (line_en,) = info.value.lines("en")
    assert id_words in line_id and "tidak sesuai format rubrik" not in line_id, line_id
    assert en_words in line_en, line_en


def test_a_changed_copy_of_a_rubric_is_a_new_rubric_not_its_file():
    """``model_copy(update=...)`` kept the original's private state: the copy's
    ``indicators_of`` listed the original's indicators once the original had been used (scores
    of the copy were the original's), and its sha256 named a file it no longer was, which the
    render cache trusts (found by a cold review)."""
    from conftest import DEMO

    from monev.batch import score_paths

    def scores(rubric):
        run = score_paths([DEMO / "dinkes.xlsx"], rubric)
        return [o.score.final_exact for o in run.offices]

    used, fresh = load_rubric(), load_rubric()
    before = scores(used)  # builds the original's index of indicators by aspect
    drop = {"indicators": used.indicators[1:]}  # the first indicator (JI-01) taken out
    copy, copy_of_fresh = used.model_copy(update=drop), fresh.model_copy(update=drop)
    aspect = used.indicators[0].aspect
    assert [i.code for i in copy.indicators_of(aspect)] == [
        i.code for i in used.indicators[1:] if i.aspect == aspect
    ]
    assert scores(copy) == scores(copy_of_fresh) != before
    assert (copy.sha256, copy.path) == ("", "") and used.sha256
    same = used.model_copy()  # an unchanged copy is still the file
    assert same.sha256 == used.sha256 and scores(same) == before
