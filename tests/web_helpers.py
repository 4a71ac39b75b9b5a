"""What the web front end's tests share: the accounts, the steps a person takes in the browser
(log in, open a period, accept an invitation, upload, decide), driven through Starlette's
TestClient. The fixtures built from them (``site``, ``cycle``, ``verif``, ``cheap_argon2``) are
in tests/conftest.py.

Importing this module skips the importing test module when the web extra is not installed.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import pytest

pytest.importorskip("starlette", reason='the web extra is not installed: pip install ".[web]"')
pytest.importorskip("sqlalchemy", reason='the web extra is not installed: pip install ".[web]"')

from sqlalchemy import select

with warnings.catch_warnings():  # newer Starlette suggests httpx2; httpx is what we have
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from monev.web.db import Office
from monev.web.ops import Store, invite, invite_staff
from monev.web.settings import Settings

EV = "https://ppid.contoh.go.id/bukti"
ADMIN, ADMIN_PW = "admin@kota.go.id", "kata-sandi-admin-1"
PW = "kata-sandi-kantor-1"


def client(app) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1", follow_redirects=True)


def csrf(c: TestClient, url: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', c.get(url).text)
    assert m, url
    return m.group(1)


def login(c: TestClient, email: str, password: str):
    return c.post("/login", data={"email": email, "password": password, "csrf": csrf(c, "/login")})


def open_period(c: TestClient, year: int = 2026, deadline: str = "2099-12-15T23:59"):
    token = csrf(c, "/admin")
    return c.post(
        "/admin/periods",
        data={
            "csrf": token,
            "year": year,
            "rubric": "ki-jatim-2024",
            "deadline": deadline,
            "zone": "WIB",
        },
    )


def open_with(c, name: str, data: bytes, year: int = 2030, token: str | None = None):
    """Post the period form with a rubric file (the select still says ki-jatim-2024)."""
    return c.post(
        "/admin/periods",
        data={
            "csrf": csrf(c, "/admin") if token is None else token,
            "year": year,
            "rubric": "ki-jatim-2024",
            "deadline": "2099-12-15T23:59",
            "zone": "WIB",
        },
        files={"rubric_file": (name, data)},
    )


def _accept(app, link: str, email: str) -> tuple[TestClient, Any]:
    """A new browser that accepts the invitation ``link`` as ``email`` (password ``PW``)."""
    c = client(app)
    path = link.split("127.0.0.1:8000", 1)[1]
    r = c.post(path, data={"csrf": csrf(c, path), "email": email, "password": PW, "password2": PW})
    return c, r


def office_account(store: Store, settings: Settings, app, name: str, email: str) -> TestClient:
    with store.session() as db:
        _, link = invite(db, settings, None, name)
    c, r = _accept(app, link, email)
    assert r.status_code == 200 and r.url.path == "/office", r.text
    return c


def staff(store, settings, app, role: str, email: str):
    """A verifier's or an auditor's logged-in client, through an invitation."""
    with store.session() as db:
        link = invite_staff(db, settings, None, role)
    c, r = _accept(app, link, email)
    assert r.status_code == 200, r.text
    return c


def upload(c: TestClient, name: str, data: bytes):
    token = csrf(c, "/office")
    return c.post("/office/uploads", data={"csrf": token}, files={"file": (name, data)})


def office_id(store, name: str) -> int:
    with store.session() as db:
        return db.scalars(select(Office).where(Office.name == name)).one().id


def decide(v, oid: int, code: str, verdict: str, note: str = ""):
    token = csrf(v, f"/verify/{oid}")
    return v.post(
        f"/verify/{oid}/decisions",
        data={"csrf": token, "code": code, "verdict": verdict, "note": note},
    )
