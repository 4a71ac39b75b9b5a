"""Office PDFs rendered in the background (issue 14 item 5; monev.web.rendering).

The queue is tested on the database alone (claim, supersede, the retry bound, jobs left running
by a dead server); one test renders for real (marked ``pdf``): the upload request returns with
the job queued and no PDF, a renderer run until idle makes it, and it prints no city rank.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading

import pytest
from web_helpers import (  # first: it skips this module without the web extra
    ADMIN,
    ADMIN_PW,
    EV,
    client,
    csrf,
    login,
    office_account,
    upload,
)

# isort: split

from helpers import write_workbook
from sqlalchemy import select

from monev.sandbox import Stopped
from monev.web import rendering
from monev.web.db import Upload
from monev.web.rendering import MAX_ATTEMPTS, Renderer, RenderJob, claim, fail, requeue_stale

pytestmark = pytest.mark.usefixtures("cheap_argon2")


@pytest.fixture
def offices(cycle):
    """An open period and two offices, each logged in (conftest's ``cycle``)."""
    return cycle


def _good(tmp_path, rubric, name: str = "Dinas Kesehatan", file: str = "dinkes.xlsx"):
    from test_scoring import best

    return write_workbook(tmp_path / file, rubric, best(rubric), office=name).read_bytes()


def _upload_id(r) -> int:
    m = re.fullmatch(r"/uploads/(\d+)", r.url.path)
    assert m, r.url
    return int(m.group(1))


def _jobs(store) -> dict[int, RenderJob]:
    with store.session() as db:
        return {j.upload_id: j for j in db.scalars(select(RenderJob).order_by(RenderJob.id))}


def test_an_upload_queues_its_pdf_and_a_newer_one_supersedes_it(offices, rubric, tmp_path):
    _, store, _, _, a, b = offices
    data = _good(tmp_path, rubric)
    first = _upload_id(upload(a, "dinkes.xlsx", data))
    r = upload(a, "dinkes-2.xlsx", data)
    second = _upload_id(r)
    other = _upload_id(upload(b, "dindik.xlsx", _good(tmp_path, rubric, "Dinas Pendidikan", "b")))
    jobs = _jobs(store)
    assert jobs[first].status == "superseded"  # never rendered: a newer upload came first
    assert jobs[second].status == "queued" and jobs[other].status == "queued"
    # the request did not render: the page says the PDF is being made, and polls
    assert "PDF sedang dibuat" in r.text and 'http-equiv="refresh"' not in r.text
    # ... and asks a status URL instead of reloading itself while the office reads its problems
    assert f'data-poll="/pdf-status/upload/{second}"' in r.text and "/static/poll.js" in r.text
    assert a.get(f"/pdf-status/upload/{second}").json() == {"status": "queued"}
    assert a.get(f"/pdf-status/upload/{first}").json() == {"status": "superseded"}
    assert b.get(f"/pdf-status/upload/{second}").status_code == 404  # another office's
    assert "report.pdf" not in r.text
    assert "lebih baru" in a.get(f"/uploads/{first}").text
    # a rejected upload queues nothing
    rejected = _upload_id(upload(a, "rusak.xlsx", b"bukan kuesioner"))
    assert rejected not in _jobs(store)


def test_claim_takes_each_job_once_even_from_two_threads(offices, rubric, tmp_path):
    _, store, _, _, a, _ = offices
    with store.session() as db:
        up = db.get(Upload, _upload_id(upload(a, "dinkes.xlsx", _good(tmp_path, rubric))))
        assert up is not None
        db.execute(RenderJob.__table__.delete())
        for _ in range(12):  # twelve jobs of one upload, added directly (no supersede)
            db.add(RenderJob(upload_id=up.id, office_id=up.office_id, lang="id", status="queued"))
    taken: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while True:
            with store.session() as db:
                job = claim(db, name)
                if job is None:
                    return
                with lock:
                    taken.append(job.id)

    threads = [threading.Thread(target=worker, args=(f"w{k}",)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(taken) == 12 and len(set(taken)) == 12  # every job once, none twice
    with store.session() as db:
        assert {j.status for j in db.scalars(select(RenderJob))} == {"running"}


def test_a_render_that_keeps_crashing_is_tried_three_times_then_shown_as_failed(
    offices, rubric, tmp_path
):
    _, store, _, _, a, _ = offices
    up_id = _upload_id(upload(a, "dinkes.xlsx", _good(tmp_path, rubric)))
    calls = []

    def crash(task):
        calls.append(task)
        return Stopped("crashed", "SIGSEGV")

    # 1 try + 2 retries = MAX_ATTEMPTS (3) renders, then failed; the queue is then empty
    assert Renderer(store, call=crash).run_until_idle() == 3 == MAX_ATTEMPTS
    assert len(calls) == 3
    job = _jobs(store)[up_id]
    assert (job.status, job.attempts, job.error) == ("failed", 3, "web.pdf.crashed")
    page = a.get(f"/uploads/{up_id}").text
    assert "PDF tidak dapat dibuat" in page and "berulang kali" in page
    assert "data-poll" not in page  # no polling once it has failed
    assert a.get(f"/uploads/{up_id}/report.pdf").status_code == 404


def test_a_pdf_made_but_not_saved_is_tried_again_then_shown_as_failed(
    offices, rubric, tmp_path, monkeypatch
):
    """wp-webpin: the render succeeded but recording it raised (the database away, the disk
    full): the job stayed ``running`` until a restart and its page said "being made" for ever.
    Now each such try counts: queued again, after MAX_ATTEMPTS (3) failed, and the page says
    why."""
    from sqlalchemy.exc import OperationalError

    _, store, _, _, a, _ = offices
    up_id = _upload_id(upload(a, "dinkes.xlsx", _good(tmp_path, rubric)))

    def made(task):  # the worker made and stored the PDF
        return ("0" * 64, "1" * 64, True)

    def cannot_save(db, job_id, key, sha256):
        raise OperationalError("UPDATE render_jobs", {}, Exception("database is locked"))

    monkeypatch.setattr(rendering, "complete", cannot_save)
    assert Renderer(store, call=made).run_until_idle() == 3 == MAX_ATTEMPTS
    job = _jobs(store)[up_id]
    assert (job.status, job.attempts, job.error) == ("failed", 3, "web.pdf.save_failed")
    page = a.get(f"/uploads/{up_id}").text
    assert "PDF tidak dapat dibuat" in page and "tidak dapat disimpan" in page
    assert "data-poll" not in page  # the page stops waiting for it


def test_an_outcome_that_cannot_be_recorded_at_all_is_recorded_on_the_next_round(
    offices, rubric, tmp_path, monkeypatch
):
    """Not even the failed try could be written (the database away for a moment): the renderer
    keeps it and records it before its next job, so the job does not stay ``running``."""
    _, store, _, _, a, _ = offices
    up_id = _upload_id(upload(a, "dinkes.xlsx", _good(tmp_path, rubric)))
    real_fail, down = rendering.fail, [2]  # the first two writes of the outcome fail

    def flaky_fail(db, job_id, error, retry=True):
        if down[0]:
            down[0] -= 1
            raise RuntimeError("database away")
        return real_fail(db, job_id, error, retry)

    monkeypatch.setattr(rendering, "fail", flaky_fail)
    renderer = Renderer(store, call=lambda task: Stopped("crashed", "SIGSEGV"))
    assert renderer.run_once() is True
    assert _jobs(store)[up_id].status == "running"  # nothing could be written yet
    # the next round records the failed try first (queued again), then takes the job again
    assert renderer.run_until_idle() == 2  # tries 2 and 3
    job = _jobs(store)[up_id]
    assert (job.status, job.attempts) == ("failed", 3)


def test_fail_requeues_until_the_bound(offices, rubric, tmp_path):
    _, store, _, _, a, _ = offices
    up_id = _upload_id(upload(a, "dinkes.xlsx", _good(tmp_path, rubric)))
    states = []
    for _ in range(MAX_ATTEMPTS):
        with store.session() as db:
            job = claim(db, "w")
            assert job is not None and job.upload_id == up_id
            states.append((job.attempts, fail(db, job.id, "web.pdf.crashed")))
    assert states == [(1, "queued"), (2, "queued"), (3, "failed")]
    with store.session() as db:
        assert claim(db, "w") is None


def test_jobs_left_running_by_a_dead_server_are_requeued_on_start(offices, rubric, tmp_path):
    import socket

    _, store, _, _, a, _ = offices
    up_id = _upload_id(upload(a, "dinkes.xlsx", _good(tmp_path, rubric)))
    here = socket.gethostname()
    now = dt.datetime(2026, 11, 20, 12, 0)
    minute = dt.timedelta(minutes=1)
    cases = {  # worker, claimed at, attempts -> status after requeue_stale
        "dead-here": (f"{here}:999999999:1", now, 1, "queued"),  # no such process
        "alive-here": (f"{here}:{__import__('os').getpid()}:1", now - 60 * minute, 1, "running"),
        "other-fresh": ("elsewhere:42:1", now - minute, 1, "running"),  # 1 min < 10 min
        "other-stale": ("elsewhere:42:1", now - 11 * minute, 1, "queued"),  # 11 min > 10 min
        "dead-spent": (f"{here}:999999999:1", now, MAX_ATTEMPTS, "failed"),
        # a server restarted in the same container often gets the same process id (1 as the
        # entrypoint): its jobs are dead although that pid is alive; the start time tells
        "same-pid-restarted": (f"{here}:{__import__('os').getpid()}:12345:1", now, 1, "queued"),
        "this-process": (rendering.worker_name(), now - 60 * minute, 1, "running"),
        # a server in another pid namespace on a host of the same name (containers sharing
        # the host's network): its pid means nothing here, so only its age counts
        "other-namespace-fresh": (f"{here}:1:12345@1:1", now - minute, 1, "running"),
        "other-namespace-stale": (f"{here}:1:12345@1:1", now - 11 * minute, 1, "queued"),
    }
    ids = {}
    with store.session() as db:
        up = db.get(Upload, up_id)
        assert up is not None
        db.execute(RenderJob.__table__.delete())
        for name, (worker, at, tries, _) in cases.items():
            job = RenderJob(
                upload_id=up.id,
                office_id=up.office_id,
                lang="id",
                status="running",
                worker=worker,
                claimed_at=at,
                attempts=tries,
            )
            db.add(job)
            db.flush()
            ids[name] = job.id
    with store.session() as db:
        assert requeue_stale(db, now) == 5
    with store.session() as db:
        for name, (*_, expected) in cases.items():
            job = db.get(RenderJob, ids[name])
            assert job is not None and job.status == expected, name


def test_the_library_office_report_leaves_the_rank_out_only_when_asked(rubric, tmp_path):
    from test_scoring import best

    from monev.batch import score_paths
    from monev.report import render_office_html

    write_workbook(tmp_path / "a.xlsx", rubric, best(rubric), office="Dinas A")
    write_workbook(tmp_path / "b.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas B")
    run = score_paths([tmp_path], rubric)
    top = run.offices[0]
    assert "Peringkat 1 dari 2" in render_office_html(run, top)  # the snapshot's PDFs
    assert "Peringkat 1 dari 2" not in render_office_html(run, top, rank=False)


@pytest.mark.pdf
def test_upload_returns_before_its_pdf_then_a_worker_renders_it_without_the_rank(
    offices, rubric, tmp_path
):
    from pypdf import PdfReader

    settings, store, _, _, a, b = offices
    data = _good(tmp_path, rubric)
    r = upload(a, "dinkes.xlsx", data)
    up_id = _upload_id(r)
    # the response came back with the job queued and nothing rendered yet
    assert _jobs(store)[up_id].status == "queued" and "PDF sedang dibuat" in r.text
    assert not (settings.data_dir / "pdf").exists()
    assert a.get(f"/uploads/{up_id}/report.pdf").status_code == 404
    renderer = Renderer(store)
    try:
        assert renderer.run_until_idle() == 1
        job = _jobs(store)[up_id]
        assert job.status == "done" and job.attempts == 1
        page = a.get(f"/uploads/{up_id}").text
        assert f'href="/uploads/{up_id}/report.pdf"' in page and "data-poll" not in page
        got = a.get(f"/uploads/{up_id}/report.pdf")
        assert got.status_code == 200 and got.content.startswith(b"%PDF")
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(got.content)).pages)
        assert "Dinas Kesehatan" in text and "100,00" in text  # best answers: 100 points
        assert "Peringkat" not in text and " dari 1" not in text  # no city rank
        # office isolation: B gets 404 for A's PDF, as for an id that does not exist
        assert b.get(f"/uploads/{up_id}/report.pdf").status_code == 404
        assert b.get(f"/uploads/{up_id + 999}/report.pdf").status_code == 404
        # the same file again the same day: the same document (the render cache's key), found
        # under the data folder, not rendered again (the stored file is not even rewritten)
        path = rendering.pdf_path(settings, job.pdf_key)
        stamp = path.stat().st_mtime_ns
        again = _upload_id(upload(a, "dinkes.xlsx", data))
        assert renderer.run_until_idle() == 1
        job2 = _jobs(store)[again]
        assert (job2.status, job2.pdf_key, job2.pdf_sha256) == ("done", job.pdf_key, job.pdf_sha256)
        assert path.stat().st_mtime_ns == stamp
    finally:
        renderer.stop()


def test_publish_returns_before_the_snapshot_pdfs_and_keeps_its_inputs_unserved(
    offices, rubric, tmp_path
):
    """The publish request freezes results.json & co. and queues the PDFs (no WeasyPrint here:
    the request scores without PDFs); the inputs kept for the renderer are never served."""
    from monev.web.db import Snapshot
    from monev.web.snapshot import PENDING, snapshot_dir

    settings, store, _, admin, a, _ = offices
    upload(a, "dinkes.xlsx", _good(tmp_path, rubric))
    r = admin.post("/admin/publish", data={"csrf": csrf(admin, "/dashboard")})
    assert r.status_code == 200 and re.fullmatch(r"/snapshots/\d+", r.url.path), r.text
    assert "sedang disiapkan" in r.text and 'http-equiv="refresh"' not in r.text
    sid = int(r.url.path.rsplit("/", 1)[1])
    assert f'data-poll="/pdf-status/snapshot/{sid}"' in r.text
    assert admin.get(f"/pdf-status/snapshot/{sid}").json() == {"status": "queued"}
    assert a.get(f"/pdf-status/snapshot/{sid}").status_code == 404  # offices: not theirs
    with store.session() as db:
        snap = db.scalars(select(Snapshot)).one()
        names = {f["name"] for f in snap.files}
        job = rendering.snapshot_job(db, snap.id)
        assert job is not None and (job.kind, job.status) == ("snapshot", "queued")
    assert "results.json" in names and not any(n.endswith(".pdf") for n in names)
    kept = snapshot_dir(settings, snap.id) / PENDING
    assert (kept / "order.json").is_file()
    assert (kept / "kuesioner" / "dinas-kesehatan.xlsx").is_file()
    for guess in (f"{PENDING}/order.json", f"{PENDING}/kuesioner/dinas-kesehatan.xlsx"):
        assert admin.get(f"{r.url.path}/{guess}").status_code == 404, guess


def test_the_renderer_waits_while_uploads_arrive_but_not_for_ever():
    """A render during a rush of uploads took the cores from the upload requests (100 at once:
    p95 3.5-3.7 s with the renderer working, 2.8 s without it). It now starts no PDF until no
    upload was seen for a moment, and never waits longer than a bound."""
    import threading
    import time

    stop = threading.Event()
    rendering._LAST_REQUEST[0] = 0.0  # no upload for a long time: no wait at all
    assert rendering.wait_for_quiet(stop, quiet=5, most=30) < 1
    rendering.request_seen()  # an upload just now: waits its quiet time
    assert rendering.wait_for_quiet(stop, quiet=0.3, most=30) >= 0.3
    running = threading.Event()

    def rush() -> None:  # uploads keep coming: the bound ends the wait
        while not running.is_set():
            rendering.request_seen()
            time.sleep(0.02)

    t = threading.Thread(target=rush)
    t.start()
    try:
        waited = rendering.wait_for_quiet(stop, quiet=0.3, most=0.6)
    finally:
        running.set()
        t.join()
    assert waited >= 0.6
    rendering.request_seen()
    stop.set()  # a server stopping does not wait for the quiet
    assert rendering.wait_for_quiet(stop, quiet=30, most=60) < 1


def test_the_live_pdf_of_a_period_opened_with_an_uploaded_rubric_is_rendered(site, tmp_path):
    # The render workers are fresh processes: they do not know the data folder's rubrics/, so a
    # period naming its rubric by hash (sha256:...) must hand the stored file to the worker.
    # Before the fix every such job ended "failed" after 3 tries ("web.pdf.crashed").
    from helpers import SMALL_RUBRIC, small_rubric
    from web_helpers import open_with

    settings, store, app = site
    admin = client(app)
    login(admin, ADMIN, ADMIN_PW)
    assert open_with(admin, "rubrik.yaml", SMALL_RUBRIC.encode("utf-8")).status_code == 200
    a = office_account(store, settings, app, "Dinas Kesehatan", "dinkes@kota.go.id")
    wb = write_workbook(
        tmp_path / "a.xlsx", small_rubric(), [("A-01", "Ya", EV)], office="Dinas Kesehatan"
    )
    up_id = _upload_id(upload(a, "a.xlsx", wb.read_bytes()))
    renderer = Renderer(store)  # real worker processes
    try:
        assert renderer.run_until_idle() == 1
    finally:
        renderer.stop()
    job = _jobs(store)[up_id]
    assert (job.status, job.attempts, job.error) == ("done", 1, "")
    assert a.get(f"/uploads/{up_id}/report.pdf").content.startswith(b"%PDF")


def test_prune_removes_only_old_superseded_pdfs_never_a_latest_or_a_shared_one(
    offices, rubric, tmp_path
):
    """wp-webpin: stored PDFs were never removed. ``prune_pdfs`` removes the PDFs of superseded
    uploads made before the cut-off; the office's latest upload (and its latest checked one, when
    the latest was rejected) keeps its PDF, and a file that a kept upload shares is kept."""
    import hashlib
    import subprocess
    import sys
    from pathlib import Path

    from sqlalchemy import update

    settings, store, _, _, a, b = offices

    def made(task):  # a stand-in renderer: the PDF is named by the uploaded bytes
        data = Path(task.blob).read_bytes()
        key = hashlib.sha256(data).hexdigest()
        pdf = b"%PDF-stand-in " + key.encode()
        path = rendering.pdf_path(settings, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pdf)
        return key, hashlib.sha256(pdf).hexdigest(), True

    renderer = Renderer(store, call=made)
    one = write_workbook(
        tmp_path / "1.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas Kesehatan"
    ).read_bytes()
    best = _good(tmp_path, rubric)
    ids = {}
    for name, data, who in (
        ("u1", one, a),
        ("u2", best, a),
        ("u3", best, a),  # the same bytes as u2: the same stored PDF
        ("b1", _good(tmp_path, rubric, "Dinas Pendidikan", "b.xlsx"), b),
    ):
        ids[name] = _upload_id(upload(who, f"{name}.xlsx", data))
        renderer.run_until_idle()
    upload(a, "rusak.xlsx", b"bukan kuesioner")  # A's latest upload is rejected: u3 stays shown
    jobs = _jobs(store)
    assert {n: jobs[i].status for n, i in ids.items()} == dict.fromkeys(ids, "done")
    assert jobs[ids["u2"]].pdf_key == jobs[ids["u3"]].pdf_key
    u1_pdf = rendering.pdf_path(settings, jobs[ids["u1"]].pdf_key)
    u1_size = u1_pdf.stat().st_size  # "%PDF-stand-in " (14 bytes) + 64 hex = 78
    assert u1_size == 78
    now = dt.datetime(2026, 12, 30, 12, 0)
    with store.session() as db:  # every PDF was made 40 days before ``now``
        db.execute(update(RenderJob).values(finished_at=now - dt.timedelta(days=40)))
    # a PDF of today may be the one a job rendering an identical upload of today is about to
    # record (the key includes the upload's day): less than a day is refused (found by a review)
    with pytest.raises(ValueError):
        rendering.prune_pdfs(store, dt.timedelta(hours=23), now)
    # made 40 days ago, the cut-off 60 days: nothing is old enough
    assert rendering.prune_pdfs(store, dt.timedelta(days=60), now) == rendering.Pruned(0, 0, 0)
    # the dry run says what would go and removes nothing: u1 and u2 are superseded (2 jobs), but
    # u2's file is u3's too, so one file of 78 bytes
    expected = rendering.Pruned(2, 1, 78)
    assert rendering.prune_pdfs(store, dt.timedelta(days=30), now, dry_run=True) == expected
    assert u1_pdf.is_file() and _jobs(store)[ids["u1"]].status == "done"
    assert rendering.prune_pdfs(store, dt.timedelta(days=30), now) == expected
    assert not u1_pdf.exists()
    jobs = _jobs(store)
    assert {n: jobs[i].status for n, i in ids.items()} == {
        "u1": "pruned",
        "u2": "pruned",
        "u3": "done",
        "b1": "done",
    }
    page = a.get(f"/uploads/{ids['u1']}").text
    assert "dihapus untuk menghemat ruang" in page and "data-poll" not in page
    assert a.get(f"/uploads/{ids['u1']}/report.pdf").status_code == 404
    assert a.get(f"/uploads/{ids['u3']}/report.pdf").status_code == 200  # the shared file
    assert b.get(f"/uploads/{ids['b1']}/report.pdf").status_code == 200
    # the command line: the same, nothing left to remove now
    store.engine.dispose()
    r = subprocess.run(
        [sys.executable, "-m", "monev", "web", "prune-pdfs", "--data", str(settings.data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "0 berkas PDF (0,0 MB) dari 0 unggahan lama dihapus" in r.stdout


def test_the_result_page_says_which_state_the_live_pdf_shows(offices, rubric, tmp_path):
    """wp-webpin: the live PDF is the upload's own check; a verifier's decisions change the
    score without changing that PDF. The page says so next to the download and links the
    decisions (the office's own page; a staff member's, the office's verification page)."""
    import hashlib

    settings, store, _, admin, a, _ = offices

    def made(task):
        pdf = b"%PDF-stand-in"
        key = hashlib.sha256(task.blob.encode()).hexdigest()
        path = rendering.pdf_path(settings, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pdf)
        return key, hashlib.sha256(pdf).hexdigest(), True

    up_id = _upload_id(upload(a, "dinkes.xlsx", _good(tmp_path, rubric)))
    Renderer(store, call=made).run_until_idle()
    page = a.get(f"/uploads/{up_id}").text
    state = re.search(r'<p class="note" id="pdf-state">(.*?)</p>', page, re.S)
    assert state and "sebelum keputusan verifikator" in state.group(1)
    assert 'href="/office/decisions"' in state.group(1)
    with store.session() as db:
        office_id = db.get(Upload, up_id).office_id
    staff_page = admin.get(f"/uploads/{up_id}?lang=en").text
    assert "before the verifier&#39;s decisions" in staff_page
    assert f'href="/verify/{office_id}"' in staff_page


def test_a_long_render_keeps_telling_other_machines_it_is_alive(
    offices, rubric, tmp_path, monkeypatch
):
    """A job running on another machine is taken for dead after STALE_AFTER (10 min) without
    news. A render longer than that (a whole city's snapshot) must not be taken away and done
    twice: the renderer beats (claimed_at moves on) while it works."""
    _, store, _, _, a, _ = offices
    up_id = _upload_id(upload(a, "dinkes.xlsx", _good(tmp_path, rubric)))
    # As seen from the other machine that checks: the job belongs to a host that is not this one.
    monkeypatch.setattr(rendering, "worker_name", lambda: "elsewhere:42:1@1:7")
    monkeypatch.setattr(rendering, "HEARTBEAT_SECONDS", 0.05)
    seen = []

    def long_render(task):
        with store.session() as db:  # the render began 20 minutes ago
            job = _jobs(store)[up_id]
            db.get(RenderJob, job.id).claimed_at = rendering.utcnow() - dt.timedelta(minutes=20)
        deadline = rendering.utcnow() + dt.timedelta(seconds=5)
        while rendering.utcnow() < deadline:  # until a beat has been recorded
            job = _jobs(store)[up_id]
            if rendering.utcnow() - job.claimed_at < dt.timedelta(minutes=1):
                break
            threading.Event().wait(0.05)
        with store.session() as db:  # the other machine looks for dead servers' jobs
            seen.append(requeue_stale(db))
        return Stopped("crashed", "SIGSEGV")

    Renderer(store, call=long_render).run_once()
    assert seen == [0]  # nothing taken for dead while it rendered
    job = _jobs(store)[up_id]
    assert (job.status, job.attempts) == ("queued", 1)  # its own outcome: one failed try


def test_a_beat_is_for_the_worker_that_holds_the_job_only(offices, rubric, tmp_path):
    _, store, _, _, a, _ = offices
    up_id = _upload_id(upload(a, "dinkes.xlsx", _good(tmp_path, rubric)))
    with store.session() as db:
        job = claim(db, "w1")
        assert job is not None and job.upload_id == up_id
        job_id = job.id
    with store.session() as db:
        assert rendering.beat(db, job_id, "w1")
        assert not rendering.beat(db, job_id, "w2")  # another worker's job
        fail(db, job_id, "web.pdf.crashed")
    with store.session() as db:
        assert not rendering.beat(db, job_id, "w1")  # queued again: no longer running


def test_a_render_that_hangs_stops_beating_after_a_bound(offices, rubric, tmp_path, monkeypatch):
    """A render waiting for ever (the CPU limit never ends it) would beat for ever and keep its
    job from every other machine (found by a cold review): beats stop after MAX_BEAT_SECONDS."""
    import time

    _, store, _, _, a, _ = offices
    up_id = _upload_id(upload(a, "dinkes.xlsx", _good(tmp_path, rubric)))
    monkeypatch.setattr(rendering, "HEARTBEAT_SECONDS", 0.02)
    monkeypatch.setattr(rendering, "MAX_BEAT_SECONDS", 0.2)
    with store.session() as db:
        job = claim(db, "w1")
        assert job is not None and job.upload_id == up_id
        job_id = job.id
    beats: list[float] = []
    real = rendering.beat
    monkeypatch.setattr(
        rendering, "beat", lambda db, j, w: (beats.append(time.monotonic()), real(db, j, w))[1]
    )
    start = time.monotonic()
    with rendering._Heartbeat(store, job_id, "w1"):
        time.sleep(1.0)
    assert beats and max(beats) - start < 0.5  # beat at first, then stopped
