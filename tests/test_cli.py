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
    ("args", "message"),
    [
        (["score", "tidak-ada.xlsx"], "Berkas atau folder tidak ditemukan: tidak-ada.xlsx"),
        (["score", "masuk", "--rubric", "tidak-ada"], "Tidak ada rubrik bawaan dengan id ini"),
        (["score", "masuk", "--lang", "fr"], "Bahasa tidak dikenal: fr (pilih id atau en)"),
        (["check"], "Kesalahan: Argumen 'KUESIONER' belum diisi."),
        (["template", "--bogus"], "Kesalahan: Opsi --bogus tidak dikenal."),
    ],
)
def test_usage_errors_exit_2(tmp_path, rubric, args, message, monkeypatch, capsys):
    # The output folder lies outside the input, so each case fails for the reason it names.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "masuk").mkdir()
    write_workbook(tmp_path / "masuk" / "a.xlsx", rubric, [("JI-01", "Ya", EV)])
    extra = ["--out", str(tmp_path / "hasil"), "--no-pdf"] if args[0] == "score" else []
    assert main(args + extra) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "hasil").exists()


def test_output_inside_input_is_refused(tmp_path, rubric):
    write_workbook(tmp_path / "a.xlsx", rubric, [])
    assert main(["score", str(tmp_path), "--out", str(tmp_path / "hasil"), "--no-pdf"]) == 2


def test_check_json_equals_library(tmp_path, rubric, capsys):
    p = write_workbook(tmp_path / "a.xlsx", rubric, [("JI-01", "Mungkin", EV), ("JI-02", "Ya")])
    assert main(["check", str(p), "--json"]) == 1
    printed = json.loads(capsys.readouterr().out)
    from monev.results import dumps

    # Through the JSON writer: the office entry holds Decimals, as results.json's does.
    assert printed == json.loads(dumps([check_file(p, rubric).to_dict("id")]))
    assert printed[0]["problems"][0]["cell"] == "E8"


def test_check_clean_file_exits_0(tmp_path, rubric, capsys):
    from test_scoring import best

    p = write_workbook(tmp_path / "ok.xlsx", rubric, best(rubric))
    assert main(["check", str(p)]) == 0
    assert "tidak ada masalah" in capsys.readouterr().out


