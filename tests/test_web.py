"""The web front end, first step of issue 14: accounts, invitations, periods, upload and check.

Driven through Starlette's TestClient (no network, no server). The browser walk is in
tests/web_e2e/.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from web_helpers import (  # first: it skips this module without the web extra
    ADMIN,
    ADMIN_PW,
    EV,
    PW,
    TestClient,
    client,
    csrf,
    login,
    office_account,
    open_period,
    upload,
)

# isort: split
from helpers import create_admin_args, write_workbook
from sqlalchemy import select

from monev.check import check_file
from monev.web.db import AuditEntry, Upload
from monev.web.ops import invite

pytestmark = pytest.mark.usefixtures("cheap_argon2")


def test_logged_out_user_sees_only_the_login_page(site, tmp_path):
    _, _, app = site
    c = client(app)
    for url in ("/", "/admin", "/office", "/uploads/1", "/uploads/1/file", "/office/template.xlsx"):
        r = c.get(url)
        assert r.url.path == "/login", url
        assert 'action="/login"' in r.text
    # a POST without a session does not reach the upload either (no session: no CSRF token)
    r = c.post("/office/uploads", data={"csrf": "x"}, files={"file": ("a.xlsx", b"PK")})
    assert r.status_code == 403 and not (site[0].blob_dir).exists()


def test_login_sets_a_signed_httponly_lax_cookie_and_wrong_password_fails(site):
    _, _, app = site
    c = client(app)
    r = login(c, ADMIN, "salah-sekali-123")
    assert r.status_code == 401 and "Surel atau kata sandi salah" in r.text
    r = login(c, ADMIN.upper(), ADMIN_PW)  # e-mail is case-insensitive
    assert r.url.path == "/admin"
    cookie = next(h for h in r.history[0].headers.get_list("set-cookie") if "monev_session" in h)
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


def test_login_attempts_are_limited_per_account(site):
    settings, _, app = site
    c = client(app)
    for _ in range(settings.login_limit):  # 5 wrong passwords
        assert login(c, ADMIN, "salah-sekali-123").status_code == 401
    # the 6th attempt is refused even with the right password
    r = login(c, ADMIN, ADMIN_PW)
    assert r.status_code == 429 and "Terlalu banyak" in r.text


def test_login_attempts_are_limited_per_address(site):
    settings, _, app = site
    c = client(app)
    for n in range(settings.login_limit):  # 5 different unknown accounts from one address
        assert login(c, f"tamu{n}@kota.go.id", "salah-sekali-123").status_code == 401
    assert login(c, ADMIN, ADMIN_PW).status_code == 429


def test_a_copied_session_cookie_stops_working_after_logout(site):
    _, _, app = site
    c = client(app)
    login(c, ADMIN, ADMIN_PW)
    stolen = c.cookies.get("monev_session")
    assert c.get("/admin").url.path == "/admin"
    c.post("/logout", data={"csrf": csrf(c, "/admin")})
    replay = client(app)
    replay.cookies.set("monev_session", stolen)
    assert replay.get("/admin").url.path == "/login"


def test_post_without_or_with_another_sessions_csrf_token_is_refused(cycle):
    _, store, _, admin, a, b = cycle
    r = admin.post("/admin/invitations", data={"offices": "Dinas Baru"})
    assert r.status_code == 403
    # a token from another session (office B's form) does not work in A's session
    r = a.post(
        "/office/uploads", data={"csrf": csrf(b, "/office")}, files={"file": ("x.xlsx", b"PK")}
    )
    assert r.status_code == 403
    with store.session() as db:
        assert db.scalars(select(Upload)).all() == []
        assert not db.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "office.create",
                AuditEntry.after["name"].as_string() == "Dinas Baru",
            )
        )


def test_good_and_bad_uploads_are_checked_by_the_library_and_kept(cycle, rubric, tmp_path):
    _, store, _, _, a, _ = cycle
    bad = write_workbook(
        tmp_path / "bad.xlsx", rubric, [("JI-01", "Mungkin", EV)], office="Dinas Kesehatan"
    )
    r = upload(a, "kuesioner dinkes.xlsx", bad.read_bytes())
    assert r.status_code == 200 and re.fullmatch(r"/uploads/\d+", r.url.path)
    lib = check_file(bad, rubric)  # the same problems as `monev check`
    assert lib.problems
    for p in lib.problems[:5]:
        assert p.code in r.text
    cell = next(p for p in lib.problems if p.cell)
    assert f"{cell.sheet}!{cell.cell}" in r.text
    assert "Yang perlu dilakukan" in r.text and "Rencana" in r.text

    empty = upload(a, "kosong.xlsx", b"")  # rejected by the reader (MV102), kept in the history
    assert "MV102" in empty.text and "tidak dapat dinilai" in empty.text

    from test_scoring import best

    good = write_workbook(tmp_path / "good.xlsx", rubric, best(rubric), office="Dinas Kesehatan")
    r = upload(a, "good.xlsx", good.read_bytes())
    score = check_file(good, rubric).score
    assert score is not None
    assert "Naik" in r.text and "Tidak ada masalah" in r.text
    history = a.get("/office").text
    assert history.count("/uploads/") == 3 and "ditolak" in history
    with store.session() as db:
        ups = db.scalars(select(Upload).order_by(Upload.id)).all()
        assert [u.status for u in ups] == ["checked", "rejected", "checked"]
        assert ups[2].score == str(score.score)  # the library's figure, as text
        assert (
            len(db.scalars(select(AuditEntry).where(AuditEntry.action == "upload.create")).all())
            == 3
        )
    # English on request
    assert "What to do" in a.get(f"/uploads/{ups[0].id}?lang=en").text


def test_an_office_cannot_see_another_offices_upload(cycle, rubric, tmp_path):
    _, _, _, admin, a, b = cycle
    wb = write_workbook(
        tmp_path / "a.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas Kesehatan"
    )
    r = upload(a, "a.xlsx", wb.read_bytes())
    uid = r.url.path.rsplit("/", 1)[1]
    assert a.get(f"/uploads/{uid}").status_code == 200
    assert a.get(f"/uploads/{uid}/file").content == wb.read_bytes()
    for url in (f"/uploads/{uid}", f"/uploads/{uid}/file"):
        assert b.get(url).status_code == 404  # exactly as an id that does not exist
    assert b.get("/uploads/999999").status_code == 404
    assert "Dinas Kesehatan" not in b.get("/office").text
    assert b.get("/admin").status_code == 404  # an office is not an admin
    assert admin.get(f"/uploads/{uid}").status_code == 200


def test_uploaded_file_names_never_become_paths(cycle, rubric, tmp_path):
    settings, store, _, _, a, _ = cycle
    wb = write_workbook(
        tmp_path / "a.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas Kesehatan"
    )
    for name in ("../../etc/passwd.xlsx", "..\\..\\boot.ini", "/tmp/x.xlsx", "a\x00b.xlsx"):
        assert upload(a, name, wb.read_bytes()).status_code == 200
    stored = [p for p in settings.data_dir.rglob("*") if p.is_file()]
    for p in stored:
        assert p.resolve().is_relative_to(settings.data_dir)
        assert "passwd" not in p.name and "boot" not in p.name
    blobs = [p for p in stored if p.is_relative_to(settings.blob_dir)]
    import hashlib

    assert [p.name for p in blobs] == [hashlib.sha256(wb.read_bytes()).hexdigest() + ".xlsx"]
    assert not (tmp_path / "etc").exists()
    with store.session() as db:
        names = [u.original_name for u in db.scalars(select(Upload).order_by(Upload.id))]
    assert names == ["passwd.xlsx", "boot.ini", "x.xlsx", "a%00b.xlsx"]  # as the client sent it


def test_upload_size_limit(cycle):
    settings, store, _, _, a, _ = cycle
    # the file part alone is over the limit (200 000 bytes) but the body within the margin:
    r = upload(a, "besar.xlsx", b"PK" + b"\0" * (settings.max_upload + 10))
    assert r.status_code == 413 and "lebih besar dari" in r.text
    # far over: the request body is refused while it streams in, nothing is stored
    r = upload(a, "sangat-besar.xlsx", b"PK" + b"\0" * (settings.max_upload * 3))
    assert r.status_code == 413
    assert not any(settings.blob_dir.rglob("*.xlsx")) if settings.blob_dir.exists() else True
    with store.session() as db:
        ups = db.scalars(select(Upload)).all()
    assert [(u.status, u.sha256, u.refusal) for u in ups] == [
        ("rejected", "", "web.refusal.too_large")
    ]


def test_template_is_prefilled_with_the_office(cycle, rubric, tmp_path):
    _, _, _, _, a, _ = cycle
    r = a.get("/office/template.xlsx")
    assert r.status_code == 200
    p = tmp_path / "t.xlsx"
    p.write_bytes(r.content)
    rep = check_file(p, rubric)
    assert rep.office == "Dinas Kesehatan"


def test_invitation_is_single_use(site):
    settings, store, app = site
    with store.session() as db:
        _, link = invite(db, settings, None, "Kecamatan Bugul Kidul")
    path = link.split("127.0.0.1:8000", 1)[1]
    c = client(app)
    form = {"csrf": csrf(c, path), "email": "bugul@kota.go.id", "password": PW, "password2": PW}
    assert c.post(path, data=form).url.path == "/office"
    other = client(app)
    r = other.get(path)
    assert r.status_code == 404 and "tidak berlaku" in r.text


def test_help_does_not_import_the_web_stack():
    code = (
        "import sys; from monev.cli import main; main(['--help']); "
        "print(sorted(m for m in ('starlette', 'fastapi', 'sqlalchemy', 'alembic', 'argon2', "
        "'uvicorn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_cli_create_admin_and_invite(tmp_path, capsys):
    from monev.cli import main

    pw = tmp_path / "pw"
    pw.write_text("sandi-yang-panjang-1\n")
    data = tmp_path / "data"
    assert main(create_admin_args("a@kota.go.id", pw, data)) == 0
    assert main(create_admin_args("b@kota.go.id", tmp_path / "pw", data)) == 0
    (tmp_path / "daftar.csv").write_text(
        "No;Nama Kantor\n1;Dinas Kesehatan\n2;Kelurahan Bugul Lor\n"
    )
    capsys.readouterr()
    assert (
        main(["web", "invite", "--offices", str(tmp_path / "daftar.csv"), "--data", str(data)]) == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.split("\t")[0] for ln in lines] == ["Dinas Kesehatan", "Kelurahan Bugul Lor"]
    assert all(
        re.fullmatch(r"http://127\.0\.0\.1:8000/invite/[\w-]{40,}", ln.split("\t")[1])
        for ln in lines
    )
    # no password and no token in clear anywhere in the data folder
    blob = b"".join(p.read_bytes() for p in data.rglob("*") if p.is_file())
    assert b"sandi-yang-panjang-1" not in blob
    assert lines[0].split("/invite/")[1].encode() not in blob


def test_uploads_after_the_deadline_are_refused(site, rubric, tmp_path):
    settings, store, app = site
    admin = client(app)
    login(admin, ADMIN, ADMIN_PW)
    assert open_period(admin, deadline="2020-01-31T23:59").status_code == 200
    a = office_account(store, settings, app, "Dinas Kesehatan", "dinkes@kota.go.id")
    page = a.get("/office").text
    assert "sudah lewat" in page and 'type="file"' not in page
    wb = write_workbook(tmp_path / "a.xlsx", rubric, [("JI-01", "Ya", EV)])
    r = upload_with_token(a, csrf(a, "/"), wb.read_bytes())
    assert r.status_code == 409
    with store.session() as db:
        assert db.scalars(select(Upload)).all() == []


def upload_with_token(c: TestClient, token: str, data: bytes):
    return c.post("/office/uploads", data={"csrf": token}, files={"file": ("a.xlsx", data)})


def test_deadline_is_kept_in_utc_from_wib(site):
    _, store, app = site
    admin = client(app)
    login(admin, ADMIN, ADMIN_PW)
    open_period(admin, deadline="2026-12-15T23:59")  # WIB = UTC+7
    from monev.web.db import Period

    with store.session() as db:
        p = db.scalars(select(Period)).one()
        assert p.deadline_utc.isoformat() == "2026-12-15T16:59:00"  # 23:59 - 7 h
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "period.open")).one()
        assert entry.actor == ADMIN and entry.after["rubric"] == "ki-jatim-2024"
    assert "2026-12-15 23:59 WIB" in admin.get("/admin").text


def test_migrations_build_exactly_the_models(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from monev.web.db import Base, make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    migrate(engine)
    migrate(engine)  # applying twice is a no-op
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_monev_serve_starts_on_loopback_and_stops(tmp_path):
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path / "data"
    cmd = [sys.executable, "-m", "monev", "serve", "--data", str(data), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                url = f"http://127.0.0.1:{port}/admin"
                r = httpx.get(url, timeout=2, follow_redirects=True)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
        assert r.status_code == 200 and 'action="/login"' in r.text  # redirected to the login
        assert r.history[0].status_code == 303
        assert (data / "secret.key").stat().st_mode & 0o077 == 0
        db_url = os.environ.get("MONEV_WEB_DB")  # PostgreSQL in CI: the migrations ran there
        if db_url:
            from sqlalchemy import inspect

            from monev.web.db import make_engine

            engine = make_engine(db_url)
            assert "alembic_version" in inspect(engine).get_table_names()
            engine.dispose()
        else:
            assert (data / "monev.sqlite3").exists()
    finally:
        proc.terminate()
        proc.wait(10)


def test_invitation_tokens_are_not_written_to_the_access_log():
    import logging

    from monev.web.app import RedactInvitations

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/invite/Abc-123_xyz?lang=en", "1.1", 200),
        None,
    )
    assert RedactInvitations().filter(record)
    assert "Abc-123" not in record.getMessage() and "/invite/…?lang=en" in record.getMessage()


def test_cli_refuses_a_short_password_and_a_missing_office(tmp_path, capsys):
    from monev.cli import main

    pw = tmp_path / "pw"
    pw.write_text("pendek\n")  # 6 characters, the minimum is 10
    data = tmp_path / "data"
    assert main(create_admin_args("a@kota.go.id", pw, data)) == 1
    assert "paling sedikit 10 karakter" in capsys.readouterr().err
    assert main(["web", "invite", "--data", str(data)]) == 2


def test_invitations_from_the_citys_registry_workbook(tmp_path):
    """Issue 10: the web front end imports the same registry format as `monev score --offices`."""
    from monev.registry import load_registry
    from monev.web.ops import read_office_list

    daftar = Path(__file__).parent.parent / "questionnaires" / "kota-lengkap-daftar.xlsx"
    names = read_office_list(daftar)
    assert names == [e.name for e in load_registry(daftar).entries] and len(names) == 70
