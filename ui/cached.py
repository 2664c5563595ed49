"""Summaries the read-heavy pages compute from the whole decision log, cached for a short while and
keyed by the database watermark (core.services.freshness): a page switch reuses them, and any change
to what they count (a decision, an edit, a rename, a mute, ...) recomputes them at once. The TTL only
bounds memory and what no watermark sees. Keyed by the person too: what one may read is not another's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import pyarrow as pa
import streamlit as st
from sqlalchemy.engine import Engine

from core.access import Actor
from core.data.export import ExportFilters
from core.documents import DocumentSummary
from core.learning.analytics import Filters
from core.services import analytics, documents, exports, freshness, learning

TTL_S = 60
ENTRIES = 32


def who(actor: Actor) -> tuple[object, ...]:
    """What a cached answer depends on of the person: who they are and their role in each project."""
    return actor.user_id, actor.role, tuple(sorted(actor.memberships.items()))


def _mark(engine: Engine) -> freshness.Watermark:
    return freshness.watermark(engine)


@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def _analytics(
    _engine: Engine,
    _actor: Actor,
    key: tuple[Any, ...],
    filters: Filters,
    proposer: str | None,
    mark: Any,  # noqa: ANN401
) -> analytics.AnalyticsSummary:
    return analytics.summary(_engine, _actor, filters, proposer)


def analytics_summary(
    engine: Engine, actor: Actor, filters: Filters, proposer: str | None
) -> analytics.AnalyticsSummary:
    return _analytics(engine, actor, who(actor), filters, proposer, _mark(engine))


@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def _learning(
    _engine: Engine,
    _actor: Actor,
    key: tuple[Any, ...],
    project_id: int,
    mark: Any,  # noqa: ANN401
) -> tuple[learning.LearningView, learning.LearningFigures]:
    view = learning.learning_view(_engine, _actor, project_id)
    # the records are summarised in the figures; leaving them out spares unpickling them on every run
    return replace(view, records=[]), learning.learning_figures(view)


def learning_view(
    engine: Engine, actor: Actor, project_id: int
) -> tuple[learning.LearningView, learning.LearningFigures]:
    """The person's learning view in the project and the figures computed from it."""
    return _learning(engine, actor, who(actor), project_id, _mark(engine))


@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def _export_overview(
    _engine: Engine,
    _actor: Actor,
    key: tuple[Any, ...],
    filters: ExportFilters,
    rows: int,
    mark: Any,  # noqa: ANN401
) -> exports.Overview:
    return exports.overview(_engine, _actor, filters, rows)


def export_overview(engine: Engine, actor: Actor, filters: ExportFilters, rows: int) -> exports.Overview:
    return _export_overview(engine, actor, who(actor), filters, rows, _mark(engine))


@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def _export_options(_engine: Engine, _actor: Actor, key: tuple[Any, ...], mark: Any) -> exports.FilterOptions:  # noqa: ANN401
    return exports.filter_options(_engine, _actor)


def export_options(engine: Engine, actor: Actor) -> exports.FilterOptions:
    return _export_options(engine, actor, who(actor), _mark(engine))


@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def _r3_threads(
    _engine: Engine,
    _actor: Actor,
    key: tuple[Any, ...],
    filters: ExportFilters,
    mark: Any,  # noqa: ANN401
) -> list[int]:
    return exports.r3_threads(_engine, _actor, filters)


def r3_threads(engine: Engine, actor: Actor, filters: ExportFilters) -> list[int]:
    return _r3_threads(engine, actor, who(actor), filters, _mark(engine))


@dataclass(frozen=True)
class DocumentList:
    """A project's documents as the pickers and the Documents table show them; shared read-only
    between runs (cache_resource: no copy per run), so every part is immutable."""

    rows: tuple[DocumentSummary, ...]
    titles: Mapping[int, str]  # by id, in list order
    labels: Mapping[int, str]  # unique per document: title, id and date
    table: pa.Table  # the Documents page's table, ready for st.dataframe


def document_label(doc: DocumentSummary) -> str:
    """Unique among documents: two with the same title differ by id (and usually by date)."""
    return f"{doc.title} · #{doc.id} · {doc.created_at:%Y-%m-%d}"


def _table(rows: tuple[DocumentSummary, ...]) -> pa.Table:
    return pa.table(
        {
            "ID": pa.array([r.id for r in rows], pa.int64()),
            "Title": pa.array([r.title for r in rows], pa.string()),
            "File": pa.array([r.source_filename or "" for r in rows], pa.string()),
            "Versions": pa.array([r.versions for r in rows], pa.int64()),
            "Characters": pa.array([r.characters for r in rows], pa.int64()),
            "Updated": pa.array([r.updated_at for r in rows], pa.timestamp("us", tz="UTC")),
        }
    )


@st.cache_resource(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def _documents(_engine: Engine, _actor: Actor, key: tuple[Any, ...], project_id: int, mark: Any) -> DocumentList:  # noqa: ANN401
    rows = tuple(documents.list_documents(_engine, _actor, project_id))
    return DocumentList(
        rows=rows,
        titles=MappingProxyType({r.id: r.title for r in rows}),
        labels=MappingProxyType({r.id: document_label(r) for r in rows}),
        table=_table(rows),
    )


def document_list(engine: Engine, actor: Actor, project_id: int) -> DocumentList:
    """The project's documents, most recently changed first (a rename or a new version moves one up)."""
    return _documents(engine, actor, who(actor), project_id, _mark(engine))
