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
from helpers import SMALL_RUBRIC, questionnaire, write_workbook
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
    text = SMALL_RUBRIC.replace("{label: B, value: 0.75}", '{label: B, value: "4/3"}')
    with pytest.raises(RubricError) as err:
        parse_rubric(text, "k.yaml")
    assert "indicators[3].answer.options[1].value" in str(err.value)


def test_fraction_option_scores_exactly():
    r = parse_rubric(SMALL_RUBRIC.replace("{label: B, value: 0.75}", '{label: B, value: "2/3"}'))
    s = score(r, questionnaire(r, [("B-01", "B", EV)]))
    # B-01 is one of two scored indicators of aspect B (40): 40 / 2 x 2/3 = 40/3 exactly
    assert s.aspects[1].verifiable == Fraction(40, 3)
    assert s.score == D("13.33")


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
    # Every item answered Ya with evidence; the jury's grade in the Verifikasi column.
    rows = [
        (f"K-{n:02d}", "Ya", EV, KEMENHUB_GRADES.get(f"K-{n:02d}", "Sesuai")) for n in range(1, 36)
    ]
    s = score(r, questionnaire(r, rows))
    # Points lost against 100:
    #   ten 3-point items at Cukup (2.2):  10 x 0.8 = 8
    #   eight 2-point items at Cukup (1.2): 8 x 0.8 = 6.4
    #   seven 1-point items at Cukup (0.6): 7 x 0.4 = 2.8
    #   K-10 (4 points) at Cukup (2):       2
    #   K-08 (4 points) at Cukup (3.2):     0.8
    #   total lost 20  ->  100 - 20 = 80, exactly (a 28-digit decimal 2.2/3 gave 79.99...97)
    assert s.saq_verifiable_exact == Fraction(80)
    assert s.saq_claimed_exact == 100  # the unit's own Ya answers
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
    s = score(r, questionnaire(r, [("K-01", "Ya", EV, "Sesuai")]))
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
        [("K-01", "Ya", EV, "Sesuai"), ("K-09", "Ya", EV, "hampir  SESUAI")],
        office="Unit A",
    )
    write_workbook(folder / "b.xlsx", r, [("K-35", "Ya", EV, "Sesuai")], office="Unit B")
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
            "--verifier-from-workbooks",  # the jury's grades are in the workbooks
        ],
    )
    assert res.exit_code in (0, 1), res.output
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    got = {o["name"]: (o["rank"], o["score"], o["predicate"]) for o in data["offices"]}
    assert got == {"Unit A": (1, 8.0, None), "Unit B": (2, 4.0, None)}
    assert data["summary"]["predicates"] == {}


# --- (c) a missing later stage: fall back to the SAQ, or count 0 ----------------------------

BALI_ALL_80 = [(f"Q{n:02d}", "80", EV) for n in range(1, 21)]


def test_bali_missing_visitation_counts_zero():
    r = rubric("ki-bali-desa-2026")
    assert r.missing_stage == "zero"
    # Every question scored 80 of 100: each aspect gives 80 % of its weight, SAQ = 80.
    visited = score(r, questionnaire(r, BALI_ALL_80, stages={"visitasi": D("90")}))
    assert visited.saq_verifiable_exact == 80
    # Visited: 0.6 x 80 + 0.4 x 90 = 48 + 36 = 84
    assert visited.score == D("84.00")
    assert visited.staged
    # Not visited: 0.6 x 80 + 0.4 x 0 = 48 (KI Bali), not 80 (the SAQ)
    not_visited = score(r, questionnaire(r, BALI_ALL_80))
    assert not_visited.final_exact == 48
    assert not_visited.score == D("48.00")
    assert not_visited.staged


def test_missing_stage_default_falls_back_to_saq():
    text = (RUBRICS / "ki-bali-desa-2026.yaml").read_text(encoding="utf-8")
    r = parse_rubric(text.replace("missing_stage: zero\n", ""), "bali-default.yaml")
    assert r.missing_stage == "fallback_to_saq"
    s = score(r, questionnaire(r, BALI_ALL_80))
    assert s.score == D("80.00")  # the verifiable SAQ, as KI Jatim does
    assert not s.staged
    assert load_rubric().missing_stage == "fallback_to_saq"


