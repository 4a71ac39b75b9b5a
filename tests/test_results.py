"""The result model: ranking, JSON contract, CSV/XLSX forms and injection safety."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from fractions import Fraction
from importlib import resources

import jsonschema
import openpyxl
from helpers import write_workbook

from monev.batch import score_paths
from monev.results import OfficeResult, dumps, num, rank, safe_cell, to_csv, to_xlsx
from monev.workbook import Office

EV = "https://ppid.contoh.go.id/bukti"


class _S:  # a stand-in for OfficeScore: ranking only reads .score
    def __init__(self, score: str):
        self.score = Decimal(score)


def _office(name: str, score: str) -> OfficeResult:
    return OfficeResult(
        file=f"{name}.xlsx", sha256="", office=Office(name=name), score=_S(score), problems=[]
    )  # type: ignore[arg-type]


def test_equal_scores_share_a_rank_then_by_name():
    ranked = rank(
        [
            _office("Dinas C", "80.00"),
            _office("dinas B", "90.10"),
            _office("Dinas A", "90.10"),
            _office("Dinas D", "70.00"),
        ]
    )
    assert [(o.rank, o.name) for o in ranked] == [
        (1, "Dinas A"),
        (1, "dinas B"),
        (3, "Dinas C"),
        (4, "Dinas D"),
    ]


def test_json_numbers_keep_two_decimals():
    text = dumps({"score": num(Decimal("100")), "p": num(Fraction(20, 7), 4), "n": "=x"})
    assert '"score": 100.00' in text and '"p": 2.8571' in text
    assert json.loads(text)["score"] == 100


def test_formula_like_text_is_neutralised():
    assert safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert safe_cell("+62 811") == "'+62 811" and safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("Dinas Kesehatan") == "Dinas Kesehatan" and safe_cell(5) == 5


def test_results_json_matches_schema_and_outputs_agree(tmp_path, rubric):
    folder = tmp_path / "in"
    folder.mkdir()
    write_workbook(folder / "a.xlsx", rubric, [("JI-01", "Ya", EV)], office="=cmd|' /C calc'!A0")
    write_workbook(
        folder / "b.xlsx", rubric, [("JI-01", "Ya", EV), ("JI-02", "Ya", EV)], office="Dinas B"
    )
    (folder / "rusak.xlsx").write_bytes(b"not a workbook")
    run = score_paths([folder], rubric)
    data = json.loads(run.to_json())
    schema = json.loads(resources.files("monev").joinpath("results.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert data["summary"] == {
        "received": 3,
        "scored": 2,
        "rejected": 1,
        "skipped": 0,
        "predicates": {
            "Informatif": 0,
            "Menuju Informatif": 0,
            "Cukup Informatif": 0,
            "Kurang Informatif": 0,
            "Tidak Informatif": 2,
        },
    }
    # 40 / 14 points per proven JI item: B = 80/14 = 5.71, A = 40/14 = 2.86.
    assert [(o["name"], o["score"]) for o in data["offices"]] == [
        ("Dinas B", 5.71),
        ("=cmd|' /C calc'!A0", 2.86),
    ]
    rows = list(csv.reader(io.StringIO(to_csv(run))))
    assert rows[2][1] == "'=cmd|' /C calc'!A0"
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(run)))
    cell = wb["Peringkat"]["B3"]
    assert cell.data_type == "s" and cell.value.startswith("'=")
    assert wb["Peringkat"]["E2"].value == 5.71
    assert wb["Ditolak"]["A2"].value == "rusak.xlsx"


def test_to_frame_has_one_row_per_office_and_indicator(tmp_path, rubric):
    write_workbook(tmp_path / "a.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas A")
    run = score_paths([tmp_path], rubric)
    frame = run.to_frame()
    assert len(frame) == len(rubric.indicators)
    row = frame[frame.code == "JI-01"].iloc[0]
    assert (row.office, row.status, round(row.points, 4)) == ("Dinas A", "ok", 2.8571)


def test_results_json_bytes_unchanged_on_the_demo(rubric, update_golden):
    """to_dict() now holds Decimals; results.json must still be byte for byte what the JSON
    writer gave before (golden file first written by 0.1.0 on three demo offices, then regenerated
    once for the changes of 0.2.0 that are meant to show in it: evidence_items, schema_version,
    stage scores from the stages file; only the version line differs)."""
    import datetime as dt
    from pathlib import Path

    from conftest import DEMO

    from monev import __version__

    files = [DEMO / n for n in ("diskominfotik.xlsx", "dinkes.xlsx", "kel-pohjentrek.xlsx")]
    from monev.stages import load_stages

    stages = load_stages(DEMO.parent / "contoh-tahapan.xlsx", rubric)
    run = score_paths(files, rubric, as_of=dt.date(2024, 11, 13), stages=stages)
    text = run.to_json().replace(
        f'"monev_version": "{__version__}"', '"monev_version": "VERSION"', 1
    )
    golden = Path(__file__).parent / "golden" / "results-demo.json"
    if update_golden:
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
