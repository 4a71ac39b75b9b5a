"""Reports: the improvement plan by hand, golden HTML, and the PDFs read back as text."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from conftest import DEMO, ROOT
from helpers import SMALL_RUBRIC, questionnaire, small_rubric, write_workbook

from monev.batch import score_paths
from monev.plan import build_plan
from monev.report import (
    ATTACHMENT_NAME,
    render_city_html,
    render_office_html,
    render_reports,
    safe_name,
)
from monev.rubric import parse_rubric
from monev.scoring import score
from monev.stages import load_stages

EV = "https://ppid.contoh.go.id/bukti"
GOLDEN = Path(__file__).parent / "golden"
AS_OF = dt.date(2024, 11, 13)


# --- the improvement plan, by hand --------------------------------------------------------------


def plan_rubric():
    """One aspect of weight 100: a proven block worth 88.5 points and 17 open items."""
    data = yaml.safe_load(SMALL_RUBRIC)
    data["aspects"] = [{"code": "A", "name": "Aspek", "weight": 100}]
    weights = {"X-00": 885, "F-01": 9, **{f"F-{k:02d}": 7 for k in range(2, 17)}, "F-17": 1}
    assert sum(weights.values()) == 1000
    data["indicators"] = [
        {
            "code": c,
            "aspect": "A",
            "question": f"Soal {c}",
            "answer": {"type": "ya_tidak"},
            "weight": w,
        }
        for c, w in weights.items()
    ]
    return parse_rubric(yaml.safe_dump(data))


def test_plan_two_named_fixes_lift_88_50_to_informatif():
    r = plan_rubric()
    s = score(r, questionnaire(r, [("X-00", "Ya", EV), ("F-01", "Ya")]))  # F-01 claimed, unproven
    # Score = 100 x 885 / 1000 = 88.50 (Menuju Informatif).
    assert s.score == Decimal("88.50") and s.predicate == "Menuju Informatif"
    plan = build_plan(r, s)
    # Largest gain first: F-01 adds 100 x 9/1000 = 0.90 -> 89.40; then F-02 adds 0.70 -> 90.10.
    assert [st.indicator.code for st in plan.steps[:2]] == ["F-01", "F-02"]
    assert [st.cumulative for st in plan.steps[:2]] == [Decimal("89.40"), Decimal("90.10")]
    assert plan.steps[0].indicator.status == "no_evidence"
    targets = {t.key: t for t in plan.targets}
    assert targets["next"].label == "Informatif" and targets["next"].steps == 2
    assert "top" not in targets  # the next band is the top band
    assert targets["gate"].reached_already
    assert plan.steps[-1].cumulative == Decimal("100.00") and len(plan.steps) == 17


def test_plan_says_when_no_fix_reaches_the_next_band():
    r = small_rubric()
    rows = [
        ("A-01", "Ya", EV),
        ("A-02", "Ya", EV),
        ("A-03", "Ya", EV),
        ("B-01", "C", EV),
        ("B-02.1", "Ya", EV),
        ("B-02.2", "Ya", EV),
        ("B-02.3", "Ya", EV),
        ("B-02.4", "Ya", EV),
    ]
    stages = {"visitasi": Decimal(40), "wawancara": Decimal(40)}
    s = score(r, questionnaire(r, rows, stages))
    # SAQ = 60 + 40 x (0.5 + 1)/2 = 90; final = 90 x 0.8 + 40 x 0.1 + 40 x 0.1 = 80.00.
    assert s.score == Decimal("80.00") and s.predicate == "Menuju Informatif"
    plan = build_plan(r, s)
    # The only fix (B-01 to A) gives SAQ 100 and final 80 + 4 + 4 = 88.00 < 90: out of reach.
    assert [st.cumulative for st in plan.steps] == [Decimal("88.00")]
    targets = {t.key: t for t in plan.targets}
    assert targets["next"].label == "Informatif" and targets["next"].steps is None


def test_safe_names_stay_inside_and_are_unique():
    taken: set[str] = set()
    names = [
        safe_name(n, taken)
        for n in ["../../x", "Dinas/Kesehatan", "Dinas Kesehatan", "a" * 300, "", "Dinas Kesehatan"]
    ]
    # "Dinas/Kesehatan" and "Dinas Kesehatan" are one identity: copies get _2, _3 (see test_outputs)
    assert names[:3] == ["x", "dinas-kesehatan", "dinas-kesehatan_2"]
    assert (
        len(names[3]) <= 60 and names[4].startswith("kantor_") and names[5] == "dinas-kesehatan_3"
    )
    assert all("/" not in n and not n.startswith(".") for n in names)


# --- rendering -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, rubric):
    """Three demo offices plus one whose note and evidence try to inject HTML."""
    folder = tmp_path_factory.mktemp("masuk")
    for name in ("diskominfotik.xlsx", "dinkes.xlsx", "kel-pohjentrek.xlsx"):
        (folder / name).write_bytes((DEMO / name).read_bytes())
    p = write_workbook(
        folder / "jahat.xlsx",
        rubric,
        [("JI-01", "Ya", "javascript:alert(1)"), ("JI-02", "Ya", EV)],
        office="<b>Dinas</b> & Jahat",
    )
    import openpyxl

    wb = openpyxl.load_workbook(p)
    ws = wb["Kuesioner"]
    for row in ws.iter_rows(min_row=7):
        if row[0].value == "JI-02":
            row[6].value = "<script>alert('x')</script>"
    wb.save(p)
    return score_paths([folder], rubric, as_of=AS_OF, stages=demo_stages(rubric))


@pytest.fixture(scope="module")
def demo_run(rubric):
    """Three committed demo workbooks: stable bytes, so stable golden files."""
    files = [DEMO / n for n in ("diskominfotik.xlsx", "dinkes.xlsx", "kel-pohjentrek.xlsx")]
    return score_paths(files, rubric, as_of=AS_OF, stages=demo_stages(rubric))


def demo_stages(rubric):
    """The demo's stages file (visitasi / wawancara of the offices past the gate)."""
    return load_stages(DEMO.parent / "contoh-tahapan.xlsx", rubric)