def test_missing_stage_zero_keeps_the_gate():
    # The small test rubric (stages 80/10/10, gate SAQ >= 80) with missing stages counted 0.
    r = parse_rubric(SMALL_RUBRIC + "missing_stage: zero\n", "klein-zero.yaml")
    best = [(c, "Ya", EV) for c in ("A-01", "A-02", "A-03")] + [("B-01", "A", EV)]
    best += [(f"B-02.{k}", "Ya", EV) for k in range(1, 5)]
    s = score(r, questionnaire(r, best, stages={"visitasi": D("70")}))
    # SAQ 100 passes the gate; wawancara missing counts 0: (100 x 80 + 70 x 10 + 0 x 10) / 100 = 87
    assert s.saq_verifiable_exact == 100
    assert s.score == D("87.00")
    low = score(r, questionnaire(r, best[:1], stages={"visitasi": D("70")}))
    # SAQ 60 x 1/4 = 15, below the gate (80): the final is the SAQ, whatever the policy
    assert not low.gate_passed
    assert low.final_exact == 15


def test_missing_stage_refuses_other_policies():
    text = (RUBRICS / "ki-bali-desa-2026.yaml").read_text(encoding="utf-8")
    with pytest.raises(RubricError) as err:
        parse_rubric(text.replace("missing_stage: zero", "missing_stage: nol"), "b.yaml")
    assert "missing_stage" in str(err.value)


# --- (d) unit types, lead unit and titles as rubric data -------------------------------------


def test_default_rubric_keeps_its_unit_types_and_lead_unit():
    r = load_rubric()
    assert r.unit_types == ["PPID Utama", "OPD", "Kecamatan", "Kelurahan"]
    assert r.lead_unit == "PPID Utama"
    assert r.titles.questionnaire is None  # monev's own wording


def test_desa_is_a_unit_type_for_the_bali_rubric(tmp_path):
    from monev.workbook import read_questionnaire

    r = rubric("ki-bali-desa-2026")
    assert r.lead_unit is None
    assert r.titles.questionnaire == "Kuesioner Apresiasi Keterbukaan Informasi Publik Desa"
    path = write_workbook(
        tmp_path / "desa.xlsx", r, BALI_ALL_80[:2], office="Desa Uji", unit_type="desa"
    )
    q = read_questionnaire(path, r)
    assert not [p for p in q.problems if p.code == "MV406"]
    assert q.office.unit_type == "Desa"  # the rubric's spelling
    # The same unit type under KI Jatim's rubric is still refused, naming KI Jatim's types.
    jatim = load_rubric()
    path = write_workbook(
        tmp_path / "desa-jatim.xlsx", jatim, [], office="Desa Uji", unit_type="Desa"
    )
    mv406 = [p for p in read_questionnaire(path, jatim).problems if p.code == "MV406"]
    assert len(mv406) == 1
    assert "Kelurahan" in mv406[0].text("id")


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ("unit_types: [Desa, desa]\n", "unit_types[1]"),
        ("unit_types: [Desa]\n", "lead_unit"),  # the default lead unit PPID Utama is not a Desa
        ("unit_types: []\n", "unit_types"),
    ],
)
def test_unit_type_mistakes_name_their_path(extra, path):
    base = (Path(__file__).parents[1] / "scoring_rules" / "ki-jatim-2024.yaml").read_text("utf-8")
    with pytest.raises(RubricError) as err:
        parse_rubric(base + extra, "u.yaml")
    assert any(p == path for p, _ in err.value.errors), err.value.errors


# --- (e) bands that require per-group minimums (Zona Integritas) ----------------------------

ZI_PENGUNGKIT = ["PPA", "PPB", "PPC", "PPD", "PPE", "PPF", "PRA", "PRB", "PRC", "PRD", "PRE", "PRF"]


def zi_rows(ppe: str, hbb: str):
    rows = [(f"{p}-1", "A", EV) for p in ZI_PENGUNGKIT if p != "PPE"]
    rows += [("PPE-1", ppe, EV), ("HBA-1", "100", EV), ("HBB-1", hbb, EV), ("HPA-1", "100", EV)]
    return rows


def test_zi_total_above_75_with_one_pillar_short_is_not_wbk():
    r = rubric("zi-lke-wbk")
    s = score(r, questionnaire(r, zi_rows(ppe="D", hbb="81.3")))
    # Every pillar full except:
    #   PPE (weight 7.5) answered D = 0.25  ->  1.875 points, under its minimum 4.50 (lost 5.625)
    #   HBB (weight 5) at 81.3 %            ->  4.065 points, above its minimum 2.50 (lost 0.935)
    # total = 100 - 5.625 - 0.935 = 93.44: above WBK's 75, but PPE is short -> not WBK
    assert s.score == D("93.44")
    assert dict((a.code, a.verifiable) for a in s.aspects)["PPE"] == Fraction(15, 8)
    assert s.predicate == "Belum WBK"


