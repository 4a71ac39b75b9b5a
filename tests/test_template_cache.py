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


def _key(path: Path) -> str:
    """The template's key (Jinja2's bucket key) in a compiled template's file name."""
    return path.stem.rsplit("-", 1)[-1]


def test_a_corrupt_truncated_or_foreign_file_is_never_trusted(tmp_path, fresh_env):
    folder = tmp_path / "templates"
    _warm_anew(template_cache(CODE, folder))
    one, two, three, _ = _files(folder)
    good = one.read_bytes()

    data = bytearray(good)
    data[-10] ^= 0xFF  # one byte of the compiled code: its HMAC no longer matches
    one.write_bytes(bytes(data))
    two.write_bytes(two.read_bytes()[: len(TEMPLATE_FORMAT) + 100])  # cut short
    three.write_bytes(b"")  # empty
    again = template_cache(CODE, folder)
    _warm_anew(again)
    assert sorted(again.compiled) == sorted(_key(p) for p in (one, two, three))
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


def test_a_folder_that_cannot_be_used_only_costs_the_time(tmp_path, fresh_env):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    assert template_cache(CODE, blocked / "templates") is None  # no cache: all compiled
    _warm_anew(None)
    assert len(_names()) == 4


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


# --- a cold review's findings: a compiled template is code that runs ----------------------------


def _plant(path: Path, marker: Path) -> None:
    """What the review did without the user's secret: the compiled code of the file at ``path``
    made to touch ``marker`` when it runs, and the line before the code set to the sha256 of the
    new code (enough to pass a check that the body hashes to what is written beside it)."""
    import hashlib
    import io
    import marshal
    import pickle

    from jinja2.bccache import bc_magic

    data = path.read_bytes()
    start = data.index(bc_magic)
    head = data[: data.rindex(b"\n", 0, start - 1) + 1]  # everything before the digest line
    body = io.BytesIO(data[start + len(bc_magic) :])
    checksum = pickle.load(body)  # the source's checksum, kept: Jinja2 accepts the file
    original = body.read()  # the template's own code, run after the marker is touched
    evil = compile(
        f"open({str(marker)!r}, 'w').close()\nimport marshal\nexec(marshal.loads({original!r}))\n",
        "<planted>",
        "exec",
    )
    planted = io.BytesIO()
    planted.write(bc_magic)
    pickle.dump(checksum, planted, 2)
    marshal.dump(evil, planted)
    payload = planted.getvalue()
    path.write_bytes(head + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)


def test_a_file_planted_without_the_users_secret_never_runs(tmp_path, fresh_env):
    folder = tmp_path / "templates"
    _warm_anew(template_cache(CODE, folder))
    marker = tmp_path / "PWNED"
    for path in _files(folder):
        _plant(path, marker)
    again = template_cache(CODE, folder)
    _warm_anew(again)
    assert not marker.exists()  # before: the planted code ran when the template was loaded
    assert again.loaded == [] and len(again.compiled) == 4

    # A file made with another secret (another user's) is not loaded either.
    other = template_cache(CODE, folder, secret=b"\x03" * 32)
    _warm_anew(other)
    assert other.loaded == [] and len(other.compiled) == 4


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid"), reason="POSIX owners and modes")
def test_a_folder_others_may_write_or_a_link_is_never_used(tmp_path, fresh_env):
    import os

    base = tmp_path / "monev"
    folder = base / "templates"
    _warm_anew(template_cache(CODE, folder))
    assert len(_files(folder)) == 4
    assert (os.stat(folder).st_mode & 0o777, os.stat(base).st_mode & 0o777) == (0o700, 0o700)

    os.chmod(folder, 0o777)  # anyone could plant a file: no cache at all (before: loaded)
    assert template_cache(CODE, folder) is None
    os.chmod(folder, 0o700)
    os.chmod(base, 0o770)  # the group may replace templates/
    assert template_cache(CODE, folder) is None
    os.chmod(base, 0o700)
    assert template_cache(CODE, folder) is not None

    elsewhere = tmp_path / "elsewhere"
    folder.rename(elsewhere)
    folder.symlink_to(elsewhere)  # a link: never followed
    assert template_cache(CODE, folder) is None


def test_files_of_other_versions_are_removed_when_one_is_written(tmp_path, fresh_env):
    folder = tmp_path / "templates"
    _warm_anew(template_cache("b" * 64, folder))
    old = _files(folder)
    assert len(old) == 4
    (folder / "catatan.txt").write_text("not the cache's")
    _warm_anew(template_cache(CODE, folder))
    now = _files(folder)
    assert len(now) == 4 and not set(now) & set(old)  # before: 8 files, for ever more
    assert (folder / "catatan.txt").exists()  # only names the cache writes are removed
    _warm_anew(template_cache(CODE, folder, lang="en"))
    assert len(_files(folder)) == 8  # the other language's files are kept


def test_the_language_is_part_of_each_files_head(tmp_path, fresh_env):
    folder = tmp_path / "templates"
    _warm_anew(template_cache(CODE, folder, lang="id"))
    english = template_cache(CODE, folder, lang="en")
    _warm_anew(english)
    assert english.loaded == [] and len(english.compiled) == 4
    again = template_cache(CODE, folder, lang="en")
    _warm_anew(again)
    assert len(again.loaded) == 4
