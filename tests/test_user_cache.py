"""The user's cache folder and its secret (monev.resources), which the read cache and the
template cache trust to load what they cached: a cold review's findings (a secret or a folder
that anyone else could read, write or replace was used as it was)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from monev.resources import user_cache, user_secret

posix = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX owners and modes")


@pytest.fixture
def home(monkeypatch, tmp_path) -> Path:
    """A user cache of the test's own: ``tmp_path/cache/monev``."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "monev"


def test_a_relative_xdg_cache_home_is_ignored(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", "relatif")  # the XDG spec: ignore it
    assert user_cache() == tmp_path / "home" / ".cache" / "monev"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "abs"))
    assert user_cache() == tmp_path / "abs" / "monev"


@posix
def test_a_new_secret_is_the_users_only(home):
    secret = user_secret()
    assert secret is not None and len(secret) == 32
    assert user_secret() == secret  # read back, not made again
    assert os.stat(home / "secret").st_mode & 0o777 == 0o600
    assert os.stat(home).st_mode & 0o777 == 0o700
    assert [p.name for p in home.iterdir()] == ["secret"]  # no temporary file left


@posix
@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda f: os.chmod(f, 0o644), id="readable-by-others"),
        pytest.param(lambda f: os.chmod(f, 0o640), id="readable-by-the-group"),
        pytest.param(lambda f: f.write_bytes(b"x" * 31), id="too-short"),
        pytest.param(lambda f: f.write_bytes(b"x" * 33), id="too-long"),
    ],
)
def test_a_secret_others_may_read_or_of_the_wrong_size_is_not_used_nor_replaced(home, spoil):
    assert user_secret() is not None
    path = home / "secret"
    spoil(path)
    kept = (path.read_bytes(), os.stat(path).st_mode)
    assert user_secret() is None  # before: used (or, wrong size, silently written over)
    assert (path.read_bytes(), os.stat(path).st_mode) == kept


@posix
def test_a_secret_that_is_a_link_is_not_followed(home, tmp_path):
    elsewhere = tmp_path / "known.bin"
    elsewhere.write_bytes(b"k" * 32)  # a secret another could know
    os.chmod(elsewhere, 0o600)
    home.mkdir(parents=True, mode=0o700)
    (home / "secret").symlink_to(elsewhere)
    assert user_secret() is None  # before: b"kkk..." was the key of every HMAC
    assert elsewhere.read_bytes() == b"k" * 32


@posix
def test_a_pipe_in_place_of_the_secret_does_not_block(home):
    home.mkdir(parents=True, mode=0o700)
    os.mkfifo(home / "secret", 0o600)
    got: list = []
    reader = threading.Thread(target=lambda: got.append(user_secret()), daemon=True)
    reader.start()
    reader.join(30)  # a generous bound: it returns at once
    assert got == [None]  # before: blocked for ever


@posix
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() != 0, reason="needs chown (root)")
def test_a_secret_or_folder_of_another_user_is_not_used(home):
    assert user_secret() is not None
    os.chown(home / "secret", 65534, 65534)
    assert user_secret() is None
    os.chown(home / "secret", 0, 0)
    assert user_secret() is not None
    os.chown(home, 65534, 65534)
    assert user_secret() is None


@posix
def test_a_cache_folder_others_may_write_or_a_link_gives_no_secret(home, tmp_path):
    assert user_secret() is not None
    os.chmod(home, 0o777)
    assert user_secret() is None  # anyone could replace the secret
    os.chmod(home, 0o720)
    assert user_secret() is None
    os.chmod(home, 0o755)
    assert user_secret() is not None  # others may read the folder, not the secret

    moved = tmp_path / "moved"
    home.rename(moved)
    home.symlink_to(moved)
    assert user_secret() is None
    assert sorted(p.name for p in moved.iterdir()) == ["secret"]


@posix
def test_leftover_temporary_secrets_are_removed(home):
    home.mkdir(parents=True, mode=0o700)
    old = home / ".secret-0123456789ab.tmp"
    old.write_bytes(b"x" * 32)
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    fresh = home / ".secret-ba9876543210.tmp"  # another process making one right now
    fresh.write_bytes(b"y" * 32)
    assert user_secret() is not None
    assert not old.exists() and fresh.exists()


def _count_opens(monkeypatch, path: Path) -> list[int]:
    """Every ``os.open`` of ``path`` from now on, as a list that grows by one per open."""
    opened: list[int] = []
    real = os.open

    def counting(name, *args, **kwargs):
        if os.fspath(name) == os.fspath(path):
            opened.append(1)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(os, "open", counting)
    return opened


@posix
def test_the_three_caches_open_the_secret_once(home, tmp_path, monkeypatch):
    # The read cache, the render cache and the template cache each ask for the secret; before,
    # each call opened and read the file again (4 opens here, as in a `monev score` run).
    from monev.read_cache import ReadCache
    from monev.render_cache import RenderCache, template_cache

    home.mkdir(parents=True, mode=0o700)
    secret = os.urandom(32)
    (home / "secret").write_bytes(secret)
    os.chmod(home / "secret", 0o600)
    opened = _count_opens(monkeypatch, home / "secret")
    cache = tmp_path / "out" / ".cache"
    assert ReadCache.open(cache).secret == secret
    assert RenderCache.open(cache, env="test").secret == secret
    assert template_cache("a" * 64) is not None
    assert user_secret() == secret
    assert len(opened) == 1


@posix
def test_a_secret_replaced_rewritten_or_spoiled_is_looked_at_again(home, monkeypatch):
    first = user_secret()
    assert first is not None
    path = home / "secret"
    opened = _count_opens(monkeypatch, path)
    assert user_secret() == first and opened == []  # remembered
    # Replaced by another file (a new inode), as `rm secret` and a new one made would:
    other = home / "other"
    other.write_bytes(b"b" * 32)
    os.chmod(other, 0o600)
    os.replace(other, path)
    assert user_secret() == b"b" * 32 and len(opened) == 1
    # Rewritten in place with as many bytes (same inode, new times):
    time.sleep(0.01)
    path.write_bytes(b"c" * 32)
    assert user_secret() == b"c" * 32 and len(opened) == 2
    # Every check still made on each call, on the remembered file too:
    os.chmod(path, 0o640)
    assert user_secret() is None
    os.chmod(path, 0o600)
    assert user_secret() == b"c" * 32
    os.chmod(home, 0o770)
    assert user_secret() is None
    os.chmod(home, 0o700)
    moved = home.parent / "moved"
    path.rename(moved)
    path.symlink_to(moved)
    assert user_secret() is None  # a link in its place: not followed, not remembered


@posix
@pytest.mark.pdf
def test_a_monev_score_run_opens_the_secret_once(home, tmp_path, monkeypatch):
    # The run with PDFs uses all three caches; its process opened the secret 4 times before.
    import shutil

    from conftest import DEMO

    from monev.cli import main

    home.mkdir(parents=True, mode=0o700)
    (home / "secret").write_bytes(os.urandom(32))
    os.chmod(home / "secret", 0o600)
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(DEMO / "dinkes.xlsx", inputs / "dinkes.xlsx")
    opened = _count_opens(monkeypatch, home / "secret")
    assert main(["score", str(inputs), "--out", str(tmp_path / "out"), "-q", "-j", "1"]) == 0
    assert len(opened) == 1