def test_zi_every_pillar_at_its_minimum_is_wbk():
    r = rubric("zi-lke-wbk")
    s = score(r, questionnaire(r, zi_rows(ppe="B", hbb="81.3")))
    # PPE B = 0.75 -> 5.625 >= 4.50 (lost 1.875); HBB lost 0.935; total = 100 - 2.81 = 97.19
    assert s.score == D("97.19")
    assert s.predicate == "WBK"
    # The same figures under a band without minimums would give WBK for 93.44 too.
    assert r.band_for(D("93.44"), {}) == "Belum WBK"  # a pillar not scored counts 0
    assert r.predicate(D("93.44")) == "WBK"  # the total alone (no minimums)


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        ("PPA: 2.40", "predicates[0].requires.XXX"),
        ("PPB: 2.10", "predicates[0].requires.PPB"),
        ("{name: Belum WBK, min: 0}", "predicates[1].requires"),
    ],
)
def test_band_minimum_mistakes_name_their_path(edit, path):
    text = (RUBRICS / "zi-lke-wbk.yaml").read_text(encoding="utf-8")
    bad = {
        "PPA: 2.40": "XXX: 2.40",  # not an aspect
        "PPB: 2.10": "PPB: 9.5",  # above the pillar's weight 3.5
        "{name: Belum WBK, min: 0}": "{name: Belum WBK, min: 0, requires: {PPA: 1}}",
    }[edit]
    assert edit in text
    with pytest.raises(RubricError) as err:
        parse_rubric(text.replace(edit, bad), "zi.yaml")
    assert any(p == path for p, _ in err.value.errors), err.value.errors


# --- (f) nested groups with weights at each level (SAKIP KKE) -------------------------------


def sakip_best(r):
    return [(i.code, "Y" if i.code.endswith((".1.1", ".1.2")) else "A", EV) for i in r.indicators]


def test_sakip_nested_weights_by_hand():
    r = rubric("sakip-kke")
    rows = {code: (code, ans, ev) for code, ans, ev in sakip_best(r)}
    rows["PK.2.1"] = ("PK.2.1", "B", EV)  # Perencanaan / Kualitas, criterion 1
    rows["LK.3.2"] = ("LK.3.2", "C", EV)  # Pelaporan / Pemanfaatan, criterion 2
    rows["EV.1.1"] = ("EV.1.1", "T", EV)  # Evaluasi / Keberadaan, criterion 1
    s = score(r, questionnaire(r, rows.values()))
    # Criterion points = component weight x sub-component share x criterion share:
    #   PK.2.1: sub-component 9 of 30, criterion 1 of 2 -> 4.5;  B = 0.66 -> 2.97 (lost 1.53)
    #   LK.3.2: sub-component 7.5 of 15, criterion 1 of 2 -> 3.75; C = 0.33 -> 1.2375 (lost 2.5125)
    #   EV.1.1: sub-component 5 of 25, criterion 1 of 2 -> 2.5;  T = 0 (lost 2.5)
    # total = 100 - 1.53 - 2.5125 - 2.5 = 93.4575 -> 93.46 (half up) -> AA
    assert s.final_exact == Fraction("93.4575")
    assert s.score == D("93.46")
    assert s.predicate == "AA"
    groups = {g.code: g for g in s.groups}
    assert groups["PK.2"].max_points == 9
    assert groups["PK.2"].verifiable == Fraction("7.47")  # 4.5 + 2.97
    assert groups["LK.3"].verifiable == Fraction("4.9875")  # 3.75 + 1.2375
    assert [a.verifiable for a in s.aspects] == [
        Fraction("28.47"),  # 30 - 1.53
        30,
        Fraction("12.4875"),  # 15 - 2.5125
        Fraction("22.5"),  # 25 - 2.5
    ]


def test_flat_rubric_shares_are_unchanged_by_groups():
    # Today's flat aspects are the case without groups: an aspect shares its weight directly.
    r = load_rubric()
    shares = r.max_points()
    ji = [i for i in r.indicators_of("JI") if i.scored]
    assert all(shares[i.code] == Fraction(40, len(ji)) for i in ji)


