"""wp-webpin (issue 14): a running period's rubric can never change under it.

A period opened with a shipped rubric (``ki-jatim-2024``) keeps that file's bytes by hash, as an
uploaded rubric is kept, and names it ``sha256:<hash>``; a monev upgrade that changes the shipped
file cannot rescore it. A period of older data, opened by id, is pinned when the data folder is
opened (recorded in the audit log); when the shipped file no longer has the hash recorded at
opening, nothing rescored it: the admin reads why and what to do, every scoring page refuses.

Figures: the JI aspect of ki-jatim-2024 weighs 40 over 14 indicators, so ``JI-01`` answered Ya
with a link is worth 40/14 = 20/7 = 2.857 -> 2,86 (below the SAQ gate: the SAQ is the score).
The "upgraded" shipped file of these tests gives JI 50 and DG 10: JI-01 = 50/14 = 3.571 -> 3,57.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from web_helpers import (  # first: it skips this module without the web extra
    ADMIN,
    ADMIN_PW,
    EV,
    PW,
    client,
    login,
    office_account,
    open_period,
    upload,
)

# isort: split

from helpers import write_workbook
from sqlalchemy import select

from monev import rubric as rubric_module
from monev.web import checking
from monev.web.app import create_app
from monev.web.db import AuditEntry, Period, RubricFile, Upload, User
from monev.web.ops import Store

SHIPPED = rubric_module.shipped()["ki-jatim-2024"]
SHIPPED_BYTES = SHIPPED.read_bytes()
SHIPPED_SHA = hashlib.sha256(SHIPPED_BYTES).hexdigest()

pytestmark = pytest.mark.usefixtures("cheap_argon2")


def _forget() -> None:
    """What a restarted server has in memory: nothing resolved yet."""
    checking.rubric.cache_clear()
    checking._stored_rubric.cache_clear()
    checking.check_blob.cache_clear()


def upgrade_shipped(monkeypatch, tmp_path: Path) -> Path:
    """A later monev whose shipped ki-jatim-2024 weighs JI 50 and DG 10 (was 40 and 20)."""
    text = SHIPPED_BYTES.decode("utf-8")
    text = text.replace(
        "name: Jenis Informasi\n  weight: 40", "name: Jenis Informasi\n  weight: 50", 1
    ).replace("name: Digitalisasi\n  weight: 20", "name: Digitalisasi\n  weight: 10", 1)
    assert text != SHIPPED_BYTES.decode("utf-8")
    folder = tmp_path / "monev-baru"
    folder.mkdir()
    (folder / "ki-jatim-2024.yaml").write_text(text, encoding="utf-8")
    new = dict(rubric_module.shipped())
    new["ki-jatim-2024"] = folder / "ki-jatim-2024.yaml"
    monkeypatch.setattr(rubric_module, "shipped", lambda: new)
    _forget()
    return folder / "ki-jatim-2024.yaml"


def _ji01(tmp_path: Path, rubric) -> bytes:
    wb = write_workbook(tmp_path / "a.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas A")
    return wb.read_bytes()


def test_a_shipped_rubric_is_pinned_at_opening_and_an_upgrade_cannot_rescore_the_period(
    site,
    rubric,
    tmp_path,
    monkeypatch,
):
    settings, store, app = site
    admin = client(app)
    login(admin, ADMIN, ADMIN_PW)
    assert open_period(admin).status_code == 200
    with store.session() as db:
        period = db.scalars(select(Period)).one()
        assert period.rubric_id == f"sha256:{SHIPPED_SHA}"
        assert period.rubric_sha256 == SHIPPED_SHA
        kept = db.get(RubricFile, period.rubric_file_id)
        assert kept is not None and (kept.rubric_id, kept.source) == ("ki-jatim-2024", "shipped")
        opened = db.scalars(select(AuditEntry).where(AuditEntry.action == "period.open")).one()
        assert opened.after["rubric"] == "ki-jatim-2024"
        assert opened.after["rubric_source"] == "shipped"
    # the shipped file's very bytes, kept where an uploaded rubric is kept
    assert (settings.rubric_dir / f"{SHIPPED_SHA}.yaml").read_bytes() == SHIPPED_BYTES
    # the pages name the rubric by its id, never only by a hash
    page = admin.get("/admin").text
    assert "ki-jatim-2024" in page and "rubrik bawaan" in page
    # a shipped rubric kept for a period is not offered again as an uploaded one
    assert f'<option value="sha256:{SHIPPED_SHA}">' not in page
    a = office_account(store, settings, app, "Dinas A", "a@kota.go.id")
    office_page = a.get("/office").text
    assert "rubrik ki-jatim-2024" in office_page and "sha256:" not in office_page
    data = _ji01(tmp_path, rubric)
    assert upload(a, "a.xlsx", data).status_code == 200

    # monev is upgraded and its shipped ki-jatim-2024 changes; the server restarts
    upgrade_shipped(monkeypatch, tmp_path)
    assert rubric_module.load_rubric("ki-jatim-2024").aspects[0].weight == 50  # really changed
    store2 = Store(settings)
    a2 = client(create_app(settings, store2))
    login(a2, "a@kota.go.id", PW)
    assert upload(a2, "a-lagi.xlsx", data).status_code == 200
    with store2.session() as db:
        scores = [Decimal(u.score) for u in db.scalars(select(Upload).order_by(Upload.id))]
    # 20/7 = 2.857 -> 2.86 both times (the upgraded file would give 50/14 = 3.571 -> 3.57)
    assert scores == [Decimal("2.86"), Decimal("2.86")]
    # a period opened after the upgrade gets the new file, pinned by its own hash
    with store2.session() as db:
        admin_user = db.scalar(select(User).where(User.role == "admin"))
        from monev.web.ops import open_period as open_p

        newer = open_p(db, admin_user, 2027, "ki-jatim-2024", "2099-12-15T23:59", "WIB")
        assert newer.rubric_id != f"sha256:{SHIPPED_SHA}"
        assert checking.rubric(newer.rubric_id).aspects[0].weight == 50


def _pins(db) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == "period.rubric_pin")))


def _old_period(store: Store, recorded_sha: str) -> int:
    """A period as monev before pinning stored it: the shipped rubric by id."""
    import datetime as dt

    with store.session() as db:
        p = Period(
            year=2025,
            rubric_id="ki-jatim-2024",
            rubric_sha256=recorded_sha,
            deadline_utc=dt.datetime(2099, 12, 15, 16, 59),
            zone="WIB",
            status="open",
        )
        db.add(p)
        db.flush()
        return p.id


def test_a_period_opened_by_id_on_older_data_is_pinned_on_start_and_audited(site):
    settings, store, _app = site
    pid = _old_period(store, SHIPPED_SHA)
    _forget()
    store2 = Store(settings)  # the server starts on the older data
    with store2.session() as db:
        period = db.get(Period, pid)
        assert period.rubric_id == f"sha256:{SHIPPED_SHA}"
        kept = db.get(RubricFile, period.rubric_file_id)
        assert kept.source == "shipped" and kept.rubric_id == "ki-jatim-2024"
        pins = _pins(db)
        assert len(pins) == 1 and pins[0].entity_id == pid
        assert pins[0].before == {"rubric_id": "ki-jatim-2024", "rubric_sha256": SHIPPED_SHA}
        assert pins[0].after["rubric_id"] == f"sha256:{SHIPPED_SHA}"
    assert (settings.rubric_dir / f"{SHIPPED_SHA}.yaml").read_bytes() == SHIPPED_BYTES
    Store(settings)  # a second start pins nothing more
    with store2.session() as db:
        assert (
            len(
                db.scalars(select(AuditEntry).where(AuditEntry.action == "period.rubric_pin")).all()
            )
            == 1
        )


def test_an_older_period_whose_shipped_file_changed_is_refused_with_a_message(
    site,
    rubric,
    tmp_path,
    monkeypatch,
):
    settings, store, _app = site
    pid = _old_period(store, SHIPPED_SHA)  # opened (by id) before the upgrade
    upgrade_shipped(monkeypatch, tmp_path)
    store2 = Store(settings)
    app2 = create_app(settings, store2)
    with store2.session() as db:
        period = db.get(Period, pid)
        assert period.rubric_id == "ki-jatim-2024" and period.rubric_file_id is None  # not pinned
        assert not db.scalars(
            select(AuditEntry).where(AuditEntry.action == "period.rubric_pin")
        ).all()
    admin = client(app2)
    login(admin, ADMIN, ADMIN_PW)
    page = admin.get("/admin").text
    assert "tidak dihitung ulang" in page and SHIPPED_SHA[:12] in page
    assert f"{SHIPPED_SHA}.yaml" in page  # where to put the file it was opened with
    assert "not rescored" in admin.get("/admin?lang=en").text
    admin.get("/admin?lang=id")
    # the office cannot be scored against the changed file: refused, nothing stored as a score
    a = office_account(store2, settings, app2, "Dinas A", "a@kota.go.id")
    r = upload(a, "a.xlsx", _ji01(tmp_path, rubric))
    assert r.status_code == 503 and "Rubrik periode ini" in r.text
    with store2.session() as db:
        assert db.scalars(select(Upload)).all() == []
    # the admin puts the original file where the page says; on the next start it is pinned
    (settings.rubric_dir / f"{SHIPPED_SHA}.yaml").write_bytes(SHIPPED_BYTES)
    _forget()
    store3 = Store(settings)
    with store3.session() as db:
        period = db.get(Period, pid)
        assert period.rubric_id == f"sha256:{SHIPPED_SHA}"
        assert checking.rubric(period.rubric_id).aspects[0].weight == 40
    a3 = client(create_app(settings, store3))
    login(a3, "a@kota.go.id", PW)
    assert upload(a3, "a.xlsx", _ji01(tmp_path, rubric)).status_code == 200
    with store3.session() as db:
        assert Decimal(db.scalars(select(Upload)).one().score) == Decimal("2.86")  # 20/7


def test_a_kept_rubric_file_gone_from_the_data_folder_is_refused_and_explained(
    site,
    rubric,
    tmp_path,
    monkeypatch,
):
    """The period's kept file is lost (a restore without ``rubrics/``): nothing falls back to
    the shipped file; the admin page says which file to restore where."""
    settings, store, app = site
    admin = client(app)
    login(admin, ADMIN, ADMIN_PW)
    assert open_period(admin).status_code == 200
    a = office_account(store, settings, app, "Dinas A", "a@kota.go.id")
    kept = settings.rubric_dir / f"{SHIPPED_SHA}.yaml"
    kept.unlink()
    # a restarted server, which knows this data folder only (this process has opened others)
    monkeypatch.setattr(checking, "_RUBRIC_FOLDERS", [settings.rubric_dir])
    _forget()
    r = upload(a, "a.xlsx", _ji01(tmp_path, rubric))
    assert r.status_code == 503 and "tidak ada yang dinilai" in r.text
    with store.session() as db:
        assert db.scalars(select(Upload)).all() == []
    page = admin.get("/admin").text
    assert "hilang atau berubah" in page and str(kept) in page
    kept.write_bytes(SHIPPED_BYTES)  # restored: used again at once (nothing was cached)
    assert upload(a, "a.xlsx", _ji01(tmp_path, rubric)).status_code == 200
