"""Two bugs of the web front end found under load (issue 14, wp-webload): two verifiers deciding
the same indicator at the same moment, and the first dashboard of a period re-checking every
office's latest upload.

The race is made deterministic: verifier A's decision is written but not yet committed when
verifier B's request starts; B's write then has to wait for A's transaction (SQLite's single
writer, PostgreSQL's unique index), and A commits only once B has reached its write.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from web_helpers import (  # first: it skips this module without the web extra
    csrf,
    decide,
    office_id,
    staff,
)

# isort: split

from sqlalchemy import event, select

from monev.web import verification
from monev.web.db import AuditEntry, Decision, Office, Period, User

pytestmark = pytest.mark.usefixtures("cheap_argon2")


def _decide_as(store, email: str, oid: int, verdict: str, note: str) -> None:
    with store.session() as db:
        user = db.scalars(select(User).where(User.email == email)).one()
        period = db.scalars(select(Period)).one()
        office = db.get(Office, oid)
        verification.decide(db, user, period, office, "JI-01", verdict, note, None)


def test_two_verifiers_deciding_one_indicator_at_once_both_land_in_the_audit_log(verif):
    settings, store, app, _, _, _, v, _ = verif
    staff(store, settings, app, "verifier", "verifikator2@kota.go.id")
    oid = office_id(store, "Dinas Kesehatan")
    reached = threading.Event()  # B is about to write its decision

    def b_writes(conn, cursor, statement, params, context, executemany):
        writes = statement.lstrip().upper().startswith(("INSERT", "UPDATE"))
        if threading.current_thread().name == "verifier-b" and "decisions" in statement and writes:
            reached.set()

    event.listen(store.engine, "before_cursor_execute", b_writes)
    failures: list[BaseException] = []

    def run_b() -> None:
        try:
            _decide_as(store, "verifikator2@kota.go.id", oid, "Sesuai", "Tautan berfungsi")
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    try:
        with store.session() as db:  # verifier A: written, not yet committed
            user = db.scalars(select(User).where(User.email == "verifikator@kota.go.id")).one()
            period = db.scalars(select(Period)).one()
            office = db.get(Office, oid)
            verification.decide(
                db, user, period, office, "JI-01", "Tidak Sesuai", "Tautan mati", None
            )
            thread = threading.Thread(target=run_b, name="verifier-b")
            thread.start()
            assert reached.wait(60), "verifier B never reached its write"
            time.sleep(0.3)  # B is now waiting for A's transaction
        thread.join(60)
    finally:
        event.remove(store.engine, "before_cursor_execute", b_writes)
    assert not thread.is_alive()
    assert failures == [], failures  # on the old code: IntegrityError (the unique constraint)
    with store.session() as db:
        rows = list(db.scalars(select(Decision).where(Decision.code == "JI-01")))
        log = list(
            db.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "decision.set")
                .order_by(AuditEntry.id)
            )
        )
    # one decision stands, the later one; both are in the audit log, the second with the
    # first as its "before"
    assert [(d.verdict, d.note) for d in rows] == [("Sesuai", "Tautan berfungsi")]
    assert [(e.actor, e.before, e.after["verdict"]) for e in log] == [
        ("verifikator@kota.go.id", None, "Tidak Sesuai"),
        (
            "verifikator2@kota.go.id",
            {"verdict": "Tidak Sesuai", "note": "Tautan mati"},
            "Sesuai",
        ),
    ]
    # the first verifier's page shows the current state: the second verifier's decision
    page = v.get(f"/verify/{oid}").text
    assert "Tautan berfungsi" in page and "Tautan mati" not in page


def test_dashboard_reuses_the_upload_check_and_equals_monev_score(verif, rubric, tmp_path):
    """The first dashboard built and scored a decided workbook for every office (~0.33 s each);
    now only for offices a verifier has decided on, or whose workbook has marks in the
    verifier's columns. The figures stay those of `monev score` on the exported inputs."""
    from helpers import write_workbook
    from test_scoring import best
    from web_helpers import EV, office_account, upload

    from monev.batch import score_paths
    from monev.registry import load_registry
    from monev.stages import load_stages
    from monev.web import snapshot

    settings, store, app, _, a, b, v, _ = verif
    c = office_account(store, settings, app, "Dinas Sosial", "dinsos@kota.go.id")
    d = office_account(store, settings, app, "Dinas Perhubungan", "dishub@kota.go.id")
    books = {
        a: ("Dinas Kesehatan", best(rubric)),
        b: ("Dinas Pendidikan", [("JI-01", "Ya", EV), ("JI-03", "Ya", "", "Sesuai")]),
        c: ("Dinas Sosial", [("JI-01", "Ya", EV), ("JI-02", "Ya", EV)]),
        d: ("Dinas Perhubungan", [("JI-01", "Ya", EV), ("JI-02", "Ya", EV, "Tidak Sesuai")]),
    }
    for who, (name, rows) in books.items():
        path = write_workbook(tmp_path / f"{name}.xlsx", rubric, rows, office=name)
        assert upload(who, path.name, path.read_bytes()).status_code == 200
    oa = office_id(store, "Dinas Kesehatan")
    decide(v, oa, "JI-05", "Tidak Sesuai", "Tautan mati")
    v.post(
        f"/verify/{oa}/stages",
        data={"csrf": csrf(v, f"/verify/{oa}"), "stage-visitasi": "84,5", "stage-wawancara": "90"},
    )

    built: list[str] = []
    plain = verification.decided_workbook

    def counting(source, rb, office, decisions, stamp):
        built.append(office.name)
        return plain(source, rb, office, decisions, stamp)

    verification._decided_bytes.cache_clear()
    verification.decided_workbook = counting  # type: ignore[assignment]
    try:
        with store.session() as db:
            period = db.scalars(select(Period)).one()
            board = snapshot.dashboard(settings, db, period)
            shown = {o.name: (r.rank, r.score.score, r.score.predicate) for o, r in board.ranking}
    finally:
        verification.decided_workbook = plain  # type: ignore[assignment]
    # Dinas Kesehatan has a decision; Dinas Pendidikan and Dinas Perhubungan wrote in the
    # verifier's column themselves; Dinas Sosial's own check stands (on the old code: 4 built)
    assert sorted(built) == ["Dinas Kesehatan", "Dinas Pendidikan", "Dinas Perhubungan"]

    with store.session() as db:
        period = db.scalars(select(Period)).one()
        inputs = snapshot.export_inputs(settings, db, period, tmp_path / "export")
    run = score_paths(
        inputs.workbooks,
        rubric,
        stages=load_stages(inputs.stages, rubric),
        verifier_from_workbooks=True,
        registry=load_registry(inputs.registry, rubric.unit_types),
    )
    cli = {o.name: (o.rank, o.score.score, o.score.predicate) for o in run.offices}
    assert shown == cli
    # Dinas Kesehatan: 0,8 x (100 - 20/7) + 0,1 x 84,5 + 0,1 x 90 = 95.164 -> 95,16.
    # Dinas Sosial: 2 x 20/7 = 5.714 -> 5,71. Dinas Pendidikan: JI-01 only (its own "Sesuai" on
    # JI-03 without evidence does not count) = 20/7 -> 2,86. Dinas Perhubungan: JI-01 and JI-02
    # (its own "Tidak Sesuai" is cleared from the decided workbook) = 40/7 -> 5,71.
    assert {n: str(s) for n, (_, s, _) in shown.items()} == {
        "Dinas Kesehatan": "95.16",
        "Dinas Sosial": "5.71",
        "Dinas Perhubungan": "5.71",
        "Dinas Pendidikan": "2.86",
    }