def test_group_mistakes_name_their_path():
    text = (RUBRICS / "sakip-kke.yaml").read_text(encoding="utf-8")
    cases = [
        ("{code: PK.1, parent: PK,", "{code: PK.1, parent: XX,", "groups[0].parent"),
        ("{code: PK.1, parent: PK,", "{code: PK.1, parent: PK.2,", None),  # fine: deeper
        ("{code: PK.2, parent: PK,", "{code: PK.2, parent: PK.2,", "groups[1].parent"),
        ("aspect: PK, group: PK.1,", "aspect: UK, group: PK.1,", "indicators[0].group"),
        ("aspect: PK, group: PK.1,", "aspect: PK, group: PK.9,", "indicators[0].group"),
        ("{code: PK.1, parent: PK,", "{code: PK, parent: PK,", "groups[0].code"),
    ]
    for old, new, path in cases:
        assert old in text
        bad = text.replace(old, new, 1)
        if path is None:
            parse_rubric(bad, "s.yaml")
            continue
        with pytest.raises(RubricError) as err:
            parse_rubric(bad, "s.yaml")
        assert any(p == path for p, _ in err.value.errors), (new, err.value.errors)


def test_band_minimums_may_name_a_group():
    text = (RUBRICS / "sakip-kke.yaml").read_text(encoding="utf-8")
    r = parse_rubric(
        text.replace("- {name: AA, min: 90}", "- {name: AA, min: 90, requires: {PK.2: 8}}"),
        "s.yaml",
    )
    rows = {code: (code, ans, ev) for code, ans, ev in sakip_best(r)}
    rows["PK.2.1"] = ("PK.2.1", "B", EV)
    s = score(r, questionnaire(r, rows.values()))
    # total 100 - 1.53 = 98.47 >= 90, but PK.2 has 7.47 < 8 -> the next band, A
    assert s.score == D("98.47")
    assert s.predicate == "A"


# --- (g) graded verification levels defined by the rubric (Kemenhub) ----------------------


def test_kemenhub_ungraded_ya_counts_as_cukup():
    r = rubric("kemenhub-2024")
    s = score(
        r,
        questionnaire(
            r,
            [
                ("K-01", "Ya", EV),  # 3-point item, ungraded -> Cukup = 2.2
                ("K-09", "Ya", EV),  # 6-point item, ungraded -> its own Cukup = 3
                ("K-10", "Ya"),  # 4-point item, ungraded, NO evidence -> 0 (evidence rules)
                ("K-35", "Ya", EV, "Kurang"),  # 4-point item graded Kurang -> 2.8
                ("K-14", "Tidak", EV, "Sesuai"),  # Tidak stays 0 whatever the grade
            ],
        ),
    )
    # claimed: 3 + 6 + 4 + 4 = 17;  verifiable: 2.2 + 3 + 0 + 2.8 = 8
    assert s.saq_claimed_exact == 17
    assert s.saq_verifiable_exact == 8
    points = {i.code: i.points for i in s.indicators}
    assert points["K-01"] == Fraction("2.2")
    assert points["K-09"] == 3
    assert points["K-10"] == 0
    assert points["K-35"] == Fraction("2.8")


def test_verifikasi_column_takes_the_rubric_levels(tmp_path):
    from monev.workbook import read_questionnaire

    r = rubric("kemenhub-2024")
    rows = [("K-01", "Ya", EV, "hampir-sesuai"), ("K-02", "Ya", EV, "Tidak Sesuai")]
    q = read_questionnaire(write_workbook(tmp_path / "k.xlsx", r, rows), r)
    assert q.answers["K-01"].verification == "Hampir sesuai"
    # "Tidak Sesuai" is KI Jatim's decision, not one of this rubric's levels: MV213, listing them
    mv213 = [p for p in q.problems if p.code == "MV213"]
    assert len(mv213) == 1
    assert "Hampir sesuai" in mv213[0].text("id")
    s = score(r, q)
    # K-01 Hampir sesuai = 2.8; K-02 with a decision that is not one of the rubric's levels
    # counts 0 until it is corrected (MV213), never as if nobody had looked at it.
    assert s.saq_verifiable_exact == Fraction(14, 5)


