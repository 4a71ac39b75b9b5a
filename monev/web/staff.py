"""Pages of issue 14 step 2: verification, objections, the auditor, the dashboard, snapshots.

A mixin of :class:`monev.web.app.App`: the handlers call :mod:`monev.web.verification` and
:mod:`monev.web.snapshot` for every state change; here only forms are read and pages rendered.
"""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from monev.results import OfficeResult
from monev.web import verification
from monev.web.checking import check_blob, rubric
from monev.web.db import AuditEntry, Decision, Objection, Office, Period, Snapshot, User, audit
from monev.web.ops import OpError, current_period, local_time
from monev.web.pages import client_ip, render, wt
from monev.web.settings import Settings


class StaffPages:
    """Verifier, office-objection, auditor, dashboard and snapshot handlers."""

    settings: Settings

    def admin(
        self, request: Request, db: Session, user: User, error: str = "", status: int = 200
    ) -> Response:  # the admin page (App)
        raise NotImplementedError

    # --- verification (step 2) ------------------------------------------------------------------

    def _period(self, db: Session) -> Period:
        period = current_period(db)
        if period is None:
            raise HTTPException(404)
        return period

    def _office_of_url(self, request: Request, db: Session) -> Office:
        office = db.get(Office, request.path_params["office"])
        if office is None:
            raise HTTPException(404)
        return office

    def verify_list(self, request: Request, db: Session, user: User) -> Response:
        """Every office with its latest upload, decisions made and objections waiting."""
        period = current_period(db)
        rows = []
        if period is not None:
            for office in db.scalars(select(Office).order_by(Office.name)):
                open_objections = db.scalar(
                    select(func.count())
                    .select_from(Objection)
                    .join(Decision, Decision.id == Objection.decision_id)
                    .where(
                        Objection.office_id == office.id,
                        Objection.status == "open",
                        Decision.period_id == period.id,
                    )
                )
                rows.append(
                    {
                        "office": office,
                        "latest": verification.latest_upload(db, period, office.id),
                        "decided": len(verification.decisions_of(db, period, office.id)),
                        "objections": open_objections,
                    }
                )
        return render(request, "verify_list.html.j2", period=period, rows=rows)

    def verify_office(
        self, request: Request, db: Session, user: User, error: str = "", status: int = 200
    ) -> Response:
        """One office: each indicator with the answer and evidence (as text), the decision and
        its note, any objection; forms for a verifier, read-only for an admin or an auditor."""
        period = self._period(db)
        office = self._office_of_url(request, db)
        return self._decisions_page(request, db, user, period, office, error, status)

    def _decisions_page(
        self,
        request: Request,
        db: Session,
        user: User,
        period: Period,
        office: Office,
        error: str = "",
        status: int = 200,
    ) -> Response:
        rb = rubric(period.rubric_id)
        d = verification.decided(self.settings, db, period, office)
        decisions = verification.decisions_of(db, period, office.id)
        objections = {
            o.decision_id: o
            for o in db.scalars(select(Objection).where(Objection.office_id == office.id))
        }
        answers: dict[str, Any] = {}
        if d is not None:
            path = verification.upload_path(self.settings, d.upload)
            checked = check_blob(path, period.rubric_id, d.upload.original_name).result
            if checked is not None:
                answers = {i.code: i for i in checked.score.indicators}
        items = []
        for ind in rb.indicators:
            dec = decisions.get(ind.code)
            items.append(
                {
                    "code": ind.code,
                    "question": ind.question,
                    "answer": answers.get(ind.code),
                    "decision": dec,
                    "objection": objections.get(dec.id) if dec else None,
                }
            )
        result = d.result if d is not None and isinstance(d.result, OfficeResult) else None
        return render(
            request,
            "verify_office.html.j2",
            status,
            period=period,
            office=office,
            upload=d.upload if d else None,
            result=result,
            items=items,
            verdicts=list(rb.verdicts().values()),
            stages=[(s, self._stage_name(rb, s)) for s in verification.later_stages(rb)],
            stage_values=verification.stages_of(db, period, office.id),
            can_verify=user.role == "verifier",
            can_object=user.role == "office" and verification.objection_open(period),
            objection_until=local_time(period.objection_until_utc, period.zone)
            if period.objection_until_utc
            else "",
            error=error,
        )

    @staticmethod
    def _stage_name(rb: Any, code: str) -> str:
        return next((s.name for s in rb.stages if s.code == code), code)

    def verify_decide(self, request: Request, db: Session, user: User, form: FormData) -> Response:
        period = self._period(db)
        office = self._office_of_url(request, db)
        up = verification.latest_upload(db, period, office.id)
        try:
            verification.decide(
                db,
                user,
                period,
                office,
                str(form.get("code") or ""),
                str(form.get("verdict") or ""),
                str(form.get("note") or ""),
                up.id if up else None,
                client_ip(request),
            )
        except verification.VerifyError as exc:
            msg = wt(exc.key, request.state.lang, **exc.params)
            return self._decisions_page(request, db, user, period, office, msg, 400)
        return RedirectResponse(f"/verify/{office.id}#i-{form.get('code')}", 303)

    def verify_stages(self, request: Request, db: Session, user: User, form: FormData) -> Response:
        period = self._period(db)
        office = self._office_of_url(request, db)
        try:
            for stage in verification.later_stages(rubric(period.rubric_id)):
                if f"stage-{stage}" in form:
                    verification.set_stage(
                        db,
                        user,
                        period,
                        office,
                        stage,
                        str(form.get(f"stage-{stage}") or ""),
                        client_ip(request),
                    )
        except verification.VerifyError as exc:
            msg = wt(exc.key, request.state.lang, **exc.params)
            return self._decisions_page(request, db, user, period, office, msg, 400)
        return RedirectResponse(f"/verify/{office.id}", 303)

    def objection_answer(
        self, request: Request, db: Session, user: User, form: FormData
    ) -> Response:
        period = self._period(db)
        obj = db.get(Objection, request.path_params["id"])
        if obj is None:
            raise HTTPException(404)
        office = db.get(Office, obj.office_id)
        assert office is not None
        try:
            verification.answer_objection(
                db,
                user,
                period,
                obj,
                form.get("outcome") == "accept",
                str(form.get("answer") or ""),
                str(form.get("verdict") or ""),
                client_ip(request),
            )
        except verification.VerifyError as exc:
            msg = wt(exc.key, request.state.lang, **exc.params)
            return self._decisions_page(request, db, user, period, office, msg, 400)
        return RedirectResponse(f"/verify/{office.id}", 303)

    def _decided_download(self, db: Session, office: Office) -> Response:
        from monev.report import safe_name

        period = self._period(db)
        d = verification.decided(self.settings, db, period, office)
        if d is None:
            raise HTTPException(404)
        name = f"kuesioner-{period.year}-{safe_name(office.name)}-verifikasi.xlsx"
        return Response(
            d.workbook,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    def verify_download(self, request: Request, db: Session, user: User) -> Response:
        return self._decided_download(db, self._office_of_url(request, db))

    # --- the office's side of verification --------------------------------------------------

    def office_decisions(self, request: Request, db: Session, user: User) -> Response:
        period = self._period(db)
        office = db.get(Office, user.office_id)
        assert office is not None
        return self._decisions_page(request, db, user, period, office)

    def office_object(self, request: Request, db: Session, user: User, form: FormData) -> Response:
        period = self._period(db)
        office = db.get(Office, user.office_id)
        assert office is not None
        raw = str(form.get("decision") or "")
        decision = db.get(Decision, int(raw)) if raw.isdigit() else None
        if (
            decision is None
            or decision.office_id != user.office_id
            or decision.period_id != period.id
        ):
            raise HTTPException(404)  # another office's decision: as one that does not exist
        try:
            verification.object_to(
                db,
                user,
                period,
                decision,
                str(form.get("reason") or ""),
                str(form.get("evidence") or ""),
                client_ip(request),
            )
        except verification.VerifyError as exc:
            msg = wt(exc.key, request.state.lang, **exc.params)
            return self._decisions_page(request, db, user, period, office, msg, 400)
        return RedirectResponse("/office/decisions", 303)

    def office_download(self, request: Request, db: Session, user: User) -> Response:
        office = db.get(Office, user.office_id)
        assert office is not None
        return self._decided_download(db, office)

    # --- auditor, dashboard, snapshots ----------------------------------------------------------

    def auditor_page(self, request: Request, db: Session, user: User) -> Response:
        period = current_period(db)
        return render(
            request,
            "auditor.html.j2",
            period=period,
            snapshots=list(db.scalars(select(Snapshot).order_by(Snapshot.id.desc()))),
            audit_log=list(db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(30))),
        )

    def audit_csv(self, request: Request, db: Session, user: User) -> Response:
        import csv

        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(
            ["id", "at_utc", "actor", "action", "entity", "entity_id", "before", "after", "ip"]
        )
        for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id)):
            w.writerow(
                [
                    e.id,
                    e.at.isoformat(timespec="seconds"),
                    e.actor,
                    e.action,
                    e.entity,
                    e.entity_id if e.entity_id is not None else "",
                    _json(e.before),
                    _json(e.after),
                    e.ip,
                ]
            )
        return Response(
            out.getvalue().encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="catatan-perubahan.csv"'},
        )

    def dashboard_page(self, request: Request, db: Session, user: User) -> Response:
        from monev.web.snapshot import dashboard

        period = self._period(db)
        return render(
            request,
            "dashboard.html.j2",
            period=period,
            board=dashboard(self.settings, db, period),
            deadline=local_time(period.deadline_utc, period.zone),
            snapshots=list(
                db.scalars(
                    select(Snapshot)
                    .where(Snapshot.period_id == period.id)
                    .order_by(Snapshot.id.desc())
                )
            ),
            error="",
        )

    def admin_publish(self, request: Request, db: Session, user: User, form: FormData) -> Response:
        from monev.web.rendering import enqueue_snapshot
        from monev.web.snapshot import PublishError, publish

        period = self._period(db)
        pdf = self.settings.pdf
        try:  # the PDFs are rendered in the background (monev.web.rendering), not here
            snap = publish(self.settings, db, user, period, pdf, client_ip(request), later_pdfs=pdf)
        except PublishError as exc:
            return self.admin(request, db, user, wt(exc.key, request.state.lang, **exc.params), 409)
        if pdf:
            enqueue_snapshot(db, snap.id)
        return RedirectResponse(f"/snapshots/{snap.id}", 303)

    def admin_staff(self, request: Request, db: Session, user: User, form: FormData) -> Response:
        from monev.web.ops import invite_staff

        try:
            link = invite_staff(db, self.settings, user, str(form.get("role") or ""))
        except OpError as exc:
            return self.admin(request, db, user, wt(exc.key, request.state.lang), 400)
        role = wt(f"web.role.{form.get('role')}", request.state.lang)
        return render(request, "links.html.j2", links=[(role, link)])

    def admin_objection_window(
        self, request: Request, db: Session, user: User, form: FormData
    ) -> Response:
        from monev.web.ops import parse_deadline

        period = self._period(db)
        raw = str(form.get("objection_until") or "").strip()
        try:
            until = parse_deadline(raw, period.zone) if raw else None
        except OpError as exc:
            return self.admin(request, db, user, wt(exc.key, request.state.lang), 400)
        before = {"objection_until_utc": period.objection_until_utc}
        period.objection_until_utc = until
        audit(
            db,
            user,
            "period.objection_window",
            "period",
            period.id,
            before,
            {"objection_until_utc": until},
            client_ip(request),
        )
        return RedirectResponse("/admin", 303)

    def _snapshot_pdf(self, request: Request, db: Session) -> tuple[Snapshot, dict[str, str]]:
        from monev.web.rendering import snapshot_job

        snap = db.get(Snapshot, request.path_params["id"])
        if snap is None:
            raise HTTPException(404)
        job = snapshot_job(db, snap.id)
        return snap, {"status": job.status if job else "none", "error": job.error if job else ""}

    def snapshot_page(self, request: Request, db: Session, user: User) -> Response:
        snap, pdf = self._snapshot_pdf(request, db)
        period = db.get(Period, snap.period_id)
        return render(request, "snapshot.html.j2", snap=snap, period=period, pdf=pdf)

    def snapshot_pdf_status(self, request: Request, db: Session, user: User) -> Response:
        """The state of a snapshot's PDFs, for the snapshot page's script (static/poll.js)."""
        from starlette.responses import JSONResponse

        return JSONResponse({"status": self._snapshot_pdf(request, db)[1]["status"]})

    def snapshot_download(self, request: Request, db: Session, user: User) -> Response:
        from monev.web.snapshot import snapshot_file

        snap = db.get(Snapshot, request.path_params["id"])
        found = snapshot_file(self.settings, snap, request.path_params["name"]) if snap else None
        if found is None or not found[0].is_file():
            raise HTTPException(404)
        path, sha = found
        return FileResponse(
            path,
            filename=path.name,
            media_type="application/octet-stream",
            headers={"X-Content-SHA256": sha},
        )


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value is not None else ""
