"""Verification (issue 14 step 2): decisions per indicator, later-stage scores, objections, and
the decisions carried back into a workbook.

A decision is one of the rubric's own verdicts (:meth:`monev.rubric.Rubric.verdicts`). The
decisions reach the score only through a workbook: :func:`decided_workbook` writes them into the
``Verifikasi`` and ``Catatan Verifikator`` columns of a fresh copy of the office's latest upload
(:func:`monev.template.carry_over`), and :func:`decided_result` scores that copy with the library
exactly as ``monev score --verifier-from-workbooks --stages`` does. Nothing here decides a score.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monev.batch import ReadOptions, finish, read_one
from monev.results import OfficeResult, Rejected
from monev.rubric import Rubric
from monev.web import storage
from monev.web.checking import rubric
from monev.web.db import (
    Decision,
    Objection,
    Office,
    Period,
    StageScore,
    Upload,
    User,
    audit,
    utcnow,
)
from monev.web.settings import Settings

MAX_NOTE = 2000


class VerifyError(Exception):
    """A form the verifier or the office must correct, with a message key and parameters."""

    def __init__(self, key: str, **params: object):
        super().__init__(key)
        self.key = key
        self.params = params


def later_stages(rb: Rubric) -> list[str]:
    """The stages a verifier enters (every stage after the SAQ)."""
    return [s.code for s in rb.stages[1:]]


def latest_upload(db: Session, period: Period, office_id: int) -> Upload | None:
    """The office's newest upload that the library could score (the one a verifier verifies)."""
    return db.scalar(
        select(Upload)
        .where(
            Upload.period_id == period.id,
            Upload.office_id == office_id,
            Upload.status == "checked",
        )
        .order_by(Upload.id.desc())
        .limit(1)
    )


def upload_path(settings: Settings, up: Upload) -> Path:
    return storage.blob_path(settings.blob_dir, up.sha256, storage.suffix_of(up.original_name))


def decisions_of(db: Session, period: Period, office_id: int) -> dict[str, Decision]:
    rows = db.scalars(
        select(Decision).where(Decision.period_id == period.id, Decision.office_id == office_id)
    )
    return {d.code: d for d in rows}


def stages_of(db: Session, period: Period, office_id: int) -> dict[str, str]:
    rows = db.scalars(
        select(StageScore).where(
            StageScore.period_id == period.id, StageScore.office_id == office_id
        )
    )
    return {s.stage: s.value for s in rows}


