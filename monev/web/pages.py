"""What every page shares: texts, templates, the CSRF token, who is asking, error pages."""

from __future__ import annotations

import secrets
from decimal import Decimal
from fractions import Fraction
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from monev.i18n import DEFAULT_LANG, LANGS, fmt_number, t
from monev.web import security
from monev.web.checking import rubric_label
from monev.web.db import User

HERE = Path(__file__).resolve().parent
HOME = {"admin": "/admin", "office": "/office", "verifier": "/verify", "auditor": "/auditor"}


# --- texts and templates ------------------------------------------------------------------------


@cache
def _web_texts() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = yaml.safe_load(
        (HERE / "messages.yaml").read_text(encoding="utf-8")
    )
    return data


def wt(key: str, lang: str = DEFAULT_LANG, /, **params: Any) -> str:
    """A web text, or a text of the library's catalogue (problems, report labels)."""
    entry = _web_texts().get(key)
    if entry is None:
        return t(key, lang, **params)
    text = entry.get(lang) or entry[DEFAULT_LANG]
    return text.format(**params) if params else text


@cache
def _env():  # -> jinja2.Environment
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def warm_pages() -> int:
    """Compile every page template once and load the number formats of both languages
    (``monev serve`` does it at start): the first result pages of a rush otherwise compiled the
    same templates in several threads at once (about 55 ms of CPU each for the result page) and
    loaded Babel's locale data, inside the first burst of uploads. Returns how many templates
    were compiled."""
    env = _env()
    names = env.list_templates(filter_func=lambda name: name.endswith(".j2"))
    for name in names:
        env.get_template(name)
    for lang in LANGS:
        fmt_number(Decimal("1234.5"), lang, 2)
    return len(names)


@lru_cache(maxsize=8192)
def _number(value: Decimal | Fraction | float | int | None, lang: str, places: int) -> str:
    """:func:`monev.i18n.fmt_number`, kept per value: a result page shows about 60 figures,
    mostly the same few (0, 2,86, the weights), and Babel's formatting of each was the largest
    part of the page's time (scripts/web_load.py, profiled). Equal numbers give equal text."""
    return fmt_number(value, lang, places)


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    lang = request.state.lang
    user = request.state.user
    html = (
        _env()
        .get_template(name)
        .render(
            _=lambda key, **kw: wt(key, lang, **kw),
            num=lambda v, places=2: _number(Decimal(v) if isinstance(v, str) else v, lang, places),
            lang=lang,
            other_lang="en" if lang == "id" else "id",
            user=user,
            csrf=csrf_token(request),
            path=request.url.path,
            rubric_name=rubric_label,
            **ctx,
        )
    )
    return HTMLResponse(html, status_code=status)


# --- sessions, CSRF, who is asking ------------------------------------------------------------


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def check_csrf(request: Request, form: FormData) -> None:
    sent = form.get("csrf")
    good = request.session.get("csrf")
    if not isinstance(sent, str) or not good or not security.same(sent, good):
        raise HTTPException(403, "csrf")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def load_user(request: Request, db: Session) -> User | None:
    uid = request.session.get("uid")
    if not isinstance(uid, int):
        return None
    user = db.get(User, uid)
    if user is None or not user.active or request.session.get("gen") != user.session_gen:
        return None
    return user


def error_page(request: Request, code: int, detail: str = "") -> Response:
    key = "web.not_found"
    if code == 403:
        key = "web.read_only" if detail == "read-only" else "web.csrf"
    return render(request, "message.html.j2", code, message=wt(key, request.state.lang))
