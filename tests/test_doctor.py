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


def _in_a_fresh_python(code: str) -> str:
    import subprocess
    import sys
    import textwrap

    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_weasyprint_is_imported_without_searching_for_its_libraries():
    # ctypes.util.find_library starts ldconfig (and gcc) for each of WeasyPrint's 22 library
    # names without a suffix: 0.3-0.5 s of every process that renders (issue 13 item 2).
    out = _in_a_fresh_python("""
        import ctypes.util
        calls = []
        original = ctypes.util.find_library
        ctypes.util.find_library = lambda name: calls.append(name) or original(name)
        from monev.resources import import_weasyprint
        weasyprint = import_weasyprint()
        from weasyprint.text import ffi
        assert ffi.pango is not None and ffi.harfbuzz_subset is not None
        assert ctypes.util.find_library is not original  # put back: still the counting one
        print(len(calls), weasyprint.__name__)
    """)
    assert out.split() == ["0", "weasyprint"]


def test_weasyprint_is_imported_the_usual_way_when_the_quick_way_fails():
    # A system where only find_library finds the libraries: the first try fails (simulated
    # here by a loader that refuses it once), WeasyPrint is imported again, nothing printed.
    out = _in_a_fresh_python("""
        import importlib.abc, sys

        class RefuseOnce(importlib.abc.MetaPathFinder):
            refused = False
            def find_spec(self, name, path=None, target=None):
                if name == "weasyprint.text.ffi" and not self.refused:
                    RefuseOnce.refused = True
                    raise OSError("cannot load library 'libgobject-2.0-0'")
                return None

        sys.meta_path.insert(0, RefuseOnce())
        from monev.resources import import_weasyprint
        weasyprint = import_weasyprint()
        from weasyprint import HTML
        print(RefuseOnce.refused, HTML.__name__)
    """)
    assert out.split() == ["True", "HTML"]
