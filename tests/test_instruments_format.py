"""The rest of the rubric format (issue 12 item 1, wp-rfmt): checklist labels, assessor tracks,
rounding per level, stage parts in the stages file, and published figures reproduced.

Every figure is computed by hand in the comments.
"""

from __future__ import annotations

import os
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
    # The figure as the SAKIP app computes a criterion scored per document: yudhis55/
    # kke-sakip-trenggalek, .sisyphus/docs/FLOWS.md section 14 (BuktiDukung::getNilai): each
    # document gets level x (criterion weight / number of documents); the criterion is their sum.
    # PK.2.2 (4.5) with two documents at A and C: 1 x 2.25 + 0.33 x 2.25 = 2.9925, as below.
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


# --- assessor tracks: self, evaluator, quality assurer (SAKIP) -------------------------------


def sakip():
    return load_rubric(RUBRICS / "sakip-kke.yaml")


def sakip_rows(r, **changes):
    best = {i.code: "Y" if i.code.endswith((".1.1", ".1.2")) else "A" for i in r.indicators}
    best.update({k.replace("_", "."): v for k, v in changes.items()})
    return [(code, answer, EV) for code, answer in best.items()]


#   mandiri:        every criterion at its best                                   -> 100
#   evaluator:      PK.2.1 B (4.5 x 0.66 = 2.97, lost 1.53), EV.1.1 T (lost 2.5)   -> 95.97
#   penjamin_mutu:  EV.1.1 T (lost 2.5)                                             -> 97.5
TRACKS = {
    "mandiri": {},
    "evaluator": {"PK_2_1": "B", "EV_1_1": "T"},
    "penjamin_mutu": {"EV_1_1": "T"},
}


def sakip_scores(r, tracks=TRACKS):
    return {t: score(r, questionnaire(r, sakip_rows(r, **c))) for t, c in tracks.items()}


def test_sakip_three_assessors_mean_by_hand():
    from monev.scoring import combine_tracks

    r = sakip()
    scores = sakip_scores(r)
    assert [s.score for s in scores.values()] == [D("100.00"), D("95.97"), D("97.50")]
    s = combine_tracks(r, scores)
    # mean = (100 + 95.97 + 97.5) / 3 = 293.47 / 3 = 97.8233... -> 97.82 -> AA
    # per criterion: PK.2.1 (1 + 0.66 + 1) / 3 x 4.5 = 3.99 (lost 0.51);
    #                EV.1.1 (1 + 0 + 0) / 3 x 2.5 = 0.8333... (lost 1.6666...)
    assert s.final_exact == Fraction("293.47") / 3
    assert s.score == D("97.82")
    assert s.predicate == "AA"
    assert s.tracks == ("mandiri", "evaluator", "penjamin_mutu")
    ind = {i.code: i for i in s.indicators}
    assert ind["PK.2.1"].points == Fraction("3.99")
    assert ind["EV.1.1"].points == Fraction(5, 6)


@pytest.mark.parametrize(
    ("combine", "present", "expected", "used"),
    [
        ("last", ["mandiri", "evaluator", "penjamin_mutu"], "97.50", ("penjamin_mutu",)),
        ("last", ["mandiri", "evaluator"], "95.97", ("evaluator",)),
        ("evaluator", ["mandiri", "evaluator", "penjamin_mutu"], "95.97", ("evaluator",)),
        # the named track has not sent its workbook yet: the latest decision there is
        ("evaluator", ["mandiri"], "100.00", ("mandiri",)),
        # the mean of the tracks present: (100 + 95.97) / 2 = 97.985 -> 97.99 (half up)
        ("mean", ["mandiri", "evaluator"], "97.99", ("mandiri", "evaluator")),
    ],
)
def test_tracks_combine_by_last_decision_or_a_named_track(combine, present, expected, used):
    from monev.scoring import combine_tracks

    text = text_of("sakip-kke").replace("combine: mean", f"combine: {combine}")
    r = parse_rubric(text, "s.yaml")
    s = combine_tracks(r, {t: v for t, v in sakip_scores(r).items() if t in present})
    assert s.score == D(expected)
    assert s.tracks == used


