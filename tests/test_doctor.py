"""Issue 11: a machine without Pango is told what to install, before any work (exit 2, not 3)."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import DEMO

FAKE = "raise OSError(\"cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open\")\n"


def run(tmp_path, *args):
    fake = tmp_path / "fake"
    (fake / "weasyprint").mkdir(parents=True, exist_ok=True)
    (fake / "weasyprint" / "__init__.py").write_text(FAKE)  # as WeasyPrint fails without Pango
    # ... and no Pango library to load by name (this machine has one).
    (fake / "sitecustomize.py").write_text(
        "import monev.doctor\nmonev.doctor.PANGO_NAMES = ('libpango-absent.so.0',)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake), *sys.path])}
    return subprocess.run(
        [sys.executable, "-m", "monev", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_score_without_pango_says_what_to_install_and_writes_nothing(tmp_path):
    out = tmp_path / "hasil"
    proc = run(tmp_path, "score", str(DEMO / "dinkes.xlsx"), "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    assert "apt-get install libpango-1.0-0" in proc.stderr and "--no-pdf" in proc.stderr
    assert "Laporkan ke pengembang" not in proc.stderr  # not called monev's bug
    assert not out.exists()
    proc = run(tmp_path, "score", str(DEMO / "dinkes.xlsx"), "--out", str(out), "--no-pdf")
    assert proc.returncode == 0, proc.stderr
    assert (out / "results.json").exists()


def test_doctor_lists_what_is_missing(tmp_path):
    proc = run(tmp_path, "doctor", "--lang", "en")
    assert proc.returncode == 1
    assert "weasyprint       MISSING" in proc.stdout
    assert "Debian/Ubuntu: sudo apt-get install libpango-1.0-0" in proc.stdout
    assert "--no-pdf" in proc.stdout
