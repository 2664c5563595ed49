"""Who is working: the people, signing in, and the embedded setup's local user and project."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from core import access, users
from core.access import Actor
from core.db import read_scope, session_scope
from core.documents import default_project, default_user


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    role: str


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


def people(engine: Engine) -> list[Person]:
    with read_scope(engine) as s:
        return [Person(u.id or 0, u.name, u.role) for u in users.list_users(s)]


def sign_in(engine: Engine, name: str, password: str) -> int:
    """The user id for a name and password; InputError when they do not match."""
    with read_scope(engine) as s:
        return users.authenticate(s, name, password).id or 0
