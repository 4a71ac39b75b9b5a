"""Rubric files the admin uploads when opening a period (issue 14 item 3, wp-webrubric).

Two formats: the YAML that ``monev rubric check`` and ``--rubric`` read, and the rubric workbook
of ``monev rubric export`` / ``import`` (.xlsx, .xlsm, .ods). Both are validated by the library's
own loaders, never by a second validator here: :func:`monev.rubric.load_rubric` (its size, alias
and nesting limits) for YAML, :func:`monev.rubric_book.read_book` (the reader's zip-bomb and
cell limits, formulas and hidden values reported at their cell) for a workbook. Validation runs
in a worker process under the reader's memory and CPU limits (:data:`~monev.web.checking.WORKERS`),
so a hostile file costs its own check, never the server.

A valid rubric is kept as the YAML text ``monev score --rubric`` reads, under
``rubrics/<sha256>.yaml`` in the data folder: the hash of the text is the whole file name (the
name the browser sent is shown, never used as a path), and a workbook is kept as the YAML it was
read into. A period names it ``sha256:<hash>``, so a later upload with the same rubric id is a
different rubric and can never rescore a running period. Nothing is stored for an invalid file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monev.problems import Key, Problem
from monev.rubric import Rubric, RubricError, load_rubric, parse_rubric
from monev.sandbox import Stopped
from monev.web import storage
from monev.web.checking import UPLOADED, WORKERS, rubric, stored_rubric_path
from monev.web.db import Period, RubricFile, User, audit
from monev.web.settings import Settings

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".ods")
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Validated:
    """What the library said of one uploaded rubric file."""

    text: str | None  # the YAML to keep; None when the file is refused
    problems: list[Problem] = field(default_factory=list)  # a workbook's, at their cells
    errors: list[tuple[str, str]] = field(default_factory=list)  # a YAML file's (path, message)


class RubricRefused(Exception):
    """An uploaded rubric that cannot be used: ``lines`` say where and what to do."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def _validate(item: tuple[str, str, str, str]) -> Validated:
    """In a worker process: the library's loader on the uploaded bytes."""
    path, name, kind, comment = item
    if kind == "workbook":
        from monev.rubric_book import read_book, rubric_yaml

        book = read_book(path, display_name=name)
        if book.rubric is None or book.problems:
            return Validated(None, problems=book.problems)
        return Validated(rubric_yaml(book.rubric, comment))
    try:
        load_rubric(Path(path))
    except RubricError as exc:
        return Validated(None, errors=exc.errors)
    return Validated(Path(path).read_bytes().decode("utf-8"))  # the bytes, newlines as sent


def kind_of(name: str, head: bytes) -> tuple[str, str]:
    """("workbook" | "yaml", suffix for the reader) from the name's extension or the content."""
    suffix = Path(storage.display_name(name)).suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return "workbook", suffix
    if head.startswith(ZIP_MAGIC):
        return "workbook", ".xlsx"
    return "yaml", ".yaml"


def _copy(head: bytes, src: IO[bytes], dest: Path, limit: int) -> tuple[str, int]:
    """``head`` then the rest of ``src`` into ``dest``, at most ``limit`` bytes
    (:class:`~monev.web.storage.TooLarge` beyond); (sha256, size)."""
    digest, size = hashlib.sha256(), 0
    with dest.open("wb") as out:
        chunk = head
        while chunk:
            size += len(chunk)
            if size > limit:
                raise storage.TooLarge(size)
            digest.update(chunk)
            out.write(chunk)
            chunk = src.read(storage.CHUNK)
    return digest.hexdigest(), size


