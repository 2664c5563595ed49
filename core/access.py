"""Who acts, and what they may do: the one policy (Argilla's response_policy style).

`authorize(actor, Action.X, resource)` answers "may this person do X to this thing" for every
resource and action, and raises PermissionDenied (logged) when not; `allowed(...)` is the same
question without raising, for pages that hide what a person may not do. Every service asks here.

Roles are per project (Membership, like Argilla's workspaces); a person whose own role is admin is
an admin everywhere.
- admin: everything (users, projects, proposers and their endpoints, settings, any document).
- researcher: reads every decision of the projects they belong to (exports, analytics, downloads),
  fine-tunes, creates documents; their own documents and threads.
- annotator: their own threads on the project's documents; only their own decisions, anywhere.
- writer: their own documents and threads; only their own decisions.
Deleting a document is a soft delete (hidden, decisions kept for exports) by its owner or an admin;
restoring an old version moves the head for everyone, so it is the owner's or an admin's too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from sqlmodel import Session, select

from core.errors import NotFoundError, RedraftError
from core.models import CampaignMember, Document, Membership, Role, Round, Thread, User, id_of

log = logging.getLogger(__name__)


class PermissionDenied(RedraftError):
    """The acting person may not do this."""


class Action(StrEnum):
    """Everything the policy is asked about, named by resource then verb."""

    DOCUMENT_LIST = "list the project's documents"
    DOCUMENT_READ = "read this document"
    DOCUMENT_CREATE = "create documents in this project"
    DOCUMENT_RENAME = "rename this document"
    DOCUMENT_DELETE = "delete this document"
    DOCUMENT_RESTORE = "restore an old version of this document (it moves everyone's head)"
    THREAD_READ = "see another person's revision"
    THREAD_PROPOSE = "propose edits in another person's revision"
    THREAD_DECIDE = "decide edits in another person's revision"
    THREAD_APPLY = "apply another person's round"
    THREAD_FINISH = "finish another person's revision"
    DECISIONS_READ_OWN = "read decisions in this project"
    DECISIONS_READ_ALL = "read other people's decisions in this project"
    FINETUNE = "fine-tune a model"
    SETTINGS_CHANGE = "change the project's settings"
    MUTE_FOR_PROJECT = "mute a rule or intent for everyone in the project"
    JOB_CANCEL = "cancel another person's job"
    CAMPAIGN_RUN = "run annotation campaigns in this project"
    CAMPAIGN_ADJUDICATE = "adjudicate disagreements in this project's campaigns"
    TERMS_PROTECT = "protect terms in documents (annotators judge the edits they are given, not shape them)"
    TERMS_PROTECT_PROJECT = "protect terms for a whole project (its owner or an admin does)"
    USERS_MANAGE = "manage people and invitations"
    PROJECTS_MANAGE = "create or change projects"
    PROPOSERS_MANAGE = "add a proposer or model server"


# --- resources: what an action is done to, with what the policy needs to know ----------------------


@dataclass(frozen=True)
class Site:
    """The whole deployment: people, projects, proposers."""


SITE = Site()


@dataclass(frozen=True)
class ProjectRef:
    project_id: int
    owner_id: int | None = None  # the project's owner, where an action is theirs (project-wide terms)


@dataclass(frozen=True)
class DocumentRef:
    project_id: int
    document_id: int
    owner_id: int | None


@dataclass(frozen=True)
class ThreadRef:
    project_id: int
    thread_id: int
    owner_id: int


@dataclass(frozen=True)
class JobRef:
    owner_id: int | None


Resource = Site | ProjectRef | DocumentRef | ThreadRef | JobRef


# --- the actor ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """The signed-in person a service acts for, with their role in each project they belong to."""

    user_id: int
    name: str
    role: str
    memberships: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_admin(self) -> bool:
        """An admin everywhere (users, projects, proposers)."""
        return self.role == Role.ADMIN

    def role_in(self, project_id: int) -> Role | None:
        """The person's role in a project; None where they are not a member."""
        if self.is_admin:
            return Role.ADMIN
        role = self.memberships.get(project_id)
        return Role(role) if role is not None else None

    @property
    def project_ids(self) -> tuple[int, ...]:
        return tuple(sorted(self.memberships))

    @property
    def reads_all_decisions(self) -> bool:
        """Reads other people's decisions in at least one project (pages show the "everyone" choices)."""
        return self.is_admin or any(r in _READERS for r in self.memberships.values())

    def reads_all_in(self, project_id: int) -> bool:
        return self.role_in(project_id) in _READERS


