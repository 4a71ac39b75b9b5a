"""rekap.xlsx as the staff's working file (issue 11 item 3): headers and statuses in the run's
language, numbers with a number format, frozen header, filter, widths, the Masalah follow-up list,
last year's columns, and a round trip through LibreOffice headless."""

from __future__ import annotations

import io
import shutil
import subprocess

import openpyxl
import pytest
from helpers import write_workbook
from test_compare import years  # noqa: F401  (module fixture: two years of workbooks)

from monev.batch import score_paths
from monev.compare import compare, load_mapping, load_previous
from monev.results import to_xlsx

EV = "https://ppid.contoh.go.id/bukti"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture(scope="module")
def run(tmp_path_factory, rubric):
    root = tmp_path_factory.mktemp("rekap")
    # Dinas A: JI-01 Ya with a link (40 points over 14 JI indicators: 40/14 = 2.86); JI-02
    # "Ya" without evidence (MV301, status no_evidence, 0 points); JI-03 "Mungkin" (MV201).
    write_workbook(
        root / "a.xlsx",
        rubric,
        [("JI-01", "Ya", EV), ("JI-02", "Ya", ""), ("JI-03", "Mungkin")],
        office="Dinas A",
    )
    (root / "rusak.xlsx").write_bytes(b"")  # rejected: MV102
    return score_paths([root], rubric)


