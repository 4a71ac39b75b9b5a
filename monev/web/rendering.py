"""Office PDFs rendered in the background, never inside a request (issue 14 item 5).

An accepted upload queues one :class:`RenderJob` (:func:`enqueue`); the result page shows the
job's state and, once it is done, a download link. The job state lives in the database, so
several ``monev serve`` processes (PostgreSQL) share one queue:

* :func:`claim` takes the oldest queued job with ``UPDATE … WHERE id = ? AND status =
  'queued'``: of two processes claiming the same job, exactly one changes the row;
* a newer upload of an office supersedes its job still queued (the queue holds at most one
  queued job per office, so it cannot grow without bound);
* a render whose worker process dies or raises is queued again, at most :data:`MAX_ATTEMPTS`
  times in all, then shown as failed with a message; jobs left ``running`` by a server that
  died are queued again when a server starts (:func:`requeue_stale`).

The PDF is the library's office report (:func:`monev.report.render_office_html` and
:func:`monev.report.html_to_pdf` over the library's check of the stored upload), without the
city rank: it changes with every upload of any office and would make every live PDF stale (the
rank is on the dashboard and in the published snapshot's PDFs). It is stored under
``pdf/<aa>/<key>.pdf`` in the data folder, named by the render cache's key
(:func:`monev.render_cache.cache_key`: the HTML, the attachment, the date and the renderer), so a
document whose every part is unchanged is not rendered again. Its report date is the day of the
upload in the period's time zone, so the PDF of an upload never changes. Rendering runs in
worker processes with the renderer's memory and CPU limits (:class:`monev.sandbox.WorkerPool`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from monev.web.db import Base, Office, Period, Upload, utcnow
from monev.web.ops import Store
from monev.web.settings import ZONES, Settings

#: Tries of one job in all (a render that kills its worker, or a server that dies under it).
MAX_ATTEMPTS = 3
#: A job ``running`` on another machine with no news for this long (no :func:`beat`) is taken
#: for one left by a dead server there; on this machine a dead process is seen at once.
STALE_AFTER = dt.timedelta(minutes=10)
#: How often a renderer says it still works on its job (seconds): its ``claimed_at`` moves on, so
#: that another machine takes it for dead only when nothing was heard of it for STALE_AFTER (a
#: snapshot of a whole city may render for longer than that).
HEARTBEAT_SECONDS = STALE_AFTER.total_seconds() / 5
#: A render still beating after this long is taken for hung (waiting, not computing: the CPU
#: limit does not end it): it stops beating, so another machine may take the job over.
MAX_BEAT_SECONDS = 3 * 3600
#: How often an idle renderer looks for work queued by another process (seconds).
POLL_SECONDS = 1.0
#: Wakes this process's renderer at once when a request of this process queues a job.
WAKE = threading.Event()
#: The renderer leaves the cores to upload requests: it starts no PDF until no upload of this
#: process has been received or answered for QUIET_SECONDS, or it has waited MAX_DEFER_SECONDS
#: (a stream of uploads does not starve the PDFs). Measured with scripts/web_load.py: with the
#: renderer working during a burst of 100 uploads the p95 of the upload request was 3.5-3.7 s,
#: without it 2.8 s (2 cores; niceness alone did not help).
QUIET_SECONDS = 2.0
MAX_DEFER_SECONDS = 60.0
_LAST_REQUEST = [0.0]


def request_seen() -> None:
    """An upload request of this process began or ended (see :data:`QUIET_SECONDS`)."""
    _LAST_REQUEST[0] = time.monotonic()


def wait_for_quiet(
    stop: threading.Event, quiet: float = QUIET_SECONDS, most: float = MAX_DEFER_SECONDS
) -> float:
    """Wait until no upload request was seen for ``quiet`` seconds, at most ``most`` seconds
    (or until ``stop``); returns how long it waited."""
    start = time.monotonic()
    while not stop.is_set():
        now = time.monotonic()
        idle = now - _LAST_REQUEST[0]
        if idle >= quiet or now - start >= most:
            break
        stop.wait(min(quiet - idle, most - (now - start)))
    return time.monotonic() - start


class RenderJob(Base):
    """One office PDF to render (or rendered) for one upload (``kind`` office), or the PDFs of
    a published snapshot (``kind`` snapshot). ``status``: queued, running, done, failed,
    superseded (a newer upload of the office came before it was rendered), pruned (its PDF
    was removed by :func:`prune_pdfs`: a newer upload of the office has its own)."""

    __tablename__ = "render_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="office")
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id"), index=True)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), index=True)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id"), index=True)
    lang: Mapped[str] = mapped_column(String(5), default="id")
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str] = mapped_column(String(120), default="")  # host:pid:thread of the claim
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    pdf_key: Mapped[str] = mapped_column(String(64), default="")
    pdf_sha256: Mapped[str] = mapped_column(String(64), default="")
    error: Mapped[str] = mapped_column(String(200), default="")  # a message key (web.pdf.*)


# --- the queue ---------------------------------------------------------------------------------


def enqueue(db: Session, up: Upload, lang: str) -> RenderJob:
    """Queue the PDF of ``up``; the office's jobs still queued are superseded by it."""
    db.execute(
        update(RenderJob)
        .where(RenderJob.office_id == up.office_id, RenderJob.status == "queued")
        .values(status="superseded", finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _queue(db, kind="office", upload_id=up.id, office_id=up.office_id, lang=lang)


def enqueue_snapshot(db: Session, snapshot_id: int) -> RenderJob:
    """Queue the PDFs of a snapshot just published (:func:`monev.web.snapshot.render_pdfs`)."""
    return _queue(db, kind="snapshot", snapshot_id=snapshot_id, lang="id")


def _queue(db: Session, **fields: Any) -> RenderJob:
    """A new queued job with ``fields``; wakes this process's renderer."""
    job = RenderJob(
        status="queued", attempts=0, worker="", pdf_key="", pdf_sha256="", error="", **fields
    )
    db.add(job)
    db.flush()
    WAKE.set()
    return job


def snapshot_job(db: Session, snapshot_id: int) -> RenderJob | None:
    return db.scalar(
        select(RenderJob)
        .where(RenderJob.snapshot_id == snapshot_id)
        .order_by(RenderJob.id.desc())
        .limit(1)
    )


def _started(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, Linux), "" when unknown: with the
    process id it names one process, which a process id alone does not (a server restarted in
    the same container often gets the same id)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _pid_namespace() -> str:
    """This process's pid namespace (``4026531836``), "" when unknown: two containers may share
    a host name (``--network host``) while each has its own process ids."""
    try:
        return os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return ""


def worker_name() -> str:
    """``host:pid:started@namespace:thread`` of the caller (see :func:`_alive`)."""
    pid = os.getpid()
    started = f"{_started(pid) or 0}@{_pid_namespace()}"
    return f"{socket.gethostname()}:{pid}:{started}:{threading.get_ident()}"


def claim(db: Session, worker: str | None = None) -> RenderJob | None:
    """Take the oldest queued job for ``worker`` (None when there is none). The row changes only
    while it is still queued, so two processes never hold the same job."""
    who = worker or worker_name()
    while True:
        found = db.scalar(
            select(RenderJob.id).where(RenderJob.status == "queued").order_by(RenderJob.id).limit(1)
        )
        if found is None:
            return None
        got = db.execute(
            update(RenderJob)
            .where(RenderJob.id == found, RenderJob.status == "queued")
            .values(
                status="running",
                worker=who[:120],
                claimed_at=utcnow(),
                attempts=RenderJob.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if got.rowcount == 1:  # type: ignore[attr-defined]
            return db.get(RenderJob, found, populate_existing=True)


def complete(db: Session, job_id: int, key: str, sha256: str) -> None:
    db.execute(
        update(RenderJob)
        .where(RenderJob.id == job_id, RenderJob.status == "running")
        .values(status="done", pdf_key=key, pdf_sha256=sha256, finished_at=utcnow(), error="")
        .execution_options(synchronize_session=False)
    )


def fail(db: Session, job_id: int, error: str, retry: bool = True) -> str:
    """A render that did not finish: queued again while it has tries left, else failed with
    ``error`` (a message key). Returns the new status."""
    job = db.get(RenderJob, job_id, populate_existing=True)
    if job is None or job.status != "running":
        return job.status if job else ""
    if retry and job.attempts < MAX_ATTEMPTS:
        job.status, job.worker, job.error = "queued", "", error
    else:
        job.status, job.error, job.finished_at = "failed", error, utcnow()
    return job.status


def beat(db: Session, job_id: int, worker: str) -> bool:
    """``worker`` still renders job ``job_id``: its ``claimed_at`` is now (False when the job is
    no longer running or no longer that worker's)."""
    got = db.execute(
        update(RenderJob)
        .where(
            RenderJob.id == job_id,
            RenderJob.status == "running",
            RenderJob.worker == worker[:120],
        )
        .values(claimed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return got.rowcount == 1  # type: ignore[attr-defined]


class _Heartbeat:
    """:func:`beat` every :data:`HEARTBEAT_SECONDS` in a thread of its own while a job renders."""

    def __init__(self, store: Store, job_id: int, worker: str) -> None:
        self.store, self.job_id, self.worker = store, job_id, worker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="monev-render-beat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(HEARTBEAT_SECONDS)  # a beat waiting on a slow database: not for ever

    def _run(self) -> None:
        import time

        until = time.monotonic() + MAX_BEAT_SECONDS
        while not self._stop.wait(HEARTBEAT_SECONDS) and time.monotonic() < until:
            try:
                with self.store.session() as db:
                    if not beat(db, self.job_id, self.worker):
                        return  # taken back or finished: nothing left to say
            except Exception:  # the database away for a moment: the next beat tries again
                continue


def _alive(worker: str, now: dt.datetime, claimed: dt.datetime | None) -> bool:
    host, *rest = worker.split(":")
    pid = rest[0] if rest else ""
    if host == socket.gethostname() and pid.isdigit():
        recorded, _, namespace = rest[1].partition("@") if len(rest) >= 3 else ("", "", "")
        if namespace and namespace != _pid_namespace():  # its ids are not ours: wait for stale
            return claimed is not None and now - claimed < STALE_AFTER
        if recorded not in ("", "0"):  # the start time was recorded
            started = _started(int(pid))
            if started:
                return started == recorded
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return claimed is not None and now - claimed < STALE_AFTER


def requeue_stale(db: Session, now: dt.datetime | None = None) -> int:
    """Jobs left ``running`` by a server that is gone: queued again, or failed once they have
    used :data:`MAX_ATTEMPTS` (a PDF that takes its server down with it). Returns how many."""
    now = now or utcnow()
    moved = 0
    for job in db.scalars(select(RenderJob).where(RenderJob.status == "running")):
        if _alive(job.worker, now, job.claimed_at):
            continue
        if job.attempts >= MAX_ATTEMPTS:
            job.status, job.error, job.finished_at = "failed", "web.pdf.crashed", now
        else:
            job.status, job.worker = "queued", ""
        moved += 1
    return moved


def latest_job(db: Session, upload_id: int) -> RenderJob | None:
    return db.scalar(
        select(RenderJob)
        .where(RenderJob.upload_id == upload_id)
        .order_by(RenderJob.id.desc())
        .limit(1)
    )


def jobs_of(db: Session, upload_ids: list[int]) -> dict[int, RenderJob]:
    """The newest job of each of these uploads."""
    out: dict[int, RenderJob] = {}
    if not upload_ids:
        return out
    rows = db.scalars(
        select(RenderJob).where(RenderJob.upload_id.in_(upload_ids)).order_by(RenderJob.id)
    )
    for job in rows:
        if job.upload_id is not None:
            out[job.upload_id] = job
    return out


def pdf_path(settings: Settings, key: str) -> Path:
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError("not a render key")
    return settings.data_dir / "pdf" / key[:2] / f"{key}.pdf"


def ready_pdf(settings: Settings, job: RenderJob | None) -> Path | None:
    """The stored PDF of a done job, when its bytes are the ones recorded; else None."""
    if job is None or job.status != "done" or not job.pdf_key:
        return None
    path = pdf_path(settings, job.pdf_key)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return path if hashlib.sha256(data).hexdigest() == job.pdf_sha256 else None


# --- pruning the stored PDFs of superseded uploads (wp-webpin) -----------------------------------


@dataclass(frozen=True)
class Pruned:
    """What :func:`prune_pdfs` removed (or would remove, ``dry_run``)."""

    jobs: int  # done jobs whose PDF is gone (status ``pruned``)
    files: int  # PDF files removed
    size: int  # their bytes


#: The youngest PDF :func:`prune_pdfs` may remove (see there).
PRUNE_MIN_AGE = dt.timedelta(days=1)


def prune_pdfs(
    store: Store,
    older_than: dt.timedelta,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> Pruned:
    """Remove the stored live PDFs of superseded uploads, rendered more than ``older_than`` ago
    (about 40 KB per distinct upload otherwise kept for ever). Never the PDF of an office's
    latest upload, nor of its latest checked one, in any period; never a file another kept job
    names (PDFs are stored by content: two uploads may share one). A published snapshot's PDFs
    are its own copies under ``snapshots/`` and are never looked at here. The jobs of removed
    PDFs are marked ``pruned`` (the page says the PDF of this older upload was removed); the
    files are removed once that is committed.

    ``older_than`` is at least :data:`PRUNE_MIN_AGE`: a PDF is stored under a key that includes
    its upload's day, so a file made a day ago or more can no longer be the one a job rendering
    now is about to record (an identical upload of the same day shares it)."""
    from sqlalchemy import func

    if older_than < PRUNE_MIN_AGE:
        raise ValueError(f"older_than must be at least {PRUNE_MIN_AGE}")
    cutoff = (now or utcnow()) - older_than
    paths: list[Path] = []
    size = 0
    with store.session() as db:
        latest = select(func.max(Upload.id)).group_by(Upload.period_id, Upload.office_id)
        latest_checked = (
            select(func.max(Upload.id))
            .where(Upload.status == "checked")
            .group_by(Upload.period_id, Upload.office_id)
        )
        keep_uploads = set(db.scalars(latest)) | set(db.scalars(latest_checked))
        done = list(
            db.scalars(
                select(RenderJob).where(
                    RenderJob.kind == "office", RenderJob.status == "done", RenderJob.pdf_key != ""
                )
            )
        )
        gone = [
            j
            for j in done
            if j.upload_id not in keep_uploads
            and j.finished_at is not None
            and j.finished_at < cutoff
        ]
        gone_ids = {j.id for j in gone}
        kept_keys = {j.pdf_key for j in done if j.id not in gone_ids}
        for key in sorted({j.pdf_key for j in gone} - kept_keys):
            try:
                path = pdf_path(store.settings, key)
                size += path.stat().st_size
            except (OSError, ValueError):  # already gone
                continue
            paths.append(path)
        if not dry_run:
            for job in gone:
                job.status, job.error = "pruned", "web.pdf.pruned"
    if not dry_run:  # committed: no page offers these files any more
        for path in paths:
            path.unlink(missing_ok=True)
    return Pruned(len(gone), len(paths), size)


# --- one render, in a worker process -------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """What a worker process needs to render one upload's PDF (picklable)."""

    blob: str
    rubric_id: str
    name: str
    as_of: str  # ISO date
    lang: str
    pdf_root: str
    #: The period's rubric file, kept by hash (a worker process does not know the data folder).
    rubric_file: str = ""


@cache
def _environment() -> str:
    """The renderer's surroundings (fonts, libraries, report templates), once per worker."""
    from monev.render_cache import environment

    return environment()


def render_task(task: Task) -> tuple[str, str, bool] | None:
    """Render (or find already rendered) the office PDF of one stored upload: (key, sha256,
    whether WeasyPrint ran). None when the workbook cannot be scored (no PDF to make)."""
    from dataclasses import replace

    from monev.batch import finish, read_one
    from monev.outputs import write_atomic
    from monev.render_cache import cache_key
    from monev.report import ATTACHMENT_NAME, html_to_pdf, office_attachment, render_office_html
    from monev.results import OfficeResult, RunResult
    from monev.web.checking import _stored_rubric, rubric

    rb = (
        _stored_rubric(task.rubric_id, task.rubric_file)
        if task.rubric_file
        else rubric(task.rubric_id)
    )
    res = finish(read_one(Path(task.blob), rb, task.name), rb)
    if not isinstance(res, OfficeResult):
        return None
    office = replace(res, rank=0)  # a live PDF ranks nothing (results.json's "rank": 0)
    as_of = dt.date.fromisoformat(task.as_of)
    run = RunResult(rb, [office], as_of=as_of)
    html = render_office_html(run, office, task.lang, rank=False)
    attachment = (ATTACHMENT_NAME, office_attachment(run, office, task.lang))
    key = cache_key(_environment(), as_of, html, attachment)
    path = Path(task.pdf_root) / key[:2] / f"{key}.pdf"
    if path.is_file():
        return key, hashlib.sha256(path.read_bytes()).hexdigest(), False
    data = html_to_pdf(html, as_of, attachment)
    write_atomic(path, data)
    return key, hashlib.sha256(data).hexdigest(), True


def task_of(settings: Settings, db: Session, job: RenderJob) -> Task | None:
    from monev.rubric import RubricError
    from monev.web import storage
    from monev.web.checking import rubric_file

    up = db.get(Upload, job.upload_id) if job.upload_id is not None else None
    period = db.get(Period, up.period_id) if up is not None else None
    if up is None or period is None or not up.sha256 or db.get(Office, up.office_id) is None:
        return None
    blob = storage.blob_path(settings.blob_dir, up.sha256, storage.suffix_of(up.original_name))
    day = (up.received_at + dt.timedelta(hours=ZONES.get(period.zone, 7))).date()
    try:
        kept = rubric_file(period.rubric_id)
    except RubricError:  # the period's rubric cannot be used: nothing to render with
        return None
    return Task(
        str(blob),
        period.rubric_id,
        up.original_name,
        day.isoformat(),
        job.lang,
        str(settings.data_dir / "pdf"),
        str(kept),
    )


# --- the renderer: threads that claim jobs and hand them to worker processes ---------------------


#: Niceness added to the PDF workers (see :meth:`Renderer._render`).
RENDER_NICE = 10


class Renderer:
    """``workers`` threads, each claiming one job at a time and rendering it in a worker process
    of one :class:`~monev.sandbox.WorkerPool` (``workers`` processes). ``call`` replaces the
    pool (tests)."""

    def __init__(
        self,
        store: Store,
        workers: int = 1,
        call: Callable[[Task], Any] | None = None,
    ):
        self.store = store
        self.settings = store.settings
        self.workers = max(1, workers)
        self._call = call
        self._pool: Any = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        #: Jobs whose outcome could not be recorded at all (the database away): recorded as a
        #: failed try by the next :meth:`run_once` of this renderer, never left ``running``.
        self._unsaved: dict[int, str] = {}
        self._unsaved_lock = threading.Lock()

    def _render(self, task: Task) -> Any:
        if self._call is not None:
            return self._call(task)
        if self._pool is None:
            from monev import limits
            from monev.sandbox import ProcessLimits, WorkerPool

            # Niced: under a deadline's rush the cores go to the upload requests first; the
            # PDFs catch up when the rush is over.
            self._pool = WorkerPool(
                ProcessLimits(
                    limits.RENDER_MEMORY_BYTES, limits.RENDER_CPU_SECONDS, nice=RENDER_NICE
                ),
                self.workers,
            )
        return self._pool.call(render_task, task)

    def _record(self, job_id: int, save: Callable[[Session], object]) -> None:
        """Record a job's outcome with ``save``; when that fails (the database or the data folder
        away: the PDF is made but not saved), the job is a failed try instead (queued again
        within :data:`MAX_ATTEMPTS`, then failed with ``web.pdf.save_failed``), never left
        ``running`` until a restart."""
        try:
            with self.store.session() as db:
                save(db)
            return
        except Exception:
            pass
        self._save_failed(job_id, "web.pdf.save_failed")

    def _save_failed(self, job_id: int, error: str) -> None:
        try:
            with self.store.session() as db:
                fail(db, job_id, error)
        except Exception:  # not even that: tried again before the next job
            with self._unsaved_lock:
                self._unsaved[job_id] = error
            return
        with self._unsaved_lock:
            self._unsaved.pop(job_id, None)

    def _retry_unsaved(self) -> None:
        with self._unsaved_lock:
            pending = list(self._unsaved.items())
        for job_id, error in pending:
            self._save_failed(job_id, error)

    def run_once(self) -> bool:
        """Claim and render one job; False when the queue is empty."""
        from monev.sandbox import Stopped

        self._retry_unsaved()
        with self.store.session() as db:
            job = claim(db)
            if job is None:
                return False
            job_id, kind, snapshot_id = job.id, job.kind, job.snapshot_id
            worker = job.worker
            task = task_of(self.settings, db, job) if kind == "office" else None
        if kind == "snapshot":
            self._snapshot(job_id, snapshot_id, worker)
            return True
        if task is None:
            self._record(job_id, lambda db: fail(db, job_id, "web.pdf.unscorable", retry=False))
            return True
        try:
            with _Heartbeat(self.store, job_id, worker):
                got = self._render(task)
        except Exception:  # a bug in the renderer: this job's try, never the server
            got = Stopped("crashed", "exception")
        if isinstance(got, Stopped):
            self._record(job_id, lambda db: fail(db, job_id, "web.pdf.crashed"))
        elif got is None:
            self._record(job_id, lambda db: fail(db, job_id, "web.pdf.unscorable", retry=False))
        else:
            self._record(job_id, lambda db: complete(db, job_id, got[0], got[1]))
        return True

    def _snapshot(self, job_id: int, snapshot_id: int | None, worker: str) -> None:
        """A snapshot's PDFs: :func:`monev.run.run_score` renders them in its own worker
        processes (with the renderer's limits), so this runs in the renderer's thread."""
        import shutil

        from monev.web.snapshot import PublishError, render_pdfs

        error = ""
        try:
            with _Heartbeat(self.store, job_id, worker), self.store.session() as db:
                kept = render_pdfs(self.settings, db, snapshot_id)
            shutil.rmtree(kept, ignore_errors=True)  # listed and committed: no longer needed
        except PublishError as exc:  # the run itself refused: not tried again
            error = exc.key if exc.key.startswith("web.pdf.") else "web.pdf.run_failed"
        except Exception:  # a bug, or the database away: this job's try, never the server
            error = "web.pdf.crashed"
        if error:
            self._record(
                job_id, lambda db: fail(db, job_id, error, retry=error == "web.pdf.crashed")
            )
        else:
            self._record(job_id, lambda db: complete(db, job_id, "", ""))

    def run_until_idle(self) -> int:
        """Render until no job is queued (tests, the CLI); returns how many jobs were handled."""
        done = 0
        while self.run_once():
            done += 1
        return done

    def _loop(self) -> None:
        import time

        checked = time.monotonic()
        while not self._stop.is_set():
            try:
                if time.monotonic() - checked > STALE_AFTER.total_seconds() / 2:
                    checked = time.monotonic()  # a server on another machine may have died
                    with self.store.session() as db:
                        requeue_stale(db)
                wait_for_quiet(self._stop)
                busy = self.run_once()
            except Exception:  # the database is away for a moment: try again later
                busy = False
            if not busy:
                WAKE.wait(POLL_SECONDS)
                WAKE.clear()

    def start(self) -> None:
        """Requeue what a dead server left running, then start the threads."""
        with self.store.session() as db:
            requeue_stale(db)
        for k in range(self.workers):
            thread = threading.Thread(target=self._loop, name=f"monev-render-{k}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        WAKE.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        if self._pool is not None:
            self._pool.close()
            self._pool = None