def test_template_and_rubric_commands(tmp_path, rubric, capsys):
    from openpyxl import load_workbook

    from monev.workbook import read_questionnaire

    out = tmp_path / "dinkes.xlsx"
    assert main(["template", "--office", "Dinas Kesehatan", "-o", str(out)]) == 0
    assert f"Templat kuesioner untuk 'Dinas Kesehatan' ditulis ke {out}" in capsys.readouterr().out
    q = read_questionnaire(out, rubric)
    assert q.office.name == "Dinas Kesehatan" and q.rubric_id == "ki-jatim-2024"
    # Blank: 57 rows less the KO-02 heading take an answer, and none is given yet.
    assert len(q.answers) == 56 and not q.rejected
    assert all(a.raw == "" and a.parsed is None for a in q.answers.values())
    ws = load_workbook(out)["Kuesioner"]
    codes = [c.value for c in ws["A"] if isinstance(c.value, str) and "-" in c.value]
    rows = [item.code if item else ind.code for ind, item in rubric.rows()]
    assert codes == rows  # 51 indicators and the 6 items of KO-02, in rubric order
    assert len(rows) == 57
    assert main(["rubric", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed == [
        "ki-jatim-2024\t1.0.0\t51 indikator\t"
        "SAQ Monev Keterbukaan Informasi Publik KI Jawa Timur 2024 (rekonstruksi) [rekonstruksi]",
        "ki-kalbar-2025\t1.0.0\t45 indikator\tMonev Keterbukaan Informasi Publik KI Kalimantan "
        "Barat 2025 (rekonstruksi pertanyaan) [rekonstruksi]",
    ]
    assert main(["rubric", "show", "ki-jatim-2024"]) == 0
    text = capsys.readouterr().out
    assert "KO-02" in text and "Informatif >= 90" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\n")
    assert main(["rubric", "check", str(bad)]) == 2


# --- options checked before any work; nothing lost by `template` (issues 8 and 9) ---------------


@pytest.fixture
def one_office(tmp_path, rubric):
    (tmp_path / "masuk").mkdir()
    write_workbook(tmp_path / "masuk" / "a.xlsx", rubric, [("JI-01", "Ya", EV)])
    return tmp_path / "masuk"


@pytest.mark.parametrize(
    ("epoch", "shown"),
    [("abc", "'abc'"), ("99999999999999", "'99999999999999'"), ("-1", "'-1'"), ("1.5e9", "")],
)
def test_bad_source_date_epoch_is_a_usage_error(
    one_office, tmp_path, monkeypatch, capsys, epoch, shown
):
    """SOURCE_DATE_EPOCH=abc was ignored silently; a far-future value exited 3."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    assert main(["score", str(one_office), "--out", str(tmp_path / "hasil"), "--no-pdf"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"SOURCE_DATE_EPOCH tidak dapat dipakai: {shown}"), err
    assert not (tmp_path / "hasil").exists()


def test_source_date_epoch_sets_the_date(one_office, tmp_path, monkeypatch):
    # 1700000000 s after 1970-01-01 UTC is 2023-11-14 22:13:20 UTC.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert main(["score", str(one_office), "--out", str(tmp_path / "hasil"), "--no-pdf"]) == 0
    assert json.loads((tmp_path / "hasil" / "results.json").read_text())["as_of"] == "2023-11-14"


@pytest.mark.parametrize("day", ["1900-01-01", "20241113", "2024-02-30", "9999-12-31"])
def test_bad_as_of_is_a_usage_error(one_office, tmp_path, capsys, day):
    rc = main(
        ["score", str(one_office), "--out", str(tmp_path / "hasil"), "--no-pdf", "--as-of", day]
    )
    assert rc == 2
    assert capsys.readouterr().err.startswith(f"--as-of tidak dapat dipakai: '{day}'")


def test_template_never_overwrites_without_force(tmp_path, rubric, capsys):
    """`monev template -o mine.xlsx` over a filled workbook replaced it, exit 0."""
    mine = write_workbook(tmp_path / "mine.xlsx", rubric, [("JI-01", "Ya", EV)])
    before = mine.read_bytes()
    assert main(["template", "-o", str(mine)]) == 2
    err = capsys.readouterr().err
    assert "sudah ada" in err and "--force" in err
    assert mine.read_bytes() == before
    assert main(["template", "-o", str(mine), "--force", "--office", "Dinas Baru"]) == 0
    assert mine.read_bytes() != before


@pytest.mark.parametrize("name", ["x.ods", "x.xls", "x.csv", "kuesioner"])
def test_template_refuses_a_format_it_cannot_write(tmp_path, capsys, name):
    """`-o x.ods` wrote an .xlsx file with an .ods name, which `check` then rejected."""
    assert main(["template", "-o", str(tmp_path / name)]) == 2
    assert "hanya dapat menulis templat .xlsx" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_template_from_a_rejected_workbook_writes_nothing(tmp_path, capsys):
    """`template --from` a rejected workbook exited 0 and dropped every answer without a word."""
    source = tmp_path / "lama.xlsx"
    source.write_bytes(b"")
    out = tmp_path / "baru.xlsx"
    assert main(["template", "--from", str(source), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "tidak ada templat yang ditulis" in err and "MV102" in err
    assert not out.exists()


def test_template_from_carries_answers_over(tmp_path, rubric):
    source = write_workbook(tmp_path / "lama.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas X")
    out = tmp_path / "baru.xlsx"
    assert main(["template", "--from", str(source), "-o", str(out)]) == 0
    from monev.workbook import read_questionnaire

    q = read_questionnaire(out, rubric)
    assert q.office.name == "Dinas X" and q.answers["JI-01"].evidence == EV


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


def test_template_is_created_with_the_umask(tmp_path):
    """The template was created 0600 (mkstemp's mode) whatever the umask."""
    import os

    old = os.umask(0o022)
    try:
        assert main(["template", "-o", str(tmp_path / "k.xlsx")]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "k.xlsx").stat().st_mode & 0o777 == 0o644


def test_the_progress_bar_in_a_terminal_runs_no_thread_of_its_own(monkeypatch, capsys):
    """A second thread stops the run from forking: its workers then come from a fork server and
    rekap.xlsx is no longer written beside the JSON files (issue 13: more than a second on
    1,000 workbooks, in a terminal only, which the benchmark did not see). The bar is drawn by
    its callbacks."""
    import threading

    from monev import cli

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    before = threading.active_count()
    scoring, rendering, close = cli._progress("Menilai", True, "Membuat PDF")
    try:
        assert threading.active_count() == before
        scoring(3, 10)
        rendering(1, 2)
        assert threading.active_count() == before
    finally:
        close()
    assert "Membuat PDF" in capsys.readouterr().err  # drawn without a refresh thread