def add_rubric(
    settings: Settings,
    db: Session,
    actor: User,
    src: IO[bytes],
    raw_name: str,
    comment: str,
    lang: str,
    ip: str = "",
) -> RubricFile:
    """Validate an uploaded rubric file and keep it by hash (the same file twice: one row).

    Raises :class:`~monev.web.storage.TooLarge` past the upload limit and
    :class:`RubricRefused` with the library's problems; nothing is kept in either case.
    ``comment`` heads the YAML a workbook is turned into."""
    name = storage.display_name(raw_name)
    folder = settings.rubric_dir
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".incoming-", dir=folder) as tmp:
        head = src.read(len(ZIP_MAGIC))
        kind, suffix = kind_of(name, head)
        incoming = Path(tmp) / f"rubrik{suffix}"  # never the uploaded name
        source_sha, _size = _copy(head, src, incoming, settings.max_upload)
        got = WORKERS.call(_validate, (str(incoming), name, kind, comment))
    if isinstance(got, Stopped):
        problem = Problem.make("MV110", name, reason=Key(f"reader.{got.reason}"))
        raise RubricRefused([problem.text(lang)])
    if got.text is None:
        lines = [p.text(lang) for p in got.problems]
        lines += RubricError(name, got.errors).lines(lang) if got.errors else []
        raise RubricRefused(lines)
    text = got.text
    rb = parse_rubric(text, file=name)  # safe now: within the limits; its identity
    kept = _keep_rubric(db, folder, rb, text, kind, source_sha, name, actor)
    audit(
        db,
        actor,
        "rubric.upload",
        "rubric_file",
        kept.id,
        None,
        {**identity_of(kept), "file": name, "file_sha256": source_sha, "format": kind},
        ip,
    )
    return kept


def _keep_rubric(
    db: Session,
    folder: Path,
    rb: Rubric,
    text: str,
    source: str,
    source_sha: str,
    name: str,
    actor: User | None,
) -> RubricFile:
    """Keep ``text`` (valid: ``rb``) under ``rubrics/<sha256>.yaml`` and its row (the same
    text twice: one file, one row; the row already there is returned)."""
    kept = db.scalar(select(RubricFile).where(RubricFile.sha256 == rb.sha256))
    folder.mkdir(parents=True, exist_ok=True)
    _keep(stored_rubric_path(folder, rb.sha256), text)
    if kept is None:
        row = RubricFile(
            sha256=rb.sha256,
            rubric_id=rb.id[:100],
            title=rb.title[:300],
            version=str(rb.version)[:60],
            source=source,
            source_sha256=source_sha,
            original_name=name,
            uploaded_by=actor.id if actor else None,
        )
        try:  # another admin (or server) may add the same file at the same moment: theirs is kept
            with db.begin_nested():
                db.add(row)
            kept = row
        except IntegrityError:
            kept = db.scalar(select(RubricFile).where(RubricFile.sha256 == rb.sha256))
            if kept is None:  # not a duplicate after all: a real error
                raise
    return kept


# --- shipped rubrics, kept by hash too (wp-webpin) -----------------------------------------------


def pin_shipped(
    db: Session, folder: Path, actor: User | None, rubric_id: str, expect: str = ""
) -> RubricFile | None:
    """Keep the shipped rubric ``rubric_id``'s file by hash, exactly as an uploaded rubric is
    kept (``rubrics/<sha256>.yaml`` and a :class:`RubricFile` row, ``source`` "shipped"), so
    that a period names it ``sha256:<hash>`` and a monev upgrade that changes the shipped file
    cannot rescore the period. With ``expect`` (the hash recorded when an older period was
    opened): None when the shipped file no longer has that hash (nothing kept), unless the file
    with that hash was put back under ``rubrics/`` by the admin (then that one is kept).
    Raises :class:`~monev.rubric.RubricError` for an unknown id or an unreadable file."""
    from monev.rubric import shipped

    known = shipped()
    if rubric_id not in known:
        raise RubricError(rubric_id, [("", "no shipped rubric with this id")])
    rb = load_rubric(known[rubric_id])
    text = known[rubric_id].read_bytes().decode("utf-8")
    if expect and rb.sha256 != expect:
        put_back = stored_rubric_path(folder, expect)
        if not put_back.is_file():
            return None
        try:
            rb = load_rubric(put_back)
        except RubricError:
            return None
        if rb.sha256 != expect:  # not the file it was opened with
            return None
        text = put_back.read_bytes().decode("utf-8")
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != rb.sha256:  # changed while read
        raise RubricError(rubric_id, [("", "the shipped rubric file changed while it was read")])
    return _keep_rubric(db, folder, rb, text, "shipped", rb.sha256, f"{rubric_id}.yaml", actor)


