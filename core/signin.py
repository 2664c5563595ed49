"""Built-in password sign-in, hardened: one timing for every refusal, attempt limits, sessions.

- An unknown name and a wrong password cost the same: exactly one scrypt verification, against a
  dummy hash when the name is unknown or has no password.
- Attempts are counted per account and per address in SignInThrottle under a sha256 of the name or
  address (never either in clear), before the password is checked, in one transaction: parallel tries
  from several processes cannot get past the limit. After the free attempts each further one blocks
  the key for twice as long as the last (capped); a success clears the account's count.
- A sign-in that survives a reload is a random token the browser keeps in a cookie; SignInSession
  stores only its sha256 and an expiry; signing out revokes it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from core import users
from core.errors import InputError, RedraftError
from core.models import SignInSession, SignInThrottle, User, utcnow

SESSION_COOKIE = "redraft_session"
SESSION_DAYS = 14
HANDOFF_TTL = timedelta(minutes=1)  # the page sends the browser on at once; a minute covers a slow machine

ACCOUNT_FREE_ATTEMPTS = 5  # failures before an account's next try waits
ADDRESS_FREE_ATTEMPTS = 30  # an address may be shared (an office behind one NAT)
FIRST_WAIT_S = 2.0
MAX_WAIT_S = 15 * 60.0
FORGET_AFTER = timedelta(days=1)  # a count not touched this long starts again


class SignInMode(StrEnum):
    """How people sign in (REDRAFT_SIGNIN): the embedded single person, passwords, or OIDC."""

    LOCAL = "local"
    PASSWORD = "password"
    OIDC = "oidc"


def sign_in_mode(env: dict[str, str] | None = None) -> SignInMode:
    """REDRAFT_SIGNIN; when unset, the older REDRAFT_LOGIN=1 means password, else local."""
    env = dict(os.environ) if env is None else env
    raw = env.get("REDRAFT_SIGNIN", "").strip().lower()
    if not raw:
        legacy = env.get("REDRAFT_LOGIN", "").strip().lower() in ("1", "true", "yes")
        return SignInMode.PASSWORD if legacy else SignInMode.LOCAL
    try:
        return SignInMode(raw)
    except ValueError:
        raise InputError(f"REDRAFT_SIGNIN={raw!r} is not one of local, password, oidc.") from None


class TooManyAttempts(RedraftError):
    """Sign-in refused before the password is checked: too many failures for this name or address."""

    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s
        super().__init__(f"Too many sign-in attempts; try again in {max(1, round(wait_s))} seconds.")


WRONG_PASSWORD = "Wrong user name or password."


# --- throttle -----------------------------------------------------------------------------------------


def throttle_key(kind: str, value: str) -> str:
    """The stored key for an account name or an address: a sha256, so neither is kept in clear."""
    return hashlib.sha256(f"redraft-signin:{kind}:{value}".encode()).hexdigest()


def _keys(name: str, address: str | None) -> list[tuple[str, int]]:
    keys = [(throttle_key("account", name.strip().casefold()), ACCOUNT_FREE_ATTEMPTS)]
    if address:
        keys.append((throttle_key("address", address), ADDRESS_FREE_ATTEMPTS))
    return keys


def wait_after(failures: int, free: int) -> float:
    """Seconds a key is blocked after `failures` counted attempts: doubling past the free ones."""
    if failures < free:
        return 0.0
    return min(MAX_WAIT_S, FIRST_WAIT_S * 2 ** min(failures - free, 30))


def _locked_row(session: Session, key: str) -> SignInThrottle:
    """The key's row, created if missing, locked for this transaction (PostgreSQL; SQLite's write lock
    is already held by the session scope)."""
    dialect = session.get_bind().dialect.name
    stmt: Any = (pg_insert if dialect == "postgresql" else sqlite_insert)(SignInThrottle)
    session.execute(stmt.values(key=key, failures=0, updated_at=utcnow()).on_conflict_do_nothing())
    row = session.exec(select(SignInThrottle).where(SignInThrottle.key == key).with_for_update()).one()
    session.refresh(row)
    return row


def count_attempt(session: Session, name: str, address: str | None, now: datetime | None = None) -> None:
    """Count one attempt against the name and the address; TooManyAttempts (nothing counted) while
    either is blocked. Call in its own transaction, before checking the password."""
    now = now or utcnow()
    rows = [(_locked_row(session, key), free) for key, free in _keys(name, address)]
    waits = [(r.blocked_until - now).total_seconds() for r, _ in rows if r.blocked_until and r.blocked_until > now]
    if waits:
        raise TooManyAttempts(max(waits))
    for row, free in rows:
        if row.updated_at < now - FORGET_AFTER:
            row.failures = 0
        row.failures += 1
        wait = wait_after(row.failures, free)
        row.blocked_until = now + timedelta(seconds=wait) if wait else None
        row.updated_at = now
        session.add(row)


def forgive_attempt(session: Session, name: str, address: str | None) -> None:
    """A success: the account starts again; the address's count forgets this one attempt."""
    (account, _), *rest = _keys(name, address)
    row = session.get(SignInThrottle, account)
    if row is not None:
        session.delete(row)
    for key, free in rest:
        row = session.get(SignInThrottle, key)
        if row is not None and row.failures > 0:
            row.failures -= 1
            if row.failures < free:
                row.blocked_until = None
            session.add(row)


