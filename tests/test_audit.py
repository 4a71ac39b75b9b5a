"""Auditors from either PDF alone (issue 11 item 7): `check --json` gives an office the same entry
results.json holds, and kota.pdf carries the public results (results-publik.json) and the rubric,
enough to recompute every office's score without monev's other outputs."""

from __future__ import annotations

import io
import json
from fractions import Fraction

import pytest
from conftest import DEMO
from helpers import write_workbook

from monev.batch import score_paths
from monev.cli import main
from monev.rounding import round_half_up
from monev.rubric import parse_rubric

EV = "https://ppid.contoh.go.id/bukti"


def test_check_json_gives_the_results_json_office_entry(tmp_path, rubric, capsys):
    path = write_workbook(
        tmp_path / "a.xlsx",
        rubric,
        [("JI-01", "Ya", EV), ("JI-02", "Ya", ""), ("JI-03", "Mungkin")],
        office="Dinas A",
    )
    assert main(["check", str(path), "--json"]) == 1
    checked = json.loads(capsys.readouterr().out)[0]["entry"]
    scored = json.loads(score_paths([path], rubric).to_json())["offices"][0]
    assert scored.pop("rank") == 1 and checked.pop("rank") == 0  # a check ranks nothing
    assert checked == scored
    # The per-indicator detail an office feeds into its own tracking is there.
    ji02 = next(i for i in checked["indicators"] if i["code"] == "JI-02")
    assert ji02["status"] == "no_evidence" and ji02["points"] == 0


def test_check_json_entry_is_null_for_a_rejected_file(tmp_path, capsys):
    (tmp_path / "kosong.xlsx").write_bytes(b"")
    main(["check", str(tmp_path / "kosong.xlsx"), "--json"])
    assert json.loads(capsys.readouterr().out)[0]["entry"] is None


@pytest.mark.pdf
def test_every_score_is_recomputed_from_kota_pdf_alone(rubric):
    from pypdf import PdfReader

    from monev.report import _init_worker, _render_job
    from monev.stages import load_stages

    stages = load_stages(DEMO.parent / "contoh-tahapan.xlsx", rubric)
    run = score_paths([DEMO], rubric, stages=stages)
    _init_worker(run, "id")
    data, _entries = _render_job(("city", 0, {}))
    pdf = PdfReader(io.BytesIO(data))
    attached = {name: data[0] for name, data in pdf.attachments.items()}
    # The public results (UU PDP: no respondents, contacts or verifier's notes) are enough.
    assert sorted(attached) == ["results-publik.json", f"rubrik-{rubric.id}.yaml"]
    results = json.loads(attached["results-publik.json"])
    rb = parse_rubric(attached[f"rubrik-{rubric.id}.yaml"].decode("utf-8"))
    assert rb.sha256 == results["rubric"]["sha256"]  # the very rubric that produced the run
    weights = {s.code: Fraction(s.weight) for s in rb.stages}
    staged = 0
    for o in results["offices"]:
        # Verifiable SAQ = the sum of the exact indicator points; rounded once, half up.
        saq = sum(Fraction(i["points_exact"]) for i in o["indicators"])
        assert round_half_up(saq, 2) == round_half_up(Fraction(str(o["saq"]["verifiable"])), 2)
        if o["staged"]:
            # Final = SAQ x saq weight / 100 + each later stage x its weight / 100.
            staged += 1
            final = saq * weights["saq"] / 100 + sum(
                Fraction(str(v)) * weights[k] / 100 for k, v in o["stages"].items()
            )
        else:
            final = saq
        assert float(round_half_up(final, 2)) == o["score"], o["name"]
    assert len(results["offices"]) == len(run.offices) and staged > 0


def test_check_json_entry_equals_results_json_with_stage_cells_and_verifier(
    tmp_path, rubric, capsys
):
    """Issue 11 item 7, checked again on the cases where check and score read a workbook
    differently if anything: stage scores typed in the workbook (score ignores them without
    --stages-from-workbooks, with a warning) and a verifier's mark in the Verifikasi column."""
    from test_scoring import best

    rows = [*best(rubric), ("JI-02", "Ya", "", "Sesuai")]
    path = write_workbook(
        tmp_path / "a.xlsx",
        rubric,
        rows,
        office="Dinas A",
        stages={"visitasi": 90, "wawancara": 80},
    )
    main(["check", str(path), "--json"])
    checked = json.loads(capsys.readouterr().out)[0]["entry"]
    scored = json.loads(score_paths([path], rubric).to_json())["offices"][0]
    assert scored.pop("rank") == 1 and checked.pop("rank") == 0
    assert checked == scored
    assert checked["stages"] == {} and not checked["staged"]  # the typed stage cells are not used
