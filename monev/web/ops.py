"""What the operator and the pages do to the data: one function per state change, each with
its audit entry. The CLI (``monev web ...``) and the routes both call these."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from monev.identity import office_key
from monev.web import security
from monev.web.db import (
    Invitation,
    Office,
    Period,
    RubricFile,
    User,
    audit,
    make_engine,
    migrate,
    utcnow,
)
from monev.web.settings import ZONES, Settings


class OpError(Exception):
    """An operator mistake, with a message key and its parameters."""

    def __init__(self, key: str, **params: object):
        super().__init__(key)
        self.key = key
        self.params = params


class Store:
    """The database of one data folder: engine (migrated on open) and sessions."""

    def __init__(self, settings: Settings, engine: Engine | None = None):
        self.settings = settings
        try:
            self.engine = engine or make_engine(settings.db_url)
            migrate(self.engine)
        except ModuleNotFoundError as exc:  # a PostgreSQL URL without the postgres extra
            raise OpError("web.error.db_driver", module=exc.name or "psycopg") from None
        except (ArgumentError, OperationalError) as exc:
            raise OpError(
                "web.error.db", url=_safe_url(settings.db_url), detail=_first_line(exc)
            ) from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        from monev.web.checking import use_rubric_folder

        use_rubric_folder(settings.rubric_dir)  # every period's rubric is kept there by hash
        from monev.web.rubrics import pin_periods

        with self.session() as db:  # periods of older data named a shipped rubric by id
            pin_periods(db, settings.rubric_dir)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as db, db.begin():
            yield db


def _safe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "?"


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def create_admin(db: Session, email: str, password: str) -> User:
    email = email.strip().casefold()
    if "@" not in email:
        raise OpError("web.error.email")
    weak = security.password_problem(password)
    if weak:
        raise OpError(weak, min=security.MIN_PASSWORD)
    if db.scalar(select(User).where(User.email == email)):
        raise OpError("web.error.email_taken", email=email)
    user = User(email=email, password_hash=security.hash_password(password), role="admin")
    db.add(user)
    db.flush()
    audit(db, None, "user.create", "user", user.id, None, {"email": email, "role": "admin"})
    return user


def office_names(text: str) -> list[str]:
    """Office names from a list: one name per line, or a CSV with a ``Nama Kantor`` column."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return []
    head = lines[0]
    delim = ";" if head.count(";") > head.count(",") else ","
    cols = [c.strip().casefold() for c in head.split(delim)]
    if "nama kantor" in cols:
        rows = csv.DictReader(io.StringIO("\n".join(lines)), delimiter=delim)
        key = next(k for k in rows.fieldnames or [] if k.strip().casefold() == "nama kantor")
        names = [(r.get(key) or "").strip() for r in rows]
    else:
        names = [ln.strip() for ln in lines]
    seen: set[str] = set()
    out = []
    for n in names:
        if n and office_key(n) not in seen:
            seen.add(office_key(n))
            out.append(n)
    return out


def get_or_add_office(db: Session, actor: User | None, name: str, unit_type: str = "") -> Office:
    name = " ".join(name.split())
    if not name:
        raise OpError("web.error.office_name")
    office = db.scalar(select(Office).where(Office.key == office_key(name)))
    if office is None:
        office = Office(name=name, key=office_key(name), unit_type=unit_type)
        db.add(office)
        db.flush()
        audit(db, actor, "office.create", "office", office.id, None, {"name": name})
    return office


def _new_invitation(
    db: Session,
    settings: Settings,
    actor: User | None,
    role: str,
    office: Office | None,
    what: dict[str, object],
) -> str:
    """Store a single-use, expiring invitation (only its token's hash), audit it; its link."""
    token = security.new_token()
    inv = Invitation(
        office_id=office.id if office else None,
        role=role,
        token_sha256=security.token_sha256(token),
        expires_at=utcnow() + dt.timedelta(days=settings.invitation_days),
        created_by=actor.id if actor else None,
    )
    db.add(inv)
    db.flush()
    after = {**what, "expires_at": inv.expires_at}
    audit(db, actor, "invitation.create", "invitation", inv.id, None, after)
    return f"{settings.base_url.rstrip('/')}/invite/{token}"


def invite(
    db: Session, settings: Settings, actor: User | None, office_name: str
) -> tuple[Office, str]:
    """A single-use, expiring invitation link for one office (only its hash is stored)."""
    office = get_or_add_office(db, actor, office_name)
    return office, _new_invitation(db, settings, actor, "office", office, {"office": office.name})


def invite_staff(db: Session, settings: Settings, actor: User | None, role: str) -> str:
    """A single-use, expiring invitation link for a verifier's or an auditor's account."""
    if role not in ("verifier", "auditor"):
        raise OpError("web.error.role")
    return _new_invitation(db, settings, actor, role, None, {"role": role})


def find_invitation(db: Session, token: str) -> Invitation | None:
    """The invitation of ``token`` while it is unused and not expired, else None."""
    inv = db.scalar(
        select(Invitation).where(Invitation.token_sha256 == security.token_sha256(token))
    )
    if inv is None or inv.used_at is not None or inv.expires_at < utcnow():
        return None
    return inv


