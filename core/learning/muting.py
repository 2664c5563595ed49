"""Muted rules and intents: edits a person (or, by an admin, a whole project) does not want to see.

A muted edit is still proposed and stored, but hidden by default with its reason, so the review page
can say "12 hidden from muted rules — show" and the person can look, decide, or unmute.

Automatic muting: a rule (an edit's `source`, e.g. "lingotweaker:COMMA_COMPOUND_SENTENCE", or a
model name) or an intent that the person rejected `auto_mute_after` times (default 3) without
accepting or rewriting any of its edits is muted for that person, across all documents of the
project (an intent, which covers many rules, needs INTENT_FACTOR times as many). Counting restarts
when the person unmutes it, so unmuting sticks until they reject that rule's edits again that many
times.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from core import decisions
from core.decisions import EditStatus
from core.errors import InputError, NotFoundError
from core.learning.hidden import Hidden, muted
from core.models import Edit as EditRow
from core.models import HiddenKind, Mute, Project, Role, User, utcnow

RULE, INTENT = "rule", "intent"
KINDS = (RULE, INTENT)
DEFAULT_AUTO_MUTE_AFTER = 3
# An intent covers many rules (nearly every rule fix is "fluency"): it takes this many times as many
# rejections to mute one automatically, so a few bad rules do not hide a whole intent.
INTENT_FACTOR = 3
# Hidden reasons start with one of these, so the review page can group and count them.
MUTED_RULE = "muted rule"
MUTED_INTENT = "muted intent"
PROJECT_MUTED_RULE = "rule muted for the project"
PROJECT_MUTED_INTENT = "intent muted for the project"


@dataclass(frozen=True)
class MuteSet:
    """The rules and intents hidden for one person in one project."""

    rules: frozenset[str] = frozenset()
    intents: frozenset[str] = frozenset()
    project_rules: frozenset[str] = frozenset()
    project_intents: frozenset[str] = frozenset()

    def reason(self, source: str | None, intent: str | None) -> Hidden | None:
        """Why an edit with this source and intent is hidden, or None."""
        if source and source in self.project_rules:
            return muted(HiddenKind.PROJECT_MUTED_RULE, source)
        if intent and intent in self.project_intents:
            return muted(HiddenKind.PROJECT_MUTED_INTENT, intent)
        if source and source in self.rules:
            return muted(HiddenKind.MUTED_RULE, source)
        if intent and intent in self.intents:
            return muted(HiddenKind.MUTED_INTENT, intent)
        return None

    def __bool__(self) -> bool:
        return bool(self.rules or self.intents or self.project_rules or self.project_intents)


def _check_kind(kind: str, value: str) -> None:
    if kind not in KINDS:
        raise InputError(f"Mute a 'rule' or an 'intent', not {kind!r}.")
    if not value.strip():
        raise InputError(f"Name the {kind} to mute.")


def _is_admin(session: Session, user_id: int) -> bool:
    user = session.get(User, user_id)
    return user is not None and user.role == Role.ADMIN


def _find(session: Session, project_id: int, user_id: int | None, kind: str, value: str) -> Mute | None:
    query = select(Mute).where(Mute.project_id == project_id, Mute.kind == kind, Mute.value == value)
    query = query.where(col(Mute.user_id).is_(None)) if user_id is None else query.where(Mute.user_id == user_id)
    return session.exec(query.order_by(col(Mute.id).desc())).first()


def mute(
    session: Session,
    project_id: int,
    kind: str,
    value: str,
    *,
    user_id: int | None,
    by_user_id: int | None = None,
    automatic: bool = False,
) -> Mute:
    """Mute a rule or intent for a person (`user_id`) or, by an admin, for the whole project (None)."""
    _check_kind(kind, value)
    if session.get(Project, project_id) is None:
        raise NotFoundError(f"No project with id {project_id}.")
    if user_id is None and not automatic and (by_user_id is None or not _is_admin(session, by_user_id)):
        raise InputError("Only an admin can mute a rule or intent for everyone in a project.")
    if user_id is not None and by_user_id is not None and by_user_id != user_id and not _is_admin(session, by_user_id):
        raise InputError("You can only change your own mutes (an admin can change anyone's).")
    row = _find(session, project_id, user_id, kind, value)
    if row is None:
        row = Mute(project_id=project_id, user_id=user_id, kind=kind, value=value, automatic=automatic)
    elif row.active:
        return row
    row.active, row.automatic, row.updated_at = True, automatic, utcnow()
    session.add(row)
    session.flush()
    return row


def unmute(session: Session, mute_id: int, *, by_user_id: int) -> Mute:
    """Lift a mute: a person lifts their own; project-wide mutes (and anyone's) need an admin."""
    row = session.get(Mute, mute_id)
    if row is None:
        raise NotFoundError(f"No mute with id {mute_id}.")
    if row.user_id != by_user_id and not _is_admin(session, by_user_id):
        who = "the project" if row.user_id is None else "another person"
        raise InputError(f"Only an admin can unmute what is muted for {who}.")
    if row.active:
        row.active, row.updated_at = False, utcnow()
        session.add(row)
        session.flush()
    return row


def list_mutes(
    session: Session, project_id: int, user_id: int | None = None, *, include_inactive: bool = False
) -> list[Mute]:
    """A person's mutes and the project's (user_id None: the project-wide ones only), newest first."""
    query = select(Mute).where(Mute.project_id == project_id)
    if user_id is None:
        query = query.where(col(Mute.user_id).is_(None))
    else:
        query = query.where(or_(col(Mute.user_id) == user_id, col(Mute.user_id).is_(None)))
    if not include_inactive:
        query = query.where(col(Mute.active))
    return list(session.exec(query.order_by(col(Mute.updated_at).desc(), col(Mute.id).desc())).all())


def active_mutes(session: Session, project_id: int, user_id: int, *, automatic: bool = True) -> MuteSet:
    """What is muted for this person now; `automatic=False` leaves out mutes made by the rejection rule."""
    rules: set[str] = set()
    intents: set[str] = set()
    p_rules: set[str] = set()
    p_intents: set[str] = set()
    for m in list_mutes(session, project_id, user_id):
        if m.automatic and not automatic:
            continue
        if m.user_id is None:
            (p_rules if m.kind == RULE else p_intents).add(m.value)
        else:
            (rules if m.kind == RULE else intents).add(m.value)
    return MuteSet(frozenset(rules), frozenset(intents), frozenset(p_rules), frozenset(p_intents))


def decision_tallies(
    session: Session, project_id: int, user_id: int, since: dict[tuple[str, str], datetime] | None = None
) -> dict[tuple[str, str], Counter]:
    """(kind, value) -> Counter of final actions ("accept", "reject", "modify") of this person in the
    project, counting only decisions made after `since[(kind, value)]` when given."""
    since = since or {}
    out: dict[tuple[str, str], Counter] = {}
    # this runs before every round over all the person's decisions in the project: plain columns
    for st in decisions.in_project(session, project_id, user_id=user_id, extra=(EditRow.source, EditRow.intent)):
        source, intent = st.extra
        for key in ((RULE, source), (INTENT, intent)):
            if key[1] is None:
                continue
            start = since.get(key)
            if start is not None and st.decided_at is not None and st.decided_at <= start:
                continue
            out.setdefault(key, Counter())[st.standing.status.value] += 1
    return out


def refresh_auto_mutes(
    session: Session, project_id: int, user_id: int, after: int = DEFAULT_AUTO_MUTE_AFTER
) -> list[Mute]:
    """Mute every rule and intent this person rejected `after` times and never accepted (since any
    unmute of it). Returns the mutes made now. `after` 0 turns automatic muting off."""
    if after <= 0:
        return []
    rows = session.exec(select(Mute).where(Mute.project_id == project_id, Mute.user_id == user_id)).all()
    active = {(m.kind, m.value) for m in rows if m.active}
    since: dict[tuple[str, str], datetime] = {}
    for m in rows:
        if not m.active:
            key = (m.kind, m.value)
            since[key] = max(since.get(key, m.updated_at), m.updated_at)
    made = []
    for (kind, value), counts in decision_tallies(session, project_id, user_id, since).items():
        if (kind, value) in active:
            continue
        needed = after * (INTENT_FACTOR if kind == INTENT else 1)
        rejected, accepted, rewritten = (counts[s] for s in (EditStatus.REJECT, EditStatus.ACCEPT, EditStatus.MODIFY))
        if rejected >= needed and accepted == 0 and rewritten == 0:
            made.append(mute(session, project_id, kind, value, user_id=user_id, automatic=True))
    return made


def describe(m: Mute) -> str:
    """A line for a person: what is muted, for whom, and how."""
    scope = "everyone in the project" if m.user_id is None else "you"
    how = "automatically, after repeated rejections" if m.automatic else "by hand"
    return f"{m.kind} {m.value} — muted for {scope}, {how}"
