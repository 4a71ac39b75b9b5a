"""The web front end, issue 14 item 3: an office's upload history, the download of any version,
and what changed between two uploads, indicator by indicator.

Driven through Starlette's TestClient (no network). Figures are the ki-jatim-2024 rubric's: the
JI aspect (40 points) has 14 indicators, 40/14 = 20/7 = 2.857... points each; a ``Ya`` with a
link keeps them all, a ``Ya`` without evidence none. The rubric has 51 indicators.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from web_helpers import (  # first: it skips this module without the web extra
    ADMIN,
    ADMIN_PW,
    EV,
    client,
    csrf,
    login,
    office_account,
    office_id,
    open_period,
    staff,
    upload,
)

# isort: split

from helpers import write_workbook
from sqlalchemy import select

from monev.web.db import Upload

V1 = [("JI-01", "Ya", EV), ("JI-02", "Ya")]  # 20/7 = 2.857 -> 2,86 (JI-02 has no evidence)
V2 = [("JI-01", "Ya", EV), ("JI-02", "Ya", EV + "2"), ("JI-03", "Ya", EV + "3")]  # 60/7 -> 8,57

pytestmark = pytest.mark.usefixtures("cheap_argon2")


@pytest.fixture
def hist(cycle, rubric, tmp_path):
    """Two offices; Dinas Kesehatan uploads v1, v2 and one too large (refused, no file kept);
    Dinas Pendidikan uploads two of its own. Staff of each kind logged in."""
    settings, store, app, admin, a, b = cycle
    v1 = write_workbook(tmp_path / "v1.xlsx", rubric, V1, office="Dinas Kesehatan").read_bytes()
    v2 = write_workbook(tmp_path / "v2.xlsx", rubric, V2, office="Dinas Kesehatan").read_bytes()
    upload(a, "kuesioner-v1.xlsx", v1)
    upload(a, "kuesioner-v2.xlsx", v2)
    upload(a, "besar.xlsx", b"PK" + b"\0" * (settings.max_upload + 10))
    for name, rows in (("dindik-1.xlsx", V1), ("dindik-2.xlsx", V2)):
        wb = write_workbook(tmp_path / name, rubric, rows, office="Dinas Pendidikan")
        upload(b, name, wb.read_bytes())
    with store.session() as db:
        ids = {u.original_name: u.id for u in db.scalars(select(Upload))}
    people = {
        "a": a,
        "b": b,
        "admin": admin,
        "verifier": staff(store, settings, app, "verifier", "verifikator@kota.go.id"),
        "auditor": staff(store, settings, app, "auditor", "auditor@kota.go.id"),
    }
    oids = {"a": office_id(store, "Dinas Kesehatan"), "b": office_id(store, "Dinas Pendidikan")}
    return people, oids, ids, {"v1": v1, "v2": v2}


def checked_radio(page: str, name: str) -> int:
    m = re.search(rf'name="{name}" value="(\d+)"[^>]*checked', page)
    assert m, name
    return int(m.group(1))


def test_history_lists_every_upload_and_downloads_any_version(hist):
    people, oids, ids, data = hist
    a = people["a"]
    office_page = a.get("/office").text
    assert f'href="/offices/{oids["a"]}/history"' in office_page
    r = a.get(f"/offices/{oids['a']}/history")
    assert r.status_code == 200
    page = r.text
    assert "Riwayat unggahan Dinas Kesehatan" in page
    rows = re.findall(r'<tr id="upload-(\d+)">', page)
    newest_first = [ids["besar.xlsx"], ids["kuesioner-v2.xlsx"], ids["kuesioner-v1.xlsx"]]
    assert [int(x) for x in rows] == newest_first  # every upload, the refused one too
    assert "dindik-1.xlsx" not in page  # not another office's
    assert page.count("WIB") == 3 and page.count("dinkes@kota.go.id") >= 3
    for key in ("v1", "v2"):
        assert hashlib.sha256(data[key]).hexdigest()[:12] in page
    assert "ditolak" in page and "berkas tidak disimpan" in page
    assert "2,86" in page and "8,57" in page  # v1: 20/7; v2: 3 x 20/7 = 60/7 = 8.571
    # default pair: the latest kept upload and the one before (the refused one keeps no file)
    assert checked_radio(page, "from") == ids["kuesioner-v1.xlsx"]
    assert checked_radio(page, "to") == ids["kuesioner-v2.xlsx"]
    # any version downloads, byte for byte
    for name, key in (("kuesioner-v1.xlsx", "v1"), ("kuesioner-v2.xlsx", "v2")):
        got = a.get(f"/uploads/{ids[name]}/file")
        assert got.status_code == 200 and got.content == data[key]
    en = a.get(f"/offices/{oids['a']}/history?lang=en").text
    assert "Upload history of Dinas Kesehatan" in en and "file not kept" in en


def test_compare_shows_what_changed_per_indicator_in_indonesian(hist):
    people, oids, ids, _ = hist
    a = people["a"]
    page = a.get(f"/offices/{oids['a']}/compare").text  # default: v1 -> v2
    assert "Perubahan antara dua unggahan Dinas Kesehatan" in page
    assert "kuesioner-v1.xlsx" in page and "kuesioner-v2.xlsx" in page
    # score 20/7 -> 60/7: 2,86 -> 8,57; the published figures differ by 8,57 - 2,86 = 5,71
    assert re.search(r'id="score-change">2,86 → 8,57<', page)
    assert re.search(r'id="score-delta">\+5,71<', page)
    assert re.search(r'id="changed-count">2<', page)  # JI-02 and JI-03
    assert "49 indikator tidak berubah" in page  # 51 - 2, collapsed in <details>
    assert "<details" in page and 'id="ind-JI-01"' not in page
    ji02 = re.search(r'<tr id="ind-JI-02">(.*?)</tr>', page, re.S).group(1)
    assert EV + "2" in ji02  # the evidence added
    assert "<del>0,00</del> → <ins>2,86</ins>" in ji02  # verifiable: 0 -> 20/7
    assert '<td class="num">2,86</td>' in ji02  # claimed unchanged: Ya both times
    assert "+2,86" in ji02  # the indicator's change
    assert '− <span class="mono">MV301</span>' in ji02  # 'Ya without evidence' disappeared
    ji03 = re.search(r'<tr id="ind-JI-03">(.*?)</tr>', page, re.S).group(1)
    assert "<del>–</del> → <ins>Ya</ins>" in ji03 and "+2,86" in ji03
    assert "+ <span" not in ji03  # its empty-answer problem (MV202) went, none came
    # chosen explicitly the other way round: the score falls
    back = a.get(
        f"/offices/{oids['a']}/compare?from={ids['kuesioner-v2.xlsx']}&to={ids['kuesioner-v1.xlsx']}"
    ).text
    assert re.search(r'id="score-delta">−5,71<', back)
    assert '+ <span class="mono">MV301</span>' in back


def test_compare_page_in_english(hist):
    people, oids, _, _ = hist
    page = people["a"].get(f"/offices/{oids['a']}/compare?lang=en").text
    assert "Changes between two uploads of Dinas Kesehatan" in page
    assert re.search(r'id="score-change">2.86 → 8.57<', page)
    assert "Indicators that changed" in page and "49 indicators unchanged (show)" in page
    assert "Points verifiable" in page and "Problems appeared (+) / gone (−)" in page


def test_the_result_page_links_the_history_and_the_comparison_with_the_previous_upload(hist):
    people, oids, ids, _ = hist
    page = people["a"].get(f"/uploads/{ids['kuesioner-v2.xlsx']}").text
    assert f'href="/offices/{oids["a"]}/history"' in page
    a1, a2 = ids["kuesioner-v1.xlsx"], ids["kuesioner-v2.xlsx"]
    url = f"/offices/{oids['a']}/compare?from={a1}&amp;to={a2}"
    assert f'href="{url}"' in page


def test_an_office_reaches_only_its_own_history_and_uploads(hist):
    people, oids, ids, _ = hist
    a1, a2 = ids["kuesioner-v1.xlsx"], ids["kuesioner-v2.xlsx"]
    b1, b2 = ids["dindik-1.xlsx"], ids["dindik-2.xlsx"]
    a, b = people["a"], people["b"]
    refused = [
        (a, f"/offices/{oids['b']}/history"),
        (a, f"/offices/{oids['b']}/compare"),
        (a, f"/offices/{oids['b']}/compare?from={b1}&to={b2}"),
        (a, f"/offices/{oids['a']}/compare?from={a1}&to={b1}"),  # guessed from one side
        (a, f"/offices/{oids['a']}/compare?from={b1}&to={a2}"),  # and from the other
        (b, f"/offices/{oids['a']}/history"),
        (b, f"/offices/{oids['b']}/compare?from={b1}&to={a1}"),
        (b, f"/offices/{oids['b']}/compare?from={a2}&to={b2}"),
        (a, f"/offices/{oids['a']}/compare?from=999999&to={a2}"),  # no such upload
        (a, "/offices/999999/history"),
    ]
    for c, url in refused:
        r = c.get(url)
        assert r.status_code == 404, url
        assert "Halaman tidak ditemukan" in r.text, url
        assert "Dinas Pendidikan" not in r.text or c is b, url
        assert "kuesioner-v" not in r.text and "dindik-" not in r.text, url
    # each office still sees its own
    assert b.get(f"/offices/{oids['b']}/compare?from={b1}&to={b2}").status_code == 200


def test_staff_see_any_offices_history_but_never_mix_two_offices(hist):
    people, oids, ids, _ = hist
    for role in ("admin", "verifier", "auditor"):
        c = people[role]
        verify_page = c.get(f"/verify/{oids['a']}").text  # where staff find an office
        assert f'href="/offices/{oids["a"]}/history"' in verify_page, role
        for key in ("a", "b"):
            assert c.get(f"/offices/{oids[key]}/history").status_code == 200, (role, key)
            assert c.get(f"/offices/{oids[key]}/compare").status_code == 200, (role, key)
        b1, a2 = ids["dindik-1.xlsx"], ids["kuesioner-v2.xlsx"]
        mixed = f"/offices/{oids['a']}/compare?from={b1}&to={a2}"
        assert c.get(mixed).status_code == 404, role


def test_an_upload_refused_without_a_file_cannot_be_compared_and_says_why(hist):
    people, oids, ids, _ = hist
    url = f"/offices/{oids['a']}/compare?from={ids['kuesioner-v2.xlsx']}&to={ids['besar.xlsx']}"
    r = people["a"].get(url)
    assert r.status_code == 404
    assert f"Unggahan #{ids['besar.xlsx']} (besar.xlsx) ditolak sebelum diperiksa" in r.text
    en = people["a"].get(url + "&lang=en")
    assert f"Upload #{ids['besar.xlsx']} (besar.xlsx) was refused before it was checked" in en.text
    # another office asking about that upload learns nothing about it
    other = people["b"].get(f"/offices/{oids['b']}/compare?from={ids['besar.xlsx']}")
    assert other.status_code == 404 and "besar.xlsx" not in other.text


def test_a_file_the_reader_rejected_compares_as_a_file_problem(site, rubric, tmp_path):
    settings, store, app = site
    admin = client(app)
    login(admin, ADMIN, ADMIN_PW)
    open_period(admin)
    a = office_account(store, settings, app, "Dinas Kesehatan", "dinkes@kota.go.id")
    oid = office_id(store, "Dinas Kesehatan")
    assert "Belum ada unggahan" in a.get(f"/offices/{oid}/history").text
    upload(a, "rusak.xlsx", b"PK not a zip")
    assert "Perbandingan tersedia setelah ada dua unggahan" in a.get(f"/offices/{oid}/history").text
    only_one = a.get(f"/offices/{oid}/compare")
    assert only_one.status_code == 404 and "belum punya dua unggahan" in only_one.text
    good = write_workbook(tmp_path / "v1.xlsx", rubric, V1, office="Dinas Kesehatan")
    upload(a, "baik.xlsx", good.read_bytes())
    page = a.get(f"/offices/{oid}/compare").text
    assert re.search(r'id="score-change">– → 2,86<', page)  # rejected: no score before
    assert 'id="score-delta"' not in page
    general = re.search(r'<div id="general">(.*?)</div>\n', page, re.S).group(1)
    assert '− <span class="mono">MV101</span>' in general  # the unreadable file, fixed
    assert re.search(r'id="changed-count">51<', page)  # every indicator is new


def test_history_spans_periods_each_upload_in_its_own_periods_zone(site, rubric, tmp_path):
    settings, store, app = site
    admin = client(app)
    login(admin, ADMIN, ADMIN_PW)
    open_period(admin, 2026)  # WIB, UTC+7
    a = office_account(store, settings, app, "Dinas Kesehatan", "dinkes@kota.go.id")
    oid = office_id(store, "Dinas Kesehatan")
    v1 = write_workbook(tmp_path / "v1.xlsx", rubric, V1, office="Dinas Kesehatan")
    upload(a, "tahun-2026.xlsx", v1.read_bytes())
    token = csrf(admin, "/admin")
    admin.post(
        "/admin/periods",
        data={
            "csrf": token,
            "year": 2027,
            "rubric": "ki-jatim-2024",
            "deadline": "2099-12-15T23:59",
            "zone": "WITA",  # UTC+8
        },
    )
    v2 = write_workbook(tmp_path / "v2.xlsx", rubric, V2, office="Dinas Kesehatan")
    upload(a, "tahun-2027.xlsx", v2.read_bytes())
    with store.session() as db:
        when = {u.original_name: u.received_at for u in db.scalars(select(Upload))}
    page = a.get(f"/offices/{oid}/history").text
    assert "periode 2026" in page and "periode 2027" in page
    wib = (when["tahun-2026.xlsx"] + dt.timedelta(hours=7)).strftime("%Y-%m-%d %H:%M WIB")
    wita = (when["tahun-2027.xlsx"] + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M WITA")
    assert wib in page and wita in page
    # the two periods' uploads compare like any two (same rubric): 20/7 -> 60/7
    assert re.search(r'id="score-change">2,86 → 8,57<', a.get(f"/offices/{oid}/compare").text)
