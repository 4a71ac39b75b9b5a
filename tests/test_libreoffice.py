"""Workbooks saved again by LibreOffice (xlsx and ods) score exactly like the original."""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction

import pytest
from helpers import write_workbook

from monev.scoring import score
from monev.workbook import read_questionnaire

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(
        SOFFICE is None,
        reason="LibreOffice is not installed "
        "(apt-get install libreoffice-calc-nogui); .ci/run installs it",
    ),
]
EV = "https://ppid.contoh.go.id/bukti"


def convert(src, fmt: str, out, profile) -> object:
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            fmt,
            "--outdir",
            str(out),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return out / f"{src.stem}.{fmt}"


@pytest.fixture(scope="module")
def converted(tmp_path_factory, rubric):
    tmp = tmp_path_factory.mktemp("lo")
    rows = [
        ("JI-01", "Ya", EV),
        ("JI-02", " ya ", ""),
        ("JI-03", "Tidak"),
        ("JI-04", "Mungkin"),
        ("KI-05", 5, EV),
        ("PI-03", 0.875, "register.pdf"),  # typed as 87.5% in a percent-format cell
        ("PI-05", "12 permohonan"),
        ("KO-02.1", "Ya", "sop-dip.pdf"),
        ("KO-02.2", "Ya", ""),
        ("KO-02.3", "Tidak"),
        ("DG-01", "YA", EV),
        ("SP-01", "Ya", EV, "Tidak Sesuai"),
        ("DG-02", "Ya", "Lihat dokumen"),  # a hyperlink behind display text
        ("DG-03", "Ya", '=HYPERLINK("https://ppid.contoh.go.id/dg3.pdf","Lihat")'),
    ]
    src = write_workbook(
        tmp / "asli.xlsx",
        rubric,
        rows,
        office="Dinas Uji LibreOffice",
        stages={"visitasi": 85, "wawancara": 80.5},
        percent=["PI-03"],
        links={"DG-02": "https://ppid.contoh.go.id/sk-dg.pdf"},
    )
    out = tmp / "out"
    return src, {fmt: convert(src, fmt, out, tmp / "profile") for fmt in ("xlsx", "ods")}


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_libreoffice_copy_scores_the_same(converted, rubric, fmt):
    src, copies = converted
    original = read_questionnaire(src, rubric)
    copy = read_questionnaire(copies[fmt], rubric)
    a, b = score(rubric, original), score(rubric, copy)
    assert (b.saq_claimed_exact, b.saq_verifiable_exact, b.final_exact) == (
        a.saq_claimed_exact,
        a.saq_verifiable_exact,
        a.final_exact,
    )
    assert copy.office.name == "Dinas Uji LibreOffice"
    assert copy.workbook_stages == original.workbook_stages
    assert {k: v for k, (v, _) in original.workbook_stages.items()} == {
        "visitasi": "85",
        "wawancara": "80.5",
    }
    assert sorted((p.code, p.cell) for p in copy.problems) == sorted(
        (p.code, p.cell) for p in original.problems
    )


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_libreoffice_copy_keeps_percent_cells_and_hyperlinks(converted, rubric, fmt):
    """Issue 8: 87.5% in a percent cell is 87.5 %, and a link behind display text is read, in
    the files LibreOffice writes too (.ods: office:value-type="percentage" and text:a)."""
    _, copies = converted
    q = read_questionnaire(copies[fmt], rubric)
    assert q.answers["PI-03"].parsed.value == Fraction(875, 1000)
    assert q.answers["DG-02"].evidence_link == "https://ppid.contoh.go.id/sk-dg.pdf"
    # LibreOffice keeps =HYPERLINK() as a formula: of:=HYPERLINK("…";"…") in .ods.
    assert q.answers["DG-03"].evidence_link == "https://ppid.contoh.go.id/dg3.pdf"
