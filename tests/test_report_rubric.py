"""Reports follow the rubric (issue 12 item 5): titles, the lead unit, numbers with the decimals
they have, band colours for any number of bands, and instruments without predicates.

Each test renders the HTML (no PDF) of a small run scored from workbooks written here.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from helpers import SMALL_RUBRIC, write_workbook

from monev.batch import score_paths
from monev.report import band_palette, render_city_html, render_office_html
from monev.rubric import load_rubric, parse_rubric

EV = "https://ppid.contoh.go.id/bukti"
AS_OF = dt.date(2026, 5, 4)
ROOT = Path(__file__).parents[1]
RUBRICS = Path(__file__).parent / "data" / "rubrics"
BALI_TEXT = (RUBRICS / "ki-bali-desa-2026.yaml").read_text(encoding="utf-8")


def run_of(tmp: Path, rubric, offices):
    """``offices``: (file stem, office name, unit type, rows, stages) per workbook."""
    for stem, name, unit, rows, stages in offices:
        path = tmp / f"{stem}.xlsx"
        write_workbook(path, rubric, rows, office=name, unit_type=unit, stages=stages)
    return score_paths([tmp], rubric, as_of=AS_OF, stages_from_workbooks=True)


def title_of(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()


def bali_rows(value: str):
    return [(f"Q{n:02d}", value, EV) for n in range(1, 21)]


@pytest.fixture(scope="module")
def bali_run(tmp_path_factory):
    r = load_rubric(RUBRICS / "ki-bali-desa-2026.yaml")
    return run_of(
        tmp_path_factory.mktemp("bali"),
        r,
        [
            ("satu", "Desa Satu", "Desa", bali_rows("80"), {"visitasi": 90}),
            ("dua", "Desa Dua", "Desa", bali_rows("50"), None),
        ],
    )


# --- 1. titles ------------------------------------------------------------------------------


def test_city_report_title_comes_from_the_rubric(bali_run):
    html = render_city_html(bali_run)
    assert title_of(html) == "Rekap Apresiasi Keterbukaan Informasi Publik Desa"
    assert "<h1>Rekap Apresiasi Keterbukaan Informasi Publik Desa</h1>" in html
    assert "Laporan Kesiapan Monev Tingkat Kota" not in html
    # Without titles.city_report: monev's own wording (the same rubric, its titles taken away).
    assert bali_run.rubric.titles.office_report is None
    office = render_office_html(bali_run, bali_run.offices[0])
    assert title_of(office).startswith("Laporan Kesiapan Monev Keterbukaan Informasi Publik: ")


def test_office_report_title_comes_from_the_rubric(tmp_path):
    text = BALI_TEXT.replace(
        "titles:\n", "titles:\n  office_report: Lembar Hasil Apresiasi Desa\n", 1
    )
    r = parse_rubric(text, "bali-judul.yaml")
    run = run_of(tmp_path, r, [("satu", "Desa Satu", "Desa", bali_rows("80"), None)])
    html = render_office_html(run, run.offices[0])
    assert title_of(html) == "Lembar Hasil Apresiasi Desa: Desa Satu"
    assert "Lembar Hasil Apresiasi Desa · " in html  # the line above the office's name
    assert "Laporan Kesiapan Monev Keterbukaan Informasi Publik" not in html


# --- 2. the lead unit -------------------------------------------------------------------------


def test_no_lead_unit_section_when_the_rubric_has_none(bali_run):
    assert bali_run.rubric.lead_unit is None
    html = render_city_html(bali_run)
    assert "PPID Utama" not in html
    assert "Posisi" not in html


def test_lead_unit_section_named_by_the_rubric(tmp_path):
    text = BALI_TEXT.replace("unit_types: [Desa]\nlead_unit: null\n", "")
    text += "unit_types: [Desa, Kecamatan]\nlead_unit: Kecamatan\n"
    r = parse_rubric(text, "bali-kecamatan.yaml")
    run = run_of(
        tmp_path,
        r,
        [
            ("satu", "Desa Satu", "Desa", bali_rows("80"), None),
            ("kec", "Kecamatan Uji", "Kecamatan", bali_rows("60"), None),
        ],
    )
    html = render_city_html(run)
    assert "<h2>Posisi Kecamatan</h2>" in html
    assert "PPID Utama" not in html
    # The section lists the lead unit's office: its name in bold, then its score.
    # Kecamatan Uji: every question 60 -> questionnaire 60, no visitation -> 0,6 x 60 = 36.
    assert "<b>Kecamatan Uji</b>: 36,00" in html
    html_en = render_city_html(run, "en")
    assert "The Kecamatan&#39;s position" in html_en  # the apostrophe escaped


# --- 3. numbers with the decimals they have --------------------------------------------------


@pytest.fixture(scope="module")
def decimals_run(tmp_path_factory):
    """SMALL_RUBRIC with weights and bounds that are not whole: aspects 95,5 + 4,5; stages
    70 + 25,5 + 4,5; both gates at SAQ 68,25; bands 90 / 80 / 62,75 / 30 / 0."""
    data = yaml.safe_load(SMALL_RUBRIC)
    data["aspects"][0]["weight"] = "95.5"
    data["aspects"][1]["weight"] = "4.5"
    data["stages"][0]["weight"] = 70
    data["stages"][1].update(weight="25.5", gate={"stage": "saq", "min": "68.25"})
    data["stages"][2].update(weight="4.5", gate={"stage": "saq", "min": "68.25"})
    data["predicates"][2]["min"] = "62.75"
    data["predicates"][3]["min"] = 30
    r = parse_rubric(yaml.safe_dump(data), "uji-desimal.yaml")
    full = [("A-01", "Ya", EV), ("A-02", "Ya", EV), ("A-03", "Ya", EV), ("B-01", "A", EV)]
    full += [(f"B-02.{k}", "Ya", EV) for k in range(1, 5)]
    return run_of(
        tmp_path_factory.mktemp("desimal"),
        r,
        [
            # SAQ 100 (everything proven); final 70% x 100 + 25,5% x 80 + 4,5% x 90
            # = 70 + 20,4 + 4,05 = 94,45.
            ("penuh", "Dinas Penuh", "OPD", full, {"visitasi": 80, "wawancara": 90}),
            # Only A-01 (weight 1 of 4 in aspect A): 95,5 x 1/4 = 23,875 -> 23,88, under the
            # gate: the final score is the SAQ.
            ("kurang", "Dinas Kurang", "OPD", [("A-01", "Ya", EV)], None),
        ],
    )


def test_weights_and_bounds_keep_their_decimals(decimals_run):
    full, low = decimals_run.offices
    assert str(full.score.score) == "94.45" and str(low.score.score) == "23.88"
    html = render_office_html(decimals_run, full)
    assert "/ 95,5</div>" in html and "/ 4,5</div>" in html  # aspect chart
    assert "(25,5%)" in html and "(4,5%)" in html  # stage weights
    assert "× 70%" in html  # SAQ weight: 70 stays 70
    assert "× 25,5%" in html  # the arithmetic line
    assert "Cukup Informatif ≥ 62,75" in html
    assert "Kurang Informatif ≥ 30<" in html  # 30 stays 30, not 30,00
    html = render_office_html(decimals_run, low)
    assert "(≥ 68,25)" in html  # the SAQ gate in the plan
    assert "(≥ 68)" not in html
    en = render_office_html(decimals_run, low, "en")
    assert "(≥ 68.25)" in en and "≥ 62.75" in en
    city = render_city_html(decimals_run)
    assert "A (95,5)" in city and "B (4,5)" in city


# --- 4. band colours and instruments that only rank ---------------------------------------------


def test_band_palette_extends_to_any_number_of_bands():
    for n in range(1, 21):
        colours = band_palette(n)
        assert len(colours) == n
        assert len(set(colours)) == n, (n, colours)
        assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colours)
    # Up to six bands: the colours monev always used (the demo's reports do not change).
    assert band_palette(5) == ["#1b5e20", "#558b2f", "#f9a825", "#ef6c00", "#c62828"]


def test_eight_bands_get_eight_colours(tmp_path):
    data = yaml.safe_load(SMALL_RUBRIC)
    data["predicates"] = [
        {"name": f"Pita {k}", "min": m} for k, m in enumerate([90, 80, 70, 60, 50, 40, 30, 0])
    ]
    r = parse_rubric(yaml.safe_dump(data), "uji-delapan.yaml")
    run = run_of(tmp_path, r, [("a", "Dinas A", "OPD", [("A-01", "Ya", EV)], None)])
    html = render_office_html(run, run.offices[0])
    bands = re.search(r'<div class="bands">(.*?)</div>', html).group(1)
    colours = re.findall(r"background: (#[0-9a-f]{6})", bands)
    assert len(colours) == 8
    assert len(set(colours)) == 8, colours  # before: Pita 5, 6 and 7 were all #6d1b1b


def test_the_rubrics_own_band_colours(tmp_path):
    r = load_rubric(ROOT / "scoring_rules" / "ki-kalbar-2025.yaml")
    run = run_of(tmp_path, r, [("a", "Dinas A", "OPD", [], None)])
    o = run.offices[0]
    assert o.score.predicate == "Tidak Informatif"  # nothing answered: 0
    html = render_office_html(run, o)
    # Kalbar's zone Hitam (#212121) for Tidak Informatif, in the score box and the band row.
    assert '<div class="scorebox" style="background: #212121">' in html
    assert '<span style="background: #2e7d32" >Informatif ≥ 90</span>' in html


def test_an_instrument_without_predicates_shows_ranks_only(bali_run):
    assert bali_run.rubric.predicates == []
    # Desa Satu: 0,6 x 80 + 0,4 x 90 = 48 + 36 = 84; Desa Dua: 0,6 x 50 + 0 = 30.
    assert [(o.name, str(o.score.score), o.rank) for o in bali_run.offices] == [
        ("Desa Satu", "84.00", 1),
        ("Desa Dua", "30.00", 2),
    ]
    html = render_city_html(bali_run)
    assert "Jumlah kantor per predikat" not in html  # no distribution chart of bands
    assert "<th>Predikat</th>" not in html
    assert "Kurang untuk naik predikat" not in html
    assert "<td>1</td>" in html and "<td>Desa Satu</td>" in html
    office = render_office_html(bali_run, bali_run.offices[0])
    assert '<div class="bands">' not in office
    assert '<div class="predicate">' not in office
    assert "Peringkat 1 dari 2" in office


# --- 5. the plan follows every gate --------------------------------------------------------------

REQUIRES_RUBRIC = """
id: uji-syarat
title: Uji syarat minimum
year: 2024
category: Uji
version: "1.0"
aspects:
  - {code: A, name: Aspek A, weight: 60}
  - {code: B, name: Aspek B, weight: 40}