def pin_periods(db: Session, folder: Path) -> list[Period]:
    """Periods of older data name a shipped rubric by id: keep each one's file by hash now
    (:func:`pin_shipped` with the hash recorded at opening) and name it ``sha256:<hash>``,
    recorded in the audit log. A period whose shipped file changed since is left as it is:
    every page that scores refuses it (:class:`~monev.web.checking.NotPinned`) and the admin
    page says what to do (:func:`period_identity`). Returns the periods pinned."""
    pinned: list[Period] = []
    folder.mkdir(parents=True, exist_ok=True)  # where the admin puts a file back (see above)
    for period in db.scalars(select(Period).where(~Period.rubric_id.startswith(UPLOADED))):
        before = {"rubric_id": period.rubric_id, "rubric_sha256": period.rubric_sha256}
        try:
            kept = pin_shipped(db, folder, None, period.rubric_id, period.rubric_sha256)
        except RubricError:
            kept = None
        if kept is None:
            continue
        ref = UPLOADED + kept.sha256
        # another server starting at the same moment may have pinned it: only one records it
        moved = db.execute(
            update(Period)
            .where(Period.id == period.id, Period.rubric_id == before["rubric_id"])
            .values(rubric_id=ref, rubric_file_id=kept.id)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            continue
        db.refresh(period)
        audit(
            db,
            None,
            "period.rubric_pin",
            "period",
            period.id,
            before,
            {"rubric_id": ref, **identity_of(kept), "source": "shipped"},
        )
        pinned.append(period)
    return pinned


def _keep(dest: Path, text: str) -> None:
    """Write ``dest`` once; an existing file is kept only while it still hashes to its name."""
    data = text.encode("utf-8")
    if dest.is_file() and hashlib.sha256(dest.read_bytes()).hexdigest() == dest.stem:
        return
    fd, tmp = tempfile.mkstemp(prefix=".incoming-", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def identity_of(kept: RubricFile) -> dict[str, str]:
    return {
        "rubric": kept.rubric_id,
        "title": kept.title,
        "version": kept.version,
        "sha256": kept.sha256,
        "ref": UPLOADED + kept.sha256,
    }


def uploaded(db: Session) -> list[RubricFile]:
    """Every rubric the admin uploaded, newest first (the period form offers them again; the
    shipped ones kept for a period are offered by their id)."""
    return list(
        db.scalars(
            select(RubricFile).where(RubricFile.source != "shipped").order_by(RubricFile.id.desc())
        )
    )


def period_identity(db: Session, period: Period, folder: Path | None = None) -> dict[str, str]:
    """id, title, version and sha256 of the rubric a period was opened with, for the pages;
    ``problem``: a message key when the period's rubric cannot be used (with ``current``, the
    hash of the shipped file now, and ``put_back``, where the original file goes)."""
    kept = db.get(RubricFile, period.rubric_file_id) if period.rubric_file_id else None
    if kept is not None:
        source = "shipped" if kept.source == "shipped" else "uploaded"
        problem = ""
        try:
            rubric(period.rubric_id)
        except RubricError:
            problem = "web.rubric.stored_broken"
        where = stored_rubric_path(folder, kept.sha256) if folder else Path(f"{kept.sha256}.yaml")
        return {
            **identity_of(kept),
            "source": source,
            "problem": problem,
            "current": "",
            "put_back": str(where),
        }
    from monev.rubric import shipped

    known = shipped()
    current = ""
    if period.rubric_id in known:
        try:
            current = load_rubric(known[period.rubric_id]).sha256
        except RubricError:
            current = ""
    recorded = period.rubric_sha256
    where = (
        stored_rubric_path(folder, recorded)
        if folder and len(recorded) == 64
        else Path(f"{recorded}.yaml")
    )
    return {
        "rubric": period.rubric_id,
        "title": "",
        "version": "",
        "sha256": recorded,
        "ref": period.rubric_id,
        "source": "shipped",
        "problem": "web.rubric.unpinned",
        "current": current or "-",
        "put_back": str(where),
    }
