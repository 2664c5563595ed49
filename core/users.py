"""People: create, list, authenticate. Passwords are stored as salted scrypt hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlmodel import Session, select

from core.errors import InputError, NotFoundError
from core.models import ROLES, Role, User
from core.text.clean import clean_name

MAX_NAME_CHARS = 100

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt_hex, digest_hex = stored.split("$", 2)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt_hex), **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


def create_user(
    session: Session, name: str, role: str = Role.WRITER, password: str | None = None, *, simulated: bool = False
) -> User:
    name = user_name(name)
    if role not in ROLES:
        raise InputError(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.")
    if session.exec(select(User).where(User.name == name)).first() is not None:
        raise InputError(f"A user named {name!r} exists already.")
    if password is not None and len(password) < 8:
        raise InputError("A password needs at least 8 characters.")
    user = User(name=name, role=role, password_hash=hash_password(password) if password else None, simulated=simulated)
    session.add(user)
    session.flush()
    return user


def user_name(name: str) -> str:
    """A user name as plain one-line text (no control or bidi characters), shortened to MAX_NAME_CHARS."""
    cleaned = clean_name(name or "", MAX_NAME_CHARS)
    if not cleaned:
        raise InputError("A user name needs at least one visible character.")
    return cleaned


def get_or_create_user(session: Session, name: str, role: str = Role.WRITER, *, simulated: bool = False) -> User:
    name = user_name(name)
    user = session.exec(select(User).where(User.name == name)).first()
    return user or create_user(session, name, role, simulated=simulated)


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"No user with id {user_id}.")
    return user


def get_by_name(session: Session, name: str) -> User:
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        raise NotFoundError(f"No user named {name!r}; add one with 'python -m core user add'.")
    return user


def list_users(session: Session, *, include_simulated: bool = False) -> list[User]:
    query = select(User).order_by(User.name)
    if not include_simulated:
        query = query.where(User.simulated == False)  # noqa: E712 - SQL expression
    return list(session.exec(query).all())


def authenticate(session: Session, name: str, password: str) -> User:
    """The user with this name and password; the same error for a wrong name or password."""
    user = session.exec(select(User).where(User.name == (name or "").strip())).first()
    if user is None or not verify_password(password or "", user.password_hash):
        raise InputError("Wrong user name or password.")
    return user