def _note(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_NOTE:
        raise VerifyError("web.verify.too_long", max=MAX_NOTE)
    return text


# --- state changes -----------------------------------------------------------------------------


def decide(
    db: Session,
    actor: User,
    period: Period,
    office: Office,
    code: str,
    verdict: str,
    note: str,
    upload_id: int | None,
    ip: str = "",
) -> Decision | None:
    """Set (or, with an empty ``verdict``, withdraw) the decision on one indicator."""
    rb = rubric(period.rubric_id)
    if code not in {i.code for i in rb.indicators}:
        raise VerifyError("web.verify.unknown_code", code=code)
    verdicts = list(rb.verdicts().values())
    if verdict and verdict not in verdicts:
        raise VerifyError("web.verify.unknown_verdict", verdicts=", ".join(verdicts))
    note = _note(note)
    if not verdict:
        found = _locked(db, period, office, code)
        if found is None:
            return None
        if db.scalar(select(Objection).where(Objection.decision_id == found.id)):
            raise VerifyError("web.verify.has_objection")
        was = {"verdict": found.verdict, "note": found.note}
        done: Any = db.execute(delete(Decision).where(Decision.id == found.id))
        gone = done.rowcount
        db.expunge(found)
        if gone:  # another verifier may have withdrawn it first: nothing to record then
            audit(db, actor, "decision.withdraw", "decision", found.id, was, None, ip)
        return None
    created = _claim(db, period, office, code, actor)
    found = _locked(db, period, office, code)
    assert found is not None
    before: dict[str, str] | None = None
    if not created:
        before = {"verdict": found.verdict, "note": found.note}
    if before is not None and (found.verdict, found.note) == (verdict, note):
        return found
    found.verdict, found.note, found.upload_id = verdict, note, upload_id
    found.verifier_id, found.decided_at = actor.id, utcnow()
    db.flush()
    after = {"office": office.name, "code": code, "verdict": verdict, "note": note}
    audit(db, actor, "decision.set", "decision", found.id, before, after, ip)
    return found


def _claim(db: Session, period: Period, office: Office, code: str, actor: User) -> bool:
    """Make sure the row of this decision exists; True when this call made it.

    Two verifiers may decide the same indicator at the same moment: a plain INSERT after a
    SELECT that found nothing then broke the unique constraint of the second (a 500). This is
    an INSERT ... ON CONFLICT DO NOTHING instead (SQLite and PostgreSQL both have it): the
    second waits for the first's transaction (SQLite's one writer, PostgreSQL's unique index),
    then finds the row and changes it, and both decisions are in the audit log."""
    values = {
        "period_id": period.id,
        "office_id": office.id,
        "code": code,
        "verdict": "",
        "note": "",
        "verifier_id": actor.id,
        "decided_at": utcnow(),
    }
    keys = ["period_id", "office_id", "code"]
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(Decision).values(values).on_conflict_do_nothing(index_elements=keys)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(Decision).values(values).on_conflict_do_nothing(index_elements=keys)
    # RETURNING, not rowcount: psycopg reports no count for a conflict that did nothing (the
    # second of two decisions was then taken for a new row, with no "before" in the audit log).
    done: Any = db.execute(stmt.returning(Decision.id))
    return done.first() is not None


def _locked(db: Session, period: Period, office: Office, code: str) -> Decision | None:
    """The decision as committed now (not as this session last saw it), locked for this
    transaction on PostgreSQL (SQLite: the write lock already serialises writers)."""
    return db.scalar(
        select(Decision)
        .where(
            Decision.period_id == period.id,
            Decision.office_id == office.id,
            Decision.code == code,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def set_stage(
    db: Session, actor: User, period: Period, office: Office, stage: str, raw: str, ip: str = ""
) -> None:
    """Enter (or, with an empty value, clear) one later-stage score, 0 to 100."""
    from monev.stages import parse_stage_value

    rb = rubric(period.rubric_id)
    if stage not in later_stages(rb):
        raise VerifyError("web.verify.unknown_stage", stage=stage)
    raw = raw.strip()
    value = parse_stage_value(raw) if raw else None
    if raw and (value is None or not Decimal(0) <= value <= Decimal(100)):
        raise VerifyError("web.verify.stage_value", stage=stage, value=raw)
    found = db.scalar(
        select(StageScore).where(
            StageScore.period_id == period.id,
            StageScore.office_id == office.id,
            StageScore.stage == stage,
        )
    )
    before = {"stage": stage, "value": found.value} if found else None
    if value is None:
        if found is not None:
            db.delete(found)
            audit(db, actor, "stage.clear", "stage_score", found.id, before, None, ip)
        return
    text = str(value)
    if found is not None and found.value == text:
        return
    if found is None:
        found = StageScore(
            period_id=period.id, office_id=office.id, stage=stage, verifier_id=actor.id
        )
        db.add(found)
    found.value, found.verifier_id, found.entered_at = text, actor.id, utcnow()
    db.flush()
    after = {"office": office.name, "stage": stage, "value": text}
    audit(db, actor, "stage.set", "stage_score", found.id, before, after, ip)


def objection_open(period: Period, now: dt.datetime | None = None) -> bool:
    """Objections are taken only until the period's objection window closes (none: never)."""
    until = period.objection_until_utc
    return until is not None and (now or utcnow()) <= until


def object_to(
    db: Session,
    user: User,
    period: Period,
    decision: Decision,
    reason: str,
    evidence: str = "",
    ip: str = "",
) -> Objection:
    """The office's one objection to ``decision`` (its own: the caller checks the office)."""
    if not objection_open(period):
        raise VerifyError("web.objection.closed")
    if db.scalar(select(Objection).where(Objection.decision_id == decision.id)):
        raise VerifyError("web.objection.once")
    reason = _note(reason)
    if not reason:
        raise VerifyError("web.objection.reason")
    obj = Objection(
        decision_id=decision.id,
        office_id=decision.office_id,
        user_id=user.id,
        reason=reason,
        evidence=_note(evidence),
    )
    db.add(obj)
    db.flush()
    after = {"code": decision.code, "verdict": decision.verdict, "reason": reason}
    if obj.evidence:
        after["evidence"] = obj.evidence
    audit(db, user, "objection.create", "objection", obj.id, None, after, ip)
    return obj


def answer_objection(
    db: Session,
    actor: User,
    period: Period,
    obj: Objection,
    accept: bool,
    answer: str,
    verdict: str = "",
    ip: str = "",
) -> None:
    """Accept (the decision becomes ``verdict``) or reject (it stays) an open objection."""
    if obj.status != "open":
        raise VerifyError("web.objection.answered")
    answer = _note(answer)
    if not answer:
        raise VerifyError("web.objection.answer_needed")
    decision = db.get(Decision, obj.decision_id)
    assert decision is not None
    before = {"status": "open", "verdict": decision.verdict}
    if accept:
        verdicts = list(rubric(period.rubric_id).verdicts().values())
        if verdict not in verdicts or verdict == decision.verdict:
            raise VerifyError(
                "web.objection.new_verdict",
                verdicts=", ".join(v for v in verdicts if v != decision.verdict),
            )
        old = {"verdict": decision.verdict, "note": decision.note}
        decision.verdict, decision.verifier_id, decision.decided_at = verdict, actor.id, utcnow()
        decision.note = answer  # the old note gave the reason of the old verdict
        audit(
            db,
            actor,
            "decision.set",
            "decision",
            decision.id,
            old,
            {"code": decision.code, "verdict": verdict, "note": answer, "objection": obj.id},
            ip,
        )
    obj.status = "accepted" if accept else "rejected"
    obj.answer, obj.answered_by, obj.answered_at = answer, actor.id, utcnow()
    after = {"status": obj.status, "verdict": decision.verdict, "answer": answer}
    audit(db, actor, "objection.answer", "objection", obj.id, before, after, ip)


# --- the decisions in a workbook, and the score they make -----------------------------------


def decided_workbook(
    source: Path,
    rb: Rubric,
    office: Office,
    decisions: dict[str, tuple[str, str]],
    stamp: dt.datetime = dt.datetime(2000, 1, 1),
) -> bytes:
    """The office's workbook with the verifier's columns filled: a fresh questionnaire with
    everything the office wrote carried over (:func:`monev.template.carry_over`), and in
    ``Verifikasi`` / ``Catatan Verifikator`` exactly the decisions given (code -> (verdict,
    note)). Whatever the office itself wrote in those columns is cleared: a run that trusts the
    workbooks' verifier columns must find only the verifier's decisions there.

    The bytes depend only on the inputs (``stamp``, the upload's time, is the document's date):
    the same decisions give the same file and the same SHA-256, today and at publishing."""
    from monev.template import HEADER_ROW, ORDER, build_template, carry_over
    from monev.workbook import SHEET_QUESTIONS

    wb = build_template(rb, office=office.name, unit_type=office.unit_type)
    carry_over(wb, rb, source)
    ws = wb[SHEET_QUESTIONS]
    col = {key: i for i, key in enumerate(ORDER, start=1)}
    for r in range(HEADER_ROW + 1, ws.max_row + 1):
        code = str(ws.cell(row=r, column=col["code"]).value or "")
        verdict, note = decisions.get(code, ("", ""))
        for key, text in (("verification", verdict), ("verifier_note", note)):
            c = ws.cell(row=r, column=col[key])
            c.value = text or None
            if text:
                c.data_type = "s"
    buf = io.BytesIO()
    wb.save(buf)
    return _stable_zip(buf.getvalue(), stamp)


def _stable_zip(data: bytes, stamp: dt.datetime) -> bytes:
    """The same .xlsx with ``stamp`` as its created / modified date and as every member's time
    (openpyxl writes the time of saving there)."""
    import re
    import zipfile

    when = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "docProps/core.xml":
                body = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>" + when + rb"\3",
                    body,
                )
            member = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = info.external_attr
            dst.writestr(member, body)
    return out.getvalue()


def stages_csv(rows: list[tuple[str, dict[str, str]]], stages: list[str]) -> bytes:
    """A stages file (``monev score --stages``) of (office name, stage -> value) rows."""
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\n")
    w.writerow(["Nama Kantor", *stages])
    for name, values in rows:
        w.writerow([name, *(values.get(s, "").replace(".", ",") for s in stages)])
    return out.getvalue().encode("utf-8")


@dataclass(frozen=True)
class Decided:
    """The office's latest upload as the verifier's decisions make it."""

    upload: Upload
    workbook: bytes
    result: OfficeResult | Rejected


def decided(settings: Settings, db: Session, period: Period, office: Office) -> Decided | None:
    """The latest scorable upload with the decisions and stage scores written in, scored."""
    up = latest_upload(db, period, office.id)
    if up is None:
        return None
    rb = rubric(period.rubric_id)
    decisions = {c: (d.verdict, d.note) for c, d in decisions_of(db, period, office.id).items()}
    data = _decided_bytes(
        upload_path(settings, up),
        period.rubric_id,
        office.name,
        office.unit_type,
        tuple(sorted(decisions.items())),
        up.received_at,
    )
    stages = stages_csv([(office.name, stages_of(db, period, office.id))], later_stages(rb))
    return Decided(up, data, _score(data, stages, period.rubric_id, up.original_name))


@lru_cache(maxsize=512)
def _decided_bytes(
    path: Path,
    rubric_id: str,
    name: str,
    unit_type: str,
    decisions: tuple[tuple[str, tuple[str, str]], ...],
    stamp: dt.datetime,
) -> bytes:
    """:func:`decided_workbook`, kept per inputs (about 0.2 s each to build: the dashboard asks
    for every office's)."""
    office = Office(name=name, unit_type=unit_type)
    return decided_workbook(path, rubric(rubric_id), office, dict(decisions), stamp)


@lru_cache(maxsize=512)
def _score(workbook: bytes, stages: bytes, rubric_id: str, name: str) -> OfficeResult | Rejected:
    from monev.stages import load_stages

    rb = rubric(rubric_id)
    with tempfile.TemporaryDirectory(prefix="monev-decided-") as tmp:
        wb_path = Path(tmp) / (hashlib.sha256(workbook).hexdigest() + ".xlsx")
        wb_path.write_bytes(workbook)
        st_path = Path(tmp) / "tahapan.csv"
        st_path.write_bytes(stages)
        table = load_stages(st_path, rb)
        options = ReadOptions(stages=table, verifier_from_workbooks=True)
        return finish(read_one(wb_path, rb, name, options), rb)