_READERS = (Role.ADMIN, Role.RESEARCHER)
_CREATORS = (Role.ADMIN, Role.RESEARCHER, Role.WRITER)


def actor_for(session: Session, user_id: int) -> Actor:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"No user with id {user_id}.")
    rows = session.exec(select(Membership.project_id, Membership.role).where(Membership.user_id == user_id)).all()
    return Actor(id_of(user), user.name, user.role, MappingProxyType({int(p): str(r) for p, r in rows}))


# --- the policy ---------------------------------------------------------------------------------------


def _project_of(resource: Resource) -> int | None:
    return getattr(resource, "project_id", None)


def _owner_of(resource: Resource) -> int | None:
    return getattr(resource, "owner_id", None)


def _member(actor: Actor, res: Resource) -> bool:
    pid = _project_of(res)
    return pid is not None and actor.role_in(pid) is not None


def _in_roles(*roles: Role) -> Callable[[Actor, Resource], bool]:
    def rule(actor: Actor, res: Resource) -> bool:
        pid = _project_of(res)
        return pid is not None and actor.role_in(pid) in roles

    return rule


def _owner_or_admin(actor: Actor, res: Resource) -> bool:
    pid = _project_of(res)
    role = actor.role_in(pid) if pid is not None else (Role.ADMIN if actor.is_admin else None)
    if role == Role.ADMIN:
        return True
    return role is not None and _owner_of(res) == actor.user_id


def _document_owner(actor: Actor, res: Resource) -> bool:
    """The document's owner while they may still create documents there (not as an annotator), or an admin."""
    pid = _project_of(res)
    return _owner_or_admin(actor, res) and pid is not None and actor.role_in(pid) in _CREATORS


def _site_admin(actor: Actor, res: Resource) -> bool:
    return actor.is_admin


def _job_owner(actor: Actor, res: Resource) -> bool:
    return actor.is_admin or _owner_of(res) == actor.user_id


_RULES: dict[Action, Callable[[Actor, Resource], bool]] = {
    Action.DOCUMENT_LIST: _member,
    Action.DOCUMENT_READ: _member,
    Action.DOCUMENT_CREATE: _in_roles(*_CREATORS),
    Action.DOCUMENT_RENAME: _document_owner,
    Action.DOCUMENT_DELETE: _document_owner,
    Action.DOCUMENT_RESTORE: _document_owner,
    # A thread is its owner's (an admin may act in it, as before: decisions are stored as the admin's).
    Action.THREAD_READ: _owner_or_admin,
    Action.THREAD_PROPOSE: _owner_or_admin,
    Action.THREAD_DECIDE: _owner_or_admin,
    Action.THREAD_APPLY: _owner_or_admin,
    Action.THREAD_FINISH: _owner_or_admin,
    Action.DECISIONS_READ_OWN: _member,
    Action.DECISIONS_READ_ALL: _in_roles(*_READERS),
    Action.FINETUNE: _in_roles(*_READERS),
    Action.SETTINGS_CHANGE: _in_roles(Role.ADMIN),
    Action.MUTE_FOR_PROJECT: _in_roles(Role.ADMIN),
    Action.JOB_CANCEL: _job_owner,
    Action.CAMPAIGN_RUN: _in_roles(*_READERS),
    Action.CAMPAIGN_ADJUDICATE: _in_roles(*_READERS),
    Action.TERMS_PROTECT: _in_roles(*_CREATORS),
    Action.TERMS_PROTECT_PROJECT: _owner_or_admin,
    Action.USERS_MANAGE: _site_admin,
    Action.PROJECTS_MANAGE: _site_admin,
    Action.PROPOSERS_MANAGE: _site_admin,
}


def allowed(actor: Actor, action: Action, resource: Resource = SITE) -> bool:
    """May this person do `action` to `resource`? (For pages: hide what is not allowed.)"""
    return _RULES[action](actor, resource)