def test_track_mistakes_name_their_path():
    text = text_of("sakip-kke")
    with pytest.raises(RubricError) as err:
        parse_rubric(text.replace("combine: mean", "combine: median"), "s.yaml")
    assert err.value.errors == [
        (
            "assessors.combine",
            "'median' is not mean, last or a track (mandiri, evaluator, penjamin_mutu)",
        )
    ]
    with pytest.raises(RubricError) as err:
        parse_rubric(text.replace("code: evaluator", "code: mandiri"), "s.yaml")
    assert ("assessors.tracks[1]", "duplicate track 'mandiri'") in err.value.errors


def write_tracked(path, r, rows, track, office="Bappeda"):
    from helpers import write_workbook
    from openpyxl import load_workbook

    write_workbook(path, r, rows, office=office, unit_type="Perangkat Daerah")
    if track is not None:
        wb = load_workbook(path)
        ident = wb["Identitas"]
        # The template has a Penilai row for a rubric with assessors; a workbook without one
        # (an older template) gets it typed below.
        labels = [ident.cell(r, 1).value for r in range(1, ident.max_row + 1)]
        row = labels.index("Penilai") + 1 if "Penilai" in labels else ident.max_row + 2
        ident.cell(row=row, column=1, value="Penilai")
        ident.cell(row=row, column=2, value=track)
        wb.save(path)
    return path


def test_three_workbooks_of_one_office_are_its_three_assessors(tmp_path):
    from monev.batch import score_paths

    r = sakip()
    folder = tmp_path / "kke"
    folder.mkdir()
    # The Penilai cell names the track by its code or its name, in any case
    names = {
        "mandiri": "Penilaian Mandiri",
        "evaluator": "evaluator",
        "penjamin_mutu": "PENJAMIN  KUALITAS",
    }
    for track, changes in TRACKS.items():
        write_tracked(folder / f"{track}.xlsx", r, sakip_rows(r, **changes), names[track])
    run = score_paths([folder], r)
    # One office, not three; no workbook set aside as an older copy (MV430)
    assert [o.name for o in run.offices] == ["Bappeda"]
    assert run.skipped == []
    office = run.offices[0]
    assert office.score.score == D("97.82")  # the mean computed by hand above
    assert office.score.tracks == ("mandiri", "evaluator", "penjamin_mutu")
    assert office.file == "penjamin_mutu.xlsx"  # the last track's workbook
    # A second workbook of the same track is still a copy: only the newer one counts
    write_tracked(folder / "evaluator-lama.xlsx", r, sakip_rows(r), "Evaluator")
    os.utime(folder / "evaluator-lama.xlsx", (1_000_000, 1_000_000))
    run = score_paths([folder], r)
    assert [p.code for s in run.skipped for p in s.problems] == ["MV430"]
    assert run.offices[0].score.score == D("97.82")


def test_track_cell_unknown_or_missing(tmp_path):
    from monev.workbook import read_questionnaire

    r = sakip()
    q = read_questionnaire(write_tracked(tmp_path / "a.xlsx", r, sakip_rows(r), "Inspektorat"), r)
    assert [p.code for p in q.problems] == ["MV634"]
    assert q.office.track == "mandiri"
    assert 'Penilai "Inspektorat" tidak dikenal' in q.problems[0].message("id")
    q = read_questionnaire(write_tracked(tmp_path / "b.xlsx", r, sakip_rows(r), None), r)
    assert [p.code for p in q.problems] == ["MV635"]
    # A rubric without assessors never asks for the cell
    plain = load_rubric()
    from helpers import write_workbook

    q = read_questionnaire(write_workbook(tmp_path / "c.xlsx", plain, []), plain)
    assert "MV635" not in [p.code for p in q.problems]


