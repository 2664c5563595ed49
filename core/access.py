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
from core.models import CampaignMember, Role, Thread, User

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


# --- annotation campaigns (core.campaigns, core.services.campaigns) -----------------------------------
# Campaign membership lives in the campaign's own table (CampaignMember): a person annotates a
# campaign they are invited to; researchers and admins run campaigns and adjudicate.


def may_run_campaign(actor: Actor) -> bool:
    """Create, configure, assign, send back, see progress and everyone's labels: researchers, admins."""
    return actor.role in (Role.ADMIN, Role.RESEARCHER)


def check_run_campaign(actor: Actor, what: str = "run annotation campaigns") -> None:
    if not may_run_campaign(actor):
        raise deny(actor, what)


def may_adjudicate(actor: Actor) -> bool:
    """The adjudicator role: researchers and admins."""
    return may_run_campaign(actor)


def check_adjudicate(actor: Actor) -> None:
    if not may_adjudicate(actor):
        raise deny(actor, "adjudicate disagreements")


def may_annotate(actor: Actor, member: CampaignMember | None) -> bool:
    """Take and judge a campaign's items: its invited annotators, unless paused."""
    return member is not None and member.user_id == actor.user_id and not member.paused


def check_annotate(actor: Actor, member: CampaignMember | None) -> None:
    if member is not None and member.user_id == actor.user_id and member.paused:
        reason = f" ({member.paused_reason})" if member.paused_reason else ""
        raise deny(actor, f"take more items of this campaign: you are paused{reason}; ask its researcher")
    if not may_annotate(actor, member):
        raise deny(actor, "annotate in a campaign you are not invited to")