def _golden(name: str, text: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.write_text(text, encoding="utf-8")
    if not path.exists():
        pytest.fail(f"golden file {name} is missing: run pytest --update-golden")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed: run pytest --update-golden"


def test_golden_office_html(demo_run, update_golden):
    office = next(o for o in demo_run.offices if o.file == "dinkes.xlsx")
    _golden("office-dinkes.html", render_office_html(demo_run, office), update_golden)


def test_golden_city_html(demo_run, update_golden):
    _golden("city.html", render_city_html(demo_run), update_golden)


def test_html_escapes_user_text_and_links_only_http(small_run):
    office = next(o for o in small_run.offices if o.file == "jahat.xlsx")
    html = render_office_html(small_run, office)
    assert "&lt;script&gt;alert(" in html and "<script>" not in html
    assert "&lt;b&gt;Dinas&lt;/b&gt; &amp; Jahat" in html
    assert 'href="javascript:' not in html and f'href="{EV}"' in html


@pytest.fixture(scope="module")
def rendered(small_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("hasil")
    render_reports(small_run, out, jobs=2)
    return out


def _text(pdf: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(pdf).pages)


@pytest.mark.pdf
def test_office_pdfs_show_name_score_and_predicate(small_run, rendered):
    files = list((rendered / "kantor").glob("*.pdf"))
    assert len(files) == len(small_run.offices)
    dinkes = next(o for o in small_run.offices if o.file == "dinkes.xlsx")
    text = _text(rendered / "kantor" / "dinas-kesehatan.pdf")
    assert "Dinas Kesehatan" in text
    assert f"{dinkes.score.score}".replace(".", ",") in text
    assert dinkes.score.predicate in text
    assert "13 November 2024" in text
    jahat = _text(rendered / "kantor" / "b-dinas-b-jahat.pdf")
    assert "<script>alert('x')</script>" in jahat  # shown as text, never run


@pytest.mark.pdf
def test_city_pdf_lists_offices_in_rank_order(small_run, rendered):
    text = _text(rendered / "kota.pdf")
    ranking = text[text.index("Peringkat kantor") :]
    # Long names wrap inside their cell, so look for the start of each name.
    positions = [
        ranking.index(o.name[:14] if "<" not in o.name else "Jahat") for o in small_run.offices
    ]
    assert positions == sorted(positions)
    assert "4 berkas diterima, 4 dinilai, 0 ditolak" in text


@pytest.mark.pdf
def test_attachment_equals_results_json_entry(small_run, rendered):
    from pypdf import PdfReader

    results = json.loads(small_run.to_json())
    for o, entry in zip(small_run.offices, results["offices"], strict=True):
        path = next(p for p in (rendered / "kantor").glob("*.pdf") if o.file in _text(p)[-3000:])
        attached = PdfReader(path).attachments[ATTACHMENT_NAME][0]
        assert json.loads(attached) == entry


@pytest.mark.pdf
def test_same_inputs_same_bytes_in_two_processes(tmp_path):
    code = (
        "import sys; from monev.cli import main; "
        "sys.exit(main(['score', sys.argv[1], '--out', sys.argv[2], '-q', '-j', '1']))"
    )
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1731456000"}  # 2024-11-13
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("dinkes.xlsx", "kel-sebani.xlsx"):
        (inputs / name).write_bytes((DEMO / name).read_bytes())
    for k in (1, 2):
        subprocess.run(
            [sys.executable, "-c", code, str(inputs), str(tmp_path / f"out{k}")],
            env=env,
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
    for rel in ("kota.pdf", "kantor/dinas-kesehatan.pdf", "results.json"):
        assert (tmp_path / "out1" / rel).read_bytes() == (tmp_path / "out2" / rel).read_bytes(), rel
    assert json.loads((tmp_path / "out1" / "results.json").read_text())["as_of"] == "2024-11-13"


@pytest.mark.pdf
def test_english_report(small_run, tmp_path):
    from monev.report import html_to_pdf

    office = next(o for o in small_run.offices if o.file == "dinkes.xlsx")
    pdf = tmp_path / "en.pdf"
    pdf.write_bytes(html_to_pdf(render_office_html(small_run, office, "en"), AS_OF))
    text = _text(pdf)
    assert "Final score" in text and "Improvement plan" in text and "November 13" not in text
    assert "13 November 2024" in text and "Skor akhir" not in text
    assert "86.54" in text and "86,54" not in text  # English number format


def _arithmetic_line(text: str) -> str:
    line = next(line for line in text.splitlines() if "Perhitungan nilai akhir:" in line)
    return re.sub(r"<[^>]+>", "", line).split(":", 1)[1].strip()


def _recompute(line: str) -> tuple[Decimal, Decimal]:
    """(sum as printed, rounded half up) from the printed terms, with Decimal only."""
    left, right = line.split(" = ")
    total = Decimal(0)
    for term in left.split(" + "):
        value, weight = term.split(" × ")
        total += Decimal(value.rstrip("…").replace(",", ".")) * Decimal(weight.rstrip("%")) / 100
    printed = Decimal(right.split(" → ")[1].replace(",", "."))
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), printed


def test_office_report_shows_the_final_score_arithmetic_an_auditor_can_redo(demo_run):
    """The PDF printed "SAQ terverifikasi × 80% + tahap lanjutan" with the rounded SAQ 95,23;
    recomputing from the page gave 94,38, not the printed 94,39."""
    office = next(o for o in demo_run.offices if o.file == "diskominfotik.xlsx")
    line = _arithmetic_line(render_office_html(demo_run, office))
    # SAQ 7333/77 = 95.233766…; 95.2337 x 0.8 + 92 x 0.1 + 90 x 0.1 = 94.38696 -> 94.39.
    assert line == "95,2337… × 80% + 92 × 10% + 90 × 10% = 94,3870… → 94,39"
    recomputed, printed = _recompute(line)
    assert recomputed == printed == office.score.score == Decimal("94.39")
    # With the SAQ as the page rounds it for display the figure would differ: 94.384 -> 94.38.
    assert (Decimal("95.23") * Decimal("0.8") + Decimal("18.2")).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    ) == Decimal("94.38")


def test_arithmetic_shows_more_digits_when_four_are_not_enough():
    """Digits are cut, so the sum of what is shown can fall below a tie the exact sum is above;
    then more digits are shown until the page gives the published figure."""
    from monev.report import final_arithmetic
    from monev.scoring import OfficeScore

    # Weights 70 / 15 / 15, stages 80 and 80: final = 0.7 x SAQ + 24.  The final's tie 80.005 is
    # at SAQ = 56.005 / 0.7 = 80.00714285714…; take the SAQ 1e-9 above it: final 80.005…07 ->
    # 80.01.  Cut at 8 digits (80.00714285) the page would give 80.004999995 -> 80.00; at 9
    # digits (80.007142858) it gives 80.0050000006 -> 80.01.
    saq = Fraction(56005, 700) + Fraction(1, 10**9)
    s = OfficeScore(
        aspects=(),
        indicators=(),
        saq_claimed_exact=saq,
        saq_verifiable_exact=saq,
        stage_scores={"visitasi": Decimal(80), "wawancara": Decimal(80)},
        gate_passed=True,
        staged=True,
        final_exact=saq * Fraction(7, 10) + 24,
        predicate="Menuju Informatif",
        stage_weights={"saq": Decimal(70), "visitasi": Decimal(15), "wawancara": Decimal(15)},
    )
    assert s.score == Decimal("80.01")
    ar = final_arithmetic(s)
    assert ar is not None
    line = " + ".join(f"{v} × {w}%" for v, w in ar.terms) + f" = {ar.result} → {ar.score}"
    assert line == "80,007142858… × 70% + 80 × 15% + 80 × 15% = 80,005000000… → 80,01"
    recomputed, printed = _recompute(line)
    assert recomputed == printed == Decimal("80.01")
