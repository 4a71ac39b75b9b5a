"""The CLI: exit codes, outputs, and that --json equals the library's result."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEMO
from helpers import write_workbook

from monev.check import check_file
from monev.cli import main

EV = "https://ppid.contoh.go.id/bukti"


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_score_demo_city_writes_outputs_and_leaves_inputs_alone(tmp_path, capsys):
    inputs = tmp_path / "contoh"
    shutil.copytree(DEMO, inputs)
    before = _hashes(inputs)
    out = tmp_path / "hasil"
    assert main(["score", str(inputs), "--out", str(out), "--no-pdf", "--as-of", "2024-11-13"]) == 0
    assert _hashes(inputs) == before
    data = json.loads((out / "results.json").read_text())
    assert data["summary"]["received"] == len(list(DEMO.glob("*.xlsx")))
    assert data["as_of"] == "2024-11-13"
    assert (out / "ranking.csv").exists() and (out / "rekap.xlsx").exists()
    captured = capsys.readouterr()
    printed = captured.out
    assert "Peringkat" in printed and "30 berkas diterima, 30 dinilai" in captured.err
    first = data["offices"][0]
    assert f"{first['score']:.2f}".replace(".", ",") in printed


def test_score_exit_1_when_a_file_is_rejected_and_english(tmp_path, rubric, capsys):
    write_workbook(tmp_path / "a.xlsx", rubric, [("JI-01", "Ya", EV)])
    (tmp_path / "b.xlsx").write_bytes(b"")
    rc = main(
        [
            "score",
            str(tmp_path / "a.xlsx"),
            str(tmp_path / "b.xlsx"),
            "--out",
            str(tmp_path / "out"),
            "--no-pdf",
            "--lang",
            "en",
        ]
    )
    assert rc == 1
    err = capsys.readouterr().err
    assert "REJECTED [b.xlsx] MV102 The file is empty" in err
    assert "2 files received, 1 scored, 1 rejected" in err


@pytest.mark.parametrize(
    "args",
    [
        ["score", "tidak-ada.xlsx", "--no-pdf"],
        ["score", ".", "--rubric", "tidak-ada", "--no-pdf"],
        ["score", ".", "--lang", "fr"],
        ["check"],
        ["template", "--bogus"],
    ],
)
def test_usage_errors_exit_2(tmp_path, args, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2


def test_output_inside_input_is_refused(tmp_path, rubric):
    write_workbook(tmp_path / "a.xlsx", rubric, [])
    assert main(["score", str(tmp_path), "--out", str(tmp_path / "hasil"), "--no-pdf"]) == 2


def test_check_json_equals_library(tmp_path, rubric, capsys):
    p = write_workbook(tmp_path / "a.xlsx", rubric, [("JI-01", "Mungkin", EV), ("JI-02", "Ya")])
    assert main(["check", str(p), "--json"]) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed == [check_file(p, rubric).to_dict("id")]
    assert printed[0]["problems"][0]["cell"] == "E8"


def test_check_clean_file_exits_0(tmp_path, rubric, capsys):
    from test_scoring import best

    p = write_workbook(tmp_path / "ok.xlsx", rubric, best(rubric))
    assert main(["check", str(p)]) == 0
    assert "tidak ada masalah" in capsys.readouterr().out


def test_template_and_rubric_commands(tmp_path, capsys):
    out = tmp_path / "dinkes.xlsx"
    assert main(["template", "--office", "Dinas Kesehatan", "-o", str(out)]) == 0
    assert out.exists()
    assert main(["rubric", "list"]) == 0
    assert main(["rubric", "show", "ki-jatim-2024"]) == 0
    text = capsys.readouterr().out
    assert "KO-02" in text and "Informatif >= 90" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\n")
    assert main(["rubric", "check", str(bad)]) == 2


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from monev.cli import main; main(['--help']); "
        "print(sorted(m for m in ('weasyprint', 'pandas', 'openpyxl') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_fifo_given_by_name_is_not_called_missing(tmp_path, capsys):
    """Issue 9: a FIFO (or device) given by name was reported as 'not found'."""
    import os

    fifo = tmp_path / "pipa.xlsx"
    os.mkfifo(fifo)
    rc = main(["score", str(fifo), "--out", str(tmp_path / "out"), "--no-pdf"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "bukan berkas biasa maupun folder" in err and "tidak ditemukan" not in err
    rc = main(["score", str(tmp_path / "tidak-ada.xlsx"), "--out", str(tmp_path / "o2")])
    assert rc == 2
    assert "Berkas atau folder tidak ditemukan" in capsys.readouterr().err
