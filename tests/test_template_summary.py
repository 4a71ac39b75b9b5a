"""The template's Ringkasan sheet computes, in LibreOffice (and Excel), the claimed score and the
score with evidence that monev computes, to the cent (issue 12 item 4).

Random clean fills (valid choices, evidence as links, file names, or nothing a verifier can
open), made with a seeded random, are recalculated by ONE LibreOffice headless conversion; the
sheet's figures read back with calamine must equal monev's claimed and verifiable SAQ and each
aspect's points, rounded half up to two decimals.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from monev.i18n import t
from monev.rubric import Checklist, Options, Percent, Rubric, Threshold, load_rubric
from monev.scoring import round2, score
from monev.template import HEADER_ROW, ORDER, build_template
from monev.workbook import distrust_verifier_acceptance, read_questionnaire

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
ROOT = Path(__file__).resolve().parent.parent
RUBRICS = [
    "ki-jatim-2024",
    "ki-kalbar-2025",
    str(ROOT / "tests/data/rubrics/ki-bali-desa-2026.yaml"),
    str(ROOT / "tests/data/rubrics/kemenhub-2024.yaml"),  # graded verification, ungraded = Cukup
    str(ROOT / "tests/data/rubrics/sakip-kke.yaml"),  # nested groups, A/B/C/D options
    str(ROOT / "tests/data/rubrics/zi-lke-wbk.yaml"),  # options and percentages
]
FILLS_PER_RUBRIC = 4
COL = {key: i for i, key in enumerate(ORDER, start=1)}
#: Evidence an officer writes. monev counts the first three (a link, a bare domain with a path, a
#: document's file name) and not the last three (nothing, a dash, a place).
EVIDENCE = [
    "https://ppid.contoh.go.id/dokumen/sk.pdf",
    "ppid.contoh.go.id/informasi-berkala",
    "SK PPID 2024.pdf",
    "",
    "-",
    "ada di kantor",
]


def _answer(rng: random.Random, spec, item) -> object:
    if item is not None or spec.type == "ya_tidak":
        return rng.choice(["Ya", "Ya", "Tidak", None])
    if isinstance(spec, Options):
        return rng.choice([o.label for o in spec.options] + [None])
    if isinstance(spec, Threshold):
        return rng.choice([0, 1, int(spec.min), int(spec.min) + 3, None])
    if isinstance(spec, Percent):
        return rng.choice([0, 12.5, 50, 87.5, 100, None])
    return rng.choice(["catatan", None])  # info: not scored


def fill(
    rubric: Rubric, path: Path, rng: random.Random, lang: str = "id", verdicts: bool = False
) -> Path:
    """A template of ``rubric`` with random clean answers and evidence on every answer row; with
    ``verdicts``, about one answer in six also gets one of the rubric's verifier decisions."""
    options = {"lang": lang} if lang != "id" else {}  # (the id template is the default)
    wb = build_template(rubric, office=path.stem, unit_type=rubric.unit_types[0], **options)
    ws = wb["Kuesioner"]
    specs = {(item.code if item else ind.code): (ind, item) for ind, item in rubric.rows()}
    for r in range(HEADER_ROW + 1, ws.max_row + 1):
        code = ws.cell(row=r, column=COL["code"]).value
        if code is None:
            continue
        ind, item = specs[code]
        if item is None and isinstance(ind.answer, Checklist):
            continue  # the heading row takes no answer
        answer = _answer(rng, ind.answer, item)
        if answer is not None:
            cell = ws.cell(row=r, column=COL["answer"], value=answer)
            if isinstance(ind.answer, Percent) and rng.random() < 0.5:
                # Typed as "87.5%" in Excel: stored as 0.875 in a percent-format cell.
                cell.value = answer / 100
                cell.number_format = "0.0%"
            ws.cell(row=r, column=COL["evidence"], value=rng.choice(EVIDENCE) or None)
            if verdicts and rng.random() < 1 / 6:
                decision = rng.choice(list(rubric.verdicts().values()))
                ws.cell(row=r, column=COL["verification"], value=decision)
    wb.save(path)
    return path


