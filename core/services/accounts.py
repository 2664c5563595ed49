"""Who is working: the people, signing in, and the embedded setup's local user and project."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from core import access, joining, signin
from core.access import Actor
from core.db import read_scope, session_scope
from core.documents import default_project, default_user
from core.errors import InputError


def actor(engine: Engine, user_id: int) -> Actor:
    with read_scope(engine) as s:
        return access.actor_for(s, user_id)


def local_user_id(engine: Engine) -> int:
    """The embedded setup's local user (made when the database is created)."""
    with session_scope(engine) as s:
        return default_user(s).id or 0


def default_project_id(engine: Engine) -> int:
    with session_scope(engine) as s:
        return default_project(s).id or 0


def home_project_id(engine: Engine, actor: Actor) -> int:
    """The project pages open on: the default one where the person belongs to it, else their first."""
    default = default_project_id(engine)
    if actor.role_in(default) is not None or not actor.project_ids:
        return default
    return actor.project_ids[0]


@dataclass(frozen=True)
class SignedIn:
    """A password sign-in: the user, and the token the browser keeps so a reload stays signed in (or,
    with `handoff`, the one-time code the cookie route exchanges for it)."""

    user_id: int
    token: str


def sign_in(engine: Engine, name: str, password: str, address: str | None = None, *, handoff: bool = False) -> SignedIn:
    """Check a name and password (signin: one timing, attempt limits); InputError when they do not
    match, signin.TooManyAttempts while the name or the address waits."""
    with session_scope(engine) as s:  # counted first, committed whatever the password says
        signin.count_attempt(s, name, address)
    with read_scope(engine) as s:
        found = signin.candidate(s, name)
    user_id = signin.verify(found, password)  # outside any transaction: scrypt takes ~70 ms
    if user_id is None:
        raise InputError(signin.WRONG_PASSWORD)
    with session_scope(engine) as s:
        signin.forgive_attempt(s, name, address)
        return SignedIn(user_id, signin.open_session(s, user_id, handoff=handoff))


def resume(engine: Engine, token: str | None) -> int | None:
    """The user a browser's session cookie signs in (None when absent, expired or revoked)."""
    with read_scope(engine) as s:
        return signin.session_user(s, token)


def exchange_handoff(engine: Engine, code: str | None) -> str | None:
    """The session token for the cookie route's one-time code (None: unknown, used or expired)."""
    with session_scope(engine) as s:
        return signin.exchange_handoff(s, code)


def sign_out(engine: Engine, token: str | None) -> None:
    with session_scope(engine) as s:
        signin.revoke_session(s, token)


def oidc_user_id(engine: Engine, email: str | None, display_name: str | None, *, verified: bool = True) -> int:
    """The user an identity provider's signed-in email is (joining.NotInvited when they may not join)."""
    rules = joining.join_rules()
    with session_scope(engine) as s:
        return joining.user_for_email(s, email, display_name, rules, verified=verified).id or 0