indicators:
  - {code: A-01, aspect: A, question: Satu, answer: {type: ya_tidak}, weight: 5}
  - {code: A-02, aspect: A, question: Dua, answer: {type: ya_tidak}, weight: 1}
  - {code: B-01, aspect: B, question: Tiga, answer: {type: ya_tidak}, weight: 3}
  - {code: B-02, aspect: B, question: Empat, answer: {type: ya_tidak}, weight: 1}
predicates:
  - {name: WBK, min: 60, requires: {B: 35}}
  - {name: Belum, min: 0}
stages:
  - {code: saq, name: SAQ, weight: 100}
"""


def test_plan_marks_a_band_where_its_minimums_are_met(tmp_path):
    from helpers import questionnaire

    from monev.plan import build_plan
    from monev.scoring import score

    r = parse_rubric(REQUIRES_RUBRIC, "uji-syarat.yaml")
    s = score(r, questionnaire(r, []))
    assert s.predicate == "Belum"
    plan = build_plan(r, s)
    # Points: A-01 60 x 5/6 = 50, A-02 60 x 1/6 = 10, B-01 40 x 3/4 = 30, B-02 40 x 1/4 = 10.
    # By gain: A-01 (+50), B-01 (+30), A-02 (+10), B-02 (+10; ties by code): the total passes
    # WBK's 60 at step 2, but aspect B has 30 < 35 until B-02, so WBK only at step 4.
    # B's minimum first: B-01 (B 30 < 35), B-02 (B 40 >= 35), then by gain A-01: total
    # 30 + 10 + 50 = 90 >= 60 with B 40 >= 35, so WBK at step 3, one fix fewer. That order wins.
    assert [st.indicator.code for st in plan.steps] == ["B-01", "B-02", "A-01", "A-02"]
    assert [str(st.cumulative) for st in plan.steps] == ["30.00", "40.00", "90.00", "100.00"]
    assert [st.band for st in plan.steps] == ["Belum", "Belum", "WBK", "WBK"]
    (target,) = plan.targets
    assert (target.key, target.label, target.steps) == ("next", "WBK", 3)  # was 4 (by gain)
    assert plan.minimums_first == ("WBK", ("B",))
    # The report says why the order is not by gain alone.
    run = run_of(tmp_path, r, [("a", "Dinas A", "OPD", [], None)])
    html = render_office_html(run, run.offices[0])
    assert "Predikat WBK mensyaratkan nilai minimum B: baris teratas lebih dulu" in html


def test_plan_keeps_the_order_by_gain_when_the_minimums_do_not_shorten_it():
    from helpers import questionnaire

    from monev.plan import build_plan
    from monev.scoring import score

    r = parse_rubric(REQUIRES_RUBRIC, "uji-syarat.yaml")
    # B-02 already answered: B has 10. By gain: A-01 (total 60, B 10), B-01 (total 90, B 40):
    # WBK at step 2. B first: B-01 (total 40, B 40), A-01 (total 90): WBK at step 2 as well;
    # a tie keeps the order by gain.
    s = score(r, questionnaire(r, [("B-02", "Ya", EV)]))
    plan = build_plan(r, s)
    assert [st.indicator.code for st in plan.steps] == ["A-01", "B-01", "A-02"]
    assert plan.targets[0].steps == 2
    assert plan.minimums_first is None


def test_city_ranking_names_the_missing_minimums(tmp_path):
    r = parse_rubric(REQUIRES_RUBRIC, "uji-syarat.yaml")
    rows = [("A-01", "Ya", EV), ("A-02", "Ya", EV), ("B-01", "Ya", EV)]
    run = run_of(tmp_path, r, [("a", "Dinas A", "OPD", rows, None)])
    o = run.offices[0]
    # 50 + 10 + 30 = 90 >= 60, but B 30 < 35: not WBK.
    assert (str(o.score.score), o.score.predicate) == ("90.00", "Belum")
    html = render_city_html(run)
    assert "WBK: penuhi nilai minimum B" in html
    assert "sudah di predikat tertinggi" not in html  # before: as if at the top band


def test_plan_follows_every_saq_gate():
    from helpers import questionnaire

    from monev.plan import build_plan
    from monev.scoring import score

    data = yaml.safe_load(SMALL_RUBRIC)
    data["stages"][2]["gate"]["min"] = 70  # visitasi at SAQ 80, wawancara at SAQ 70
    r = parse_rubric(yaml.safe_dump(data), "uji-gerbang.yaml")
    s = score(r, questionnaire(r, [("A-01", "Ya", EV)]))
    gates = [(t.label, t.threshold) for t in build_plan(r, s).targets if t.key == "gate"]
    assert gates == [("visitasi", 80), ("wawancara", 70)]  # before: visitasi only
    # Two stages with one bound (SMALL_RUBRIC's own: both at 80) give one target.
    r = parse_rubric(SMALL_RUBRIC, "uji-kecil.yaml")
    s = score(r, questionnaire(r, [("A-01", "Ya", EV)]))
    assert [t.label for t in build_plan(r, s).targets if t.key == "gate"] == ["visitasi"]


def test_reports_of_another_instrument_do_not_speak_of_ki_jatim(bali_run):
    # Before: the reconstructed-rubric note said "bukan SAQ resmi KI Jatim" whatever the rubric.
    for html in (render_city_html(bali_run), render_office_html(bali_run, bali_run.offices[0])):
        assert "KI Jatim" not in html
        assert "bukan instrumen resmi penyelenggara monev" in html
