from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from monev.rubric import Rubric, load_rubric

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "questionnaires" / "contoh"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite the golden files under tests/golden/ from the current output.",
    )


@pytest.fixture(autouse=True, scope="session")
def user_cache(tmp_path_factory: pytest.TempPathFactory):
    """monev's per-user cache (compiled report templates, link checks) in a folder of the test
    session, never the home folder's; subprocesses inherit it."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield Path(os.environ["XDG_CACHE_HOME"])
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(scope="session")
def rubric() -> Rubric:
    return load_rubric("ki-jatim-2024")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(autouse=True)
def web_database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """With ``MONEV_TEST_POSTGRES`` set to a server URL (``.ci/run`` sets it), every test that
    uses the web application gets a fresh PostgreSQL database of its own through
    ``MONEV_WEB_DB``; without it the tests run on SQLite in their own folders."""
    server = os.environ.get("MONEV_TEST_POSTGRES")
    if not server or "web" not in request.node.nodeid:
        yield
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from monev.web.db import driver_url

    name = f"monev_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(driver_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    monkeypatch.setenv("MONEV_WEB_DB", make_url(server).set(database=name).render_as_string(False))
    yield
    try:
        _drop_database(admin, name)
    finally:
        admin.dispose()


def _drop_database(admin, name: str) -> None:
    """Drop a test database that the application's pools may still hold connections to.

    Not ``DROP DATABASE ... WITH (FORCE)``: FORCE must be allowed to signal every backend in the
    database, and an autovacuum worker that happens to be analysing the new tables belongs to no
    role, so a role that is not a superuser (CI's ``monev_ci``) gets "must be a member of the role
    whose process is being terminated" and the test errors at teardown. Our own sessions are
    ended here; a plain DROP DATABASE then asks autovacuum workers to leave and waits for them.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    for attempt in range(3):
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND usename = current_user"
                    " AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            try:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                return
            except OperationalError:  # a pool reconnected in between ("being accessed")
                if attempt == 2:
                    raise


# --- The web front end's fixtures (its steps are in tests/web_helpers.py) ---


@pytest.fixture
def cheap_argon2():
    """Tests hash with a small argon2 cost (the server's default is the library's own). The web
    test modules use it for every test: ``pytestmark = pytest.mark.usefixtures("cheap_argon2")``."""
    from monev.web import security

    security.set_cost(1, 1024)
    yield
    security.set_cost(3, 65536)


@pytest.fixture
def site(tmp_path):
    """A data folder with its admin account, its store and the application."""
    from web_helpers import ADMIN, ADMIN_PW

    from monev.web.app import create_app
    from monev.web.ops import Store, create_admin
    from monev.web.settings import Settings

    settings = Settings.for_data_dir(tmp_path / "data", max_upload=200_000)
    store = Store(settings)
    with store.session() as db:
        create_admin(db, ADMIN, ADMIN_PW)
    app = create_app(settings, store)
    return settings, store, app


@pytest.fixture
def cycle(site):
    """An open period and two offices, each logged in."""
    from web_helpers import ADMIN, ADMIN_PW, client, login, office_account, open_period

    settings, store, app = site
    admin = client(app)
    assert login(admin, ADMIN, ADMIN_PW).url.path == "/admin"
    assert open_period(admin).status_code == 200
    a = office_account(store, settings, app, "Dinas Kesehatan", "dinkes@kota.go.id")
    b = office_account(store, settings, app, "Dinas Pendidikan", "dindik@kota.go.id")
    return settings, store, app, admin, a, b


@pytest.fixture
def verif(cycle):
    """An open period, two offices, a verifier and an auditor, each logged in."""
    from web_helpers import staff

    settings, store, app, admin, a, b = cycle
    v = staff(store, settings, app, "verifier", "verifikator@kota.go.id")
    au = staff(store, settings, app, "auditor", "auditor@kota.go.id")
    return settings, store, app, admin, a, b, v, au
