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

import pytest

pytest.importorskip("starlette", reason='the web extra is not installed: pip install ".[web]"')
pytest.importorskip("sqlalchemy", reason='the web extra is not installed: pip install ".[web]"')

from sqlalchemy import event, select
from test_web import cheap_argon2, client, site  # noqa: F401  (fixtures)
from test_web_verify import decide, office_id, staff, verif  # noqa: F401  (fixtures)

from monev.web import verification
from monev.web.db import AuditEntry, Decision, Office, Period, User


def _decide_as(store, email: str, oid: int, verdict: str, note: str) -> None:
    with store.session() as db:
        user = db.scalars(select(User).where(User.email == email)).one()
        period = db.scalars(select(Period)).one()
        office = db.get(Office, oid)
        verification.decide(db, user, period, office, "JI-01", verdict, note, None)


def test_two_verifiers_deciding_one_indicator_at_once_both_land_in_the_audit_log(verif):  # noqa: F811
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
