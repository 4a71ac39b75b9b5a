"""An office's upload history, and what changed between two of its uploads (issue 14 item 3).

A mixin of :class:`monev.web.app.App`. Every upload is kept (never overwritten); the history
lists them all and any version can be downloaded (``/uploads/{id}/file``). The comparison is the
library's (:func:`monev.changes.compare_versions`) on each upload's check
(:func:`monev.web.checking.check_blob`); here only ids are checked and the page rendered.

Staff (admin, verifier, auditor) see any office's history; an office only its own: another
office's id, or an upload of another office in the comparison, answers 404 as an id that does
not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from monev.web import storage
from monev.web.checking import check_blob, rubric
from monev.web.db import Office, Period, Upload, User
from monev.web.ops import local_time
from monev.web.pages import render, wt
from monev.web.settings import Settings


@dataclass(frozen=True)
class Version:
    """One upload as the history shows it."""

    up: Upload
    period: Period
    who: str
    when: str  # in the period's time zone

    @property
    def kept(self) -> bool:
        """Its bytes were stored (an upload refused as too large keeps none)."""
        return bool(self.up.sha256)


def versions(db: Session, office_id: int) -> list[Version]:
    """Every upload of the office, newest first, over all periods."""
    rows = db.execute(
        select(Upload, Period, User.email)
        .join(Period, Period.id == Upload.period_id)
        .join(User, User.id == Upload.user_id)
        .where(Upload.office_id == office_id)
        .order_by(Upload.id.desc())
    )
    return [Version(up, p, email, local_time(up.received_at, p.zone)) for up, p, email in rows]


def default_pair(found: list[Version]) -> tuple[int | None, int | None]:
    """(from, to): the one before the latest kept upload, and the latest (None: too few)."""
    kept = [v.up.id for v in found if v.kept]
    return (kept[1] if len(kept) > 1 else None, kept[0] if kept else None)


def _id(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


def _points(value: Fraction | None) -> Decimal | None:
    from monev.scoring import round2

    return None if value is None else round2(value)


class HistoryPages:
    """The history and comparison pages."""

    settings: Settings

    def _history_office(self, request: Request, db: Session, user: User) -> Office:
        """The office of the URL when this user may see it; 404 otherwise (never 403)."""
        office = db.get(Office, request.path_params["office"])
        if office is None or (user.role == "office" and office.id != user.office_id):
            raise HTTPException(404)
        return office

    def history(self, request: Request, db: Session, user: User) -> Response:
        office = self._history_office(request, db, user)
        found = versions(db, office.id)
        before, after = default_pair(found)
        return render(
            request,
            "history.html.j2",
            office=office,
            versions=found,
            several_periods=len({v.period.id for v in found}) > 1,
            pick_from=before,
            pick_to=after,
        )

    def compare(self, request: Request, db: Session, user: User) -> Response:
        from monev.changes import compare_versions
        from monev.compare import signed
        from monev.results import Rejected

        lang = request.state.lang
        office = self._history_office(request, db, user)
        found = {v.up.id: v for v in versions(db, office.id)}
        default_from, default_to = default_pair(list(found.values()))
        first = _id(request, "from") or default_from
        last = _id(request, "to") or default_to
        if first is None or last is None:  # fewer than two kept uploads
            return render(
                request,
                "message.html.j2",
                404,
                message=wt("web.history.too_few", lang, office=office.name),
            )
        chosen = []
        for upload_id in (first, last):
            v = found.get(upload_id)
            if v is None:  # not this office's upload (or none at all): nothing to say
                raise HTTPException(404)
            if not v.kept:
                return render(
                    request,
                    "message.html.j2",
                    404,
                    message=wt("web.history.no_file", lang, id=v.up.id, file=v.up.original_name),
                )
            chosen.append(v)
        old, new = chosen
        results: list[Any] = []
        for v in chosen:
            path = storage.blob_path(
                self.settings.blob_dir, v.up.sha256, storage.suffix_of(v.up.original_name)
            )
            outcome = check_blob(path, v.period.rubric_id, v.up.original_name)
            results.append(
                outcome.result or Rejected(v.up.original_name, v.up.sha256, outcome.problems)
            )
        rb, rb_old = rubric(new.period.rubric_id), rubric(old.period.rubric_id)
        changes = compare_versions(rb, results[0], results[1], rubric_before=rb_old)
        questions = {ind.code: ind.question for ind in rb_old.indicators}
        questions |= {ind.code: ind.question for ind in rb.indicators}
        return render(
            request,
            "compare.html.j2",
            office=office,
            old=old,
            new=new,
            changes=changes,
            questions=questions,
            other_rubric=old.period.rubric_id != new.period.rubric_id,
            points=_points,
            signed=lambda value: signed(value, lang),
        )