# --- rounding where the instrument itself rounds ----------------------------------------------

THIRDS = """
id: sepertiga
title: Uji pembulatan
year: 2024
category: Uji
version: "1.0"
lead_unit: null
unit_types: [Unit]
aspects: [{code: X, name: Aspek, weight: 100}]
groups:
- {code: G1, parent: X, name: Kelompok 1}
- {code: G2, parent: X, name: Kelompok 2}
indicators:
- {code: X-1, aspect: X, group: G1, question: Satu, answer: {type: ya_tidak}}
- {code: X-2, aspect: X, group: G1, question: Dua, answer: {type: ya_tidak}}
- {code: X-3, aspect: X, group: G1, question: Tiga, answer: {type: ya_tidak}}
- {code: X-4, aspect: X, group: G2, question: Empat, answer: {type: ya_tidak}}
- {code: X-5, aspect: X, group: G2, question: Lima, answer: {type: ya_tidak}}
- {code: X-6, aspect: X, group: G2, question: Enam, answer: {type: ya_tidak}}
predicates: []
stages: [{code: saq, name: SAQ, weight: 100}]
"""
#: G1: Ya Ya Ya (all 50 points); G2: Ya Tidak Tidak. Each group 100 / 2 = 50, each item 50 / 3.
THIRDS_ROWS = [("X-1", "Ya", EV), ("X-2", "Ya", EV), ("X-3", "Ya", EV), ("X-4", "Ya", EV)]
THIRDS_ROWS += [("X-5", "Tidak"), ("X-6", "Tidak")]


@pytest.mark.parametrize(
    ("rounding", "exact", "figure"),
    [
        # monev's rule: exact, rounded once: 4 x 50/3 = 200/3 = 66.666... -> 66.67
        ("", Fraction(200, 3), "66.67"),
        # each criterion rounded to 2 decimals first: 16.666... -> 16.67; 4 x 16.67 = 66.68
        ("rounding: {indicators: 2}", Fraction("66.68"), "66.68"),
        # each group rounded to 1 decimal: G1 = 50 (exact), G2 = 16.666... -> 16.7; 66.7
        ("rounding: {groups: 1}", Fraction("66.7"), "66.70"),
        # criteria to 2 (16.67), then groups to 1: G1 50.01 -> 50.0, G2 16.67 -> 16.7; 66.7
        ("rounding: {indicators: 2, groups: 1}", Fraction("66.7"), "66.70"),
        # the aspect to 0 decimals: 66.666... -> 67
        ("rounding: {aspects: 0}", Fraction(67), "67.00"),
    ],
)
def test_rounding_per_level_reproduces_an_instrument_that_rounds(rounding, exact, figure):
    r = parse_rubric(THIRDS + rounding, "t.yaml")
    s = score(r, questionnaire(r, THIRDS_ROWS))
    assert s.final_exact == exact
    assert s.score == D(figure)


def test_rounding_levels_are_checked():
    with pytest.raises(RubricError) as err:
        parse_rubric(THIRDS + "rounding: {indicators: 9, criteria: 2}", "t.yaml")
    paths = [p for p, _ in err.value.errors]
    assert paths == ["rounding.indicators", "rounding.criteria"]


# --- stage parts and variants in the stages file (KI Kalbar's presentation) -----------------

KALBAR_HEADER = ("kantor", "presentasi.varian", "presentasi.pimpinan", "presentasi.program")