def load(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def header(ws) -> list[str]:
    return [c.value for c in ws[1]]


def test_sheets_headers_and_statuses_follow_the_language(run):
    wb = load(to_xlsx(run, "id"))
    assert wb.sheetnames == ["Peringkat", "Indikator", "Masalah", "Ditolak"]
    assert header(wb["Peringkat"])[:6] == [
        "Peringkat",
        "Kantor",
        "Jenis unit",
        "Kecamatan",
        "Nilai akhir",
        "Predikat",
    ]
    statuses = {r[2]: r[6] for r in wb["Indikator"].iter_rows(min_row=2, values_only=True)}
    assert statuses["JI-01"] == "diterima"
    assert statuses["JI-02"] == "klaim tanpa bukti"  # not the code no_evidence
    assert statuses["JI-03"] == "jawaban tidak sah"
    en = load(to_xlsx(run, "en"))
    assert en.sheetnames == ["Ranking", "Indicators", "Problems", "Rejected"]
    assert header(en["Ranking"])[4] == "Final score"
    statuses = {r[2]: r[6] for r in en["Indicators"].iter_rows(min_row=2, values_only=True)}
    assert statuses["JI-02"] == "claim without evidence"


def test_scores_are_numbers_with_a_two_decimal_format(run):
    ws = load(to_xlsx(run, "id"))["Peringkat"]
    score = ws["E2"]
    # 40/14 = 2.857… -> 2.86, a number (Excel shows 2,86 to an Indonesian reader).
    assert score.value == 2.86 and score.data_type == "n" and score.number_format == "0.00"
    saq = ws.cell(row=2, column=header(ws).index("SAQ klaim") + 1)
    # JI-01 and JI-02 claimed: 2 x 40/14 = 5.714… -> 5.71
    assert saq.value == 5.71 and saq.number_format == "0.00"


def test_every_sheet_has_a_frozen_bold_header_a_filter_and_widths(run):
    wb = load(to_xlsx(run, "id"))
    for ws in wb.worksheets:
        rows = ws.max_row
        last = openpyxl.utils.get_column_letter(ws.max_column)
        assert ws.auto_filter.ref == f"A1:{last}{rows}", ws.title
        assert ws.freeze_panes in ("A2", "C2", "D2"), ws.title
        assert all(c.font.bold for c in ws[1]), ws.title
        assert ws.column_dimensions["A"].width >= 8, ws.title
    assert wb["Peringkat"].freeze_panes == "C2"  # rank and office stay in view
    # The office column is as wide as "Dinas A" or its header, plus a margin: max(7, 6) + 2.
    # XlsxWriter stores Excel's width with its padding (9 characters -> 9.71).
    assert 9 <= wb["Peringkat"].column_dimensions["B"].width < 10


def test_masalah_is_one_row_per_problem_with_what_to_do(run):
    wb = load(to_xlsx(run, "id"))
    rows = list(wb["Masalah"].iter_rows(values_only=True))
    assert rows[0] == (
        "Kantor",
        "Berkas",
        "Kode",
        "Letak (lembar!sel)",
        "Tingkat",
        "Masalah",
        "Yang perlu dilakukan",
    )
    office = run.offices[0]
    assert len(rows) - 1 == len(office.problems)
    by_code = {r[2]: r for r in rows[1:]}
    mv201 = by_code["MV201"]
    assert mv201[0] == "Dinas A" and mv201[1] == "a.xlsx"
    assert mv201[3].startswith("Kuesioner!") and mv201[4] == "KESALAHAN"
    p = next(p for p in office.problems if p.code == "MV201")
    assert mv201[5] == p.message("id") and mv201[6] == p.todo("id")
    assert by_code["MV301"][4] == "PERINGATAN"
    rejected = list(wb["Ditolak"].iter_rows(values_only=True))
    assert rejected[1][:3] == ("rusak.xlsx", "ditolak", "MV102")
    en = load(to_xlsx(run, "en"))
    assert {r[4] for r in en["Problems"].iter_rows(min_row=2, values_only=True)} == {
        "ERROR",
        "WARNING",
    }


def test_ranking_shows_last_years_figures_with_previous(years, rubric):  # noqa: F811
    run = score_paths([years / "2024"], rubric)
    run.comparison = compare(
        run, load_previous(years / "last.json"), load_mapping(years / "ganti-nama.yaml")
    )
    ws = load(to_xlsx(run, "id"))["Peringkat"]
    head = header(ws)
    assert head[4:11] == [
        "Nilai akhir",
        "Predikat",
        "Nilai tahun lalu",
        "Perubahan nilai",
        "Predikat tahun lalu",
        "Peringkat tahun lalu",
        "Perubahan peringkat (+ naik)",
    ]
    rows = {r[1]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    # Dinas Naik: 40.00 (Kurang Informatif, rank 1) -> 60.00: +20.00, still rank 1.
    assert rows["Dinas Naik"][4:11] == (
        60.0,
        "Cukup Informatif",
        40.0,
        20.0,
        "Kurang Informatif",
        1,
        0,
    )
    # DINAS A: 2.86 -> 5.71, change 5.71 - 2.86 = 2.85; rank 2 (shared with Dinas Lama) -> 2.
    assert rows["DINAS A"][6:11] == (2.86, 2.85, "Tidak Informatif", 2, 0)
    # Dinas Baru was Dinas Lama (2.86, rank 2); now 2.86 behind A: rank 3, one down: -1.
    assert rows["Dinas Baru"][8:11] == ("Tidak Informatif", 2, -1)
    # New this year: no figures, "baru" where last year's predicate would be.
    assert rows["Dinas Tambahan"][6:11] == (None, None, "baru", None, None)
    change = ws.cell(row=2, column=8)
    assert change.number_format == "+0.00;-0.00;0.00"


@pytest.mark.libreoffice
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_rekap_round_trips_through_libreoffice(run, tmp_path):
    """LibreOffice opens rekap.xlsx without repair and saves it back with the sheets, number
    formats and filters intact."""
    src = tmp_path / "rekap.xlsx"
    src.write_bytes(to_xlsx(run, "id"))
    out = tmp_path / "out"
    done = subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(src),
        ],
        capture_output=True,
        timeout=180,
        check=True,
    )
    assert (out / "rekap.xlsx").exists(), done.stderr
    wb = load((out / "rekap.xlsx").read_bytes())
    assert wb.sheetnames == ["Peringkat", "Indikator", "Masalah", "Ditolak"]
    ws = wb["Peringkat"]
    assert ws["E2"].value == 2.86 and ws["E2"].number_format == "0.00"
    # LibreOffice headless has no view, so it does not write view settings (the frozen pane) back;
    # the frozen header is checked on monev's own file above.
    assert ws.auto_filter.ref is not None and ws.auto_filter.ref.startswith("A1:")
    assert wb["Masalah"]["E1"].value == "Tingkat"


def test_ranking_csv_is_machine_data_documented_in_the_readme(run):
    """ranking.csv keeps stable keys, dot decimals and UTF-8 in either language; the README
    documents every column (issue 11 item 4)."""
    import csv
    import re
    from pathlib import Path

    from monev.results import to_csv

    text = to_csv(run)
    raw = text.encode("utf-8")
    assert not raw.startswith(b"\xef\xbb\xbf") and "\r" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["score"] == "2.86"  # 40/14, a dot whatever the run's language
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### ranking.csv") :]
    section = section[: section.index("\n## ")]
    documented = re.findall(r"^\| `([a-z_<>]+)`(?:, `([a-z_]+)`)? \|", section, re.M)
    keys = [k for pair in documented for k in pair if k]
    header = text.splitlines()[0].split(",")
    aspects = [f"aspect_{a.code}" for a in run.rubric.aspects]
    assert keys[-1] == "aspect_<code>"
    assert keys[:-1] + aspects == header
    assert "open `rekap.xlsx` instead" in readme
