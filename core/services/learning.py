"""What the person's decisions taught: why edits are hidden, mutes and lifting them, their learning
settings and preference model. A person changes their own; project-wide mutes need an admin."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import access, decisions
from core.access import Action, Actor
from core.bulk import collector_paused
from core.db import read_scope, session_scope
from core.errors import NotFoundError
from core.learning import analytics, hidden, muting, preference
from core.learning.analytics import EditRecord
from core.models import Mute
from core.revision import review


@dataclass(frozen=True)
class HiddenSummary:
    counts: list[tuple[str, int]]  # ("muted rules", 12)
    mutes: list[tuple[int, str]]  # (mute id, description) of the mutes hiding these edits


def hidden_in_round(engine: Engine, actor: Actor, round_id: int, project_id: int) -> HiddenSummary:
    """How many of the round's edits are hidden from this person and why, with the mutes behind them."""
    with read_scope(engine) as s:
        access.authorize_round(s, actor, Action.THREAD_READ, round_id)
        shown_hidden = review.round_view(s, round_id, actor.user_id).hidden
        values = {h.row.hidden_value for h in shown_hidden} - {None}
        mutes = [
            (m.id or 0, muting.describe(m))
            for m in muting.list_mutes(s, project_id, actor.user_id)
            if m.value in values
        ]
    return HiddenSummary(hidden.counts(h.row.hidden_kind for h in shown_hidden), mutes)


def unmute(engine: Engine, actor: Actor, mute_id: int) -> None:
    """Lift a mute: one's own; a project-wide mute (or another person's) only as an admin."""
    with session_scope(engine) as s:
        row = s.get(Mute, mute_id)
        if row is None:
            raise NotFoundError(f"No mute with id {mute_id}.")
        if row.user_id != actor.user_id:
            access.authorize(actor, Action.MUTE_FOR_PROJECT, access.ProjectRef(row.project_id))
        muting.unmute(s, mute_id, by_user_id=actor.user_id)


def mute(engine: Engine, actor: Actor, project_id: int, kind: str, value: str, *, for_everyone: bool = False) -> None:
    """Mute a rule or intent for oneself, or (admins) for everyone in the project."""
    access.authorize(actor, Action.DECISIONS_READ_OWN, access.ProjectRef(project_id))
    if for_everyone:
        access.authorize(actor, Action.MUTE_FOR_PROJECT, access.ProjectRef(project_id))
    with session_scope(engine) as s:
        muting.mute(
            s, project_id, kind, value, user_id=None if for_everyone else actor.user_id, by_user_id=actor.user_id
        )


# --- the Learning page --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LearningView:
    """One person's learning in one project, read in one transaction."""

    learning: bool
    threshold: float
    auto_mute_after: int
    meta: dict[str, Any]
    fitted_at: datetime | None
    mutes: list[Mute]  # the person's and the project's, active ones
    records: list[EditRecord]  # the edits proposed in the person's own threads (decided_at not read)
    seen_rules: list[str] = field(default_factory=list)  # rules and intents proposed in the project,
    seen_intents: list[str] = field(default_factory=list)  # to choose one to mute
    # decided edits (core.decisions.count_decided, as Export and Analytics count them)
    own_decided: int = 0
    project_decided: int = 0

    @property
    def own_mutes(self) -> list[Mute]:
        return [m for m in self.mutes if m.user_id is not None]

    @property
    def project_mutes(self) -> list[Mute]:
        return [m for m in self.mutes if m.user_id is None]

    def hidden_by_value(self) -> dict[str, int]:
        """How many of the person's edits each muted rule or intent hides."""
        out: dict[str, int] = {}
        for r in self.records:
            if r.hidden and r.hidden_kind and r.hidden_value:
                out[r.hidden_value] = out.get(r.hidden_value, 0) + 1
        return out


def learning_view(engine: Engine, actor: Actor, project_id: int) -> LearningView:
    access.authorize(actor, Action.DECISIONS_READ_OWN, access.ProjectRef(project_id))
    with read_scope(engine) as s, collector_paused():
        profile = preference.get_profile(s, project_id, actor.user_id)
        mutes = muting.list_mutes(s, project_id, actor.user_id)
        records = analytics.load_records(
            s, analytics.Filters(project_id=project_id, user_id=actor.user_id), decided_at=False
        )
        seen_rules, seen_intents = analytics.seen_in_project(s, project_id)
        # one pass over the log: the project's count (everyone's, or one's own) split by person
        counted = decision_counts_in(s, actor, project_id, by_person=True)
        own = counted.groups["person"].get(actor.user_id, 0)
        everyone = counted.decided
    return LearningView(
        learning=profile.learning,
        threshold=profile.threshold,
        auto_mute_after=profile.auto_mute_after,
        meta=dict(profile.meta or {}),
        fitted_at=profile.fitted_at,
        mutes=mutes,
        records=records,
        seen_rules=seen_rules,
        seen_intents=seen_intents,
        own_decided=own,
        project_decided=everyone,
    )


def decision_counts_in(
    session: Session, actor: Actor, project_id: int, *, by_person: bool = False
) -> decisions.DecisionTally:
    """Decided edits in the project (core.decisions.count_decided, as every page counts them): everyone's
    for researchers and admins, one's own for others; `by_person` adds groups["person"] (user id -> decided)."""
    users = None if actor.reads_all_decisions else [actor.user_id]
    group_by = {"person": decisions.column("user_id")} if by_person else None
    return decisions.count_decided(session, project_ids=[project_id], user_ids=users, group_by=group_by)


def update_profile(
    engine: Engine,
    actor: Actor,
    project_id: int,
    *,
    learning: bool | None = None,
    threshold: float | None = None,
    auto_mute_after: int | None = None,
    embeddings: bool | None = None,
) -> None:
    """Change the person's own learning settings in the project; only the given ones change."""
    access.authorize(actor, Action.DECISIONS_READ_OWN, access.ProjectRef(project_id))
    with session_scope(engine) as s:
        preference.update_profile(
            s,
            project_id,
            actor.user_id,
            learning=learning,
            threshold=threshold,
            auto_mute_after=auto_mute_after,
            embeddings=embeddings,
        )


def refit(engine: Engine, actor: Actor, project_id: int) -> None:
    """Fit the person's preference model on the project's decisions now."""
    access.authorize(actor, Action.DECISIONS_READ_OWN, access.ProjectRef(project_id))
    preference.refresh(engine, project_id, actor.user_id, force=True)


@dataclass(frozen=True)
class LearningFigures:
    """What the Learning page computes from the person's records (the page caches it with the view)."""

    hidden_by_value: dict[str, int]
    quality: dict[str, Any]  # core.learning.analytics.preference_quality
    by_source: list[dict[str, object]]  # acceptance per rule


def learning_figures(view: LearningView) -> LearningFigures:
    with collector_paused():
        return LearningFigures(
            hidden_by_value=view.hidden_by_value(),
            quality=analytics.preference_quality(view.records),
            by_source=analytics.acceptance_by(view.records, "source"),
        )