def accept_invitation(db: Session, token: str, email: str, password: str, ip: str = "") -> User:
    inv = find_invitation(db, token)
    if inv is None:
        raise OpError("web.invite.invalid")
    email = email.strip().casefold()
    if "@" not in email or len(email) > 254:
        raise OpError("web.error.email")
    weak = security.password_problem(password)
    if weak:
        raise OpError(weak, min=security.MIN_PASSWORD)
    if db.scalar(select(User).where(User.email == email)):
        raise OpError("web.error.email_taken", email=email)
    user = User(
        email=email,
        password_hash=security.hash_password(password),
        role=inv.role,
        office_id=inv.office_id,
    )
    db.add(user)
    db.flush()
    inv.used_at, inv.used_by = utcnow(), user.id
    audit(
        db,
        user,
        "invitation.accept",
        "invitation",
        inv.id,
        {"used_at": None},
        {"used_by": user.id},
        ip,
    )
    audit(db, user, "user.create", "user", user.id, None, {"email": email, "role": inv.role}, ip)
    return user


def parse_deadline(text: str, zone: str) -> dt.datetime:
    """``2026-12-15T23:59`` in ``zone`` (WIB, WITA, WIT) -> naive UTC."""
    if zone not in ZONES:
        raise OpError("web.error.zone")
    try:
        local = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise OpError("web.error.deadline") from None
    return (local - dt.timedelta(hours=ZONES[zone])).replace(tzinfo=None)


def local_time(utc: dt.datetime, zone: str) -> str:
    return (utc + dt.timedelta(hours=ZONES.get(zone, 7))).strftime("%Y-%m-%d %H:%M") + f" {zone}"


def check_period(db: Session, year: int, deadline: str, zone: str) -> dt.datetime:
    """Raise :class:`OpError` when a period of ``year`` cannot be opened with this deadline
    (checked before an uploaded rubric is kept); the deadline in UTC."""
    if not 2000 <= year <= 2100:
        raise OpError("web.error.year")
    if db.scalar(select(Period).where(Period.year == year)):
        raise OpError("web.error.period_exists", year=year)
    return parse_deadline(deadline, zone)


def open_period(
    db: Session,
    actor: User,
    year: int,
    rubric_id: str,
    deadline: str,
    zone: str = "WIB",
    ip: str = "",
    rubric_dir: Path | None = None,
) -> Period:
    """Open the period of ``year`` with a shipped rubric (its id) or an uploaded one
    (``sha256:<hash>`` of a :class:`~monev.web.db.RubricFile`, see :mod:`monev.web.rubrics`).
    A shipped rubric's file is kept by hash in ``rubric_dir`` (default: that of the data folder
    opened last) as an uploaded one is, and the period names it ``sha256:<hash>`` too: a monev
    upgrade that changes the shipped file cannot rescore the period."""
    from monev.rubric import RubricError, shipped
    from monev.web.checking import UPLOADED, rubric, rubric_folder
    from monev.web.rubrics import pin_shipped

    kept = None
    source = "uploaded"
    if rubric_id.startswith(UPLOADED):
        kept = db.scalar(select(RubricFile).where(RubricFile.sha256 == rubric_id[len(UPLOADED) :]))
        if kept is None:
            raise OpError("web.error.rubric", rubric=rubric_id)
    elif rubric_id not in shipped():
        raise OpError("web.error.rubric", rubric=rubric_id)
    deadline_utc = check_period(db, year, deadline, zone)
    try:
        if kept is None:  # a shipped rubric: its file kept by hash, as an uploaded one
            folder = rubric_dir or rubric_folder()
            if folder is None:
                raise RubricError(rubric_id, [("", "no data folder is open")])
            kept = pin_shipped(db, folder, actor, rubric_id)
            assert kept is not None  # no hash expected: always kept
            source = "shipped"
        ref = UPLOADED + kept.sha256
        rb = rubric(ref)
    except RubricError:
        raise OpError("web.error.rubric", rubric=rubric_id) from None
    period = Period(
        year=year,
        rubric_id=ref,
        rubric_sha256=rb.sha256,
        rubric_file_id=kept.id,
        deadline_utc=deadline_utc,
        zone=zone,
        status="open",
    )
    db.add(period)
    db.flush()
    audit(
        db,
        actor,
        "period.open",
        "period",
        period.id,
        None,
        {
            "year": year,
            "rubric": rb.id,
            "rubric_version": str(rb.version),
            "rubric_sha256": rb.sha256,
            "rubric_source": source,
            "rubric_ref": ref,
            "deadline_utc": period.deadline_utc,
            "zone": zone,
        },
        ip,
    )
    return period


def current_period(db: Session) -> Period | None:
    """The newest open period."""
    return db.scalar(
        select(Period).where(Period.status == "open").order_by(Period.year.desc()).limit(1)
    )


def read_office_list(path: Path) -> list[str]:
    """Office names from the city's registry (``monev score --offices``: a workbook, or a CSV with
    a ``Nama Kantor`` column), or from a plain list with one name per line."""
    from monev.registry import load_registry

    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm", ".ods"):
        registry = load_registry(path)
        if not registry.usable:
            problem = registry.problems[0] if registry.problems else None
            raise OpError("web.error.registry", detail=problem.text() if problem else path.name)
        return [e.name for e in registry.entries]
    return office_names(path.read_text(encoding="utf-8-sig"))
