"""People: create, list, memberships. Passwords are stored as salted scrypt hashes (checked in core.signin)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from sqlmodel import Session, select

from core.db import DEFAULT_PROJECT
from core.errors import InputError, NotFoundError
from core.models import ROLES, Membership, Project, Role, User, id_of
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


def normalise_email(email: str | None) -> str | None:
    """An email as stored and compared: trimmed, lower case; None when empty."""
    email = (email or "").strip().lower()
    if not email:
        return None
    if "@" not in email or len(email) > 254:
        raise InputError(f"Not an email address: {email!r}.")
    return email


def default_project_id(session: Session) -> int | None:
    project = session.exec(select(Project).where(Project.name == DEFAULT_PROJECT)).first()
    return project.id if project else None


def set_membership(session: Session, user_id: int, project_id: int, role: str) -> Membership:
    """Give a person a role in a project (changing the one they have)."""
    if role not in ROLES:
        raise InputError(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.")
    if session.get(Project, project_id) is None:
        raise NotFoundError(f"No project with id {project_id}.")
    row = session.exec(
        select(Membership).where(Membership.user_id == user_id, Membership.project_id == project_id)
    ).first()
    if row is None:
        row = Membership(user_id=user_id, project_id=project_id, role=role)
    row.role = role
    session.add(row)
    session.flush()
    return row


def create_user(
    session: Session,
    name: str,
    role: str = Role.WRITER,
    password: str | None = None,
    *,
    simulated: bool = False,
    email: str | None = None,
    project_ids: Iterable[int] | None = None,
) -> User:
    """A person, a member of `project_ids` (the default project when None) with `role` there."""
    name = user_name(name)
    if role not in ROLES:
        raise InputError(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.")
    if session.exec(select(User).where(User.name == name)).first() is not None:
        raise InputError(f"A user named {name!r} exists already.")
    if password is not None and len(password) < 8:
        raise InputError("A password needs at least 8 characters.")
    email = normalise_email(email)
    if email is not None and session.exec(select(User).where(User.email == email)).first() is not None:
        raise InputError("A user with this email exists already.")
    user = User(
        name=name,
        role=role,
        email=email,
        password_hash=hash_password(password) if password else None,
        simulated=simulated,
    )
    session.add(user)
    session.flush()
    if project_ids is None:
        default = default_project_id(session)
        project_ids = [] if default is None else [default]
    for pid in project_ids:
        set_membership(session, id_of(user), pid, role)
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
