"""The decision log under export filters, streamed from the database: rows, counts, a preview and the
choices the filters offer.

Rows come from one Core `select` over joined tables (core.decisions.query, plus the project and spec)
read in batches (`yield_per`: a server-side cursor on PostgreSQL), never ORM objects one at a time, so
memory stays bounded whatever the row count; the writers (core.data.export_formats) consume the
iterator as it comes. De-duplicating keeps one 64-bit hash per distinct pair.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func
from sqlmodel import Session, col, select

from core import decisions
from core.data.export_rows import TextCache, build_row, pair_key, row_columns, standing_tuples
from core.decisions import ACTIONS
from core.errors import InputError
from core.models import Document, Edit, Project, ProposerSpec, Round, Thread, User

FETCH_BATCH = 2000


@dataclass(frozen=True)
class ExportFilters:
    """Which decisions to export. Every field narrows; the defaults export everything.

    `latest_only` keeps one row per (edit, person): the state their decisions leave it in (undo steps
    back, as core.decisions decides); edits left pending are dropped. `dedupe` drops rows that repeat
    an identical pair (same sentence, same change, same action and rewrite).
    """

    project_ids: tuple[int, ...] = ()
    user_ids: tuple[int, ...] = ()
    document_ids: tuple[int, ...] = ()
    thread_ids: tuple[int, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    intents: tuple[str, ...] = ()
    depths: tuple[int, ...] = ()
    spec_ids: tuple[int, ...] = ()
    actions: tuple[str, ...] = ()
    simulated: bool | None = None
    latest_only: bool = False
    dedupe: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.actions) - set(ACTIONS)
        if unknown:
            raise InputError(f"Unknown action(s) {', '.join(sorted(unknown))}; use {', '.join(ACTIONS)}.")
        if self.since and self.until and self.since > self.until:
            raise InputError("The start date is after the end date.")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InputError(f"`{name}` needs a timezone (timestamps are stored in UTC).")

    def describe(self) -> dict[str, Any]:
        """The filters as plain JSON values (for a TrainingRun's data snapshot)."""
        out: dict[str, Any] = {
            k: v for k, v in asdict(self).items() if v not in ((), None, False) or k == "simulated" and v is False
        }
        for k in ("since", "until"):
            if k in out:
                out[k] = out[k].isoformat()
        for k, v in out.items():
            if isinstance(v, tuple):
                out[k] = list(v)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportFilters:
        """The inverse of describe()."""
        kwargs: dict[str, Any] = {}
        for k, v in data.items():
            if k in ("since", "until") and v is not None:
                kwargs[k] = datetime.fromisoformat(v)
            elif isinstance(v, list):
                kwargs[k] = tuple(v)
            else:
                kwargs[k] = v
        return cls(**kwargs)


# --- the query -----------------------------------------------------------------


def _select(f: ExportFilters, *selected: Any, order: decisions.Order | None = None, full: bool = False) -> Select:
    """The log (core.decisions.query) under these filters; `full` adds the project and spec joins the
    rows read. With latest_only the action filter applies to the state that stands, after the query."""
    stmt = decisions.query(
        *selected,
        project_ids=f.project_ids or None,
        document_ids=f.document_ids or None,
        user_ids=f.user_ids or None,
        thread_ids=f.thread_ids or None,
        since=f.since,
        until=f.until,
        actions=f.actions if f.actions and not f.latest_only else None,
        simulated=f.simulated,
        with_user=full,
        order=order,
    )
    if full:
        stmt = stmt.join(Project, col(Project.id) == col(Document.project_id)).outerjoin(
            ProposerSpec, col(ProposerSpec.id) == col(Round.spec_id)
        )
    for condition in _extra_conditions(f):
        stmt = stmt.where(condition)
    return stmt


def _extra_conditions(f: ExportFilters) -> list[Any]:
    """The export's filters beyond the log's own (core.decisions.query's)."""
    out = []
    if f.intents:
        out.append(col(Edit.intent).in_(f.intents))
    if f.depths:
        out.append(col(Round.depth).in_(f.depths))
    if f.spec_ids:
        out.append(col(Round.spec_id).in_(f.spec_ids))
    return out


def decision_query(filters: ExportFilters, raw_timestamps: bool = False) -> Select:
    """The Core select behind the log: one tuple per decision (see export_rows.row_columns for the order); with
    latest_only grouped by (edit, person) in decision order, so what stands is found streaming."""
    order = decisions.Order.STANDING if filters.latest_only else decisions.Order.LOG
    return _select(filters, *row_columns(raw_timestamps), order=order, full=True)


def _stream(session: Session, stmt: Select, batch: int = FETCH_BATCH) -> Iterator[Any]:
    conn = session.connection()
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(stmt)
    try:
        yield from result
    finally:
        result.close()


# --- rows ----------------------------------------------------------------------


def iter_decision_rows(session: Session, filters: ExportFilters | None = None) -> Iterator[dict[str, Any]]:
    """The decision log, one dict per decision (fields: ROW_FIELDS), oldest first; streamed, bounded memory.

    With `filters.latest_only`, one row per (edit, person) holding the decision that stands.
    """
    filters = filters or ExportFilters()
    texts = TextCache(session)
    raw = session.get_bind().dialect.name == "sqlite"
    tuples: Iterable[Any] = _stream(session, decision_query(filters, raw_timestamps=raw))
    if filters.latest_only:
        tuples = standing_tuples(tuples)
        if filters.actions:
            tuples = (t for t in tuples if t[2] in filters.actions)
    seen: set[int] = set()
    for t in tuples:
        row = build_row(t, texts)
        if filters.dedupe:
            k = pair_key(row)
            if k in seen:
                continue
            seen.add(k)
        yield row


@dataclass(frozen=True)
class ExportSummary:
    """What an export would hold, shown before downloading."""

    decisions: int
    documents: int
    people: int
    by_action: dict[str, int] = field(default_factory=dict)
    by_intent: dict[str, int] = field(default_factory=dict)
    by_depth: dict[int, int] = field(default_factory=dict)
    rows: int = 0  # decision rows in the log under the filters (undo and superseded included)


def summarize(session: Session, filters: ExportFilters | None = None) -> ExportSummary:
    """Decided edits (core.decisions.count_decided: what stands per edit and person, as every page
    counts them) by action, intent and depth, and the decision rows in the log under these filters."""
    f = replace(filters or ExportFilters(), latest_only=False)
    tally = decisions.count_decided(
        session,
        project_ids=f.project_ids or None,
        document_ids=f.document_ids or None,
        user_ids=f.user_ids or None,
        thread_ids=f.thread_ids or None,
        since=f.since,
        until=f.until,
        simulated=f.simulated,
        where=_extra_conditions(f),
        group_by={"intent": Edit.intent, "depth": Round.depth, "document": Thread.document_id},
    )
    by_action = {k: n for k, n in tally.by_action().items() if n and (not f.actions or k in f.actions)}
    return ExportSummary(
        decisions=sum(by_action.values()) if f.actions else tally.decided,
        documents=len(tally.groups["document"]),
        people=_people(session, f),
        by_action=by_action,
        by_intent={k or "(none)": n for k, n in tally.groups["intent"].items()},
        by_depth=dict(sorted(tally.groups["depth"].items())),
        rows=tally.rows or 0,
    )


def _people(session: Session, f: ExportFilters) -> int:
    d_user = decisions.column("user_id")
    return int(session.connection().execute(_select(f, func.count(func.distinct(d_user)))).scalar_one())


def preview(session: Session, filters: ExportFilters | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """The first `limit` rows of the export."""
    out = []
    for row in iter_decision_rows(session, filters):
        out.append(row)
        if len(out) >= limit:
            break
    return out


def document_ids(session: Session, filters: ExportFilters | None = None) -> list[int]:
    """Distinct documents that have decisions under these filters."""
    f = replace(filters or ExportFilters(), latest_only=False)
    return sorted(session.connection().execute(_select(f, Thread.document_id).distinct()).scalars().all())


def thread_ids(session: Session, filters: ExportFilters | None = None) -> list[int]:
    """Distinct threads that have decisions under these filters."""
    f = replace(filters or ExportFilters(), latest_only=False)
    return sorted(session.connection().execute(_select(f, Round.thread_id).distinct()).scalars().all())


def split_documents(doc_ids: Iterable[int], test_fraction: float, seed: int = 0) -> frozenset[int]:
    """The documents that go to the test split: round(n * fraction), at least one when there are two or more
    documents and the fraction is above 0. Splitting by document keeps a document's edits on one side."""
    if not 0 <= test_fraction < 1:
        raise InputError("The test fraction must be at least 0 and below 1.")
    ids = sorted(set(doc_ids))
    if test_fraction == 0 or len(ids) < 2:
        return frozenset()
    n = min(len(ids) - 1, max(1, round(len(ids) * test_fraction)))
    rng = random.Random(seed)
    return frozenset(rng.sample(ids, n))


@dataclass(frozen=True)
class FilterOptions:
    """What the filters can choose from, for the Export and Models pages."""

    projects: list[tuple[int, str]]
    users: list[tuple[int, str, bool]]  # id, name, simulated
    specs: list[tuple[int, str, str]]  # id, name, kind
    intents: list[str]
    depths: list[int]


def filter_options(session: Session) -> FilterOptions:
    conn = session.connection()
    return FilterOptions(
        projects=[(p, name) for p, name in conn.execute(select(Project.id, Project.name).order_by(col(Project.name)))],
        users=[
            (u, name, sim)
            for u, name, sim in conn.execute(select(User.id, User.name, User.simulated).order_by(col(User.name)))
        ],
        specs=[
            (s, name, kind)
            for s, name, kind in conn.execute(
                select(ProposerSpec.id, ProposerSpec.name, ProposerSpec.kind).order_by(col(ProposerSpec.id))
            )
        ],
        intents=sorted(i for i in conn.execute(select(Edit.intent).distinct()).scalars() if i),
        depths=sorted(conn.execute(select(Round.depth).distinct()).scalars()),
    )