def stages_file(path, rows, header=KALBAR_HEADER):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Tahapan"
    ws.append(list(header))
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def test_stages_file_takes_the_variant_and_its_parts(tmp_path):
    from monev.stages import load_stages

    r = load_rubric("ki-kalbar-2025")
    rows = [
        ["Dinas Video", "video", 32, 51],  # 32 (of 40) + 51 (of 60) = 83
        ["Dinas Langsung", "Presentasi langsung", 50, "40"],  # by name: 50 + 40 = 90
        ["Dinas Lebih", "video", 45, 50],  # the leader's part is at most 40 by video
        ["Dinas Tanpa Bentuk", None, 30, 30],
        ["Dinas Daring", "daring", 30, 30],
        ["Dinas Separuh", "langsung", 30, None],
    ]
    table = load_stages(stages_file(tmp_path / "t.xlsx", rows), r)
    assert table.problems == [] and table.stages == ("presentasi",)

    def row(name):
        found = table.rows_for(name)[0]
        value = found.values.get("presentasi")
        return (value.value if value else None), [(p.code, p.cell) for p in found.problems]

    assert row("Dinas Video") == (D(83), [])
    assert row("Dinas Langsung") == (D(90), [])
    assert row("Dinas Lebih") == (None, [("MV639", "C4")])
    assert row("Dinas Tanpa Bentuk") == (None, [("MV637", "C5")])
    assert row("Dinas Daring") == (None, [("MV636", "B6")])
    assert row("Dinas Separuh") == (None, [("MV638", "B7")])
    lebih = table.rows_for("Dinas Lebih")[0].problems[0]
    assert "bukan angka 0 sampai 40" in lebih.message("id")


def test_a_whole_stage_score_beside_its_parts_is_not_used(tmp_path):
    from monev.stages import load_stages

    r = load_rubric("ki-kalbar-2025")
    header = ("kantor", "presentasi", *KALBAR_HEADER[1:])
    table = load_stages(
        stages_file(tmp_path / "t.xlsx", [["Dinas", 70, "video", 32, 51]], header), r
    )
    found = table.rows_for("Dinas")[0]
    assert found.values["presentasi"].value == 83  # 32 + 51, not the 70 typed
    assert [(p.code, p.cell) for p in found.problems] == [("MV640", "B2")]
    # A rubric whose stages have no parts still refuses such headers (MV415), as before
    plain = load_stages(
        stages_file(tmp_path / "p.xlsx", [["Dinas", 80, 1]], ("kantor", "visitasi", "visitasi.x")),
        load_rubric(),
    )
    assert "MV415" in [p.code for p in plain.problems]


def test_stages_template_has_the_variant_and_part_columns(tmp_path):
    from openpyxl import load_workbook

    from monev.stages import TemplateRow, load_stages, write_stages_template

    r = load_rubric("ki-kalbar-2025")
    path = write_stages_template(tmp_path / "t.xlsx", r, [TemplateRow("Dinas Uji", {})])
    wb = load_workbook(path)
    assert [c.value for c in wb["Tahapan"][1]] == [
        "kantor",
        "presentasi",
        "presentasi.varian",
        "presentasi.pimpinan",
        "presentasi.program",
        "catatan",
    ]
    lists = [dv.formula1 for dv in wb["Tahapan"].data_validations.dataValidation]
    assert '"langsung,video"' in lists  # the variant column is a drop-down of the variants
    help_text = " ".join(str(c.value) for c in wb["Petunjuk"]["A"])
    assert "video (pimpinan 0-40, program 0-60)" in help_text
    # The verifier fills it in: it reads back without a problem
    ws = wb["Tahapan"]
    ws["C2"], ws["D2"], ws["E2"] = "video", 32, 51
    wb.save(path)
    table = load_stages(path, r)
    assert table.problems == [] and table.rows_for("Dinas Uji")[0].values["presentasi"].value == 83
    csv = write_stages_template(tmp_path / "t.csv", r, [])
    assert csv.read_text("utf-8-sig").splitlines()[0] == (
        "kantor;presentasi;presentasi.varian;presentasi.pimpinan;presentasi.program;catatan"
    )


