"""Who acts, and what they may do: one policy function per resource and action (Argilla's
response_policy style). Every service asks here; a refusal is a PermissionDenied, logged.

Roles: admin (users, projects, proposers, settings; everything), researcher (reads every
decision, exports, fine-tunes, runs campaigns), annotator and writer (their own threads).
Pages hide what a person may not do, but the check is here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import Session

from core.errors import NotFoundError, RedraftError
from core.models import Role, Thread, User

log = logging.getLogger(__name__)


class PermissionDenied(RedraftError):
    """The acting person may not do this."""


@dataclass(frozen=True)
class Actor:
    """The signed-in person a service acts for."""

    user_id: int
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def reads_all_decisions(self) -> bool:
        return self.role in (Role.ADMIN, Role.RESEARCHER)


def actor_for(session: Session, user_id: int) -> Actor:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"No user with id {user_id}.")
    assert user.id is not None
    return Actor(user_id=user.id, name=user.name, role=user.role)


def deny(actor: Actor, what: str) -> PermissionDenied:
    log.warning("refused: %s (user %s, %s) may not %s", actor.name, actor.user_id, actor.role, what)
    return PermissionDenied(f"You ({actor.name}, {actor.role}) may not {what}.")


# --- policies ----------------------------------------------------------------------------------------


def may_work_on_thread(actor: Actor, thread: Thread) -> bool:
    """Decide, apply, finish, propose in a thread: its owner (or an admin acting for them)."""
    return thread.user_id == actor.user_id or actor.is_admin


def check_thread(actor: Actor, thread: Thread, what: str = "work on another person's revision") -> None:
    if not may_work_on_thread(actor, thread):
        raise deny(actor, what)


def check_admin(actor: Actor, what: str) -> None:
    if not actor.is_admin:
        raise deny(actor, what)


def check_reads_all(actor: Actor, what: str) -> None:
    """Read every person's decisions (exports, analytics of others): researchers and admins."""
    if not actor.reads_all_decisions:
        raise deny(actor, what)


def check_job(actor: Actor, owner_id: int | None, what: str = "cancel another person's job") -> None:
    if owner_id != actor.user_id and not actor.is_admin:
        raise deny(actor, what)


def may_protect_terms(actor: Actor, scope: str, project_owner_id: int | None) -> bool:
    """Protect a term: in a document, anyone who revises (annotators judge the edits they are given and do
    not shape them); in a whole project, its owner or an admin."""
    if scope == "project":
        return actor.is_admin or (project_owner_id is not None and project_owner_id == actor.user_id)
    return actor.role != Role.ANNOTATOR


def check_protect_terms(actor: Actor, scope: str, project_owner_id: int | None) -> None:
    if not may_protect_terms(actor, scope, project_owner_id):
        where = "for a whole project (its owner or an admin does)" if scope == "project" else "in documents"
        raise deny(actor, f"protect terms {where}")


def check_remove_term(actor: Actor, scope: str, project_owner_id: int | None, created_by_id: int | None) -> None:
    """Stop protecting a term: whoever may protect it there, or, in a document, whoever added it."""
    own = created_by_id is not None and created_by_id == actor.user_id and scope != "project"
    if not own and not may_protect_terms(actor, scope, project_owner_id):
        raise deny(actor, "remove a term another person protected" if scope != "project" else "remove a project's term")
