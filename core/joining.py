"""Who may join by signing in with an identity provider (OIDC), and as what.

A signed-in email maps to a user row (User.email). A new email may join when it is invited
(Invitation: role and project, accepted on first sign-in), listed in REDRAFT_ADMIN_EMAILS (admins on
every sign-in: the list is the deployment's, so a listed person joining earlier in another role is
promoted; to demote them, take them off the list), or in one of REDRAFT_ALLOWED_DOMAINS (as
REDRAFT_JOIN_ROLE, annotator by default). Everyone else is refused with NotInvited.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlmodel import Session, select

from core import users
from core.errors import InputError, NotFoundError, RedraftError
from core.models import ROLES, Invitation, Project, Role, User, id_of, utcnow


class NotInvited(RedraftError):
    """The email may not join this deployment."""


@dataclass(frozen=True)
class JoinRules:
    admin_emails: frozenset[str]
    allowed_domains: frozenset[str]
    join_role: str


def _csv(value: str | None) -> frozenset[str]:
    return frozenset(p.strip().lower().lstrip("@") for p in (value or "").split(",") if p.strip())


def join_rules(env: dict[str, str] | None = None) -> JoinRules:
    """The deployment's rules from REDRAFT_ADMIN_EMAILS, REDRAFT_ALLOWED_DOMAINS, REDRAFT_JOIN_ROLE."""
    env = dict(os.environ) if env is None else env
    role = (env.get("REDRAFT_JOIN_ROLE") or Role.ANNOTATOR).strip().lower()
    if role not in ROLES:
        raise InputError(f"REDRAFT_JOIN_ROLE={role!r} is not one of {', '.join(ROLES)}.")
    return JoinRules(_csv(env.get("REDRAFT_ADMIN_EMAILS")), _csv(env.get("REDRAFT_ALLOWED_DOMAINS")), role)


def _free_name(session: Session, wanted: str) -> str:
    """A user name for a newcomer: the wanted one, or with a number when it is taken."""
    base = users.user_name(wanted)
    name, n = base, 1
    while session.exec(select(User).where(User.name == name)).first() is not None:
        n += 1
        name = f"{base} ({n})"
    return name


def pending_invitation(session: Session, email: str) -> Invitation | None:
    return session.exec(select(Invitation).where(Invitation.email == email, Invitation.accepted_at == None)).first()  # noqa: E711


def accept(session: Session, user: User, invitation: Invitation) -> None:
    """The invitation's role in its project (the default project when it names none)."""
    project_id = invitation.project_id or users.default_project_id(session)
    if project_id is not None:
        users.set_membership(session, id_of(user), project_id, invitation.role)
    invitation.accepted_at = utcnow()
    session.add(invitation)


def user_for_email(
    session: Session, email: str | None, display_name: str | None, rules: JoinRules, *, verified: bool = True
) -> User:
    """The user a signed-in email is; a newcomer joins when the rules let them, else NotInvited."""
    address = users.normalise_email(email)
    if address is None:
        raise NotInvited("Your identity provider did not send an email address; Redraft needs one to know you.")
    if not verified:
        raise NotInvited(f"Your email {address} is not verified with your identity provider.")
    invitation = pending_invitation(session, address)
    user = session.exec(select(User).where(User.email == address)).first()
    if user is not None:
        if invitation is not None:  # invited again to another project: take it on
            accept(session, user, invitation)
        if address in rules.admin_emails and user.role != Role.ADMIN:
            # the deployment's list holds on every sign-in, not only the first: a person who joined
            # before being listed (say as an annotator) is an admin from their next sign-in on
            user.role = Role.ADMIN
            session.add(user)
            session.flush()
        return user
    domain = address.rsplit("@", 1)[1]
    if invitation is not None:
        role = invitation.role
    elif address in rules.admin_emails:
        role = Role.ADMIN
    elif domain in rules.allowed_domains:
        role = rules.join_role
    else:
        raise NotInvited(f"{address} is not invited to this Redraft. Ask an admin to invite you.")
    name = _free_name(session, display_name or address.split("@", 1)[0])
    project_ids: list[int] | None = [] if invitation is not None else None  # the invitation gives the project
    user = users.create_user(session, name, role, email=address, project_ids=project_ids)
    if invitation is not None:
        accept(session, user, invitation)
    return user


def invite(session: Session, email: str, role: str, project_id: int | None, by_user_id: int | None) -> Invitation:
    """Invite an email (or change its pending invitation); a person who has joined gets the role now."""
    address = users.normalise_email(email)
    if address is None:
        raise InputError("An invitation needs an email address.")
    if role not in ROLES:
        raise InputError(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.")
    if project_id is not None and session.get(Project, project_id) is None:
        raise NotFoundError(f"No project with id {project_id}.")
    row = session.exec(select(Invitation).where(Invitation.email == address)).first()
    if row is None:
        row = Invitation(email=address)
    row.role, row.project_id, row.invited_by_id, row.accepted_at = role, project_id, by_user_id, None
    session.add(row)
    session.flush()
    joined = session.exec(select(User).where(User.email == address)).first()
    if joined is not None:
        accept(session, joined, row)
        session.flush()
    return row
