"""`monev score` is one library call (monev.run.run_score): the CLI only parses and prints."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from conftest import DEMO

from monev.cli import main
from monev.run import RunError, RunSettings, run_score, usage_message
from monev.stages import load_stages

STAGES = DEMO.parent / "contoh-tahapan.xlsx"


def test_the_library_call_writes_what_the_cli_writes(tmp_path, rubric):
    files = [DEMO / n for n in ("diskominfotik.xlsx", "dinkes.xlsx", "kel-pohjentrek.xlsx")]
    day = dt.date(2024, 11, 13)
    settings = RunSettings(
        out=tmp_path / "lib", pdf=False, as_of=day, stages=load_stages(STAGES, rubric)
    )
    run = run_score(files, rubric, settings)
    assert [o.rank for o in run.offices] == [1, 2, 3]
    args = ["score", *map(str, files), "--out", str(tmp_path / "cli"), "--no-pdf", "-q"]
    assert main([*args, "--as-of", "2024-11-13", "--stages", str(STAGES)]) == 0
    for name in ("results.json", "ranking.csv"):
        assert (tmp_path / "lib" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()


def test_usage_errors_come_before_any_output(tmp_path, rubric):
    (tmp_path / "in").mkdir()
    with pytest.raises(RunError) as info:
        run_score([tmp_path / "in"], rubric, RunSettings(out=tmp_path / "out", pdf=False))
    assert usage_message(info.value, "id").startswith("Tidak ada berkas .xlsx/.ods")
    assert not (tmp_path / "out").exists()  # the staging folder was discarded


# --- wp-rerun: the outputs are written beside the rendering ------------------------------------


def _write_pid(path: Path) -> None:
    path.write_text(str(os.getpid()), "utf-8")


def _fail(message: str) -> None:
    raise OSError(28, message)  # ENOSPC: what a full disk gives


def test_the_outputs_are_written_in_a_forked_process_that_reports_its_error(tmp_path):
    from monev.run import _Beside

    job = _Beside(_write_pid, tmp_path / "pid")
    job.wait()
    written = int((tmp_path / "pid").read_text("utf-8"))
    assert written != os.getpid()  # in another process (Linux: forked), and done once wait()s
    failing = _Beside(_fail, "No space left on device")
    with pytest.raises(OSError, match="No space left") as exc:
        failing.wait()
    assert exc.value.errno == 28  # the same error as if written here
    _Beside(_write_pid, tmp_path / "here", alone=True)  # no rendering beside: written at once
    assert int((tmp_path / "here").read_text("utf-8")) == os.getpid()


def _fork_a_late_writer(path: Path, pid_file: Path) -> None:
    """What write_outputs does with 100 offices or more: a forked copy writes rekap.xlsx."""
    import time

    from monev.results import _fork, _succeeded

    def late() -> None:
        time.sleep(1.5)
        path.write_text("rekap", "utf-8")

    child = _fork(late)
    assert child is not None
    pid_file.write_text(str(child), "utf-8")
    _succeeded(child)


def test_stopping_the_writer_also_stops_the_copy_it_forked(tmp_path):
    # A renderer error (not a RenderError) stops the writing; the writer's own forked copy
    # (rekap.xlsx, from 100 offices on) was left running: it wrote into a staging folder that
    # the failed run had already removed (found by a cold review).
    import time

    from monev.run import _Beside

    late, pid_file = tmp_path / "rekap.xlsx", tmp_path / "pid"
    job = _Beside(_fork_a_late_writer, late, pid_file)
    for _ in range(100):  # until the copy exists
        if pid_file.exists() and pid_file.read_text("utf-8"):
            break
        time.sleep(0.05)
    grandchild = int(pid_file.read_text("utf-8"))
    job.stop()
    time.sleep(2.5)
    assert not late.exists()
    try:  # gone, or a zombie waiting for init to reap it
        state = Path(f"/proc/{grandchild}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        state = "gone"
    assert state in ("gone", "Z", "X")


def test_the_score_path_does_not_import_asyncio_without_link_checks():
    """Issue 13 item 2: asyncio (and ssl with it, about 20 ms) is imported only when links are
    checked; every `monev score` paid it at start."""
    import subprocess
    import sys

    code = (
        "import sys, monev.cli, monev.run; "
        "print(sorted(m for m in ('asyncio', 'ssl', 'weasyprint') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
