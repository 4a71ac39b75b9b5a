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


def test_a_failed_rendering_leaves_no_writer_behind(tmp_path, monkeypatch):
    # With 100 offices or more, write_outputs forks a copy for rekap.xlsx. Beside the rendering
    # it ran in a process of its own, which forked that copy; a rendering error (not a
    # RenderError) stopped the process but not the copy, which then wrote rekap.xlsx (with the
    # respondents' names) into the staging folder the failed run had removed (found by a cold
    # review). Beside the rendering the outputs are now written without a copy.
    import time

    from helpers import write_workbook
    from test_scoring import best

    import monev.doctor as doctor
    import monev.report as report
    import monev.results as results
    from monev.rubric import load_rubric

    rb = load_rubric("ki-jatim-2024")
    (tmp_path / "in").mkdir()
    for k in range(2):
        write_workbook(tmp_path / "in" / f"k{k}.xlsx", rb, best(rb), office=f"Kantor {k}")
    monkeypatch.setattr(results, "FORK_OFFICES", 1)  # stands for a city of 100 offices or more
    slow = results.to_xlsx

    def to_xlsx(*args, **kwargs):  # stands for a big rekap.xlsx
        time.sleep(2)
        return slow(*args, **kwargs)

    def render_reports(*args, **kwargs):  # a renderer bug, MemoryError, a disk error
        time.sleep(0.5)
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(results, "to_xlsx", to_xlsx)
    monkeypatch.setattr(report, "render_reports", render_reports)
    monkeypatch.setattr(doctor, "pdf_support", lambda: type("C", (), {"ok": True, "detail": ""})())
    with pytest.raises(RuntimeError, match="renderer bug"):
        run_score([tmp_path / "in"], rb, RunSettings(out=tmp_path / "hasil", pdf=True))
    time.sleep(3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]  # no staging folder came back


def test_a_kill_of_the_whole_run_also_ends_its_writer(tmp_path):
    # `timeout`, a CI runner or `kill -- -PGID` signal the run's process group: the process
    # writing the outputs must be in it (a process group of its own outlived such a kill).
    import signal
    import subprocess
    import sys
    import textwrap
    import time

    late = tmp_path / "late.txt"
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from monev.run import _Beside

        def writer(path):
            time.sleep(2)
            Path(path).write_text("written", "utf-8")

        w = _Beside(writer, {str(late)!r})
        try:
            time.sleep(10)
            w.wait()
        finally:
            w.stop()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    time.sleep(1)
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=10)
    time.sleep(2.5)
    assert not late.exists()


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
