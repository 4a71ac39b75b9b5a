"""What changed between two uploads of one office, indicator by indicator (monev.changes).

Workbooks are built inline from (code, answer, evidence) tables on the small test rubric:
aspect A (weight 60) holds A-01 and A-02 (weight 1) and A-03 (weight 2), so A-01 and A-02 are
worth 60 * 1/4 = 15 points and A-03 60 * 2/4 = 30; aspect B (weight 40) holds B-01 (options A-E)
and the checklist B-02 (4 items), 40 / 2 = 20 points each; B-03 is information only (0 points).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from helpers import small_rubric, write_workbook

from monev.batch import finish, read_one
from monev.changes import FIELDS, compare_versions
from monev.results import OfficeResult, Rejected

EV = "https://ppid.contoh.go.id/bukti"


def scored(path: Path, rb) -> OfficeResult | Rejected:
    return finish(read_one(path, rb, path.name), rb)


@pytest.fixture(scope="module")
def rb():
    return small_rubric()


BEFORE = [
    ("A-01", "Ya", EV),
    ("A-02", "Ya"),  # no evidence: claimed 15, verifiable 0 (MV301 at F9)
    ("A-03", "Tidak", EV),
    ("B-01", "B", EV),  # 0.75 * 20 = 15
    ("B-02.1", "Ya", EV),
    ("B-02.2", "Ya", EV),  # 2 of 4 items: 20 * 2/4 = 10; B-02.3 and B-02.4 empty (MV202)
]
AFTER = [
    ("A-01", "Ya", EV),  # unchanged
    ("A-02", "Ya", EV + "/sk"),  # evidence added: verifiable 0 -> 15, MV301 gone
    ("A-03", "Mungkin", EV),  # not an answer: still 0, MV201 appears
    ("B-01", "A", EV),  # 1 * 20 = 20: +5
    ("B-02.1", "Ya", EV),
    ("B-02.2", "Ya", EV),
    ("B-02.3", "Ya", EV),  # 3 of 4: 20 * 3/4 = 15: +5; MV202 of B-02.3 (E16) gone
]


@pytest.fixture(scope="module")
def changes(rb, tmp_path_factory):
    d = tmp_path_factory.mktemp("changes")
    before = scored(write_workbook(d / "v1.xlsx", rb, BEFORE), rb)
    after = scored(write_workbook(d / "v2.xlsx", rb, AFTER), rb)
    return compare_versions(rb, before, after)


def test_scores_and_predicates_before_and_after(changes):
    # before: A-01 15 + A-02 0 + A-03 0 + B-01 15 + B-02 10 = 40 (Kurang Informatif, 40-59)
    # after:  A-01 15 + A-02 15 + A-03 0 + B-01 20 + B-02 15 = 65 (Cukup Informatif, 60-79)
    assert changes.score_before == Decimal("40.00")
    assert changes.score_after == Decimal("65.00")
    assert changes.score_delta == Decimal("25.00")
    assert (changes.predicate_before, changes.predicate_after) == (
        "Kurang Informatif",
        "Cukup Informatif",
    )


def test_every_indicator_in_rubric_order_and_only_the_changed_ones_count(changes):
    assert [c.code for c in changes.indicators] == ["A-01", "A-02", "A-03", "B-01", "B-02", "B-03"]
    assert [c.code for c in changes.changed] == ["A-02", "A-03", "B-01", "B-02"]
    assert [c.code for c in changes.unchanged] == ["A-01", "B-03"]


def test_evidence_added_raises_verifiable_points_and_its_problem_disappears(changes):
    a02 = changes.indicators[1]
    assert a02.fields == ("evidence", "verifiable", "status")
    assert (a02.before.evidence, a02.after.evidence) == ("", EV + "/sk")
    assert (a02.before.claimed, a02.after.claimed) == (15, 15)
    assert (a02.before.verifiable, a02.after.verifiable) == (0, 15)
    assert a02.delta == 15 and a02.delta_claimed == 0
    assert [(p.code, p.cell) for p in a02.disappeared] == [("MV301", "F9")]
    assert a02.appeared == ()


def test_a_wrong_answer_changes_no_points_but_its_problem_appears(changes):
    a03 = changes.indicators[2]
    assert a03.fields == ("answer", "status")
    assert (a03.before.answer, a03.after.answer) == ("Tidak", "Mungkin")
    assert a03.delta == 0
    assert [(p.code, p.cell) for p in a03.appeared] == [("MV201", "E10")]


def test_a_better_option_and_a_checklist_item_give_their_points(changes):
    b01, b02 = changes.indicators[3], changes.indicators[4]
    assert (b01.before.answer, b01.after.answer) == ("B", "A")
    assert b01.delta == 5 and b01.delta_claimed == 5  # 20 - 0.75 * 20
    assert (b02.before.answer, b02.after.answer) == ("2/4", "3/4")
    assert b02.delta == 5  # 20 * 3/4 - 20 * 2/4
    assert "B-02.3: Ya" in b02.after.evidence and "B-02.3: –" in b02.before.evidence
    # the problem of the checklist item B-02.3 belongs to its indicator B-02; B-02.4's stays
    assert [(p.code, p.param("code")) for p in b02.disappeared] == [("MV202", "B-02.3")]


def test_the_same_problem_in_two_files_of_other_names_is_not_a_change(changes):
    # MV202 of B-02.4 (E17) is in both versions (v1.xlsx, v2.xlsx): neither appeared nor gone
    everything = [p for c in changes.indicators for p in c.appeared + c.disappeared]
    assert all(p.param("code") != "B-02.4" for p in everything)
    assert changes.appeared == () and changes.disappeared == ()


def test_a_problem_naming_the_file_is_the_same_in_files_of_other_names(rb, tmp_path):
    # no office name: MV401 (Identitas!B5) says the name is taken from the file, 'v1' then 'v2'
    before = scored(write_workbook(tmp_path / "v1.xlsx", rb, BEFORE, office=""), rb)
    after = scored(write_workbook(tmp_path / "v2.xlsx", rb, BEFORE, office=""), rb)
    assert [p.param("name") for p in before.problems if p.code == "MV401"] == ["v1"]
    c = compare_versions(rb, before, after)
    assert c.appeared == () and c.disappeared == ()


def test_a_link_hidden_behind_the_same_text_is_a_change(rb, tmp_path):
    rows = [("A-01", "Ya", "Lihat dokumen")]
    before = scored(write_workbook(tmp_path / "a.xlsx", rb, rows, links={"A-01": EV + "/1"}), rb)
    after = scored(write_workbook(tmp_path / "b.xlsx", rb, rows, links={"A-01": EV + "/2"}), rb)
    c = compare_versions(rb, before, after).indicators[0]
    assert c.fields == ("evidence",)
    assert EV + "/1" in c.before.evidence and EV + "/2" in c.after.evidence


def test_identical_workbooks_change_nothing(rb, tmp_path):
    before = scored(write_workbook(tmp_path / "a.xlsx", rb, BEFORE), rb)
    after = scored(write_workbook(tmp_path / "b.xlsx", rb, BEFORE), rb)
    c = compare_versions(rb, before, after)
    assert c.changed == () and len(c.unchanged) == 6 and c.score_delta == 0


def test_a_rejected_version_has_no_sides_and_its_file_problem_is_general(rb, tmp_path):
    bad = tmp_path / "rusak.xlsx"
    bad.write_bytes(b"PK not a zip")
    rejected = scored(bad, rb)
    assert isinstance(rejected, Rejected)
    good = scored(write_workbook(tmp_path / "baik.xlsx", rb, BEFORE), rb)
    c = compare_versions(rb, rejected, good)
    assert c.score_before is None and c.score_delta is None and c.score_after == Decimal("40.00")
    a01 = c.indicators[0]
    assert a01.before is None and a01.fields == FIELDS and a01.delta == Fraction(15)
    assert [p.code for p in c.disappeared] == ["MV101"]  # the file problem, tied to no indicator
    back = compare_versions(rb, good, rejected)
    assert [p.code for p in back.appeared] == ["MV101"] and back.indicators[0].delta == -15


def test_uploads_scored_with_two_rubrics_keep_the_indicators_of_both(rb, tmp_path):
    # Last year's rubric had A-02; this year's drops it and adds A-04. A-02's points (15: aspect
    # A 60 x 1/4, answered Ya with evidence) must show as gone (15 -> none), not vanish from the
    # table, so the indicator changes still add up to the score change.
    from helpers import SMALL_RUBRIC

    from monev.rubric import parse_rubric

    new_rb = parse_rubric(
        SMALL_RUBRIC.replace(
            "{code: A-02, aspect: A, question: Dua,", "{code: A-04, aspect: A, question: Empat,"
        ),
        "uji-kecil-2.yaml",
    )
    before = scored(write_workbook(tmp_path / "v1.xlsx", rb, [("A-02", "Ya", EV)]), rb)
    after = scored(write_workbook(tmp_path / "v2.xlsx", new_rb, [("A-04", "Ya", EV)]), new_rb)
    got = compare_versions(new_rb, before, after, rubric_before=rb)
    codes = [c.code for c in got.indicators]
    assert codes == ["A-01", "A-04", "A-03", "B-01", "B-02", "B-03", "A-02"]  # old-only last
    gone = next(c for c in got.indicators if c.code == "A-02")
    assert gone.aspect == "A" and gone.before is not None and gone.after is None
    assert gone.before.verifiable == Fraction(15)
    added = next(c for c in got.indicators if c.code == "A-04")
    assert added.before is None and added.after is not None
