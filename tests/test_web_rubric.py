"""Issue 14 item 3 (wp-webrubric): the admin opens a period with an uploaded rubric file.

The upload is the YAML that ``monev rubric check`` reads or the workbook of ``monev rubric
export``; the library's loaders judge it (no second validator), a valid one is kept by hash and
the period keeps exactly that rubric. Driven through Starlette's TestClient, on SQLite.

Figures use the small test rubric of tests/helpers.py (``uji-kecil``): aspect A weighs 60 and
has A-01, A-02 (weight 1 each) and A-03 (weight 2), so A-01 answered ``Ya`` with a link is worth
60 x 1/4 = 15 points; below the SAQ gate of 80 the SAQ is the final score.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile
from decimal import Decimal

import pytest
from web_helpers import (  # first: it skips this module without the web extra
    ADMIN,
    ADMIN_PW,
    EV,
    client,
    csrf,
    decide,
    login,
    office_account,
    office_id,
    open_with,
    staff,
    upload,
)

# isort: split

from helpers import SMALL_RUBRIC, small_rubric, write_workbook
from openpyxl import load_workbook
from sqlalchemy import select

from monev.rubric import parse_rubric
from monev.rubric_book import export_book, same_rubric
from monev.web.app import create_app
from monev.web.db import AuditEntry, Period, RubricFile, Upload
from monev.web.ops import Store, create_admin
from monev.web.settings import Settings

MAX_UPLOAD = 4 * 2**20  # above the library's 2 MB limit of a rubric file, so that both apply
#: The same rubric id, a new version: A-01 now weighs 3 of 6 (60 x 3/6 = 30 points).
SMALL_V2 = SMALL_RUBRIC.replace(
    "{code: A-01, aspect: A, question: Satu, answer: {type: ya_tidak}}",
    "{code: A-01, aspect: A, question: Satu, answer: {type: ya_tidak}, weight: 3}",
).replace('version: "1.0"', 'version: "2.0"')
SHA1 = hashlib.sha256(SMALL_RUBRIC.encode("utf-8")).hexdigest()
SHA2 = hashlib.sha256(SMALL_V2.encode("utf-8")).hexdigest()

pytestmark = pytest.mark.usefixtures("cheap_argon2")


@pytest.fixture
def rsite(tmp_path):
    """A site without PDFs (snapshots are results only) and a logged-in admin."""
    settings = Settings.for_data_dir(tmp_path / "data", max_upload=MAX_UPLOAD, pdf=False)
    store = Store(settings)
    with store.session() as db:
        create_admin(db, ADMIN, ADMIN_PW)
    app = create_app(settings, store)
    admin = client(app)
    assert login(admin, ADMIN, ADMIN_PW).url.path == "/admin"
    return settings, store, app, admin


def nothing_kept(settings, store) -> None:
    """No period, no rubric row, no rubric file, no upload audit entry."""
    kept = [p for p in settings.rubric_dir.rglob("*") if p.is_file()]
    assert kept == []
    with store.session() as db:
        assert db.scalars(select(Period)).all() == []
        assert db.scalars(select(RubricFile)).all() == []
        assert not db.scalars(select(AuditEntry).where(AuditEntry.action == "rubric.upload")).all()


def test_an_uploaded_yaml_rubric_is_kept_by_hash_shown_and_audited(rsite):
    settings, store, _app, admin = rsite
    r = open_with(admin, "../../etc/rubrik kota.yaml", SMALL_RUBRIC.encode("utf-8"))
    assert r.status_code == 200 and r.url.path == "/admin", r.text
    row = re.search(r'<table id="periods">.*?</table>', r.text, re.S).group(0)
    assert "uji-kecil" in row and "versi 1.0" in row and "Rubrik uji kecil" in row
    assert SHA1[:12] in row and "diunggah" in row and "ki-jatim-2024" not in row
    files = [p for p in settings.data_dir.rglob("*") if p.is_file()]
    rel = [p.relative_to(settings.data_dir).as_posix() for p in files]
    assert [n for n in rel if n.startswith("rubrics")] == [f"rubrics/{SHA1}.yaml"]
    assert (settings.rubric_dir / f"{SHA1}.yaml").read_bytes() == SMALL_RUBRIC.encode("utf-8")
    assert not any("etc" in n or "kota" in n for n in rel)
    with store.session() as db:
        period = db.scalars(select(Period)).one()
        assert (period.rubric_id, period.rubric_sha256) == (f"sha256:{SHA1}", SHA1)
        kept = db.get(RubricFile, period.rubric_file_id)
        assert (kept.rubric_id, kept.version, kept.source) == ("uji-kecil", "1.0", "yaml")
        assert kept.original_name == "rubrik kota.yaml"  # shown, never a path
        up = db.scalars(select(AuditEntry).where(AuditEntry.action == "rubric.upload")).one()
        assert up.actor == ADMIN and up.after["sha256"] == SHA1
        assert up.after["rubric"] == "uji-kecil" and up.after["file"] == "rubrik kota.yaml"
        opened = db.scalars(select(AuditEntry).where(AuditEntry.action == "period.open")).one()
        assert opened.after["rubric"] == "uji-kecil" and opened.after["rubric_sha256"] == SHA1
        assert opened.after["rubric_source"] == "uploaded"
    # the same file again for another year: one kept rubric, offered in the select
    assert open_with(admin, "lagi.yaml", SMALL_RUBRIC.encode("utf-8"), 2031).status_code == 200
    with store.session() as db:
        assert len(db.scalars(select(RubricFile)).all()) == 1
    assert f'<option value="sha256:{SHA1}">' in admin.get("/admin").text


def test_the_office_gets_the_template_and_the_score_of_the_uploaded_rubric(rsite, tmp_path):
    settings, store, app, admin = rsite
    assert open_with(admin, "rubrik.yaml", SMALL_RUBRIC.encode("utf-8")).status_code == 200
    a = office_account(store, settings, app, "Dinas Kesehatan", "dinkes@kota.go.id")
    r = a.get("/office/template.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content))["Kuesioner"]
    codes = {c.value for c in ws["A"] if isinstance(c.value, str)}
    assert {"A-01", "A-02", "A-03", "B-01"} <= codes and "JI-01" not in codes
    wb = write_workbook(
        tmp_path / "a.xlsx", small_rubric(), [("A-01", "Ya", EV)], office="Dinas Kesehatan"
    )
    r = upload(a, "a.xlsx", wb.read_bytes())
    assert r.status_code == 200, r.text
    with store.session() as db:
        up = db.scalars(select(Upload)).one()
    assert up.status == "checked" and Decimal(up.score) == Decimal("15")  # 60 x 1/4


def test_a_later_rubric_with_the_same_id_cannot_rescore_a_running_period(rsite, tmp_path):
    settings, store, app, admin = rsite
    assert open_with(admin, "v1.yaml", SMALL_RUBRIC.encode("utf-8"), 2031).status_code == 200
    a = office_account(store, settings, app, "Dinas Kesehatan", "dinkes@kota.go.id")
    wb = write_workbook(
        tmp_path / "a.xlsx", small_rubric(), [("A-01", "Ya", EV)], office="Dinas Kesehatan"
    )
    upload(a, "a.xlsx", wb.read_bytes())
    # version 2 of the same rubric id, for an earlier year: the running 2031 period keeps v1
    r = open_with(admin, "v2.yaml", SMALL_V2.encode("utf-8"), 2030)
    assert r.status_code == 200 and SHA1[:12] in r.text and SHA2[:12] in r.text
    upload(a, "a-lagi.xlsx", wb.read_bytes())
    with store.session() as db:
        scores = [Decimal(u.score) for u in db.scalars(select(Upload).order_by(Upload.id))]
        periods = {p.year: p.rubric_id for p in db.scalars(select(Period))}
    # v1: 60 x 1/4 = 15 both times (v2 would give 60 x 3/6 = 30)
    assert scores == [Decimal("15"), Decimal("15")]
    assert periods == {2031: f"sha256:{SHA1}", 2030: f"sha256:{SHA2}"}
    from monev.web.checking import rubric

    assert rubric(periods[2030]).indicators[0].weight == 3
    assert rubric(periods[2031]).indicators[0].weight == 1
    assert (settings.rubric_dir / f"{SHA1}.yaml").read_bytes() == SMALL_RUBRIC.encode("utf-8")


def test_a_rubric_workbook_is_read_by_the_library_and_kept_as_yaml(rsite, tmp_path):
    settings, store, _app, admin = rsite
    book = export_book(small_rubric(), tmp_path / "rubrik.xlsx")
    r = open_with(admin, "rubrik.xlsx", book.read_bytes())
    assert r.status_code == 200 and r.url.path == "/admin", r.text
    with store.session() as db:
        period = db.scalars(select(Period)).one()
        kept = db.get(RubricFile, period.rubric_file_id)
        assert kept.source == "workbook"
        assert kept.source_sha256 == hashlib.sha256(book.read_bytes()).hexdigest()
    stored = settings.rubric_dir / f"{kept.sha256}.yaml"
    text = stored.read_text(encoding="utf-8")
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == kept.sha256 == period.rubric_sha256
    assert text.startswith("# Rubrik dari buku rubrik yang diunggah")
    assert same_rubric(parse_rubric(text), small_rubric())


def _formula_book(tmp_path) -> bytes:
    book = export_book(small_rubric(), tmp_path / "rumus.xlsx")
    wb = load_workbook(book)
    ws = wb["Indikator"]
    col = next(c.column_letter for c in ws[1] if str(c.value).endswith("(weight)"))
    ws[f"{col}2"] = "=100/3"  # never calculated: calamine reads "", an empty weight is 1
    wb.save(book)
    return book.read_bytes()


def test_mistakes_are_shown_at_their_cell_or_path_and_nothing_is_kept(rsite, tmp_path):
    settings, store, _app, admin = rsite
    r = open_with(admin, "rumus.xlsx", _formula_book(tmp_path))
    assert r.status_code == 400
    problems = re.search(r'<ul class="problems" id="rubric-problems">(.*?)</ul>', r.text, re.S)
    # Problem.text: "[file: Sheet!Cell] CODE message. What to do"
    assert re.search(r"\[rumus\.xlsx: Indikator![A-Z]+2\] MV617", problems.group(1))
    assert "Ketik nilainya langsung tanpa rumus" in problems.group(1)
    assert "tidak disimpan" in r.text
    bad = SMALL_RUBRIC.replace(
        "{code: A, name: Aspek A, weight: 60}", "{code: A, name: A, weight: 50}"
    )
    r = open_with(admin, "rusak.yaml", bad.encode("utf-8"))
    assert r.status_code == 400
    assert "Jumlah bobot aspek 90, seharusnya 100; sesuaikan bobot aspek" in r.text  # 50 + 40
    assert "rusak.yaml" in r.text
    assert (
        "Aspect weights add up to 90"
        in admin.post(
            "/admin/periods?lang=en",
            data={"csrf": csrf(admin, "/admin"), "year": 2030, "deadline": "2099-12-15T23:59"},
            files={"rubric_file": ("rusak.yaml", bad.encode("utf-8"))},
        ).text
    )
    nothing_kept(settings, store)


def _zip_bomb(tmp_path) -> bytes:
    """The exported rubric book with 70 MiB of spaces in one sheet (deflated to ~70 KiB)."""
    book = export_book(small_rubric(), tmp_path / "bom.xlsx")
    out = io.BytesIO()
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b"</worksheet>", b"<!--" + b" " * (70 << 20) + b"--></worksheet>"
                )
            dst.writestr(name, data)
    return out.getvalue()


def _alias_bomb() -> bytes:
    """Nine levels of ten aliases each: 10^9 values once expanded, in a few hundred bytes."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    "name, build, expected",
    [
        ("bom.xlsx", _zip_bomb, "MV107"),  # the reader's zip-bomb guard (64 MiB uncompressed)
        ("rumus.xlsx", _formula_book, "MV617"),
        ("tawa.yaml", lambda _t: _alias_bomb(), "500000"),  # MAX_YAML_NODES
        ("dalam.yaml", lambda _t: b"[" * 50_000 + b"]" * 50_000, "bertingkat terlalu dalam"),
        ("besar.yaml", lambda _t: b"# " + b"x" * 2_100_000 + b"\n", "lebih besar dari batas 2 MB"),
        ("teks.xlsx", lambda _t: b"id: uji\n", "MV108"),  # not a workbook although named one
    ],
)
def test_hostile_rubric_files_meet_the_librarys_limits(rsite, tmp_path, name, build, expected):
    settings, store, _app, admin = rsite
    r = open_with(admin, name, build(tmp_path))
    assert r.status_code == 400, r.text[:500]
    problems = re.search(r'<ul class="problems" id="rubric-problems">(.*?)</ul>', r.text, re.S)
    assert problems and expected in problems.group(1), r.text[:2000]
    assert "Traceback" not in r.text
    nothing_kept(settings, store)


