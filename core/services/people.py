"""People and invitations, for admins (Action.USERS_MANAGE): who is here with which role in which
project, who is invited, and changing a person's role in a project."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import access, joining, users
from core.access import Action, Actor
from core.db import read_scope, session_scope
from core.errors import InputError, NotFoundError
from core.models import ROLES, Invitation, Membership, Project, User


@dataclass(frozen=True)
class PersonRow:
    id: int
    name: str
    role: str  # the role where they have no membership; "admin" is an admin everywhere
    email: str | None
    signs_in_by: str  # "password", "identity provider" or "—" (the local user, imported people)
    projects: dict[str, str]  # project name -> role there


@dataclass(frozen=True)
class InvitationRow:
    id: int
    email: str
    role: str
    project: str | None  # None: the default project
    accepted_at: datetime | None


def _project_names(session: Session) -> dict[int, str]:
    return {p.id or 0: p.name for p in session.exec(select(Project)).all()}


def list_people(engine: Engine, actor: Actor) -> list[PersonRow]:
    access.authorize(actor, Action.USERS_MANAGE)
    with read_scope(engine) as s:
        names = _project_names(s)
        by_user: dict[int, dict[str, str]] = {}
        for m in s.exec(select(Membership).order_by(col(Membership.project_id))).all():
            by_user.setdefault(m.user_id, {})[names.get(m.project_id, str(m.project_id))] = m.role
        return [
            PersonRow(
                u.id or 0,
                u.name,
                u.role,
                u.email,
                "password" if u.password_hash else ("identity provider" if u.email else "—"),
                by_user.get(u.id or 0, {}),
            )
            for u in users.list_users(s)
        ]


def list_invitations(engine: Engine, actor: Actor) -> list[InvitationRow]:
    access.authorize(actor, Action.USERS_MANAGE)
    with read_scope(engine) as s:
        names = _project_names(s)
        rows = s.exec(select(Invitation).order_by(col(Invitation.created_at))).all()
        return [_row(r, names) for r in rows]


def _row(r: Invitation, names: dict[int, str]) -> InvitationRow:
    project = names.get(r.project_id) if r.project_id is not None else None
    return InvitationRow(r.id or 0, r.email, r.role, project, r.accepted_at)


def invite(engine: Engine, actor: Actor, email: str, role: str, project_id: int | None = None) -> InvitationRow:
    """Invite an email with a role in a project (the default project when None): they join with it
    on their first sign-in; a person who has joined already gets it now."""
    access.authorize(actor, Action.USERS_MANAGE)
    with session_scope(engine) as s:
        row = joining.invite(s, email, role, project_id, actor.user_id)
        return _row(row, _project_names(s))


def remove_invitation(engine: Engine, actor: Actor, invitation_id: int) -> None:
    """Withdraw an invitation (someone who joined through it keeps their account)."""
    access.authorize(actor, Action.USERS_MANAGE)
    with session_scope(engine) as s:
        row = s.get(Invitation, invitation_id)
        if row is None:
            raise NotFoundError(f"No invitation with id {invitation_id}.")
        s.delete(row)


def set_project_role(engine: Engine, actor: Actor, user_id: int, project_id: int, role: str) -> None:
    """Give a person `role` in a project (a membership; their site-wide role stays)."""
    access.authorize(actor, Action.USERS_MANAGE)
    if role not in ROLES:
        raise InputError(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.")
    with session_scope(engine) as s:
        user = s.get(User, user_id)
        if user is None:
            raise NotFoundError(f"No user with id {user_id}.")
        users.set_membership(s, user_id, project_id, role)


def project_id_by_name(engine: Engine, name_or_id: str) -> int:
    """A project named on the command line, by name or id."""
    with read_scope(engine) as s:
        names = _project_names(s)
    if name_or_id.isdigit() and int(name_or_id) in names:
        return int(name_or_id)
    for pid, name in names.items():
        if name == name_or_id:
            return pid
    raise NotFoundError(f"No project named {name_or_id!r}.")
