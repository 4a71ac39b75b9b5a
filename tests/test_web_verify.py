"""The web front end, second step of issue 14: verification, objections, the decisions carried
back into a workbook, the auditor, the dashboard and published snapshots.

Driven through Starlette's TestClient (no network). Figures are the ki-jatim-2024 rubric's: the
JI aspect (40 points) has 14 indicators, 40/14 = 20/7 = 2.857... points each; a ``Ya`` with a
link keeps them all, a ``Ya`` without evidence none (until a verifier says Sesuai).
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import subprocess
import sys

import pytest
from web_helpers import (  # first: it skips this module without the web extra
    ADMIN,
    ADMIN_PW,
    EV,
    client,
    csrf,
    decide,
    login,
    office_id,
    open_period,
    upload,
)

# isort: split

from helpers import write_workbook
from sqlalchemy import select

from monev.web.db import AuditEntry, Decision, Objection, Period, Snapshot

pytestmark = pytest.mark.usefixtures("cheap_argon2")


def set_window(admin, until: str = "2099-12-31T23:59"):
    return admin.post(
        "/admin/objection-window", data={"csrf": csrf(admin, "/admin"), "objection_until": until}
    )


def upload_three(a, store, rubric, tmp_path) -> int:
    """Dinas Kesehatan (client ``a``) uploads JI-01 and JI-02 Ya with a link, and JI-03 Ya
    without evidence with "Sesuai" written by the office itself; its office id."""
    wb = write_workbook(
        tmp_path / "a.xlsx",
        rubric,
        [("JI-01", "Ya", EV), ("JI-02", "Ya", EV + "2"), ("JI-03", "Ya", "", "Sesuai")],
        office="Dinas Kesehatan",
    )
    upload(a, "a.xlsx", wb.read_bytes())
    return office_id(store, "Dinas Kesehatan")


def decided_score(c, url: str) -> str:
    m = re.search(r'id="decided-score">([^<]+)<', c.get(url).text)
    assert m, url
    return m.group(1)


def test_staff_invitations_land_on_their_pages(verif):
    _, _, _, _, _, _, v, au = verif
    assert v.get("/").url.path == "/verify"
    assert au.get("/").url.path == "/auditor"


def test_verifier_decisions_change_the_score_the_office_sees(verif, rubric, tmp_path):
    _settings, store, _app, _admin, a, _b, v, _ = verif
    # JI-01 and JI-02 Ya with a link (20/7 each); JI-03 Ya without evidence (0 until verified);
    # and the office wrote "Sesuai" itself on JI-03: that must not count (upload_three).
    oid = upload_three(a, store, rubric, tmp_path)
    page = v.get(f"/verify/{oid}").text
    assert EV + "2" in page and f'href="{EV}' not in page  # evidence as text, never a link
    # before any decision: 2 x 20/7 = 40/7 = 5.714 -> 5,71 (the office's own Sesuai ignored)
    assert decided_score(a, "/office/decisions") == "5,71"

    assert (
        decide(v, oid, "JI-02", "Tidak Sesuai", "Tautan mengarah ke halaman kosong").status_code
        == 200
    )
    # JI-02 rejected: 20/7 = 2.857 -> 2,86
    assert decided_score(a, "/office/decisions") == "2,86"
    assert "Nilai setelah verifikasi: <b>2,86</b>" in a.get("/office").text
    office_page = a.get("/office/decisions").text
    assert "Tidak Sesuai" in office_page and "Tautan mengarah ke halaman kosong" in office_page

    decide(v, oid, "JI-03", "Sesuai")  # the verifier checked JI-03 elsewhere: it counts
    # JI-01 + JI-03 = 2 x 20/7 = 5.714 -> 5,71
    assert decided_score(a, "/office/decisions") == "5,71"
    assert decided_score(v, f"/verify/{oid}") == "5,71"

    # an unknown verdict or code is refused, nothing stored
    assert decide(v, oid, "JI-01", "Mungkin").status_code == 400
    assert decide(v, oid, "XX-99", "Sesuai").status_code == 400
    with store.session() as db:
        ds = {d.code: (d.verdict, d.note) for d in db.scalars(select(Decision))}
        assert ds == {
            "JI-02": ("Tidak Sesuai", "Tautan mengarah ke halaman kosong"),
            "JI-03": ("Sesuai", ""),
        }
        entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "decision.set")).all()
        assert [(e.before, e.after["verdict"]) for e in entries] == [
            (None, "Tidak Sesuai"),
            (None, "Sesuai"),
        ]
        assert all(e.actor == "verifikator@kota.go.id" for e in entries)
    # changing a decision is logged before -> after
    decide(v, oid, "JI-03", "Tidak Sesuai", "Tidak ada bukti")
    with store.session() as db:
        last = db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
        assert last.before == {"verdict": "Sesuai", "note": ""}
        assert last.after["verdict"] == "Tidak Sesuai"


def test_the_downloaded_workbook_carries_the_decisions(verif, rubric, tmp_path):
    from monev.batch import ReadOptions, score_one

    _settings, store, _app, _admin, a, b, v, _ = verif
    oid = upload_three(a, store, rubric, tmp_path)
    decide(v, oid, "JI-02", "Tidak Sesuai", "Tautan mati")
    r = a.get("/office/workbook.xlsx")
    assert r.status_code == 200
    assert r.content == v.get(f"/verify/{oid}/workbook.xlsx").content
    out = tmp_path / "decided.xlsx"
    out.write_bytes(r.content)
    res = score_one(out, rubric, "decided.xlsx", ReadOptions(verifier_from_workbooks=True))
    ind = {i.code: i for i in res.score.indicators}
    assert (ind["JI-02"].verification, ind["JI-02"].verifier_note) == (
        "Tidak Sesuai",
        "Tautan mati",
    )
    assert ind["JI-03"].verification is None  # the office's own "Sesuai" was cleared
    assert ind["JI-01"].evidence == EV
    assert str(res.score.score) == "2.86"  # JI-01 only: 20/7 = 2.857
    # another office gets its own (empty) copy, never this one
    assert b.get("/office/workbook.xlsx").status_code == 404  # B has not uploaded


def test_stage_scores_entered_by_the_verifier_count_above_the_gate(verif, rubric, tmp_path):
    from test_scoring import best

    _settings, store, _app, _admin, a, _b, v, _ = verif
    good = write_workbook(tmp_path / "g.xlsx", rubric, best(rubric), office="Dinas Kesehatan")
    upload(a, "g.xlsx", good.read_bytes())
    oid = office_id(store, "Dinas Kesehatan")
    assert decided_score(a, "/office/decisions") == "100,00"  # SAQ only while no stage is given
    token = csrf(v, f"/verify/{oid}")
    r = v.post(
        f"/verify/{oid}/stages",
        data={"csrf": token, "stage-visitasi": "50", "stage-wawancara": "70,5"},
    )
    assert r.status_code == 200
    # SAQ 100 >= gate 80: 0,8 x 100 + 0,1 x 50 + 0,1 x 70,5 = 80 + 5 + 7,05 = 92,05
    assert decided_score(a, "/office/decisions") == "92,05"
    bad = v.post(f"/verify/{oid}/stages", data={"csrf": token, "stage-visitasi": "150"})
    assert bad.status_code == 400 and "0 sampai 100" in bad.text


def test_objection_once_within_the_window_and_the_verifiers_answer(verif, rubric, tmp_path):
    _settings, store, _app, admin, a, b, v, _ = verif
    wb = write_workbook(
        tmp_path / "a.xlsx",
        rubric,
        [("JI-01", "Ya", EV), ("JI-02", "Ya", EV + "2")],
        office="Dinas Kesehatan",
    )
    upload(a, "a.xlsx", wb.read_bytes())
    oid = office_id(store, "Dinas Kesehatan")
    decide(v, oid, "JI-01", "Tidak Sesuai", "Tautan mati")
    decide(v, oid, "JI-02", "Tidak Sesuai", "Tautan mati")
    with store.session() as db:
        d1, d2 = (d.id for d in db.scalars(select(Decision).order_by(Decision.code)))

    def object_(c, decision: int, reason: str = "Tautan sudah diperbaiki"):
        return c.post(
            "/office/objections",
            data={
                "csrf": csrf(c, "/office/decisions"),
                "decision": str(decision),
                "reason": reason,
                "evidence": EV + "-baru",
            },
        )

    # no window yet: refused
    r = object_(a, d1)
    assert r.status_code == 400 and "sudah ditutup" in r.text
    assert set_window(admin).status_code == 200
    assert object_(a, d1).status_code == 200
    again = object_(a, d1, "Sekali lagi")
    assert again.status_code == 400 and "hanya dapat disanggah sekali" in again.text
    assert object_(a, d2).status_code == 200
    # another office cannot object to A's decisions: 404, as a decision that does not exist
    assert object_(b, d1).status_code == 404
    with store.session() as db:
        objs = db.scalars(select(Objection).order_by(Objection.id)).all()
        assert [(o.decision_id, o.reason, o.evidence) for o in objs] == [
            (d1, "Tautan sudah diperbaiki", EV + "-baru"),
            (d2, "Tautan sudah diperbaiki", EV + "-baru"),
        ]
        o1, o2 = (o.id for o in objs)
    assert "Tautan sudah diperbaiki" in v.get(f"/verify/{oid}").text
    assert decided_score(a, "/office/decisions") == "0,00"  # both rejected: 0 points

    def answer(outcome: str, oid_: int, verdict: str = ""):
        return v.post(
            f"/objections/{oid_}/answer",
            data={
                "csrf": csrf(v, f"/verify/{oid}"),
                "outcome": outcome,
                "verdict": verdict,
                "answer": "Diperiksa ulang",
            },
        )

    assert answer("accept", o1, "Sesuai").status_code == 200  # JI-01 now counts: 20/7 -> 2,86
    assert answer("reject", o2).status_code == 200  # JI-02 stays Tidak Sesuai
    assert decided_score(a, "/office/decisions") == "2,86"
    assert answer("reject", o1).status_code == 400  # answered once
    page = a.get("/office/decisions").text
    assert "diterima" in page and "ditolak" in page and "Diperiksa ulang" in page
    with store.session() as db:
        actions = [
            (e.action, e.before, (e.after or {}).get("verdict"))
            for e in db.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.in_(["objection.answer", "objection.create"]))
                .order_by(AuditEntry.id)
            )
        ]
        assert actions == [
            ("objection.create", None, "Tidak Sesuai"),
            ("objection.create", None, "Tidak Sesuai"),
            ("objection.answer", {"status": "open", "verdict": "Tidak Sesuai"}, "Sesuai"),
            ("objection.answer", {"status": "open", "verdict": "Tidak Sesuai"}, "Tidak Sesuai"),
        ]
    # the window closes: no more objections (a new decision on JI-03 cannot be objected to)
    set_window(admin, "2020-01-01T00:00")
    decide(v, oid, "JI-03", "Tidak Sesuai")
    with store.session() as db:
        d3 = db.scalars(select(Decision).where(Decision.code == "JI-03")).one().id
    assert object_(a, d3).status_code == 400


def test_an_office_cannot_reach_verification_pages_or_decide(verif, rubric, tmp_path):
    _settings, store, _app, _admin, a, b, v, _ = verif
    wb = write_workbook(
        tmp_path / "a.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas Kesehatan"
    )
    upload(a, "a.xlsx", wb.read_bytes())
    oid = office_id(store, "Dinas Kesehatan")
    for url in (
        "/verify",
        f"/verify/{oid}",
        f"/verify/{oid}/workbook.xlsx",
        "/dashboard",
        "/audit.csv",
        "/auditor",
    ):
        assert b.get(url).status_code == 404, url
    token = csrf(b, "/office")
    r = b.post(
        f"/verify/{oid}/decisions",
        data={"csrf": token, "code": "JI-01", "verdict": "Tidak Sesuai", "note": ""},
    )
    assert r.status_code == 404
    # a verifier's form replayed with the office's own session and token changes nothing either
    r = b.post(f"/verify/{oid}/stages", data={"csrf": token, "stage-visitasi": "10"})
    assert r.status_code == 404
    # the verifier without the CSRF token: refused
    r = v.post(f"/verify/{oid}/decisions", data={"code": "JI-01", "verdict": "Tidak Sesuai"})
    assert r.status_code == 403
    with store.session() as db:
        assert db.scalars(select(Decision)).all() == []
    # B sees none of A's decisions
    decide(v, oid, "JI-01", "Tidak Sesuai", "Catatan rahasia A")
    assert "Catatan rahasia A" not in b.get("/office/decisions").text


def test_an_auditor_reads_everything_and_any_post_is_403(verif, rubric, tmp_path):
    _settings, store, _app, _admin, a, _b, v, au = verif
    wb = write_workbook(
        tmp_path / "a.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas Kesehatan"
    )
    r = upload(a, "a.xlsx", wb.read_bytes())
    up_id = r.url.path.rsplit("/", 1)[1]
    oid = office_id(store, "Dinas Kesehatan")
    decide(v, oid, "JI-01", "Tidak Sesuai", "Tautan mati")
    for url in ("/auditor", "/verify", f"/verify/{oid}", f"/uploads/{up_id}", "/dashboard"):
        assert au.get(url).status_code == 200, url
    assert "Tautan mati" in au.get(f"/verify/{oid}").text
    assert 'action="/verify/' not in au.get(f"/verify/{oid}").text  # no forms to change
    assert au.get(f"/uploads/{up_id}/file").content == wb.read_bytes()
    assert au.get(f"/verify/{oid}/workbook.xlsx").status_code == 200
    # the audit log as CSV: every entry, with before -> after
    csv_text = au.get("/audit.csv").content.decode("utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert lines[0] == "id,at_utc,actor,action,entity,entity_id,before,after,ip"
    with store.session() as db:
        n = len(db.scalars(select(AuditEntry)).all())
    assert len(lines) == 1 + n and "decision.set" in csv_text and "Tautan mati" in csv_text
    # any POST, with the auditor's own valid CSRF token: 403, and nothing changes
    token = csrf(au, "/auditor")
    posts = [
        (f"/verify/{oid}/decisions", {"code": "JI-01", "verdict": "Sesuai", "note": ""}),
        (f"/verify/{oid}/stages", {"stage-visitasi": "10"}),
        (
            "/admin/periods",
            {"year": "2030", "rubric": "ki-jatim-2024", "deadline": "2030-12-01T10:00"},
        ),
        ("/admin/invitations", {"offices": "Dinas Baru"}),
        ("/admin/staff", {"role": "verifier"}),
        ("/admin/objection-window", {"objection_until": "2099-01-01T00:00"}),
        ("/admin/publish", {}),
        ("/office/objections", {"decision": "1", "reason": "x"}),
        ("/objections/1/answer", {"outcome": "accept", "verdict": "Sesuai", "answer": "x"}),
    ]
    with store.session() as db:
        before = len(db.scalars(select(AuditEntry)).all())
    for url, data in posts:
        r = au.post(url, data={"csrf": token, **data})
        assert r.status_code == 403, url
        assert "hanya dapat membaca" in r.text
    r = au.post(
        "/office/uploads", data={"csrf": token}, files={"file": ("a.xlsx", wb.read_bytes())}
    )
    assert r.status_code == 403
    with store.session() as db:
        assert len(db.scalars(select(AuditEntry)).all()) == before
        assert [(d.code, d.verdict) for d in db.scalars(select(Decision))] == [
            ("JI-01", "Tidak Sesuai")
        ]
        assert db.scalars(select(Snapshot)).all() == []
    # logging out is allowed
    assert au.post("/logout", data={"csrf": token}).url.path == "/login"


def test_dashboard_ranking_distribution_missed_and_outstanding(verif, rubric, tmp_path):
    from test_scoring import best

    _settings, store, _app, admin, a, b, v, _ = verif
    with store.session() as db:
        from monev.web.ops import get_or_add_office

        get_or_add_office(db, None, "Kelurahan Bugul Lor")  # invited, never uploaded
    good = write_workbook(tmp_path / "g.xlsx", rubric, best(rubric), office="Dinas Kesehatan")
    upload(a, "g.xlsx", good.read_bytes())
    weak = write_workbook(
        tmp_path / "w.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas Pendidikan"
    )
    upload(b, "w.xlsx", weak.read_bytes())
    oid = office_id(store, "Dinas Kesehatan")
    decide(v, oid, "JI-05", "Tidak Sesuai")  # 100 - 20/7 = 97.142... -> 97,14
    page = admin.get("/dashboard").text
    ranking = re.findall(
        r"<tr><td>(\d+)</td><td><a [^>]+>([^<]+)</a></td><td class=\"num\">([^<]+)<", page
    )
    # Dinas Pendidikan: JI-01 only, 20/7 = 2,86
    assert ranking == [("1", "Dinas Kesehatan", "97,14"), ("2", "Dinas Pendidikan", "2,86")]
    preds = dict(re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td></tr>", page))
    assert preds["Informatif"] == "1" and preds["Tidak Informatif"] == "1"
    assert preds["Menuju Informatif"] == "0"
    missed = re.search(r'<table id="missed">.*?</table>', page, re.S).group(0)
    # JI-05 is missed by both offices (rejected at A, unanswered at B): first, with 2
    first = re.search(
        r'<td class="mono">([^<]+)</td><td class="small">[^<]*</td><td class="num">(\d+)</td>',
        missed,
    )
    assert first.groups() == ("JI-05", "2")
    outstanding = re.search(r'<ul id="outstanding">(.*?)</ul>', page, re.S).group(1)
    assert "Kelurahan Bugul Lor" in outstanding and "Dinas Kesehatan" not in outstanding


def _publish_cycle(verif, rubric, tmp_path):
    from test_scoring import best

    _settings, store, _app, admin, a, b, v, _au = verif
    good = write_workbook(tmp_path / "g.xlsx", rubric, best(rubric), office="Dinas Kesehatan")
    upload(a, "g.xlsx", good.read_bytes())
    weak = write_workbook(
        tmp_path / "w.xlsx",
        rubric,
        [("JI-01", "Ya", EV), ("JI-03", "Ya", "", "Sesuai")],
        office="Dinas Pendidikan",
    )
    upload(b, "w.xlsx", weak.read_bytes())
    oa, ob = office_id(store, "Dinas Kesehatan"), office_id(store, "Dinas Pendidikan")
    decide(v, oa, "JI-05", "Tidak Sesuai", "Tautan mati")
    decide(v, ob, "JI-03", "Sesuai")
    v.post(
        f"/verify/{oa}/stages",
        data={"csrf": csrf(v, f"/verify/{oa}"), "stage-visitasi": "84,5", "stage-wawancara": "90"},
    )
    r = admin.post("/admin/publish", data={"csrf": csrf(admin, "/dashboard")})
    assert r.status_code == 200 and re.fullmatch(r"/snapshots/\d+", r.url.path), r.text
    return r.url.path


@pytest.mark.pdf
def test_snapshot_equals_monev_score_on_the_exported_inputs(verif, rubric, tmp_path):
    """Issue 14: the snapshot's results.json equals exactly `monev score FILES --rubric R
    --stages S --offices O --as-of D --verifier-from-workbooks` on the inputs exported from the
    database (latest uploads with the decisions written in, stages file, registry)."""
    from pypdf import PdfReader

    from monev.web.rendering import Renderer
    from monev.web.snapshot import export_inputs

    settings, store, _app, _admin, _a, _b, _v, au = verif
    snap_url = _publish_cycle(verif, rubric, tmp_path)
    # the publish request froze results.json and rekap.xlsx; the PDFs come in the background
    page = au.get(snap_url).text
    names = re.findall(r'<a href="' + snap_url + r'/([^"]+)">', page)
    assert "results.json" in names and "kota.pdf" not in names and "sedang disiapkan" in page
    renderer = Renderer(store)
    try:
        assert renderer.run_until_idle() == 3  # each office's upload, and the snapshot
    finally:
        renderer.stop()
    page = au.get(snap_url).text  # the auditor downloads the snapshot
    assert "sedang disiapkan" not in page and "tidak dapat dibuat" not in page, page
    names = re.findall(r'<a href="' + snap_url + r'/([^"]+)">', page)
    assert {"results.json", "rekap.xlsx", "kota.pdf"} <= set(names)
    assert sum(n.endswith(".pdf") for n in names) >= 3  # kota.pdf + one per office
    assert not any(".masukan" in n for n in names)  # the kept inputs are never listed
    # the snapshot's office PDFs print the city rank (the live ones do not): 2 offices
    office_pdf = next(n for n in names if n.startswith("kantor/dinas-kesehatan"))
    body = au.get(f"{snap_url}/{office_pdf}").content
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    assert "Peringkat 1 dari 2" in text
    import hashlib

    with store.session() as db:
        snap = db.scalars(select(Snapshot)).one()
        listed = {f["name"]: f["sha256"] for f in snap.files}
        period = db.scalars(select(Period)).one()
        inputs = export_inputs(settings, db, period, tmp_path / "export")
        as_of = snap.as_of
    for name in names:
        body = au.get(f"{snap_url}/{name}").content
        assert hashlib.sha256(body).hexdigest() == listed[name], name
    published = json.loads(au.get(f"{snap_url}/results.json").content)

    out = tmp_path / "cli-out"
    cmd = [
        sys.executable, "-m", "monev", "score", *map(str, inputs.workbooks),
        "--rubric", str(inputs.rubric), "--stages", str(inputs.stages),
        "--offices", str(inputs.registry), "--as-of", as_of, "--verifier-from-workbooks",
        "-o", str(out), "-q",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "results.json").read_text(encoding="utf-8")) == published
    scores = {o["name"]: o["score"] for o in published["offices"]}
    # Dinas Kesehatan: SAQ 100 - 20/7 = 97.142857; >= 80: 0,8 x 97.142857 + 0,1 x 84,5 + 0,1 x 90
    # = 77.714286 + 8.45 + 9 = 95.164286 -> 95.16. Dinas Pendidikan: JI-01 + JI-03 (Sesuai)
    # = 40/7 = 5.714 -> 5.71 (below the gate: the SAQ is the final score)
    assert scores == {"Dinas Kesehatan": 95.16, "Dinas Pendidikan": 5.71}, scores


def test_snapshot_files_cannot_be_reached_by_path_guessing(verif, rubric, tmp_path):
    settings, store, _app, _admin, a, _b, v, au = verif
    settings_nopdf = dataclasses.replace(settings, pdf=False)  # a snapshot without PDFs
    from monev.web.app import create_app

    admin2 = client(create_app(settings_nopdf, store))
    login(admin2, ADMIN, ADMIN_PW)
    good = write_workbook(
        tmp_path / "g.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas Kesehatan"
    )
    upload(a, "g.xlsx", good.read_bytes())
    r = admin2.post("/admin/publish", data={"csrf": csrf(admin2, "/dashboard")})
    assert r.status_code == 200 and "results.json" in r.text
    url = r.url.path
    assert au.get(f"{url}/results.json").status_code == 200
    assert (settings.data_dir / "secret.key").exists()  # what a traversal would reach
    for guess in (
        "../../secret.key",
        "..%2F..%2Fsecret.key",
        "masukan/../../../secret.key",
        "nope.json",
    ):
        assert au.get(f"{url}/{guess}").status_code == 404, guess
    assert a.get(f"{url}/results.json").status_code == 404  # an office reads no snapshot
    assert v.get(url).status_code == 404  # nor does a verifier (the admin publishes)


def test_a_decision_of_an_earlier_period_cannot_be_objected_to(verif, rubric, tmp_path):
    _settings, store, _app, admin, a, _b, v, _au = verif
    wb = write_workbook(
        tmp_path / "a.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas Kesehatan"
    )
    upload(a, "a.xlsx", wb.read_bytes())
    oid = office_id(store, "Dinas Kesehatan")
    decide(v, oid, "JI-01", "Tidak Sesuai")
    set_window(admin)
    with store.session() as db:
        old = db.scalars(select(Decision)).one().id
    assert open_period(admin, year=2027).status_code == 200  # the newest open period is current
    r = a.post(
        "/office/objections",
        data={"csrf": csrf(a, "/office"), "decision": str(old), "reason": "Tautan diperbaiki"},
    )
    assert r.status_code == 404
    with store.session() as db:
        assert db.scalars(select(Objection)).all() == []
