"""Issue 13 item 2: the report templates compiled by one run are loaded by the next one.

Compiling the four report templates costs about a quarter of a second of CPU; on a re-run that
renders one office it was paid again in the worker rendering it, on the critical path. The
compiled templates are kept in the user's cache (``$XDG_CACHE_HOME/monev/templates``; the test
session points it at a folder of its own, see conftest) and never trusted stale or corrupt.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import DEMO

from monev import report
from monev.batch import score_paths
from monev.cli import main
from monev.render_cache import TEMPLATE_FORMAT, template_cache, template_folder

CODE = "a" * 64  # a code identity (render_cache.code_identity): any 64 hex digits
EPOCH = "1731456000"


@pytest.fixture
def fresh_env():
    """Each _env() made anew, as in a new process (the compiled templates live in it)."""
    report._env.cache_clear()
    yield
    report._env.cache_clear()


def _names() -> list[str]:
    return sorted(report._env("id").list_templates(extensions=["j2"]))


def _warm_anew(cache) -> None:
    report._env.cache_clear()  # a new process: nothing compiled in memory
    report._warm("id", cache)


def test_templates_compiled_once_are_loaded_by_the_next_run(tmp_path, rubric, fresh_env):
    run = score_paths([DEMO / "dinkes.xlsx"], rubric, jobs=1)
    folder = tmp_path / "templates"
    first = template_cache(CODE, folder)
    _warm_anew(first)
    assert len(first.compiled) == len(_names()) == 4  # city, kecamatan, macros, office
    assert first.loaded == []
    html = report.render_office_html(run, run.offices[0])

    second = template_cache(CODE, folder)
    _warm_anew(second)
    assert second.compiled == []
    assert sorted(second.loaded) == sorted(first.compiled)
    assert report.render_office_html(run, run.offices[0]) == html  # the same page


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.j2c"))


def test_a_corrupt_truncated_or_foreign_file_is_never_trusted(tmp_path, fresh_env):
    folder = tmp_path / "templates"
    _warm_anew(template_cache(CODE, folder))
    one, two, three, _ = _files(folder)
    good = one.read_bytes()

    data = bytearray(good)
    data[-10] ^= 0xFF  # one byte of the compiled code: its sha256 no longer matches
    one.write_bytes(bytes(data))
    two.write_bytes(two.read_bytes()[: len(TEMPLATE_FORMAT) + 100])  # cut short
    three.write_bytes(b"")  # empty
    again = template_cache(CODE, folder)
    _warm_anew(again)
    assert sorted(again.compiled) == sorted(p.stem for p in (one, two, three))
    assert len(again.loaded) == 1
    assert one.read_bytes() == good  # the file is written anew, whole

    # Another code identity (another monev, Jinja2 or Python): every template compiled again.
    other = template_cache("b" * 64, folder)
    _warm_anew(other)
    assert len(other.compiled) == 4 and other.loaded == []


def test_an_edited_template_is_compiled_again(tmp_path, monkeypatch, rubric, fresh_env):
    reports = tmp_path / "reports"
    shutil.copytree(report.data_dir("reports"), reports)
    monkeypatch.setattr(report, "data_dir", lambda name: reports)
    folder = tmp_path / "templates"
    _warm_anew(template_cache(CODE, folder))
    office = reports / "office.html.j2"
    text = office.read_text("utf-8")
    assert text.count("<body>") == 1
    office.write_text(text.replace("<body>", "<body>\n<p>Templat baru</p>"), "utf-8")

    again = template_cache(CODE, folder)
    _warm_anew(again)
    assert len(again.compiled) == 1 and len(again.loaded) == 3  # only the edited one
    run = score_paths([DEMO / "dinkes.xlsx"], rubric, jobs=1)
    assert "Templat baru" in report.render_office_html(run, run.offices[0])


def test_a_folder_that_cannot_be_written_only_costs_the_time(tmp_path, fresh_env):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    cache = template_cache(CODE, blocked / "templates")
    _warm_anew(cache)
    assert len(cache.compiled) == 4
    assert template_cache(CODE, blocked / "templates") is not None


def test_the_folder_is_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert template_folder() == tmp_path / "monev" / "templates"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert template_folder() == tmp_path / "home" / ".cache" / "monev" / "templates"


@pytest.mark.pdf
def test_monev_score_keeps_the_compiled_templates_and_no_cache_does_not(
    tmp_path, monkeypatch, fresh_env
):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(DEMO / "dinkes.xlsx", inputs / "dinkes.xlsx")

    def score(cache_home: Path, *extra: str) -> list[Path]:
        monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
        report._env.cache_clear()  # as a new process
        out = tmp_path / "out"
        assert main(["score", str(inputs), "--out", str(out), "-q", "-j", "1", *extra]) == 0
        return _files(cache_home / "monev" / "templates")

    made = score(tmp_path / "cache")
    assert len(made) == 4
    stamps = [p.stat().st_mtime_ns for p in made]
    assert score(tmp_path / "cache") == made  # loaded, not written again
    assert [p.stat().st_mtime_ns for p in made] == stamps
    assert score(tmp_path / "other-cache", "--no-cache") == []  # --no-cache: compiled afresh
