"""Routes and pages: a Starlette application over :mod:`monev.web.ops` and the library.

Pages are Jinja2 templates rendered on the server (autoescaped, StrictUndefined; see
:mod:`.pages`); there is no JavaScript. The pages of verification, objections, the auditor, the
dashboard and snapshots are in :mod:`.staff`. Every POST carries the session's CSRF token. An
office reaches only its own uploads: any other id answers 404, exactly as an id that does not
exist.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, MutableHeaders, UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from monev.i18n import DEFAULT_LANG, LANGS
from monev.results import OfficeResult
from monev.rubric import RubricError
from monev.web import rendering, security, storage, verification
from monev.web.checking import (
    UPLOADED,
    WORKERS,
    check_blob,
    other_office,
    page_context,
    rubric,
    warm_up,
)
from monev.web.db import (
    AuditEntry,
    Office,
    Period,
    Upload,
    User,
    audit,
    utcnow,
)
from monev.web.history import HistoryPages
from monev.web.ops import (
    OpError,
    Store,
    accept_invitation,
    check_period,
    current_period,
    find_invitation,
    local_time,
    office_names,
    open_period,
)
from monev.web.ops import invite as make_invitation
from monev.web.pages import (
    HERE,
    HOME,
    check_csrf,
    client_ip,
    error_page,
    load_user,
    render,
    warm_pages,
    wt,
)
from monev.web.rubrics import RubricRefused, add_rubric, identity_of, period_identity
from monev.web.rubrics import uploaded as uploaded_rubrics
from monev.web.settings import ZONES, Settings
from monev.web.staff import StaffPages

SESSION_HOURS = 12
BODY_MARGIN = 64 * 1024  # multipart framing and the other fields around the file


class App(StaffPages, HistoryPages):
    """Handlers of one running application (one :class:`Store`)."""

    def __init__(self, store: Store):
        self.store = store
        self.settings = store.settings

    # Each handler runs its database work in a worker thread, inside one transaction.
    def page(
        self, handler: Callable[..., Response], roles: tuple[str, ...] = (), form: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            data = await request.form() if form and request.method == "POST" else None
            if data is not None:
                check_csrf(request, data)
            return await run_in_threadpool(self._run, handler, roles, request, data)

        return endpoint

    def _run(
        self,
        handler: Callable[..., Response],
        roles: tuple[str, ...],
        request: Request,
        data: FormData | None,
    ) -> Response:
        try:
            with self.store.session() as db:
                return self._in_session(handler, roles, request, data, db)
        except _Undone as undone:  # the transaction was rolled back: nothing half-done is kept
            return undone.response

    def _in_session(
        self,
        handler: Callable[..., Response],
        roles: tuple[str, ...],
        request: Request,
        data: FormData | None,
        db: Session,
    ) -> Response:
        user = load_user(request, db)
        request.state.user = user
        request.state.lang = self._lang(request, user)
        try:
            auditor = user is not None and user.role == "auditor"
            if auditor and request.method == "POST" and request.url.path != "/logout":
                raise HTTPException(403, "read-only")  # an auditor reads; nothing else
            if roles and (user is None or user.role not in roles):
                if user is None:
                    return RedirectResponse("/login", 303)
                raise HTTPException(404)
            if data is not None:
                return handler(request, db, user, data)
            return handler(request, db, user)
        except HTTPException as exc:  # rendered here, while the user is still loaded
            return error_page(request, exc.status_code, exc.detail)
        except RubricError as exc:  # the period's rubric cannot be used: never another one
            logging.getLogger("monev.web").error("rubric unusable: %s", exc)
            page = render(request, "message.html.j2", 503, message=_unusable(request))
            raise _Undone(page) from None

    @staticmethod
    def _lang(request: Request, user: User | None) -> str:
        asked = request.query_params.get("lang")
        if asked in LANGS:
            request.session["lang"] = asked
            return asked
        if request.session.get("lang") in LANGS:
            return str(request.session["lang"])
        return user.lang if user and user.lang in LANGS else DEFAULT_LANG

    # --- login ---------------------------------------------------------------------------------

    def home(self, request: Request, db: Session, user: User | None) -> Response:
        if user is None:
            return RedirectResponse("/login", 303)
        return RedirectResponse(HOME[user.role], 303)

    def login_form(self, request: Request, db: Session, user: User | None) -> Response:
        return render(request, "login.html.j2", error="")

    def login(self, request: Request, db: Session, user: User | None, form: FormData) -> Response:
        s = self.settings
        email = str(form.get("email") or "").strip().casefold()
        password = str(form.get("password") or "")
        keys = security.login_keys(email, client_ip(request))
        if security.login_blocked(db, keys, s.login_limit, s.login_window_minutes):
            msg = wt("web.login.blocked", request.state.lang, minutes=s.login_window_minutes)
            return render(request, "login.html.j2", 429, error=msg)
        found = db.scalar(select(User).where(User.email == email))
        ok = security.verify_password(
            found.password_hash if found else security.dummy_hash(), password
        )
        if not (found and ok and found.active):
            security.record_failure(db, keys, s.login_window_minutes)
            msg = wt("web.login.failed", request.state.lang)
            return render(request, "login.html.j2", 401, error=msg)
        security.clear_failures(db, email)
        lang = request.session.get("lang")
        request.session.clear()
        request.session.update(uid=found.id, gen=found.session_gen, csrf=secrets.token_urlsafe(32))
        if lang in LANGS:
            request.session["lang"] = lang
        audit(db, found, "session.login", "user", found.id, ip=client_ip(request))
        return RedirectResponse("/", 303)

    def logout(self, request: Request, db: Session, user: User | None, form: FormData) -> Response:
        if user is not None:  # a copy of the old cookie stops working too
            before = {"session_gen": user.session_gen}
            user.session_gen += 1
            after = {"session_gen": user.session_gen}
            audit(db, user, "session.logout", "user", user.id, before, after, client_ip(request))
        request.session.clear()
        return RedirectResponse("/login", 303)

    # --- invitations ---------------------------------------------------------------------------

    def invite_form(self, request: Request, db: Session, user: User | None) -> Response:
        inv = find_invitation(db, request.path_params["token"])
        if inv is None:
            return render(
                request,
                "message.html.j2",
                404,
                message=wt("web.invite.invalid", request.state.lang),
            )
        office = db.get(Office, inv.office_id) if inv.office_id else None
        return render(request, "invite.html.j2", office=office, role=inv.role, error="")

    def invite_accept(
        self, request: Request, db: Session, user: User | None, form: FormData
    ) -> Response:
        lang = request.state.lang
        token = request.path_params["token"]
        inv = find_invitation(db, token)
        if inv is None:
            return render(request, "message.html.j2", 404, message=wt("web.invite.invalid", lang))
        office = db.get(Office, inv.office_id) if inv.office_id else None
        role = inv.role
        password = str(form.get("password") or "")
        if password != str(form.get("password2") or ""):
            return render(
                request,
                "invite.html.j2",
                400,
                office=office,
                role=role,
                error=wt("web.password.mismatch", lang),
            )
        try:
            new = accept_invitation(
                db, token, str(form.get("email") or ""), password, client_ip(request)
            )
        except OpError as exc:
            return render(
                request,
                "invite.html.j2",
                400,
                office=office,
                role=role,
                error=wt(exc.key, lang, **exc.params),
            )
        new.lang = lang
        request.session.clear()
        request.session.update(
            uid=new.id, gen=new.session_gen, csrf=secrets.token_urlsafe(32), lang=lang
        )
        return RedirectResponse("/", 303)

    # --- admin ---------------------------------------------------------------------------------

    def admin(
        self,
        request: Request,
        db: Session,
        user: User,
        error: str = "",
        status: int = 200,
        rubric_problems: list[str] | None = None,
    ) -> Response:
        from monev.rubric import shipped

        period = current_period(db)
        offices = []
        for office in db.scalars(select(Office).order_by(Office.name)):
            latest = None
            if period is not None:
                latest = db.scalar(
                    select(Upload)
                    .where(Upload.office_id == office.id, Upload.period_id == period.id)
                    .order_by(Upload.id.desc())
                    .limit(1)
                )
            accounts = db.scalar(
                select(func.count()).select_from(User).where(User.office_id == office.id)
            )
            offices.append({"office": office, "latest": latest, "accounts": accounts})
        return render(
            request,
            "admin.html.j2",
            status,
            periods=[
                {
                    "p": p,
                    "rubric": period_identity(db, p, self.settings.rubric_dir),
                    "deadline": local_time(p.deadline_utc, p.zone),
                    "objection": local_time(p.objection_until_utc, p.zone)
                    if p.objection_until_utc
                    else "",
                }
                for p in db.scalars(select(Period).order_by(Period.year.desc()))
            ],
            rubrics=sorted(shipped()),
            uploaded_rubrics=[identity_of(k) for k in uploaded_rubrics(db)],
            max_upload_mb=self.settings.max_upload // 2**20,
            zones=list(ZONES),
            offices=offices,
            audit_log=list(db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(30))),
            error=error,
            rubric_problems=rubric_problems or [],
            year=utcnow().year,
            invitation_days=self.settings.invitation_days,
        )

    def admin_page(self, request: Request, db: Session, user: User) -> Response:
        return self.admin(request, db, user)

    async def admin_period(self, request: Request) -> Response:
        """Open a period; with a rubric file, the body is counted while it streams in (as an
        office's upload is) and the file is validated and kept before the period opens."""
        return await self._capped_form(request, self._admin_period, ("admin",), max_fields=8)

    def _admin_period(self, request: Request, db: Session, user: User, form: FormData) -> Response:
        lang, s = request.state.lang, self.settings
        if not form.get("csrf"):  # the body was too large to read: nothing is kept
            mb = self.settings.max_upload // 2**20
            return self.admin(request, db, user, wt("web.rubric.too_large", lang, mb=mb), 413)
        rubric_ref = str(form.get("rubric") or "")
        try:
            year = int(str(form.get("year") or "0"))
            file = form.get("rubric_file")
            deadline, zone = str(form.get("deadline") or ""), str(form.get("zone") or "WIB")
            if isinstance(file, UploadFile) and file.filename:
                check_period(db, year, deadline, zone)  # before the file is kept
                kept = add_rubric(
                    self.settings,
                    db,
                    user,
                    file.file,
                    file.filename,
                    wt("web.rubric.yaml_comment", DEFAULT_LANG),
                    lang,
                    client_ip(request),
                )
                rubric_ref = UPLOADED + kept.sha256
            open_period(
                db, user, year, rubric_ref, deadline, zone, client_ip(request), s.rubric_dir
            )
        except ValueError:
            return self.admin(request, db, user, wt("web.error.year", lang), 400)
        except storage.TooLarge:
            mb = self.settings.max_upload // 2**20
            return self.admin(request, db, user, wt("web.rubric.too_large", lang, mb=mb), 413)
        except RubricRefused as exc:
            return self.admin(
                request, db, user, wt("web.rubric.refused", lang), 400, rubric_problems=exc.lines
            )
        except OpError as exc:
            return self.admin(request, db, user, wt(exc.key, lang, **exc.params), 400)
        return RedirectResponse("/admin", 303)

    def admin_invite(self, request: Request, db: Session, user: User, form: FormData) -> Response:
        names = office_names(str(form.get("offices") or ""))
        if not names:
            return self.admin(
                request, db, user, wt("web.error.office_name", request.state.lang), 400
            )
        links = [make_invitation(db, self.settings, user, n) for n in names]
        return render(request, "links.html.j2", links=[(o.name, link) for o, link in links])

    # --- office --------------------------------------------------------------------------------

    def office(
        self, request: Request, db: Session, user: User, error: str = "", status: int = 200
    ) -> Response:
        office = db.get(Office, user.office_id)
        period = current_period(db)
        uploads = []
        if period is not None:
            uploads = list(
                db.scalars(
                    select(Upload)
                    .where(Upload.office_id == user.office_id, Upload.period_id == period.id)
                    .order_by(Upload.id.desc())
                )
            )
        after = None  # the score after verification, once a verifier has decided anything
        if period is not None and office is not None:
            decided_any = verification.decisions_of(db, period, office.id) or (
                verification.stages_of(db, period, office.id)
            )
            d = verification.decided(self.settings, db, period, office) if decided_any else None
            if d is not None and isinstance(d.result, OfficeResult):
                after = d.result.score
        return render(
            request,
            "office.html.j2",
            status,
            after=after,
            office=office,
            period=period,
            deadline=local_time(period.deadline_utc, period.zone) if period else "",
            closed=period is not None and period.deadline_utc < utcnow(),
            uploads=uploads,
            pdfs=rendering.jobs_of(db, [u.id for u in uploads]),
            local=lambda when: local_time(when, period.zone if period else "WIB"),
            error=error,
            mb=self.settings.max_upload // (1024 * 1024),
        )

    def office_page(self, request: Request, db: Session, user: User) -> Response:
        return self.office(request, db, user)

    def template(self, request: Request, db: Session, user: User) -> Response:
        from monev.report import safe_name
        from monev.template import build_template

        period = current_period(db)
        office = db.get(Office, user.office_id)
        if period is None or office is None:
            raise HTTPException(404)
        wb = build_template(
            rubric(period.rubric_id), office=office.name, unit_type=office.unit_type
        )
        buf = io.BytesIO()
        wb.save(buf)
        name = f"kuesioner-{period.year}-{safe_name(office.name)}.xlsx"
        return Response(
            buf.getvalue(),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def upload(self, request: Request) -> Response:
        """Receive one workbook: the body is counted while it streams in, then the file is
        stored by hash and checked by the library, all within this request. The PDF renderer
        of this process waits while uploads arrive (:func:`rendering.request_seen`)."""
        rendering.request_seen()
        try:
            return await self._upload_request(request)
        finally:
            rendering.request_seen()

    async def _upload_request(self, request: Request) -> Response:
        return await self._capped_form(request, self._upload, ("office",), max_fields=5)

    async def _capped_form(
        self,
        request: Request,
        handler: Callable[..., Response],
        roles: tuple[str, ...],
        max_fields: int,
    ) -> Response:
        """A form with one file, its body counted while it streams in: past the upload limit the
        handler gets an empty form (no CSRF token: it answers that the file is too large)."""
        cap = self.settings.max_upload + BODY_MARGIN
        declared = request.headers.get("content-length", "")
        too_large = declared.isdigit() and int(declared) > cap
        data: FormData | None = None
        if not too_large:
            seen = 0

            async def receive() -> Any:
                nonlocal seen
                message = await request.receive()
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise storage.TooLarge(seen)
                return message

            try:
                data = await Request(request.scope, receive).form(
                    max_files=1, max_fields=max_fields
                )
            except storage.TooLarge:
                too_large = True
        if data is not None:
            check_csrf(request, data)
        elif "uid" not in request.session:
            return RedirectResponse("/login", 303)
        return await run_in_threadpool(self._run, handler, roles, request, data or FormData())

    def _upload(self, request: Request, db: Session, user: User, form: FormData) -> Response:
        lang = request.state.lang
        s = self.settings
        period = current_period(db)
        if period is None:
            return self.office(request, db, user, wt("web.office.no_period", lang), 409)
        if period.deadline_utc < utcnow():
            return self.office(request, db, user, wt("web.office.closed", lang), 409)
        if not form.get("csrf"):  # the body was too large to read: nothing to keep
            return self.office(
                request, db, user, wt("web.refusal.too_large", lang, mb=s.max_upload // 2**20), 413
            )
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            return self.office(request, db, user, wt("web.refusal.no_file", lang), 400)
        name = storage.display_name(file.filename)
        try:
            sha, size, path = storage.store(
                s.blob_dir, file.file, storage.suffix_of(name), s.max_upload
            )
        except storage.TooLarge:
            self._record_refusal(db, user, period, name, request)
            return self.office(
                request, db, user, wt("web.refusal.too_large", lang, mb=s.max_upload // 2**20), 413
            )
        outcome = check_blob(path, period.rubric_id, name)
        up = Upload(
            period_id=period.id,
            office_id=user.office_id,
            user_id=user.id,
            original_name=name,
            sha256=sha,
            size=size,
            **outcome.summary(),
        )
        db.add(up)
        db.flush()
        audit(
            db,
            user,
            "upload.create",
            "upload",
            up.id,
            None,
            {"file": name, "sha256": sha, **outcome.summary()},
            client_ip(request),
        )
        if not outcome.rejected:  # its PDF is rendered in the background (monev.web.rendering)
            rendering.enqueue(db, up, lang)
        return RedirectResponse(f"/uploads/{up.id}", 303)

    def _record_refusal(
        self, db: Session, user: User, period: Period, name: str, request: Request
    ) -> None:
        up = Upload(
            period_id=period.id,
            office_id=user.office_id,
            user_id=user.id,
            original_name=name,
            status="rejected",
            refusal="web.refusal.too_large",
        )
        db.add(up)
        db.flush()
        audit(
            db,
            user,
            "upload.refused",
            "upload",
            up.id,
            None,
            {"file": name, "reason": "too_large"},
            client_ip(request),
        )

    # --- results -------------------------------------------------------------------------------

    def _visible_upload(self, request: Request, db: Session, user: User) -> Upload:
        """The upload of the URL when this user may see it; 404 otherwise (never 403)."""
        up = db.get(Upload, request.path_params["id"])
        if up is None or (user.role == "office" and up.office_id != user.office_id):
            raise HTTPException(404)
        return up

    def result(self, request: Request, db: Session, user: User) -> Response:
        lang = request.state.lang
        up = self._visible_upload(request, db, user)
        period = db.get(Period, up.period_id)
        office = db.get(Office, up.office_id)
        uploader = db.get(User, up.user_id)
        assert period is not None and office is not None
        previous = db.scalar(
            select(Upload)
            .where(
                Upload.office_id == up.office_id,
                Upload.period_id == up.period_id,
                Upload.id < up.id,
                Upload.score.is_not(None),
            )
            .order_by(Upload.id.desc())
            .limit(1)
        )
        outcome = None
        ctx: dict[str, Any] = {"questions": {}, "hints": {}, "aspects": []}
        if up.sha256:
            path = storage.blob_path(
                self.settings.blob_dir, up.sha256, storage.suffix_of(up.original_name)
            )
            outcome = check_blob(path, period.rubric_id, up.original_name)
            ctx = page_context(rubric(period.rubric_id), outcome)
        delta = None
        if previous is not None and up.score is not None:
            delta = Decimal(up.score) - Decimal(previous.score or "0")
        return render(
            request,
            "result.html.j2",
            up=up,
            office=office,
            period=period,
            when=local_time(up.received_at, period.zone),
            who=uploader.email if uploader else "",
            outcome=outcome,
            named=other_office(outcome, office.name) if outcome else "",
            previous=previous,
            delta=delta,
            refusal=wt(up.refusal, lang, mb=self.settings.max_upload // 2**20)
            if up.refusal
            else "",
            pdf=self._pdf_state(db, up),
            **ctx,
        )

    def _pdf_state(self, db: Session, up: Upload) -> dict[str, str]:
        """The upload's office PDF for the result page: status none, queued, running, done,
        failed or superseded, and the failure's message key."""
        job = rendering.latest_job(db, up.id)
        if job is None:
            return {"status": "none", "error": ""}
        if job.status == "done" and rendering.ready_pdf(self.settings, job) is None:
            return {"status": "failed", "error": "web.pdf.missing"}
        return {"status": job.status, "error": job.error if job.status == "failed" else ""}

    def pdf_status(self, request: Request, db: Session, user: User) -> Response:
        """The state of an upload's PDF, for the result page's script (static/poll.js), which
        reloads the page once it is no longer queued or running (404 for another office's)."""
        up = self._visible_upload(request, db, user)
        return JSONResponse({"status": self._pdf_state(db, up)["status"]})

    def report_pdf(self, request: Request, db: Session, user: User) -> Response:
        """The upload's office PDF once rendered (404 otherwise, and for another office's)."""
        from monev.report import safe_name

        up = self._visible_upload(request, db, user)
        path = rendering.ready_pdf(self.settings, rendering.latest_job(db, up.id))
        office = db.get(Office, up.office_id)
        if path is None or office is None:
            raise HTTPException(404)
        name = f"laporan-{safe_name(office.name)}-{up.id}.pdf"
        return FileResponse(path, filename=name, media_type="application/pdf")

    def download(self, request: Request, db: Session, user: User) -> Response:
        up = self._visible_upload(request, db, user)
        if not up.sha256:
            raise HTTPException(404)
        path = storage.blob_path(
            self.settings.blob_dir, up.sha256, storage.suffix_of(up.original_name)
        )
        return FileResponse(path, filename=up.original_name, media_type="application/octet-stream")


# --- the application -------------------------------------------------------------------------


class SecurityHeaders:
    """Headers of every answer: no sniffing, no framing, no referrer (invitation tokens are in
    URLs), a content security policy, and nothing but static files kept in a cache. A plain
    ASGI middleware: Starlette's BaseHTTPMiddleware ran each request in a task group with memory
    streams, a part of the event loop's time per request under a rush of uploads."""

    HEADERS = (
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        (
            "Content-Security-Policy",
            "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    )

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                h = MutableHeaders(scope=message)
                for name, value in self.HEADERS:
                    h.setdefault(name, value)
                if not static:
                    h.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


@asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    # The check workers end with the server: uvicorn re-raises SIGTERM after its shutdown, so
    # nothing after uvicorn.run() ran, and every stop left the workers and their fork server
    # running (found by scripts/web_load.py: three orphans per run). The PDF renderer's threads
    # and worker processes too, for the same reason.
    renderer = getattr(app.state, "renderer", None)
    if renderer is not None:
        await run_in_threadpool(renderer.stop)
    await run_in_threadpool(WORKERS.close)


class _Undone(Exception):
    """A page answered after its transaction is rolled back (:meth:`App._run`)."""

    def __init__(self, response: Response):
        super().__init__("undone")
        self.response = response


def _unusable(request: Request) -> str:
    """The period's rubric cannot be used (see :class:`monev.web.checking.NotPinned`)."""
    user = request.state.user
    key = "web.rubric.unusable_admin" if user is not None and user.role == "admin" else None
    return wt(key or "web.rubric.unusable", request.state.lang)


def create_app(settings: Settings, store: Store | None = None) -> Starlette:
    """The web application over ``settings``' data folder (migrations are applied here)."""
    a = App(store or Store(settings))
    admin, office, anyone = ("admin",), ("office",), ("admin", "office", "verifier", "auditor")
    verifier, staff = ("verifier",), ("admin", "verifier", "auditor")
    readers = ("admin", "auditor")

    async def not_found(request: Request, exc: Exception) -> Response:
        request.state.user = None
        lang = request.session.get("lang")
        request.state.lang = lang if lang in LANGS else DEFAULT_LANG
        return error_page(request, exc.status_code if isinstance(exc, HTTPException) else 500)

    routes = [
        Route("/", a.page(a.home)),
        Route("/login", a.page(a.login_form)),
        Route("/login", a.page(a.login, form=True), methods=["POST"]),
        Route("/logout", a.page(a.logout, form=True), methods=["POST"]),
        Route("/invite/{token}", a.page(a.invite_form)),
        Route("/invite/{token}", a.page(a.invite_accept, form=True), methods=["POST"]),
        Route("/admin", a.page(a.admin_page, admin)),
        Route("/admin/periods", a.admin_period, methods=["POST"]),
        Route("/admin/invitations", a.page(a.admin_invite, admin, form=True), methods=["POST"]),
        Route("/office", a.page(a.office_page, office)),
        Route("/office/template.xlsx", a.page(a.template, office)),
        Route("/office/uploads", a.upload, methods=["POST"]),
        Route("/uploads/{id:int}", a.page(a.result, anyone)),
        Route("/uploads/{id:int}/file", a.page(a.download, anyone)),
        Route("/uploads/{id:int}/report.pdf", a.page(a.report_pdf, anyone)),
        Route("/pdf-status/upload/{id:int}", a.page(a.pdf_status, anyone)),
        Route("/pdf-status/snapshot/{id:int}", a.page(a.snapshot_pdf_status, readers)),
        Route("/verify", a.page(a.verify_list, staff)),
        Route("/verify/{office:int}", a.page(a.verify_office, staff)),
        Route("/verify/{office:int}/workbook.xlsx", a.page(a.verify_download, staff)),
        Route(
            "/verify/{office:int}/decisions",
            a.page(a.verify_decide, verifier, form=True),
            methods=["POST"],
        ),
        Route(
            "/verify/{office:int}/stages",
            a.page(a.verify_stages, verifier, form=True),
            methods=["POST"],
        ),
        Route(
            "/objections/{id:int}/answer",
            a.page(a.objection_answer, verifier, form=True),
            methods=["POST"],
        ),
        Route("/office/decisions", a.page(a.office_decisions, office)),
        Route("/office/objections", a.page(a.office_object, office, form=True), methods=["POST"]),
        Route("/office/workbook.xlsx", a.page(a.office_download, office)),
        Route("/offices/{office:int}/history", a.page(a.history, anyone)),
        Route("/offices/{office:int}/compare", a.page(a.compare, anyone)),
        Route("/auditor", a.page(a.auditor_page, ("auditor",))),
        Route("/audit.csv", a.page(a.audit_csv, readers)),
        Route("/dashboard", a.page(a.dashboard_page, readers)),
        Route("/admin/publish", a.page(a.admin_publish, admin, form=True), methods=["POST"]),
        Route("/admin/staff", a.page(a.admin_staff, admin, form=True), methods=["POST"]),
        Route(
            "/admin/objection-window",
            a.page(a.admin_objection_window, admin, form=True),
            methods=["POST"],
        ),
        Route("/snapshots/{id:int}", a.page(a.snapshot_page, readers)),
        Route("/snapshots/{id:int}/{name:path}", a.page(a.snapshot_download, readers)),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(
        routes=routes,
        lifespan=_lifespan,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key,
                session_cookie="monev_session",
                max_age=SESSION_HOURS * 3600,
                same_site="lax",
                https_only=settings.secure_cookies,
            ),
        ],
        exception_handlers={HTTPException: not_found, 404: not_found, 405: not_found},
    )


class RedactInvitations:
    """A logging filter: invitation tokens in request lines are logged as ``/invite/…``."""

    def filter(self, record: Any) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                re.sub(r"/invite/[^/?\s]+", "/invite/…", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    import logging

    import uvicorn

    logging.getLogger("uvicorn.access").addFilter(RedactInvitations())
    store = Store(settings)
    with store.session() as db:  # the rush before a deadline meets a warm reader
        rubric_ids = sorted({p.rubric_id for p in db.scalars(select(Period))})
    warm_up(rubric_ids)
    warm_pages()
    app = create_app(settings, store)
    renderer = rendering.Renderer(store, settings.render_workers)
    renderer.start()  # office PDFs, in the background (requeues what a dead server left)
    app.state.renderer = renderer  # stopped when the application shuts down (_lifespan)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)
    finally:
        renderer.stop()
