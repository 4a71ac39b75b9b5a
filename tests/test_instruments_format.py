"""The rest of the rubric format (issue 12 item 1, wp-rfmt): checklist labels, assessor tracks,
rounding per level, stage parts in the stages file, and published figures reproduced.

Every figure is computed by hand in the comments.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from helpers import questionnaire

from monev.rubric import RubricError, load_rubric, parse_rubric
from monev.scoring import score

D = Decimal
RUBRICS = Path(__file__).parent / "data" / "rubrics"
EV = "https://ppid.contoh.go.id/bukti"


def text_of(name: str) -> str:
    return (RUBRICS / f"{name}.yaml").read_text("utf-8")


# --- checklist items answered on the rubric's own labels (SAKIP: Y / T and A / B / C / D) -------

SAKIP_PER_DOCUMENT = {
    # PK.1.2 becomes one criterion scored per document, each Y / T
    "- {code: PK.1.2, aspect: PK, group: PK.1, question: 'Dokumen perencanaan kinerja ditetapkan "
    "tepat waktu', answer: {type: options, options: [{label: Y, value: 1}, "
    "{label: T, value: 0}]}}": (
        "- {code: PK.1.2, aspect: PK, group: PK.1, question: 'Dokumen perencanaan kinerja "
        "ditetapkan tepat waktu', answer: {type: checklist, options: [{label: Y, value: 1}, "
        "{label: T, value: 0}], items: [{code: PK.1.2.A, label: Renstra}, "
        "{code: PK.1.2.B, label: Renja}, {code: PK.1.2.C, label: Perjanjian Kinerja}]}}"
    ),
    # PK.2.2 becomes one criterion scored per document on A / B / C / D
    "- {code: PK.2.2, aspect: PK, group: PK.2, question: 'Dokumen perencanaan kinerja selaras "
    "dengan dokumen di atasnya', answer: {type: options, options: [{label: A, value: 1}, "
    "{label: B, value: 0.66}, {label: C, value: 0.33}, {label: D, value: 0}]}}": (
        "- {code: PK.2.2, aspect: PK, group: PK.2, question: 'Dokumen perencanaan kinerja selaras "
        "dengan dokumen di atasnya', answer: {type: checklist, options: [{label: A, value: 1}, "
        "{label: B, value: 0.66}, {label: C, value: 0.33}, {label: D, value: 0}], items: "
        "[{code: PK.2.2.A, label: Renstra}, {code: PK.2.2.B, label: Renja}]}}"
    ),
}


def sakip_per_document():
    text = text_of("sakip-kke")
    for old, new in SAKIP_PER_DOCUMENT.items():
        assert old in text
        text = text.replace(old, new)
    return parse_rubric(text, "sakip.yaml")


def sakip_best_rows(r):
    rows = {}
    for ind, item in r.rows():
        if item is None and ind.answer.type == "checklist":
            continue
        code = item.code if item else ind.code
        rows[code] = (code, ind.answer.choices()[0], EV)  # Y or A: the best answer
    return rows


def test_checklist_items_on_y_t_and_a_to_d_by_hand():
    r = sakip_per_document()
    rows = sakip_best_rows(r)
    rows["PK.1.2.B"] = ("PK.1.2.B", "T", EV)  # Renja not on time
    rows["PK.2.2.B"] = ("PK.2.2.B", "c", EV)  # Renja: C = 0.33 (any case)
    s = score(r, questionnaire(r, rows.values()))
    ind = {i.code: i for i in s.indicators}
    # PK.1.2: sub-component 6 of 30 -> 6 points, criterion 1 of 2 -> 3; Y, T, Y = 2/3 -> 2
    assert ind["PK.1.2"].value == Fraction(2, 3)
    assert ind["PK.1.2"].points == 2
    # PK.2.2: sub-component 9 -> criterion 4.5; A, C = (1 + 0.33) / 2 = 0.665 -> 2.9925
    assert ind["PK.2.2"].value == Fraction("0.665")
    assert ind["PK.2.2"].points == Fraction("2.9925")
    # total = 100 - (3 - 2) - (4.5 - 2.9925) = 100 - 1 - 1.5075 = 97.4925 -> 97.49 -> AA
    assert s.final_exact == Fraction("97.4925")
    assert s.saq_claimed_exact == s.final_exact  # every answer has its evidence: claimed = kept
    assert s.score == D("97.49")
    assert s.predicate == "AA"


def test_checklist_refuses_ya_when_its_labels_are_y_t():
    r = sakip_per_document()
    ind = next(i for i in r.indicators if i.code == "PK.1.2")
    assert ind.answer.choices() == ["Y", "T"]
    with pytest.raises(ValueError, match="Y, T"):
        ind.answer.parse("Ya")
    # Without options: Ya / Tidak as before
    plain = load_rubric()
    checklist = next(i for i in plain.indicators if i.answer.type == "checklist")
    assert checklist.answer.choices() == ["Ya", "Tidak"]


def test_checklist_label_mistakes_name_their_path():
    text = text_of("sakip-kke")
    for old, new in SAKIP_PER_DOCUMENT.items():
        text = text.replace(old, new)
    text = text.replace("{label: T, value: 0}], items", "{label: Y, value: 0}], items")
    with pytest.raises(RubricError) as err:
        parse_rubric(text, "s.yaml")
    assert ("indicators[1].answer.options[1]", "duplicate code 'Y'") in err.value.errors