def test_a_withdrawn_decision_is_gone_and_audited_once(verif):
    """The withdrawal (an empty verdict) now deletes by id and records only a deletion that
    happened: withdrawing again changes nothing and adds nothing to the log."""
    _, store, _, _, _, _, v, _ = verif
    oid = office_id(store, "Dinas Kesehatan")
    assert decide(v, oid, "JI-01", "Tidak Sesuai", "Tautan mati").status_code == 200
    assert decide(v, oid, "JI-01", "").status_code == 200
    assert decide(v, oid, "JI-01", "").status_code == 200
    with store.session() as db:
        assert list(db.scalars(select(Decision))) == []
        log = [
            (e.action, e.before)
            for e in db.scalars(
                select(AuditEntry).where(AuditEntry.entity == "decision").order_by(AuditEntry.id)
            )
        ]
    assert log == [
        ("decision.set", None),
        ("decision.withdraw", {"verdict": "Tidak Sesuai", "note": "Tautan mati"}),
    ]


def _descendants(root: int) -> set[int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, todo = set(), [root]
    while todo:
        p = todo.pop()
        kids = {c for c, par in parents.items() if par == p} - found
        found |= kids
        todo.extend(kids)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_stopping_monev_serve_ends_its_check_workers(tmp_path, cheap_argon2):
    """A stopped server left its check workers and their fork server running (three processes
    per stop, found running scripts/web_load.py): uvicorn re-raises SIGTERM after its shutdown,
    so the pool was never closed. It is now closed when the application shuts down."""
    import os
    import signal
    import socket
    import subprocess
    import sys

    import httpx

    from monev.web.ops import Store, create_admin, open_period
    from monev.web.settings import Settings

    data = tmp_path / "data"
    settings = Settings.for_data_dir(data, os.environ.get("MONEV_WEB_DB"))
    store = Store(settings)
    with store.session() as db:  # an open period: the server warms its check workers on start
        admin = create_admin(db, "admin@kota.go.id", "kata-sandi-admin-panjang")
        open_period(db, admin, 2099, "ki-jatim-2024", "2099-12-31T23:59", "WIB")
    store.engine.dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "monev", "serve", "--data", str(data), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
        workers = _descendants(proc.pid)
        assert workers, "no check workers were started"
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        deadline = time.monotonic() + 30  # generous: the machine may be busy
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [p for p in workers if _alive(p)] == []
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in workers:  # never leave them behind, whatever the outcome
            if _alive(p):
                os.kill(p, signal.SIGKILL)


def test_the_pdf_renderer_is_stopped_when_the_application_shuts_down(tmp_path):
    """`monev serve` stopped its renderer only after uvicorn.run() returned, which it never does
    on SIGTERM (uvicorn re-raises it): the renderer's threads and worker processes were left.
    The application's shutdown now stops the renderer it was given."""
    from starlette.testclient import TestClient

    from monev.web.app import create_app
    from monev.web.settings import Settings

    class Renderer:
        stopped = 0

        def stop(self) -> None:
            self.stopped += 1

    app = create_app(Settings.for_data_dir(tmp_path / "data"))
    renderer = Renderer()
    app.state.renderer = renderer
    with TestClient(app) as c:
        assert c.get("/login").status_code == 200
        assert renderer.stopped == 0
    assert renderer.stopped == 1