def _hand_filled_bali(path: Path) -> Path:
    rubric = load_rubric(RUBRICS[2])
    wb = build_template(rubric, office="Desa Uji", unit_type="Desa")
    ws = wb["Kuesioner"]
    rows = {ws.cell(row=r, column=1).value: r for r in range(HEADER_ROW + 1, ws.max_row + 1)}
    for code, answer, evidence in [
        ("Q01", 100, "https://desa.contoh.id/profil"),
        ("Q02", 50, "SK PPID Desa.pdf"),
        ("Q03", 0.875, "-"),  # 87.5 % typed in Excel: 0.875 in a percent-format cell
        ("Q17", 40, "sik.desa-contoh.id/data"),
    ]:
        ws.cell(row=rows[code], column=COL["answer"], value=answer)
        ws.cell(row=rows[code], column=COL["evidence"], value=evidence)
    ws.cell(row=rows["Q03"], column=COL["answer"]).number_format = "0.0%"
    wb.save(path)
    return path


def recalculate(files: list[Path], out: Path, profile: Path) -> None:
    """One LibreOffice call for every file: loading recalculates, saving keeps the values."""
    subprocess.run(
        [
            str(SOFFICE),
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            *map(str, files),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )


def sheet_values(path: Path, sheet: str) -> dict[str, object]:
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    out = {}
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            out[f"{'ABCDEFGHIJ'[c]}{r}"] = value
    return out


def cents(value: object) -> Decimal:
    assert isinstance(value, float | int), value  # a number, not an error or text
    return round2(Decimal(repr(float(value))))


@pytest.mark.libreoffice
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_summary_matches_monev_to_the_cent_after_libreoffice_recalculation(tmp_path):
    from monev.template import summary_cells

    rng = random.Random(20261129)
    cases = []
    for ref in RUBRICS:
        rubric = load_rubric(ref)
        for n in range(FILLS_PER_RUBRIC):
            lang = "id" if n % 2 == 0 else "en"
            path = fill(rubric, tmp_path / f"{rubric.id}-{n}.xlsx", rng, lang, verdicts=n >= 2)
            cases.append((rubric, path, lang))
    hand = _hand_filled_bali(tmp_path / "bali-tangan.xlsx")
    out = tmp_path / "out"
    recalculate([hand, *(p for _, p, _ in cases)], out, tmp_path / "profile")
    # KI Bali: 5 points per PD indicator (15 % over 3), 5 for the one SK indicator.
    # PD claimed = 5 x 1 + 5 x 0.5 + 5 x 0.875 = 11.875 -> 11.88 (half up);
    # PD with evidence = 5 + 2.5 + 0 ("-" opens nothing) = 7.50; SK = 5 x 0.40 = 2.00 both
    # (a bare domain with a path counts); SAQ 13.875 -> 13.88 claimed, 9.50 with evidence.
    got = sheet_values(out / hand.name, "Ringkasan")
    bali = load_rubric(RUBRICS[2])
    where = summary_cells(bali)
    expected = {"PD": ("11.88", "7.50"), "SK": ("2.00", "2.00"), "": ("13.88", "9.50")}
    for key, (claimed, verifiable) in expected.items():
        assert cents(got[where[key][0]]) == Decimal(claimed), key
        assert cents(got[where[key][1]]) == Decimal(verifiable), key
    s = score(bali, read_questionnaire(hand, bali))
    assert (s.saq_claimed, s.saq_verifiable) == (Decimal("13.88"), Decimal("9.50"))
    checked = 0
    for rubric, path, lang in cases:
        # As `monev score` reads an office's own workbook: its Verifikasi cells can only lower
        # an item (distrust_verifier_acceptance), which is what the sheet estimates.
        s = score(rubric, distrust_verifier_acceptance(read_questionnaire(path, rubric), rubric))
        got = sheet_values(out / path.name, t("tmpl.sheet.summary", lang))
        where = summary_cells(rubric)
        want = {"": (s.saq_claimed, s.saq_verifiable)}
        for a in s.aspects:
            want[a.code] = (round2(a.claimed), round2(a.verifiable))
        for key, (claimed, verifiable) in want.items():
            c_cell, v_cell = where[key]
            assert cents(got[c_cell]) == claimed, (path.name, key or "SAQ", "claimed")
            assert cents(got[v_cell]) == verifiable, (path.name, key or "SAQ", "verifiable")
            checked += 1
        assert s.saq_claimed > 0  # a fill that scores nothing would prove little
    assert checked == sum(len(r.aspects) + 1 for r, _, _ in cases)
    # The fills are not trivial: evidence rules cost points in most of them.
    losses = [score(r, read_questionnaire(p, r)).evidence_loss for r, p, _ in cases]
    decided = [
        p
        for r, p, _ in cases
        if any(a.verification for a in read_questionnaire(p, r).answers.values())
    ]
    assert len(decided) >= len(RUBRICS)  # half the fills carry verifier decisions
    assert sum(1 for x in losses if x > 0) >= len(cases) // 2
