"""What the Analytics page shows: edit records under filters, and the choices to filter by.

Researchers and admins see everyone's threads in the projects where they have that role; other
people see only their own (the filters are narrowed to the person's projects and to them; asking for
another person is refused).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core import access
from core.access import Action, Actor, ProjectRef
from core.bulk import collector_paused
from core.db import read_scope
from core.learning import analytics
from core.learning.analytics import EditRecord, Filters
from core.models import Document, Project, User


@dataclass(frozen=True)
class AnalyticsChoices:
    projects: dict[int, str]
    people: dict[int, str]  # whose threads the person may look at ("name (simulated)")
    everyone: bool  # False: only the person's own threads are counted


def reads_everyone(actor: Actor, project_id: int | None) -> bool:
    if actor.is_admin:
        return True
    wanted = (project_id,) if project_id is not None else actor.project_ids
    return bool(wanted) and all(actor.reads_all_in(p) for p in wanted)


def scoped(actor: Actor, filters: Filters) -> Filters:
    """The filters narrowed to what this person may read."""
    if actor.is_admin:
        return filters
    if filters.project_id is not None:
        access.authorize(actor, Action.DECISIONS_READ_OWN, ProjectRef(filters.project_id))
    filters = replace(filters, project_ids=actor.project_ids)
    if reads_everyone(actor, filters.project_id):
        return filters
    if filters.user_id is not None and filters.user_id != actor.user_id:
        raise access.deny(actor, Action.DECISIONS_READ_ALL.value)
    return replace(filters, user_id=actor.user_id)


def choices(engine: Engine, actor: Actor) -> AnalyticsChoices:
    everyone = reads_everyone(actor, None)
    with read_scope(engine) as s:
        projects = {p.id or 0: p.name for p in s.exec(select(Project).order_by(col(Project.id))).all()}
        if not actor.is_admin:
            projects = {k: v for k, v in projects.items() if k in actor.memberships}
        query = select(User).order_by(User.name)
        if not everyone:
            query = query.where(User.id == actor.user_id)
        people = {u.id or 0: f"{u.name}{' (simulated)' if u.simulated else ''}" for u in s.exec(query).all()}
    return AnalyticsChoices(projects, people, everyone)


def document_titles(engine: Engine, actor: Actor, project_id: int | None) -> dict[int, str]:
    """Documents by id (of one project, or all), most recently changed first (as every picker lists them)."""
    with read_scope(engine) as s:
        query = (
            select(Document.id, Document.title)
            .order_by(col(Document.updated_at).desc(), col(Document.id).desc())
            .where(col(Document.deleted_at).is_(None))
        )
        if project_id is not None:
            access.authorize(actor, Action.DOCUMENT_LIST, ProjectRef(project_id))
            query = query.where(Document.project_id == project_id)
        elif not actor.is_admin:
            query = query.where(col(Document.project_id).in_(list(actor.project_ids)))
        return {int(i or 0): str(t) for i, t in s.exec(query).all()}


def records(engine: Engine, actor: Actor, filters: Filters, *, decided_at: bool = True) -> list[EditRecord]:
    """Every proposed edit matching the filters, in the threads this person may read (without
    `decided_at`, that time is not read: see analytics.load_records)."""
    filters = scoped(actor, filters)
    with read_scope(engine) as s:
        return analytics.load_records(s, filters, decided_at=decided_at)


def distance_rows(engine: Engine, actor: Actor, project_ids: list[int]) -> list[dict[str, object]]:
    """Distance to the reference by depth in simulated projects (their whole runs): researchers and
    admins of those projects only, others get none."""
    rows: list[dict[str, object]] = []
    with read_scope(engine) as s:
        for pid in project_ids:
            if not actor.reads_all_in(pid):
                continue
            project = s.get(Project, pid)
            texts, refs = analytics.load_round_texts(s, pid)
            for row in analytics.distance_by_round(texts, refs):
                rows.append({"project": project.name if project else str(pid), **row})
    return rows


@dataclass(frozen=True)
class AnalyticsSummary:
    """Everything the Analytics page draws, computed once from the records (the page may cache it)."""

    proposers: list[str]  # proposer labels among the records, before the proposer filter
    total: dict[str, object]
    acceptance: dict[str, list[dict[str, object]]]  # by depth, intent, source, user, proposer
    per_depth: list[dict[str, object]]
    per_round: list[dict[str, Any]]
    times: list[dict[str, object]]
    seconds: list[dict[str, float]]  # histogram of seconds per timed decision (analytics.histogram)
    hidden: list[dict[str, object]]
    preference: dict[str, object]
    simulated_projects: list[int]

    @property
    def empty(self) -> bool:
        return not self.total["proposed"]


ACCEPTANCE_BY = ("depth", "intent", "source", "user", "proposer")


def summary(engine: Engine, actor: Actor, filters: Filters, proposer: str | None = None) -> AnalyticsSummary:
    """The page's figures for the records matching the filters (and one proposer, if given)."""
    with collector_paused():
        return _summary(engine, actor, filters, proposer)


def _summary(engine: Engine, actor: Actor, filters: Filters, proposer: str | None) -> AnalyticsSummary:
    found = records(engine, actor, filters, decided_at=False)  # no figure shows it
    proposers = sorted({r.proposer for r in found if r.proposer})
    if proposer:
        found = analytics.filter_records(found, Filters(proposer=proposer))
    per_round = analytics.edits_per_round(found)
    return AnalyticsSummary(
        proposers=proposers,
        total=analytics.tally(found),
        acceptance=analytics.acceptance_by_each(found, ACCEPTANCE_BY),
        per_depth=analytics.per_depth_of_rounds(per_round),
        per_round=per_round,
        times=analytics.decision_times(found, "intent"),
        seconds=analytics.histogram(
            [r.time_taken_ms / 1000 for r in found if r.decided and r.time_taken_ms is not None]
        ),
        hidden=analytics.hidden_summary(found),
        preference=analytics.preference_quality(found),
        simulated_projects=sorted({r.project_id for r in found if r.simulated}),
    )