def test_a_rubric_file_over_the_upload_limit_is_refused_while_it_streams(rsite):
    settings, store, _app, admin = rsite
    r = open_with(admin, "raksasa.yaml", b"#" * (MAX_UPLOAD + 1))  # part over, body within margin
    assert r.status_code == 413 and "lebih besar dari 4 MB" in r.text
    r = open_with(admin, "raksasa.yaml", b"#" * (MAX_UPLOAD * 2))  # refused while streaming
    assert r.status_code == 413 and "lebih besar dari 4 MB" in r.text
    nothing_kept(settings, store)


def test_only_the_admin_may_upload_a_rubric_and_only_with_the_csrf_token(rsite):
    settings, store, app, admin = rsite
    body = SMALL_RUBRIC.encode("utf-8")
    office = office_account(store, settings, app, "Dinas Kesehatan", "dinkes@kota.go.id")
    verifier = staff(store, settings, app, "verifier", "verifikator@kota.go.id")
    auditor = staff(store, settings, app, "auditor", "auditor@kota.go.id")
    assert open_with(office, "r.yaml", body, token=csrf(office, "/office")).status_code == 404
    assert open_with(verifier, "r.yaml", body, token=csrf(verifier, "/verify")).status_code == 404
    assert open_with(auditor, "r.yaml", body, token=csrf(auditor, "/auditor")).status_code == 403
    outsider = client(app)
    r = open_with(outsider, "r.yaml", body, token=csrf(outsider, "/login"))
    assert r.url.path == "/login"
    assert open_with(admin, "r.yaml", body, token="").status_code == 403  # no token
    assert open_with(admin, "r.yaml", body, token=csrf(office, "/office")).status_code == 403
    nothing_kept(settings, store)


