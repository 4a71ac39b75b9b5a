"""Where the web application keeps its data, and its limits."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_UPLOAD = 10 * 1024 * 1024
#: Time zones a deadline can be given in (Indonesia has three; no tz database needed).
ZONES = {"WIB": 7, "WITA": 8, "WIT": 9}


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    db_url: str
    secret_key: str
    max_upload: int = DEFAULT_MAX_UPLOAD
    base_url: str = "http://127.0.0.1:8000"
    secure_cookies: bool = False  # set behind HTTPS
    invitation_days: int = 14
    login_limit: int = 5  # failed attempts per account, and per address, in the window
    login_window_minutes: int = 15
    pdf: bool = True  # a published snapshot has the PDFs (tests without the PDF stack: False)
    render_workers: int = 1  # processes rendering office PDFs in the background, per server

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def rubric_dir(self) -> Path:
        """Uploaded rubrics, as ``<sha256>.yaml`` (:mod:`monev.web.rubrics`)."""
        return self.data_dir / "rubrics"

    @classmethod
    def for_data_dir(
        cls, data_dir: str | Path, db_url: str | None = None, **kw: object
    ) -> Settings:
        """Settings for ``data_dir``: the database at ``db_url``, else at ``MONEV_WEB_DB``, else
        SQLite inside the folder; the cookie secret from ``MONEV_WEB_SECRET`` or a ``secret.key``
        file created there on first use."""
        data = Path(data_dir).resolve()
        data.mkdir(parents=True, exist_ok=True)
        url = db_url or os.environ.get("MONEV_WEB_DB") or f"sqlite:///{data / 'monev.sqlite3'}"
        return cls(data_dir=data, db_url=url, secret_key=_secret(data), **kw)  # type: ignore[arg-type]


def _secret(data: Path) -> str:
    env = os.environ.get("MONEV_WEB_SECRET")
    if env:
        return env
    path = data / "secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
