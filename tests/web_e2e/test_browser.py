"""The first step of the monev cycle, walked in a real headless browser (issue 14).

Admin logs in, opens a period, invites an office; the office accepts the invitation, downloads
nothing (the test builds its workbooks), uploads a workbook with problems, reads them, uploads a
fixed one and sees its score rise. The server runs in this process on 127.0.0.1 (a free port)
and is stopped at teardown. Screenshots of each step go to a temporary folder, or to
``$MONEV_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
        "chromium-driver)",
    ),
]
selenium = pytest.importorskip("selenium", reason='needs selenium: pip install ".[web-test]"')
pytest.importorskip("uvicorn", reason='needs the web extra: pip install ".[web]"')

from helpers import write_workbook  # noqa: E402
from selenium.webdriver import Chrome, ChromeOptions  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

EV = "https://ppid.contoh.go.id/bukti"
ADMIN, ADMIN_PW = "admin@kota.go.id", "kata-sandi-admin-1"
OFFICE_PW = "kata-sandi-dinkes-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def live_server(tmp_path: Path, prepare=None, renderer: bool = False):
    """A monev web server in this process on a free loopback port, with the admin account and
    whatever ``prepare(db, settings, admin)`` adds; ``renderer``: office PDFs rendered in the
    background, as `monev serve` runs them. Yields the base URL; stops the server at exit."""
    import uvicorn

    from monev.web import security
    from monev.web.app import create_app
    from monev.web.ops import Store, create_admin
    from monev.web.rendering import Renderer
    from monev.web.settings import Settings

    security.set_cost(1, 1024)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings.for_data_dir(tmp_path / "data", base_url=base)
    store = Store(settings)
    with store.session() as db:
        admin = create_admin(db, ADMIN, ADMIN_PW)
        if prepare is not None:
            prepare(db, settings, admin)
    config = uvicorn.Config(
        create_app(settings, store), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    render = Renderer(store) if renderer else None
    if render is not None:
        render.start()
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield base
    srv.should_exit = True
    thread.join(10)
    if render is not None:
        render.stop()
    security.set_cost(3, 65536)


@pytest.fixture
def server(tmp_path):
    with live_server(tmp_path, renderer=True) as base:
        yield base


@pytest.fixture
def browser(tmp_path):
    profile = tempfile.mkdtemp(prefix="monev-chromium-")
    opts = ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,1100",
        "--lang=id",
    ):
        opts.add_argument(arg)
    driver = Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(30)
    driver.implicitly_wait(20)  # a busy machine: an upload is checked within its request
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("MONEV_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _shot(driver, folder: Path, name: str) -> None:
    """The visible part of the page (1280 x 1100), as an office sees it on opening."""
    driver.save_screenshot(str(folder / f"{name}.png"))


def _fill(driver, **fields: str) -> None:
    for name, value in fields.items():
        el = driver.find_element(By.NAME, name)
        el.clear()
        el.send_keys(value)


def _wait_text(d, element_id: str, text: str, seconds: float = 30) -> None:
    """Wait until the element shows ``text`` (the page before a click may have the element too)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(d, seconds, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda drv: text in drv.find_element(By.ID, element_id).text
    )


def _text(d, element_id: str, seconds: float = 30) -> str:
    """An element's text on a page that may reload itself meanwhile (the result page refreshes
    every 5 s while its PDF is being made): read again when the page changed under the read."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return str(
        WebDriverWait(d, seconds, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda drv: drv.find_element(By.ID, element_id).text
        )
    )


def _wait_url(d, ending: str, seconds: float = 30) -> None:
    """A click submits a form: wait for the browser to arrive, not just for the click to end."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(d, seconds).until(lambda drv: drv.current_url.split("?")[0].endswith(ending))


