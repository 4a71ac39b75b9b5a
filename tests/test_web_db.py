"""The web application's database: which driver a URL gets, and what the operator is told when
the database cannot be opened (issue 14: `--db postgresql://…`). The whole web suite runs a
second time on a real PostgreSQL in CI (`MONEV_TEST_POSTGRES`, see tests/conftest.py)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

pytest.importorskip("sqlalchemy", reason='the web extra is not installed: pip install ".[web]"')

from helpers import create_admin_args

from monev.web.db import driver_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db.kota.go.id/monev", "postgresql+psycopg://u:p@db.kota.go.id/monev"),
        ("postgres://u@127.0.0.1:5433/monev", "postgresql+psycopg://u@127.0.0.1:5433/monev"),
        # A driver the operator names is kept.
        ("postgresql+psycopg2://u@h/m", "postgresql+psycopg2://u@h/m"),
        ("sqlite:////srv/monev/monev.sqlite3", "sqlite:////srv/monev/monev.sqlite3"),
    ],
)
def test_a_postgresql_url_without_a_driver_gets_psycopg(url, expected):
    assert driver_url(url) == expected


def monev(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m monev ARGS`` in a new process, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "monev", *args], capture_output=True, text=True, timeout=120
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_a_database_that_cannot_be_opened_is_a_message_not_a_traceback(tmp_path):
    url = f"postgresql://monev:rahasia-sekali@127.0.0.1:{_closed_port()}/monev"
    pw = tmp_path / "sandi.txt"
    pw.write_text("kata-sandi-admin-1\n")
    r = monev(*create_admin_args("a@kota.go.id", pw, tmp_path / "d", "--db", url))
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert "tidak dapat dibuka" in r.stderr and "rahasia-sekali" not in r.stderr


def test_a_missing_password_file_is_a_usage_error_not_a_traceback(tmp_path):
    r = monev(*create_admin_args("a@kota.go.id", tmp_path / "tidak-ada.txt", tmp_path / "d"))
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr


def test_serve_with_an_unreachable_database_says_what_to_check(tmp_path):
    url = f"postgresql://monev:rahasia-sekali@127.0.0.1:{_closed_port()}/monev"
    r = monev("serve", "--data", str(tmp_path / "d"), "--db", url, "--port", str(_closed_port()))
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert "tidak dapat dibuka" in r.stderr and "Periksa alamat" in r.stderr
    assert "rahasia-sekali" not in r.stderr  # the password is never printed


def test_serve_warms_the_reader_for_each_rubric_in_use(tmp_path):
    """A blank template of the rubric goes through the whole check once at start-up; the rubric
    is then loaded, and a blank template is a scorable workbook (claimed SAQ 0). A period's
    rubric is kept by hash (wp-webpin): a shipped id alone is never resolved, not even here."""
    from monev.web import checking
    from monev.web.ops import Store, create_admin, open_period
    from monev.web.settings import Settings

    store = Store(Settings.for_data_dir(tmp_path / "data"))
    with store.session() as db:
        admin = create_admin(db, "admin@kota.go.id", "kata-sandi-admin-1")
        ref = open_period(db, admin, 2026, "ki-jatim-2024", "2099-12-15T23:59").rubric_id
    checking.rubric.cache_clear()
    checking.warm_up(["ki-jatim-2024", ref])  # the id alone is skipped, not an error
    assert checking.rubric.cache_info().currsize == 1
