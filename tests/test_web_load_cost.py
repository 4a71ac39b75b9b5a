"""What a deadline's rush of uploads costs the server beyond the check itself (issue 14, the
load test; wp-webload2). Measured with scripts/web_load.py: work left for the first uploads
after a start (a check worker not yet warm, templates not yet compiled) was paid inside the
burst, by every upload waiting behind it."""

from __future__ import annotations

import pytest
import web_helpers  # noqa: F401  (first: it skips this module without the web extra)

# isort: split


from monev.limits import READ_CPU_SECONDS, READ_MEMORY_BYTES
from monev.sandbox import ProcessLimits, WorkerPool
from monev.web import checking

pytestmark = pytest.mark.usefixtures("cheap_argon2")


def test_warm_up_runs_the_check_in_every_worker(monkeypatch, tmp_path):
    """One call after another went to the same worker (the pool reuses an idle worker before
    it starts another): with two workers, the second loaded the reader's modules and the rubric
    during the first uploads. Each worker now runs the warm-up check once."""
    from monev.web.ops import Store, create_admin, open_period
    from monev.web.settings import Settings

    store = Store(Settings.for_data_dir(tmp_path / "data"))
    with store.session() as db:  # a period's rubric is kept by hash (wp-webpin)
        admin = create_admin(db, "admin@kota.go.id", "kata-sandi-admin-1")
        ref = open_period(db, admin, 2026, "ki-jatim-2024", "2099-12-15T23:59").rubric_id
    pool = WorkerPool(ProcessLimits(READ_MEMORY_BYTES, READ_CPU_SECONDS), 2)
    monkeypatch.setattr(checking, "WORKERS", pool)
    try:
        warmed = checking.warm_up([ref])
    finally:
        pool.close()
    assert len(warmed) == 2  # two distinct worker processes ran the blank template's check


def test_warm_pages_leaves_nothing_to_compile_for_an_upload_and_its_result(
    cycle,
    rubric,
    tmp_path,
    monkeypatch,
):
    """The first result pages of a rush each compiled result.html.j2 (55 ms of CPU) and the
    templates it extends, several threads at once. After the start-up's warm-up an upload and
    its result page compile no template."""
    from helpers import write_workbook
    from web_helpers import EV, upload

    from monev.web import pages

    _, _, _, _, a, _ = cycle
    env = pages._env()
    env.cache.clear()
    assert pages.warm_pages() >= 10  # every page of the site (17 when this was written)
    compiled: list[str] = []
    original = env.compile

    def counting(source, name=None, *args, **kwargs):
        compiled.append(name)
        return original(source, name, *args, **kwargs)

    monkeypatch.setattr(env, "compile", counting)
    book = write_workbook(
        tmp_path / "dinkes.xlsx", rubric, [("JI-01", "Mungkin", EV)], office="Dinas Kesehatan"
    )
    r = upload(a, "dinkes.xlsx", book.read_bytes())
    assert r.status_code == 200 and r.url.path.startswith("/uploads/")
    assert compiled == []


def test_every_answer_carries_the_security_headers(site):
    """The headers middleware is a plain ASGI one now: a page, an error page and a static file
    carry the same headers as before; only static files may be cached."""
    from web_helpers import client

    _, _, app = site
    c = client(app)
    for url in ("/login", "/no-such-page", "/static/poll.js"):
        r = c.get(url)
        assert r.headers["X-Content-Type-Options"] == "nosniff", url
        assert r.headers["X-Frame-Options"] == "DENY", url
        assert r.headers["Referrer-Policy"] == "no-referrer", url
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"], url
        assert (r.headers.get("Cache-Control") == "no-store") == (not url.startswith("/static/"))
    assert c.get("/no-such-page").status_code == 404