def test_kalbar_video_variant_end_to_end_through_monev_score_stages(tmp_path):
    import json

    from helpers import write_workbook

    from monev.cli import main

    r = load_rubric("ki-kalbar-2025")
    folder = tmp_path / "kuesioner"
    folder.mkdir()
    sd = [(i.code, "Ya", EV) for i in r.indicators_of("SD")]
    write_workbook(folder / "dinas.xlsx", r, sd, office="Dinas Video")
    stages = stages_file(tmp_path / "tahapan.xlsx", [["Dinas Video", "video", 32, 51]])
    out = tmp_path / "hasil"
    args = ["score", str(folder), "-r", "ki-kalbar-2025", "--stages", str(stages)]
    rc = main([*args, "--out", str(out), "--no-pdf", "-q"])
    assert rc == 0
    office = json.loads((out / "results.json").read_text())["offices"][0]
    # SAQ: only Sarana Prasarana dan Digitalisasi (30) answered, all proven -> 30
    # presentation by video: 32 (leader, of 40) + 51 (programme, of 60) = 83
    # final = 30 x 70 % + 83 x 30 % = 21 + 24.9 = 45.9 -> Kurang Informatif
    assert office["stages"] == {"presentasi": 83}
    assert office["score"] == 45.9
    assert office["predicate"] == "Kurang Informatif"


# --- one figure per instrument computed by its own system, reproduced --------------------------


def full_answer(ind, item=None):
    """The full-value answer of a row (Ya, the best option, the threshold's minimum)."""
    spec = ind.answer
    if item is not None or spec.type in ("ya_tidak", "checklist"):
        return spec.choices()[0] if spec.type == "checklist" else "Ya"
    if spec.type == "options":
        return next(o.label for o in spec.options if o.value == 1)
    if spec.type == "threshold":
        return str(spec.min)
    if spec.type == "percent":
        return "100"
    raise AssertionError(spec.type)


def test_kemenhub_ungraded_unit_as_its_app_totals_it():
    # Source: Kaspi24/penilaian-informasi-publik, app/Http/Controllers/QuestionnaireController.php
    # submitScore(): an item the jury left ungraded gets its good_enough (Cukup) points and the
    # unit's total_score is the plain sum; database/json/questions.json gives each item's points.
    # A unit that answered all 35 items Ya and was never graded therefore gets the sum of the 35
    # good_enough values: 10 x 2.2 + 8 x 1.2 + 7 x 0.6 + 4 x 3.2 + 4 x 3 + 2 + 4
    #                  = 22 + 9.6 + 4.2 + 12.8 + 12 + 2 + 4 = 66.6
    r = load_rubric(RUBRICS / "kemenhub-2024.yaml")
    s = score(r, questionnaire(r, [(f"K-{n:02d}", "Ya", EV) for n in range(1, 36)]))
    assert s.final_exact == Fraction("66.6")
    assert s.score == D("66.60")


def kalbar_rows(r, tidak):
    rows = []
    for ind, item in r.rows():
        if item is None and ind.answer.type == "checklist":
            continue
        code = item.code if item else ind.code
        rows.append((code, "Tidak") if code in tidak else (code, full_answer(ind, item), EV))
    return rows