def test_default_rubric_keeps_sesuai_and_tidak_sesuai():
    assert load_rubric().verdicts() == {"sesuai": "Sesuai", "tidak sesuai": "Tidak Sesuai"}


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("  ungraded: Cukup", "  ungraded: Lumayan", "verification.ungraded"),
        ('{Hampir sesuai: "1.8/2",', '{Baik: "1.8/2",', "indicators[1].levels.Baik"),
        (
            '{Hampir sesuai: "1.8/2",',
            '{Hampir sesuai: "3/2",',
            "indicators[1].levels.Hampir sesuai",
        ),
        (
            '- {name: Kurang, value: "1.8/3"}',
            "- {name: cukup, value: 0}",
            "verification.levels[3].name",
        ),
    ],
)
def test_level_mistakes_name_their_path(old, new, path):
    text = (RUBRICS / "kemenhub-2024.yaml").read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(RubricError) as err:
        parse_rubric(text.replace(old, new, 1), "k.yaml")
    assert any(p == path for p, _ in err.value.errors), err.value.errors


# --- (h) the shipped ki-kalbar-2025 rubric, its presentation variants -----------------------


def test_kalbar_is_shipped_with_the_guideline_weights():
    r = load_rubric("ki-kalbar-2025")
    assert [(a.code, a.weight) for a in r.aspects] == [
        ("SD", 30),
        ("KQ", 25),
        ("JN", 20),
        ("KO", 25),
    ]
    assert [(s.code, s.weight) for s in r.stages] == [("saq", 70), ("presentasi", 30)]
    assert [(b.name, b.min, b.colour_name) for b in r.predicates] == [
        ("Informatif", 90, "Hijau"),
        ("Menuju Informatif", 80, "Biru"),
        ("Cukup Informatif", 60, "Kuning"),
        ("Kurang Informatif", 40, "Merah"),
        ("Tidak Informatif", 0, "Hitam"),
    ]
    assert r.reconstructed
    assert all(i.source and i.source.startswith("rekonstruksi") for i in r.indicators)
    assert load_rubric().id == "ki-jatim-2024"  # still the default


def test_kalbar_video_presentation_variant_by_hand():
    r = load_rubric("ki-kalbar-2025")
    presentasi = r.stages[1]
    # By video: leader as presenter up to 40, programme up to 60
    video = presentasi.score_from_parts("video", {"pimpinan": D("32"), "program": D("51")})
    assert video == D("83")  # 32 + 51
    # In person: leader's presence up to 50, programme up to 50
    assert presentasi.score_from_parts("langsung", {"pimpinan": D("50"), "program": D("40")}) == 90
    with pytest.raises(ValueError, match="from 0 to 40"):
        presentasi.score_from_parts("video", {"pimpinan": D("45"), "program": D("50")})
    with pytest.raises(ValueError, match="no variant"):
        presentasi.score_from_parts("daring", {})
    with pytest.raises(ValueError, match="has no score"):
        presentasi.score_from_parts("video", {"pimpinan": D("40")})
    # An office that answers only the Sarana Prasarana dan Digitalisasi aspect (30), all proven:
    sd = [(i.code, "Ya", EV) for i in r.indicators_of("SD")]
    s = score(r, questionnaire(r, sd, stages={"presentasi": video}))
    # final = SAQ 30 x 70 % + presentation 83 x 30 % = 21 + 24.9 = 45.9 -> Kurang Informatif
    assert s.saq_verifiable_exact == 30
    assert s.score == D("45.90")
    assert s.predicate == "Kurang Informatif"
    # Without a presentation score it counts 0: 30 x 70 % = 21 -> Tidak Informatif
    absent = score(r, questionnaire(r, sd))
    assert absent.score == D("21.00")
    assert absent.predicate == "Tidak Informatif"


def test_variant_mistakes_name_their_path():
    text = load_rubric("ki-kalbar-2025").path
    raw = (Path(__file__).parents[1] / "scoring_rules" / "ki-kalbar-2025.yaml").read_text("utf-8")
    assert text == "ki-kalbar-2025.yaml"
    bad = raw.replace("name: Program (Inovasi dan Strategi), max: 60}", "name: Program, max: 50}")
    with pytest.raises(RubricError) as err:
        parse_rubric(bad, "k.yaml")
    assert ("stages[1].variants[1].parts", "part maxima add up to 90, not 100") in err.value.errors


# --- every instrument: a JSON round trip keeps the exact values -----------------------------


@pytest.mark.parametrize(
    "ref",
    ["ki-jatim-2024", "ki-kalbar-2025", *(str(p) for p in sorted(RUBRICS.glob("*.yaml")))],
)
def test_rubric_round_trips_through_json_exactly(ref):
    from monev.rubric import Rubric

    r = load_rubric(ref)
    data = json.loads(json.dumps(r.model_dump(mode="json")))
    again = Rubric.model_validate(data)
    assert dict(again) == dict(r)  # "2.2/3" comes back as 11/15, not as a rounded decimal
