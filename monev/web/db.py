"""Tables of the web application, the engine, and migrations (Alembic, applied on start).

Designed for the later steps of issue 14 too: periods with a rubric and a deadline, offices,
accounts with a role (admin, office, verifier, auditor), every upload kept with its hash and
outcome (never overwritten), and one audit log of every state change (who, when, what,
before -> after). The schema itself is created only by the migrations in ``migrations/``;
:func:`migrate` applies them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    create_engine,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

ROLES = ("admin", "office", "verifier", "auditor")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_POOL = 40  # Starlette's worker threads (anyio's default limit)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)  # stored naive, always UTC


class Base(DeclarativeBase):
    pass


class Office(Base):
    __tablename__ = "offices"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200), unique=True)  # monev.identity.office_key
    unit_type: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), nullable=True)
    lang: Mapped[str] = mapped_column(String(5), default="id")
    active: Mapped[bool] = mapped_column(default=True)
    #: Bumped on password change or "log out everywhere": older session cookies stop working.
    session_gen: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RubricFile(Base):
    """A rubric file the admin uploaded (YAML, or a rubric workbook read into YAML), stored
    under ``rubrics/<sha256>.yaml`` in the data folder: by the hash of its text, never by the
    uploaded name, and never changed afterwards."""

    __tablename__ = "rubric_files"
    __table_args__ = (UniqueConstraint("sha256", name="uq_rubric_files_sha256"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))  # of the stored YAML text
    rubric_id: Mapped[str] = mapped_column(String(100))  # the rubric's own ``id``
    title: Mapped[str] = mapped_column(String(300))
    version: Mapped[str] = mapped_column(String(60))
    #: "yaml" or "workbook" (a workbook is stored as the YAML it was read into).
    source: Mapped[str] = mapped_column(String(20))
    source_sha256: Mapped[str] = mapped_column(String(64))  # of the uploaded bytes
    #: The name the browser sent, for display only: never used as a path.
    original_name: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Period(Base):
    __tablename__ = "periods"
    __table_args__ = (UniqueConstraint("year", name="uq_periods_year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    #: What :func:`monev.web.checking.rubric` resolves: a shipped rubric's id, or
    #: ``sha256:<hash>`` for an uploaded one (:data:`monev.web.rubrics.UPLOADED`), so that a
    #: period keeps the exact rubric it was opened with.
    rubric_id: Mapped[str] = mapped_column(String(100))
    rubric_sha256: Mapped[str] = mapped_column(String(64))
    rubric_file_id: Mapped[int | None] = mapped_column(ForeignKey("rubric_files.id"), nullable=True)
    deadline_utc: Mapped[dt.datetime] = mapped_column(DateTime)
    zone: Mapped[str] = mapped_column(String(8), default="WIB")
    objection_until_utc: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open, closed, published
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Invitation(Base):
    __tablename__ = "invitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: None for a verifier's or an auditor's invitation (they belong to no office).
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), nullable=True)
    role: Mapped[str] = mapped_column(String(20), default="office")
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)  # the token is never stored
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Upload(Base):
    __tablename__ = "uploads"
    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: The name the browser sent, for display only: never used as a path.
    original_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), default="")  # "" when no bytes were kept
    size: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20))  # checked, rejected
    errors: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    saq_claimed: Mapped[str | None] = mapped_column(String(20), nullable=True)  # Decimal as text
    saq_verifiable: Mapped[str | None] = mapped_column(String(20), nullable=True)
    score: Mapped[str | None] = mapped_column(String(20), nullable=True)
    predicate: Mapped[str | None] = mapped_column(String(60), nullable=True)
    #: Why an upload was refused before the reader saw it (too large, deadline passed), as a
    #: message key; the reader's own problems are recomputed from the stored bytes.
    refusal: Mapped[str] = mapped_column(String(60), default="")


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    actor: Mapped[str] = mapped_column(String(254), default="")  # e-mail or "cli"
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)
    ip: Mapped[str] = mapped_column(String(64), default="")


class Decision(Base):
    """A verifier's decision on one indicator of one office in one period (the newest stands;
    every change is in the audit log). ``verdict`` is one of the rubric's ``verdicts()``."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("period_id", "office_id", "code", name="uq_decisions_item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    verdict: Mapped[str] = mapped_column(String(60))
    note: Mapped[str] = mapped_column(String(2000), default="")
    #: The upload the verifier was looking at.
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id"), nullable=True)
    verifier_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class StageScore(Base):
    """A later-stage score (visitasi, wawancara, ...) entered by a verifier, 0-100 as text."""

    __tablename__ = "stage_scores"
    __table_args__ = (
        UniqueConstraint("period_id", "office_id", "stage", name="uq_stage_scores_item"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    stage: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(20))
    verifier_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Objection(Base):
    """An office's objection to one decision (at most one per decision), and its answer."""

    __tablename__ = "objections"
    __table_args__ = (UniqueConstraint("decision_id", name="uq_objections_decision"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(2000))
    evidence: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open, accepted, rejected
    answer: Mapped[str] = mapped_column(String(2000), default="")
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Snapshot(Base):
    """A published set of results, frozen: ``files`` lists name, size and sha256 of each file
    kept under ``snapshots/<id>/`` in the data folder."""

    __tablename__ = "snapshots"
    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    as_of: Mapped[str] = mapped_column(String(10))
    files: Mapped[Any] = mapped_column(JSON)


class LoginFailure(Base):
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), index=True)  # "account:<email>" or "ip:<addr>"
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        from sqlalchemy import event

        # One connection per request thread (Starlette runs up to 40 at once): the default pool
        # of 5 (+10) made the rest of a deadline's burst queue for a connection.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=SQLITE_POOL,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL syncs at checkpoints, not at every commit: a commit survives a
            # crash of the server, and only a power cut can lose the last ones. Every upload's
            # commit waited for a disk flush while it held SQLite's one write lock.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")  # as the driver's timeout: writers queue
            cur.close()

        return engine
    return create_engine(driver_url(url), pool_pre_ping=True)


def driver_url(url: str) -> str:
    """``postgresql://…`` names no driver, and SQLAlchemy then wants psycopg2; monev's
    ``postgres`` extra installs psycopg 3, so a URL without a driver is given that one."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema (Alembic ``upgrade head``)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def audit(
    db: Session,
    actor: User | None,
    action: str,
    entity: str,
    entity_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip: str = "",
) -> None:
    """Record one state change. Never pass a password or a token in ``before``/``after``."""
    db.add(
        AuditEntry(
            actor_id=actor.id if actor else None,
            actor=actor.email if actor else "cli",
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=json.loads(json.dumps(before, default=str)) if before else None,
            after=json.loads(json.dumps(after, default=str)) if after else None,
            ip=ip,
        )
    )