# --- the password check --------------------------------------------------------------------------------


# What an unknown name's password is checked against, so it costs the same scrypt as a known one. A
# constant (of a random password nobody kept): made at import it would cost the first try 70 ms more,
# and a match could sign in nobody anyway (the candidate has no user).
_DUMMY_HASH = (
    "scrypt$d1681e2a13f3d4d28b2fda41c27df655$221cd0a82b72fddfc7a83e109bcd198042bf7fd728a015318253db70155e759c"
    "02eeea5b15b9305bcdcfb27180e2a8cf0faf21199641b56a451fbc5c3696a5ca"
)


@dataclass(frozen=True)
class Candidate:
    """What a password is checked against: the user (None when the name is unknown) and a hash."""

    user_id: int | None
    password_hash: str


def candidate(session: Session, name: str) -> Candidate:
    """The user a name signs in as, or the dummy hash: the same work either way."""
    user = session.exec(select(User).where(User.name == (name or "").strip())).first()
    if user is None or user.simulated or not (user.password_hash or "").startswith("scrypt$"):
        return Candidate(None, _DUMMY_HASH)
    return Candidate(user.id, user.password_hash or "")


def verify(found: Candidate, password: str) -> int | None:
    """The user id when the password matches; one scrypt verification whatever the outcome."""
    ok = users.verify_password(password or "", found.password_hash)
    return found.user_id if ok and found.user_id is not None else None


# --- sessions that survive a reload -----------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, user_id: int, days: int = SESSION_DAYS, *, handoff: bool = False) -> str:
    """A new random token for the browser's cookie; only its sha256 is stored. Sessions that have run
    out and counts nobody touched for a day go at the same time (the tables stay small).

    With `handoff`, the one-time code for the cookie route instead (exchange_handoff): the session's
    token is made only when the code is exchanged, within HANDOFF_TTL."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(
        delete(SignInSession).where(
            or_(
                col(SignInSession.expires_at) < now,
                # a code never exchanged: its session was never anybody's
                col(SignInSession.handoff_expires_at) < now - HANDOFF_TTL,
            )
        )
    )
    session.execute(
        delete(SignInThrottle).where(
            col(SignInThrottle.updated_at) < now - FORGET_AFTER,
            or_(col(SignInThrottle.blocked_until).is_(None), col(SignInThrottle.blocked_until) < now),
        )
    )
    row = SignInSession(
        token_hash=_token_hash(token), user_id=user_id, created_at=now, expires_at=now + timedelta(days=days)
    )
    if handoff:
        # the token above stays unknown (it is dropped here): nothing signs in until the code is exchanged
        token = secrets.token_urlsafe(32)
        row.handoff_hash, row.handoff_expires_at = _token_hash(token), now + HANDOFF_TTL
    session.add(row)
    session.flush()
    return token


def exchange_handoff(session: Session, code: str | None) -> str | None:
    """The session token for a one-time handoff code (None when unknown, used, expired or revoked).
    One conditional update: two exchanges of one code at once give one token."""
    if not isinstance(code, str) or not code or len(code) > 200:
        return None
    token = secrets.token_urlsafe(32)
    now = utcnow()
    done = session.execute(
        update(SignInSession)
        .where(
            col(SignInSession.handoff_hash) == _token_hash(code),
            col(SignInSession.handoff_expires_at) > now,
            col(SignInSession.revoked_at).is_(None),
            col(SignInSession.expires_at) > now,
        )
        .values(token_hash=_token_hash(token), handoff_hash=None, handoff_expires_at=None)
    )
    return token if done.rowcount == 1 else None  # type: ignore[attr-defined]


def session_user(session: Session, token: str | None) -> int | None:
    """The user a cookie's token signs in, while it is neither expired nor revoked."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    row = session.exec(
        select(SignInSession).where(
            SignInSession.token_hash == _token_hash(token),
            col(SignInSession.revoked_at).is_(None),
            SignInSession.expires_at > utcnow(),
        )
    ).first()
    return row.user_id if row is not None else None


def revoke_session(session: Session, token: str | None) -> None:
    if not token:
        return
    row = session.exec(select(SignInSession).where(SignInSession.token_hash == _token_hash(token))).first()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