def test_snapshot_with_an_uploaded_rubric_equals_monev_score_with_that_file(rsite, tmp_path):
    """Issue 14 item 4 with an uploaded rubric: the exported inputs carry the rubric file, and
    `monev score FILES --rubric R --stages S --offices O --as-of D --verifier-from-workbooks`
    gives the snapshot's results.json."""
    from monev.web.snapshot import export_inputs

    settings, store, app, admin = rsite
    assert open_with(admin, "rubrik.yaml", SMALL_RUBRIC.encode("utf-8")).status_code == 200
    a = office_account(store, settings, app, "Dinas Kesehatan", "dinkes@kota.go.id")
    b = office_account(store, settings, app, "Dinas Pendidikan", "dindik@kota.go.id")
    v = staff(store, settings, app, "verifier", "verifikator@kota.go.id")
    rb = small_rubric()
    wa = write_workbook(tmp_path / "a.xlsx", rb, [("A-01", "Ya", EV)], office="Dinas Kesehatan")
    rows = [("A-01", "Ya", EV), ("A-02", "Ya", EV), ("A-03", "Ya", EV)]
    wb = write_workbook(tmp_path / "b.xlsx", rb, rows, office="Dinas Pendidikan")
    upload(a, "a.xlsx", wa.read_bytes())
    upload(b, "b.xlsx", wb.read_bytes())
    assert (
        decide(v, office_id(store, "Dinas Pendidikan"), "A-03", "Tidak Sesuai").status_code == 200
    )
    r = admin.post("/admin/publish", data={"csrf": csrf(admin, "/dashboard")})
    assert r.status_code == 200 and re.fullmatch(r"/snapshots/\d+", r.url.path), r.text
    published = json.loads(admin.get(f"{r.url.path}/results.json").content)
    frozen = admin.get(f"{r.url.path}/masukan/rubrik.yaml")  # the snapshot keeps its rubric
    assert frozen.status_code == 200 and frozen.content == SMALL_RUBRIC.encode("utf-8")
    with store.session() as db:
        period = db.scalars(select(Period)).one()
        inputs = export_inputs(settings, db, period, tmp_path / "export")
        from monev.web.db import Snapshot

        as_of = db.scalars(select(Snapshot)).one().as_of
    assert inputs.rubric is not None
    assert inputs.rubric.read_bytes() == SMALL_RUBRIC.encode("utf-8")
    out = tmp_path / "cli-out"
    cmd = [
        sys.executable, "-m", "monev", "score", *map(str, inputs.workbooks),
        "--rubric", str(inputs.rubric), "--stages", str(inputs.stages),
        "--offices", str(inputs.registry), "--as-of", as_of, "--verifier-from-workbooks",
        "--no-pdf", "-o", str(out), "-q",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "results.json").read_text(encoding="utf-8")) == published
    assert published["rubric"]["id"] == "uji-kecil" and published["rubric"]["sha256"] == SHA1
    scores = {o["name"]: o["score"] for o in published["offices"]}
    # Dinas Kesehatan: A-01 = 60 x 1/4 = 15. Dinas Pendidikan: A-01 + A-02 = 60 x 2/4 = 30;
    # A-03 (60 x 2/4 = 30 more) was judged Tidak Sesuai by the verifier.
    assert scores == {"Dinas Kesehatan": 15.0, "Dinas Pendidikan": 30.0}, scores


