"""`monev web backup` (issue 14): one archive with the database and every stored file, which a
restored server opens with the same uploads. The PostgreSQL path runs when CI provides a server
(`MONEV_TEST_POSTGRES`, see tests/conftest.py)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

pytest.importorskip("sqlalchemy", reason='the web extra is not installed: pip install ".[web]"')

from sqlalchemy import select

from monev.web.db import Period, Upload
from monev.web.ops import Store, create_admin, get_or_add_office, open_period
from monev.web.settings import Settings


def _site_with_files(tmp_path):
    data = tmp_path / "data"
    store = Store(Settings.for_data_dir(data))
    with store.session() as db:
        admin = create_admin(db, "admin@kota.go.id", "kata-sandi-admin-1")
        period = open_period(db, admin, 2026, "ki-jatim-2024", "2099-12-15T23:59")
        office = get_or_add_office(db, admin, "Dinas Kesehatan")
        db.add(
            Upload(
                period_id=period.id,
                office_id=office.id,
                user_id=admin.id,
                original_name="a.xlsx",
                sha256="ab" * 32,
                size=3,
                status="checked",
            )
        )
    blob = data / "uploads" / "ab" / ("ab" * 32 + ".xlsx")
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"xyz")
    store.engine.dispose()
    return data, blob


def backup(tmp_path, *args):
    return subprocess.run(
        [sys.executable, "-m", "monev", "web", "backup", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )


def test_backup_restores_to_a_server_with_the_same_uploads_and_no_secret(tmp_path):
    if os.environ.get("MONEV_WEB_DB"):
        pytest.skip("the SQLite case; the PostgreSQL case is the next test")
    data, blob = _site_with_files(tmp_path)
    (data / "secret.key").write_text("rahasia")
    r = backup(tmp_path, "--data", str(data), "--out", "cadangan.tar.gz")
    assert r.returncode == 0, r.stderr
    assert "Cadangan tersimpan" in r.stdout and "sqlite" in r.stdout
    archive = tmp_path / "cadangan.tar.gz"
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        restored = tmp_path / "pulih"
        tar.extractall(restored, filter="data")
    rel = "data/" + blob.relative_to(data).as_posix()
    # the period's rubric, kept by hash when it was opened (wp-webpin), is backed up with it
    with Store(Settings.for_data_dir(data)).session() as db:
        pinned = db.scalars(select(Period)).one().rubric_id.removeprefix("sha256:")
    kept = f"data/rubrics/{pinned}.yaml"
    # no secret.key, no live db
    assert names == {"MANIFEST.json", "database/monev.sqlite3", rel, kept}
    assert manifest["database"] == "sqlite"
    for name, digest in manifest["files"].items():  # every file is what the manifest says
        assert hashlib.sha256((restored / name).read_bytes()).hexdigest() == digest
    # A restore: the data folder's files, and the database copied in as the folder's database.
    new = restored / "data"
    shutil.copy(restored / "database" / "monev.sqlite3", new / "monev.sqlite3")
    store = Store(Settings.for_data_dir(new))
    with store.session() as db:
        ups = db.scalars(select(Upload)).all()
    assert [(u.original_name, u.sha256) for u in ups] == [("a.xlsx", "ab" * 32)]
    assert (new / blob.relative_to(data)).read_bytes() == b"xyz"
    from monev.web.checking import _stored_rubric, rubric

    rubric.cache_clear()
    _stored_rubric.cache_clear()
    (data / "rubrics" / f"{pinned}.yaml").unlink()  # only the restored copy is left
    with store.session() as db:  # the restored period reads its own rubric from the restored folder
        period = db.scalars(select(Period)).one()
        assert rubric(period.rubric_id).sha256 == period.rubric_sha256 == pinned
    # A second backup to the same name is refused; the first stays intact.
    again = backup(tmp_path, "--data", str(data), "--out", "cadangan.tar.gz")
    assert again.returncode == 1 and "sudah ada" in again.stderr
    with tarfile.open(archive) as tar:
        assert "MANIFEST.json" in tar.getnames()


def test_backup_of_a_missing_data_folder_is_a_usage_error(tmp_path):
    r = backup(tmp_path, "--data", str(tmp_path / "tidak-ada"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "tidak ada" in r.stderr
    assert not (tmp_path / "tidak-ada").exists()  # asking for a backup creates nothing


@pytest.mark.skipif(not shutil.which("pg_dump"), reason="pg_dump is not installed")
def test_backup_of_a_postgresql_site_is_a_pg_dump_archive(tmp_path):
    url = os.environ.get("MONEV_WEB_DB", "")
    if not url.startswith("postgres"):
        pytest.skip("needs MONEV_TEST_POSTGRES (CI starts a PostgreSQL server)")
    data, _ = _site_with_files(tmp_path)
    r = backup(tmp_path, "--data", str(data), "--out", "pg.tar.gz")
    assert r.returncode == 0, r.stderr
    from sqlalchemy.engine import make_url

    password = make_url(url).password
    assert not password or password not in r.stdout + r.stderr  # never printed
    with tarfile.open(tmp_path / "pg.tar.gz") as tar:
        assert "database/monev.pgdump" in tar.getnames()
        dump = tar.extractfile("database/monev.pgdump").read()
    assert dump.startswith(b"PGDMP")  # pg_dump's custom format
    listing = subprocess.run(["pg_restore", "--list"], input=dump, capture_output=True, timeout=60)
    assert b"TABLE public uploads" in listing.stdout


def test_web_command_messages_follow_monev_lang(tmp_path):
    env = {**os.environ, "MONEV_LANG": "en"}
    r = subprocess.run(
        [sys.executable, "-m", "monev", "web", "backup", "--data", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert r.returncode == 2 and "does not exist" in r.stderr and "tidak ada" not in r.stderr
