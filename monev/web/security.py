"""Passwords (argon2), CSRF tokens, login limits and invitation tokens.

Sessions themselves are Starlette's signed cookie (HttpOnly, SameSite=Lax); the session holds
the user id, the user's ``session_gen`` at login and the CSRF token, nothing else.
Passwords and tokens are never logged or stored in clear: invitations keep only a SHA-256 of
their token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from functools import cache

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from monev.web.db import LoginFailure, utcnow

MIN_PASSWORD = 10


#: argon2id cost: (time cost, memory in KiB). The library's recommended default; tests lower it
#: with :func:`set_cost` (verification reads the cost from the stored hash, so both work).
_COST = [3, 65536]


def set_cost(time_cost: int, memory_kib: int) -> None:
    _COST[:] = [time_cost, memory_kib]


@cache
def _hasher_for(time_cost: int, memory_kib: int):  # -> argon2.PasswordHasher
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


def _hasher():  # -> argon2.PasswordHasher
    return _hasher_for(*_COST)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


#: A valid hash to verify against when the account does not exist, so that a wrong e-mail
#: takes as long as a wrong password.
@cache
def dummy_hash() -> str:
    return hash_password(secrets.token_hex(16))


def password_problem(password: str) -> str | None:
    """A message key when ``password`` is too weak, else None."""
    if len(password) < MIN_PASSWORD:
        return "web.password.too_short"
    return None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# --- login limits -------------------------------------------------------------------------------


def login_keys(email: str, ip: str) -> list[str]:
    return [f"account:{email.strip().casefold()}", f"ip:{ip}"]


def login_blocked(db: Session, keys: list[str], limit: int, window_minutes: int) -> bool:
    """True when any key has ``limit`` failures or more within the window (kept in the
    database, so every worker sees the same count)."""
    since = utcnow() - dt.timedelta(minutes=window_minutes)
    n = db.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.key.in_(keys), LoginFailure.at >= since)
        .group_by(LoginFailure.key)
        .order_by(func.count().desc())
        .limit(1)
    )
    return (n or 0) >= limit


def record_failure(db: Session, keys: list[str], window_minutes: int) -> None:
    db.execute(
        delete(LoginFailure).where(
            LoginFailure.at < utcnow() - dt.timedelta(minutes=window_minutes)
        )
    )
    for key in keys:
        db.add(LoginFailure(key=key))


def clear_failures(db: Session, email: str) -> None:
    db.execute(delete(LoginFailure).where(LoginFailure.key == login_keys(email, "")[0]))