def test_a_stored_rubric_changed_on_disk_is_never_trusted(rsite):
    """The period names its rubric by hash: a file edited behind the application's back is
    refused, not silently used to rescore the period."""
    from monev.rubric import RubricError
    from monev.web.checking import _stored_rubric, rubric

    def restart() -> None:  # a running server keeps the rubric it verified; a new one reads
        rubric.cache_clear()
        _stored_rubric.cache_clear()

    settings, _store, _app, admin = rsite
    assert open_with(admin, "rubrik.yaml", SMALL_RUBRIC.encode("utf-8")).status_code == 200
    stored = settings.rubric_dir / f"{SHA1}.yaml"
    stored.write_text(SMALL_V2, encoding="utf-8")
    assert rubric(f"sha256:{SHA1}").sha256 == SHA1  # still the verified one in memory
    restart()
    with pytest.raises(RubricError, match="changed"):
        rubric(f"sha256:{SHA1}")
    stored.write_text(SMALL_RUBRIC, encoding="utf-8")
    restart()
    assert rubric(f"sha256:{SHA1}").sha256 == SHA1


def test_two_admins_adding_the_same_rubric_at_once_get_one_row(rsite):
    """Two admins upload the same new rubric at the same moment: both looked for its hash, found
    nothing, and the second INSERT broke the unique constraint (a 500). Here the other admin's
    row is committed between this call's look-up and its insert."""
    from monev.web import rubrics
    from monev.web.db import User

    settings, store, _app, _admin = rsite
    text = SMALL_RUBRIC.encode("utf-8")
    with store.session() as db:
        actor = db.scalar(select(User).where(User.role == "admin"))
        first = rubrics.add_rubric(settings, db, actor, io.BytesIO(text), "a.yaml", "", "id")
        first_id = first.id
    with store.session() as db:
        actor = db.scalar(select(User).where(User.role == "admin"))
        real = db.scalar
        calls = []

        def late_scalar(stmt, *a, **kw):  # the first look-up ran before the other commit
            calls.append(stmt)
            return None if len(calls) == 1 else real(stmt, *a, **kw)

        db.scalar = late_scalar  # type: ignore[method-assign]
        again = rubrics.add_rubric(settings, db, actor, io.BytesIO(text), "b.yaml", "", "id")
        assert again.id == first_id
    with store.session() as db:
        assert len(db.scalars(select(RubricFile)).all()) == 1
        uploads = db.scalars(select(AuditEntry).where(AuditEntry.action == "rubric.upload")).all()
        assert len(uploads) == 2  # both admins' uploads are in the audit log


def test_a_missing_stored_rubric_file_gives_a_clear_page_not_a_500(rsite, monkeypatch):
    # A data folder restored without rubrics/ (or moved in part): every page that needs the
    # period's rubric raised RubricError with an English text (a 500 in production).
    from monev.web import checking
    from monev.web.checking import _stored_rubric, rubric

    settings, store, app, admin = rsite
    # this server's folder only (earlier tests' data folders may hold the same file)
    monkeypatch.setattr(checking, "_RUBRIC_FOLDERS", [settings.rubric_dir])
    assert open_with(admin, "rubrik.yaml", SMALL_RUBRIC.encode("utf-8")).status_code == 200
    a = office_account(store, settings, app, "Dinas Kesehatan", "dinkes@kota.go.id")
    (settings.rubric_dir / f"{SHA1}.yaml").unlink()
    rubric.cache_clear()  # the server started again
    _stored_rubric.cache_clear()
    got = a.get("/office/template.xlsx")
    assert got.status_code == 503
    assert "Rubrik periode ini tidak dapat dipakai" in got.text and "missing" not in got.text
    en = a.get("/office/template.xlsx?lang=en")
    assert en.status_code == 503 and "rubric cannot be used" in en.text
