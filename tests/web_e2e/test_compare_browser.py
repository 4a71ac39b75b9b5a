"""Issue 14 item 3 in a real headless browser: an office uploads twice, opens its history and
sees what changed between the two uploads. The period and the office account are made through
:mod:`monev.web.ops` (the admin's steps are walked in test_browser.py); screenshots go to a
temporary folder, or to ``$MONEV_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import write_workbook
from test_browser import (
    EV,
    _shot,
    _wait_url,
    browser,  # noqa: F401  (fixture)
    live_server,
    pytestmark,  # noqa: F401  (browser mark, skipped without chromium)
    shots,  # noqa: F401  (fixture)
)

By = pytest.importorskip("selenium.webdriver.common.by", reason="needs selenium").By

OFFICE, OFFICE_PW = "ppid@dinkes.kota.go.id", "kata-sandi-dinkes-1"


@pytest.fixture
def office_server(tmp_path):
    """A server with an open 2026 period and one office account, on a free loopback port."""
    from monev.web.ops import accept_invitation, invite, open_period

    def prepare(db, settings, admin) -> None:
        open_period(db, admin, 2026, "ki-jatim-2024", "2099-12-15T23:59", "WIB")
        _, link = invite(db, settings, admin, "Dinas Kesehatan")
        accept_invitation(db, link.rsplit("/", 1)[1], OFFICE, OFFICE_PW)

    with live_server(tmp_path, prepare) as base:
        yield base


def test_office_compares_its_two_uploads(office_server, browser, shots, tmp_path, rubric):  # noqa: F811
    d = browser
    d.get(office_server + "/login")
    d.find_element(By.NAME, "email").send_keys(OFFICE)
    d.find_element(By.NAME, "password").send_keys(OFFICE_PW)
    d.find_element(By.ID, "login").click()
    _wait_url(d, "/office")
    versions = [
        [("JI-01", "Ya", EV), ("JI-02", "Mungkin"), ("JI-03", "Ya")],
        [("JI-01", "Ya", EV), ("JI-02", "Ya", EV + "/sk"), ("JI-03", "Ya", EV + "/risalah")],
    ]
    for n, rows in enumerate(versions, start=1):
        wb = write_workbook(tmp_path / f"dinkes-v{n}.xlsx", rubric, rows, office="Dinas Kesehatan")
        d.get(office_server + "/office")
        d.find_element(By.ID, "file").send_keys(str(wb))
        d.find_element(By.ID, "upload").click()
        d.find_element(By.ID, "score")  # the result page of this upload
    d.find_element(By.ID, "history-link").click()
    _wait_url(d, "/history")
    assert len(d.find_elements(By.CSS_SELECTOR, "#versions tbody tr")) == 2
    _shot(d, shots, "cmp-01-history")
    d.find_element(By.ID, "compare").click()
    _wait_url(d, "/compare")
    # JI-02: 'Mungkin' -> Ya with a link; JI-03: Ya without -> with evidence; 49 unchanged
    assert d.find_element(By.ID, "changed-count").text == "2"
    assert "Mungkin" in d.find_element(By.ID, "ind-JI-02").text
    assert "+2,86" in d.find_element(By.ID, "ind-JI-03").text  # 20/7 points gained
    summary = d.find_element(By.CSS_SELECTOR, "#unchanged summary")
    assert "49 indikator tidak berubah" in summary.text
    _shot(d, shots, "cmp-02-compare")