def authorize(actor: Actor, action: Action, resource: Resource = SITE) -> None:
    """Raise PermissionDenied (logged) unless the policy allows `action` on `resource`."""
    if not allowed(actor, action, resource):
        pid = _project_of(resource)
        if pid is not None and actor.role_in(pid) is None:
            raise deny(actor, f"{action.value}: you are not a member of project {pid}")
        raise deny(actor, action.value)


def deny(actor: Actor, what: str) -> PermissionDenied:
    log.warning("refused: %s (user %s, %s) may not %s", actor.name, actor.user_id, actor.role, what)
    return PermissionDenied(f"You ({actor.name}, {actor.role}) may not {what}.")


# --- resources from rows ------------------------------------------------------------------------------


def document_ref(session: Session, document_id: int, *, include_deleted: bool = False) -> DocumentRef:
    """The document as the policy sees it; NotFoundError if it is missing (or deleted)."""
    doc = session.get(Document, document_id)
    if doc is None or (doc.deleted_at is not None and not include_deleted):
        raise NotFoundError(f"No document with id {document_id}.")
    return DocumentRef(doc.project_id, document_id, doc.owner_id)


def thread_ref(session: Session, thread: Thread) -> ThreadRef:
    doc = session.get(Document, thread.document_id)
    if doc is None or doc.deleted_at is not None:
        raise NotFoundError(f"The document of revision {thread.id} is gone.")
    return ThreadRef(doc.project_id, id_of(thread), thread.user_id)


def round_thread_ref(session: Session, round_id: int) -> ThreadRef:
    rnd = session.get(Round, round_id)
    thread = session.get(Thread, rnd.thread_id) if rnd is not None else None
    if thread is None:
        raise NotFoundError(f"No round with id {round_id}.")
    return thread_ref(session, thread)


# --- helpers for services ---------------------------------------------------------------------------------


def authorize_thread(session: Session, actor: Actor, action: Action, thread: Thread) -> ThreadRef:
    ref = thread_ref(session, thread)
    authorize(actor, action, ref)
    return ref


def authorize_round(session: Session, actor: Actor, action: Action, round_id: int) -> ThreadRef:
    ref = round_thread_ref(session, round_id)
    authorize(actor, action, ref)
    return ref


def authorize_document(session: Session, actor: Actor, action: Action, document_id: int) -> DocumentRef:
    ref = document_ref(session, document_id)
    authorize(actor, action, ref)
    return ref


def check_protect_terms(
    session: Session, actor: Actor, document_id: int, scope: str, project_owner_id: int | None
) -> None:
    """Protect a term in a document (scope "document") or in its whole project (scope "project")."""
    doc = document_ref(session, document_id)
    if scope == "project":
        authorize(actor, Action.TERMS_PROTECT_PROJECT, ProjectRef(doc.project_id, project_owner_id))
    else:
        authorize(actor, Action.TERMS_PROTECT, doc)


def check_remove_term(
    actor: Actor, project_id: int, scope: str, project_owner_id: int | None, created_by_id: int | None
) -> None:
    """Stop protecting a term: whoever may protect it there, or, in a document, whoever added it."""
    ref = ProjectRef(project_id, project_owner_id)
    if scope != "project" and created_by_id == actor.user_id and _member(actor, ref):
        return
    authorize(actor, Action.TERMS_PROTECT_PROJECT if scope == "project" else Action.TERMS_PROTECT, ref)


# --- annotation campaigns (core.campaigns, core.services.campaigns) -----------------------------------
# Running a campaign is a project action (CAMPAIGN_RUN, CAMPAIGN_ADJUDICATE); taking its items is
# for the people invited to it (CampaignMember, the campaign's own table), unless paused.


def may_annotate(actor: Actor, member: CampaignMember | None) -> bool:
    """Take and judge a campaign's items: its invited annotators, unless paused."""
    return member is not None and member.user_id == actor.user_id and not member.paused


def check_annotate(actor: Actor, member: CampaignMember | None) -> None:
    if member is not None and member.user_id == actor.user_id and member.paused:
        reason = f" ({member.paused_reason})" if member.paused_reason else ""
        raise deny(actor, f"take more items of this campaign: you are paused{reason}; ask its researcher")
    if not may_annotate(actor, member):
        raise deny(actor, "annotate in a campaign you are not invited to")
