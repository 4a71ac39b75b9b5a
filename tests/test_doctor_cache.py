"""``monev doctor`` says whether monev's per-user cache can be used, and if not why and what to do.

A cache folder others may write, a link, or a secret of the wrong size or mode switches off the
read cache, the template cache and the render cache (monev never trusts what others can write);
before, nothing told the user why re-runs were suddenly slow. Doctor's reasons come from the
checks that decide (monev.resources.folder_refusal / secret_refusal), so each case here also
asserts that the secret is refused, and that doctor itself changed nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from monev.cli import main
from monev.resources import user_secret

posix = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX owners and modes")


@pytest.fixture
def home(monkeypatch, tmp_path) -> Path:
    """A user cache of the test's own: ``tmp_path/cache/monev``."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "monev"


def doctor(capsys, lang: str) -> list[str]:
    """The cache check's lines of ``monev doctor --no-render --lang LANG``: its own line and
    the indented ones below it."""
    assert main(["doctor", "--no-render", "--lang", lang]) == 0  # a cache never fails doctor
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("cache "))
    end = start + 1
    while end < len(lines) and lines[end].startswith("  "):
        end += 1
    return [" ".join(line.split()) for line in lines[start:end]]


def snapshot(folder: Path) -> list[tuple[str, int, bytes]]:
    """Every name under ``folder`` with its mode and (for a file) its bytes, links unfollowed."""
    out = []
    for path in sorted(folder.rglob("*")):
        st = os.lstat(path)
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        out.append((str(path.relative_to(folder)), st.st_mode, data))
    return out


@posix
def test_a_healthy_cache_says_ok(home, capsys):
    assert user_secret() is not None  # made: folder 0700, secret 0600
    assert doctor(capsys, "id") == [f"cache baik {home}"]
    assert doctor(capsys, "en") == [f"cache OK {home}"]


@posix
def test_a_cache_not_made_yet_is_ok_and_doctor_does_not_make_it(home, capsys):
    assert doctor(capsys, "en") == [
        f"cache OK {home}",
        f"{home} does not exist yet; monev makes it on first use.",
    ]
    assert not home.exists() and not home.parent.exists()  # doctor only looks
    home.mkdir(parents=True, mode=0o700)
    assert doctor(capsys, "id") == [
        f"cache baik {home}",
        f"{home}/secret belum ada; monev membuatnya saat pertama dipakai.",
    ]
    assert list(home.iterdir()) == []


OFF_ID = (
    "Karena itu monev tidak memakai cache baca, cache templat dan cache PDF: "
    "menjalankan ulang jadi lebih lambat."
)
OFF_EN = (
    "So monev does not use the read cache, the template cache or the PDF cache: re-runs are slower."
)
REMOVE_ID = (
    "Hapus berkas itu (rm {secret}); monev membuat rahasia baru, dan yang tersimpan dengan "
    "rahasia lama dibuat ulang sekali."
)
REMOVE_EN = (
    "Remove that file (rm {secret}); monev makes a new secret, and what was cached under the "
    "old one is made again once."
)


def _group_writable(home: Path, tmp_path: Path) -> None:
    os.chmod(home, 0o770)


def _link(home: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    home.rename(moved)
    home.symlink_to(moved)


def _short_secret(home: Path, tmp_path: Path) -> None:
    (home / "secret").write_bytes(b"x" * 31)


def _readable_secret(home: Path, tmp_path: Path) -> None:
    os.chmod(home / "secret", 0o640)


def _secret_of_another(home: Path, tmp_path: Path) -> None:
    os.chown(home / "secret", 65534, 65534)


CASES = {
    "group-writable-folder": (
        _group_writable,
        [
            "cache TIDAK DIPAKAI {home}",
            "{home} dapat ditulis oleh pengguna lain (mode 0770).",
            OFF_ID,
            "Jalankan: chmod 700 {home}",
        ],
        [
            "cache NOT USED {home}",
            "{home} can be written by other users (mode 0770).",
            OFF_EN,
            "Run: chmod 700 {home}",
        ],
    ),
    "folder-is-a-link": (
        _link,
        [
            "cache TIDAK DIPAKAI {home}",
            "{home} adalah tautan (symlink); monev tidak memercayai tautan di cache-nya.",
            OFF_ID,
            "Hapus {home} (rm {home}); monev membuat folder baru.",
        ],
        [
            "cache NOT USED {home}",
            "{home} is a link (symlink); monev does not trust links in its cache.",
            OFF_EN,
            "Remove {home} (rm {home}); monev makes a new folder.",
        ],
    ),
    "secret-of-31-bytes": (
        _short_secret,
        [
            "cache TIDAK DIPAKAI {home}",
            "Rahasia {secret} berisi 31 bait, bukan 32.",
            OFF_ID,
            REMOVE_ID,
        ],
        [
            "cache NOT USED {home}",
            "The secret {secret} holds 31 bytes, not 32.",
            OFF_EN,
            REMOVE_EN,
        ],
    ),
    "secret-the-group-may-read": (
        _readable_secret,
        [
            "cache TIDAK DIPAKAI {home}",
            "Rahasia {secret} dapat dibaca atau ditulis oleh pengguna lain (mode 0640).",
            OFF_ID,
            REMOVE_ID,
        ],
        [
            "cache NOT USED {home}",
            "The secret {secret} can be read or written by other users (mode 0640).",
            OFF_EN,
            REMOVE_EN,
        ],
    ),
    "secret-of-another-user": (
        _secret_of_another,
        [
            "cache TIDAK DIPAKAI {home}",
            "{secret} milik pengguna lain (uid 65534).",
            OFF_ID,
            REMOVE_ID,
        ],
        [
            "cache NOT USED {home}",
            "{secret} belongs to another user (uid 65534).",
            OFF_EN,
            REMOVE_EN,
        ],
    ),
}
NEEDS_ROOT = {"secret-of-another-user"}  # chown


@posix
@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case,
            marks=pytest.mark.skipif(
                case in NEEDS_ROOT and hasattr(os, "geteuid") and os.geteuid() != 0,
                reason="needs chown (root)",
            ),
        )
        for case in CASES
    ],
)
def test_each_reason_is_shown_with_what_to_do_in_both_languages(home, tmp_path, capsys, case):
    spoil, lines_id, lines_en = CASES[case]
    assert user_secret() is not None
    spoil(home, tmp_path)
    assert user_secret() is None  # the caches' own decision: off
    kept = snapshot(tmp_path)
    names = {"home": home, "secret": home / "secret"}
    assert doctor(capsys, "id") == [line.format(**names) for line in lines_id]
    assert doctor(capsys, "en") == [line.format(**names) for line in lines_en]
    assert snapshot(tmp_path) == kept  # doctor changed nothing


@posix
def test_a_templates_folder_others_may_write_turns_off_only_the_template_cache(home, capsys):
    assert user_secret() is not None
    (home / "templates").mkdir(mode=0o700)
    os.chmod(home / "templates", 0o777)
    assert doctor(capsys, "en") == [
        f"cache NOT USED {home}",
        f"{home}/templates can be written by other users (mode 0777).",
        "So monev does not use the template cache: every run compiles the report templates again.",
        f"Run: chmod 700 {home}/templates",
    ]