def test_office_uploads_reads_its_problems_fixes_them_and_scores_higher(
    server, browser, shots, tmp_path, rubric
):
    d = browser
    # 1. admin logs in, opens the 2026 period and invites an office
    d.get(server + "/admin")
    _wait_url(d, "/login")  # logged out: only the login page
    _shot(d, shots, "01-login")
    _fill(d, email=ADMIN, password=ADMIN_PW)
    d.find_element(By.ID, "login").click()
    _wait_url(d, "/admin")
    _fill(d, year="2026")
    deadline = d.find_element(By.ID, "deadline")
    d.execute_script("arguments[0].value = '2099-12-15T23:59'", deadline)
    d.find_element(By.ID, "open-period").click()
    _wait_text(d, "periods", "2099-12-15 23:59 WIB")
    _fill(d, offices="Dinas Kesehatan")
    d.find_element(By.ID, "invite").click()
    link = d.find_element(By.CSS_SELECTOR, "#links a").get_attribute("href")
    assert link and link.startswith(server + "/invite/")
    _shot(d, shots, "02-admin-invitation")
    d.find_element(By.CSS_SELECTOR, "header form button").click()  # log out
    _wait_url(d, "/login")  # the logout has landed before the next page is asked for

    # 2. the office accepts its invitation
    d.get(link)
    assert "Dinas Kesehatan" in d.page_source
    _fill(d, email="ppid@dinkes.kota.go.id", password=OFFICE_PW, password2=OFFICE_PW)
    d.find_element(By.ID, "accept").click()
    _wait_url(d, "/office")
    _shot(d, shots, "03-office")

    # 3. it uploads a workbook with problems and reads them
    bad = write_workbook(
        tmp_path / "kuesioner-dinkes.xlsx",
        rubric,
        [("JI-01", "Ya", EV), ("JI-02", "Mungkin"), ("JI-03", "Ya")],
        office="Dinas Kesehatan",
    )
    d.find_element(By.ID, "file").send_keys(str(bad))
    d.find_element(By.ID, "upload").click()
    problems = _text(d, "problems")
    assert "Kuesioner!" in problems and "JI-02" in problems
    first = _text(d, "score")
    _shot(d, shots, "04-result-with-problems")

    # 4. it uploads a fixed one and sees its score rise
    from test_scoring import best

    good = write_workbook(
        tmp_path / "kuesioner-dinkes-2.xlsx", rubric, best(rubric), office="Dinas Kesehatan"
    )
    d.get(server + "/office")
    d.find_element(By.ID, "file").send_keys(str(good))
    d.find_element(By.ID, "upload").click()
    second = _text(d, "score")
    assert "Naik" in _text(d, "delta")
    assert float(second.replace(".", "").replace(",", ".")) > float(
        first.replace(".", "").replace(",", ".")
    )
    _shot(d, shots, "05-result-fixed")
    # ... and its PDF: "being made" at first, the page refreshes itself until the link is there
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(d, 180).until(lambda drv: drv.find_elements(By.ID, "pdf-link"))
    pdf = d.find_element(By.ID, "pdf-link").get_attribute("href")
    assert pdf and pdf.endswith("/report.pdf")
    got = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.arrayBuffer().then(b => done([r.status,"
        " r.headers.get('content-type'), new TextDecoder().decode(b.slice(0, 5))])));",
        pdf,
    )
    assert got == [200, "application/pdf", "%PDF-"]
    _shot(d, shots, "05b-result-pdf")
    d.get(server + "/office")
    assert len(d.find_elements(By.CSS_SELECTOR, "#history tbody tr")) == 2
    _shot(d, shots, "06-history")

    # 5. admin opens the objection window and invites a verifier and an auditor
    d.find_element(By.CSS_SELECTOR, "header form button").click()  # the office logs out
    _wait_url(d, "/login")
    _login(d, ADMIN, ADMIN_PW, "/admin")
    window = d.find_element(By.ID, "objection_until")
    d.execute_script("arguments[0].value = '2099-12-31T23:59'", window)
    d.find_element(By.ID, "set-objection-window").click()
    _wait_text(d, "periods", "2099-12-31 23:59 WIB")
    links = {}
    for role in ("verifier", "auditor"):
        d.get(server + "/admin")
        from selenium.webdriver.support.ui import Select

        Select(d.find_element(By.ID, "role")).select_by_value(role)
        d.find_element(By.ID, "invite-staff").click()
        links[role] = d.find_element(By.CSS_SELECTOR, "#links a").get_attribute("href")
    _logout(d)

    # 6. the verifier rejects JI-01 with a note
    _accept(d, links["verifier"], "verifikator@kota.go.id", "/verify")
    _shot(d, shots, "07-verifier-offices")
    d.find_element(By.LINK_TEXT, "lihat").click()
    _wait_url(d, "/verify/1")
    row = d.find_element(By.ID, "i-JI-01")
    assert EV in row.text and not row.find_elements(By.CSS_SELECTOR, ".evidence a")
    Select(row.find_element(By.NAME, "verdict")).select_by_visible_text("Tidak Sesuai")
    row.find_element(By.NAME, "note").send_keys("Tautan tidak dapat dibuka tanpa login")
    before = d.find_element(By.ID, "decided-score").text
    row.find_element(By.CSS_SELECTOR, "form.decide button").click()
    _wait_text(d, "i-JI-01", "Tautan tidak dapat dibuka tanpa login")
    after = d.find_element(By.ID, "decided-score").text
    assert _number(after) < _number(before)
    _shot(d, shots, "08-verifier-decision")
    _logout(d)

    # 7. the office reads the decision and objects, once
    _login(d, "ppid@dinkes.kota.go.id", OFFICE_PW, "/office")
    d.find_element(By.ID, "decisions").click()
    _wait_url(d, "/office/decisions")
    row = d.find_element(By.ID, "i-JI-01")
    assert "Tidak Sesuai" in row.text and "tanpa login" in row.text
    row.find_element(By.NAME, "reason").send_keys("Tautan sudah dibuka untuk umum")
    row.find_element(By.NAME, "evidence").send_keys(EV + "/publik")
    row.find_element(By.CSS_SELECTOR, "form.object button").click()
    _wait_text(d, "i-JI-01", "menunggu jawaban")
    assert not d.find_element(By.ID, "i-JI-01").find_elements(By.CSS_SELECTOR, "form.object")
    _shot(d, shots, "09-office-objection")
    _logout(d)

    # 8. the verifier accepts the objection: the decision becomes Sesuai
    _login(d, "verifikator@kota.go.id", OFFICE_PW, "/verify")
    d.get(server + "/verify/1")
    row = d.find_element(By.ID, "i-JI-01")
    Select(row.find_element(By.NAME, "outcome")).select_by_value("accept")
    answer_verdict = row.find_element(By.CSS_SELECTOR, "form.answer select[name=verdict]")
    Select(answer_verdict).select_by_visible_text("Sesuai")
    row.find_element(By.NAME, "answer").send_keys("Tautan baru dapat dibuka; diterima")
    row.find_element(By.CSS_SELECTOR, "form.answer button").click()
    _wait_text(d, "i-JI-01", "diterima")
    assert d.find_element(By.ID, "decided-score").text == before
    _shot(d, shots, "10-verifier-answer")
    _logout(d)

    # 9. admin reads the dashboard and publishes the snapshot
    _login(d, ADMIN, ADMIN_PW, "/admin")
    d.get(server + "/dashboard")
    assert "Dinas Kesehatan" in d.find_element(By.ID, "ranking").text
    _shot(d, shots, "11-dashboard")
    d.find_element(By.ID, "publish").click()
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(d, 180).until(lambda drv: "/snapshots/" in drv.current_url)
    _shot(d, shots, "12a-snapshot-preparing")  # results.json is there; the PDFs are coming
    _wait_text(d, "snapshot-files", "kota.pdf", 300)  # the page refreshes itself
    files = d.find_element(By.ID, "snapshot-files").text
    assert "results.json" in files and "kota.pdf" in files and "rekap.xlsx" in files
    _shot(d, shots, "12-snapshot")
    _logout(d)

    # 10. the auditor downloads the snapshot's results.json, and cannot change anything
    _accept(d, links["auditor"], "auditor@kota.go.id", "/auditor")
    _shot(d, shots, "13-auditor")
    d.find_element(By.CSS_SELECTOR, "#snapshots a").click()
    _wait_url(d, "/snapshots/1")
    href = d.find_element(By.LINK_TEXT, "results.json").get_attribute("href")
    sha = d.find_element(By.XPATH, "//tr[td/a[text()='results.json']]/td[3]").text
    _shot(d, shots, "14-auditor-snapshot")
    got = d.execute_async_script(  # the download, as the browser gets it with this session
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(async r => done([r.status, r.headers.get('X-Content-SHA256'),"
        " await r.text()]));",
        href,
    )
    assert got[0] == 200 and got[1] == sha and '"Dinas Kesehatan"' in got[2]
    d.get(server + "/verify/1")
    assert not d.find_elements(By.CSS_SELECTOR, "form.decide")  # read only


def _number(text: str) -> float:
    return float(text.replace(".", "").replace(",", "."))


def _login(d, email: str, password: str, lands: str) -> None:
    d.get(d.current_url.split("/", 3)[0] + "//" + d.current_url.split("/", 3)[2] + "/login")
    _fill(d, email=email, password=password)
    d.find_element(By.ID, "login").click()
    _wait_url(d, lands)


def _logout(d) -> None:
    d.find_element(By.CSS_SELECTOR, "header form button").click()
    _wait_url(d, "/login")


def _accept(d, link: str, email: str, lands: str) -> None:
    d.get(link)
    _fill(d, email=email, password=OFFICE_PW, password2=OFFICE_PW)
    d.find_element(By.ID, "accept").click()
    _wait_url(d, lands)
