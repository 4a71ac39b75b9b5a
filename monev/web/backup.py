"""Back up a web data folder while the server runs: the database and every stored file.

``monev web backup`` writes one ``.tar.gz``:

- ``database/monev.sqlite3``: a consistent copy of a SQLite database made with SQLite's online
  backup (uploads may go on meanwhile), or ``database/monev.pgdump`` from ``pg_dump
  --format=custom`` for PostgreSQL (restore it with ``pg_restore``);
- ``data/…``: the data folder's files (uploads, published snapshots), except the live database
  files and ``secret.key`` (the cookie secret: a backup that leaks must not let anyone sign a
  session; a restored server makes a new one and users log in again);
- ``MANIFEST.json``: the time, monev's version, the kind of database and the SHA-256 of every
  file in the archive, so a restore can be checked.

The archive is written beside its destination under a temporary name and renamed into place when
complete; an existing file is never overwritten.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from monev import __version__
from monev.web.settings import Settings

#: Files of the data folder that are not copied as files (see the module docstring).
SKIPPED = {"secret.key", "monev.sqlite3", "monev.sqlite3-wal", "monev.sqlite3-shm"}


class BackupError(Exception):
    """The backup cannot be made, with a message key of monev/web/messages.yaml."""

    def __init__(self, key: str, **params: object):
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    files: int
    size: int
    database: str  # "sqlite" or "postgresql"


def default_name(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now()
    return f"monev-backup-{now:%Y%m%d-%H%M%S}.tar.gz"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _dump_database(settings: Settings, into: Path) -> tuple[str, Path]:
    url = make_url(settings.db_url)
    if url.drivername.startswith("sqlite"):
        source = Path(url.database or "")
        if not source.is_file():
            raise BackupError("web.backup.no_database", path=str(source))
        target = into / "monev.sqlite3"
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        try:
            with dst:
                src.backup(dst)
        finally:
            dst.close()
            src.close()
        return "sqlite", target
    if url.drivername.startswith("postgres"):
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise BackupError("web.backup.no_pg_dump")
        target = into / "monev.pgdump"
        plain = url.set(drivername="postgresql")
        env = dict(os.environ)
        if plain.password:
            env["PGPASSWORD"] = str(plain.password)  # never on the command line (ps shows it)
            plain = plain.set(password=None)
        cmd = [pg_dump, "--format=custom", "--no-owner", "--file", str(target)]
        cmd.append(plain.render_as_string(hide_password=False))
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            detail = (done.stderr.strip().splitlines() or ["?"])[-1][:200]
            raise BackupError("web.backup.pg_dump_failed", detail=detail)
        return "postgresql", target
    raise BackupError("web.backup.unknown_database", kind=url.drivername)


def make_backup(settings: Settings, dest: Path) -> BackupSummary:
    """Write the backup archive of ``settings``' data folder and database to ``dest``."""
    dest = dest.resolve()
    if dest.exists():
        raise BackupError("web.backup.exists", path=str(dest))
    if not dest.parent.is_dir():
        raise BackupError("web.backup.no_folder", path=str(dest.parent))
    data = settings.data_dir
    with tempfile.TemporaryDirectory(prefix="monev-backup-") as tmp:
        kind, dump = _dump_database(settings, Path(tmp))
        members: list[tuple[Path, str]] = [(dump, f"database/{dump.name}")]
        for path in sorted(data.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue  # nothing outside the folder is followed
            rel = path.relative_to(data)
            if rel.parts[0] in SKIPPED or path == dest or path.name.startswith(".monev-backup-"):
                continue
            members.append((path, f"data/{rel.as_posix()}"))
        manifest = {
            "made": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "monev": __version__,
            "database": kind,
            "files": {name: _sha256(path) for path, name in members},
        }
        fd, part = tempfile.mkstemp(prefix=".monev-backup-", suffix=".part", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
                for path, name in members:
                    tar.add(path, arcname=name, recursive=False)
                blob = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")
                info = tarfile.TarInfo("MANIFEST.json")
                info.size = len(blob)
                info.mtime = int(dt.datetime.now().timestamp())
                tar.addfile(info, io.BytesIO(blob))
            os.link(part, dest)  # fails if dest appeared meanwhile: never overwrite
        finally:
            os.unlink(part)
    return BackupSummary(dest, len(members), dest.stat().st_size, kind)
