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