def test_kalbar_app_rounds_each_aspect_and_monev_can_too():
    # Source: Dikall/monev, app/Http/Controllers/AdminController.php listAkun(): each aspect
    # ("indikator") is round((bobot Ya / total bobot) x aspect weight, 2), the questionnaire total
    # is the sum of those rounded figures, and
    # total_score = round(total x 0.7 + presentasi x 0.3, 2)
    # (the same 70/30 rule is printed under its Excel recap, generate_rekap_excel.py).
    # An office with every SD and KQ item, 4 of the 14 JN items and 5 of the 6 KO items:
    #   SD 30, KQ 25, JN 20 x 4/14 = 5.714285... (the app: 5.71), KO 25 x 5/6 = 20.8333... (20.83)
    #   monev, exact: 30 + 25 + 40/7 + 125/6 = 81.547619... -> 81.55
    #   the app:      30 + 25 + 5.71 + 20.83 = 81.54
    text = (Path(__file__).parents[1] / "scoring_rules" / "ki-kalbar-2025.yaml").read_text("utf-8")
    r = parse_rubric(text, "ki-kalbar-2025.yaml")
    tidak = {f"JN-{n:02d}" for n in range(5, 15)} | {"KO-06"}
    rows = kalbar_rows(r, tidak)
    exact = score(r, questionnaire(r, rows))
    assert exact.saq_verifiable_exact == 55 + Fraction(40, 7) + Fraction(125, 6)
    assert exact.saq_verifiable == D("81.55")
    as_the_app = parse_rubric(text + "\nrounding: {aspects: 2}\n", "ki-kalbar-2025.yaml")
    s = score(as_the_app, questionnaire(as_the_app, rows, stages={"presentasi": D("83")}))
    assert [a.verifiable for a in s.aspects] == [30, 25, Fraction("5.71"), Fraction("20.83")]
    assert s.saq_verifiable == D("81.54")
    # with a presentation of 83: round(81.54 x 0.7 + 83 x 0.3, 2) = round(57.078 + 24.9, 2) = 81.98
    assert s.score == D("81.98")


def test_zi_pillar_as_the_lke_app_stores_it(tmp_path):
    # Source: aryasepta7901/EZonaIntegritas-Master, Code/app/Http/Controllers/
    # SelfAssessmentController.php store(): a criterion answered with two counts scores
    # second / first, at most 1; the pillar's nilai_sa is round(sum of nilai x penimbang, 3).
    # PPC (weight 5) with two criteria of 2.5 each: PPC-1 answered A (2.5) and 20 trained of 30
    # staff: 2.5 x 20/30 = 1.6666...
    #   the app stores PPC = round(2.5 + 1.6666..., 3) = 4.167; monev, exact: 25/6 = 4.1666...
    from test_computed import full_rows, read, zi_text

    text = zi_text("min(1, ratio(dilatih, pegawai))")
    for rounding, ppc in (("", Fraction(25, 6)), ("rounding: {aspects: 3}", Fraction("4.167"))):
        r = parse_rubric(text + rounding, "zi.yaml")
        s = score(r, read(tmp_path, r, full_rows(20, 30)))
        assert dict((a.code, a.verifiable) for a in s.aspects)["PPC"] == ppc
        # total: 100 - 2.5 + 1.6666... = 99.1666... (or 95 + 4.167 = 99.167) -> 99.17
        assert s.score == D("99.17")


def test_bali_village_as_its_app_computes_it():
    # Source: Central-Saga/spk-desa, app/Services/PerhitunganNilaiService.php: questionnaire =
    # sum(skor x bobot / 100) over the 20 questions of weight 5; visitation = sum(skor x bobot /
    # 100) over its 4 indicators of weight 25; final = round(kuesioner x 0.60 + visitasi x 0.40, 2).
    # A village with Q01 at 77 and every other question at 80:
    #   kuesioner = (77 + 19 x 80) x 5 / 100 = 1597 / 20 = 79.85
    # visitation indicators 90, 85, 70, 95: (90 + 85 + 70 + 95) x 25 / 100 = 85
    # final = 79.85 x 0.6 + 85 x 0.4 = 47.91 + 34 = 81.91
    r = load_rubric(RUBRICS / "ki-bali-desa-2026.yaml")
    rows = [("Q01", "77", EV)] + [(f"Q{n:02d}", "80", EV) for n in range(2, 21)]
    visitasi = (D(90) + D(85) + D(70) + D(95)) * 25 / 100
    s = score(r, questionnaire(r, rows, stages={"visitasi": visitasi}))
    assert s.saq_verifiable_exact == Fraction("79.85")
    assert s.final_exact == Fraction("81.91")
    assert s.score == D("81.91")
