"""Summaries the read-heavy pages compute from the whole decision log, cached for a short while and
keyed by the database watermark (core.services.freshness): a page switch reuses them, and any change
to what they count (a decision, an edit, a rename, a mute, ...) recomputes them at once. The TTL only
bounds memory and what no watermark sees. Keyed by the person too: what one may read is not another's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, TypeVar

import pyarrow as pa
import streamlit as st
from sqlalchemy.engine import Engine

from core.access import Actor
from core.documents import DocumentSummary
from core.services import analytics, documents, exports, freshness, learning

TTL_S = 60
ENTRIES = 32 * 6  # 32 per cached service: the services share one cache

R = TypeVar("R")


def who(actor: Actor) -> tuple[object, ...]:
    """What a cached answer depends on of the person: who they are and their role in each project."""
    return actor.user_id, actor.role, tuple(sorted(actor.memberships.items()))


def _watermarked(*, shared: bool = False) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Cache a read `service(engine, actor, *args)` (positional arguments) by the person (`who`), the
    database watermark and its other arguments. `shared`: one object handed to every run
    (st.cache_resource, no copy), for immutable answers; otherwise each run gets its own copy
    (st.cache_data)."""

    def wrap(service: Callable[..., R]) -> Callable[..., R]:
        name = f"{service.__module__}.{service.__qualname__}"
        cache = st.cache_resource if shared else st.cache_data

        # Streamlit keys a cache by the function's name and source, the same for every service wrapped
        # here: the service's own name in each entry's key keeps their answers apart.
        @cache(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
        def cached(_engine: Engine, _actor: Actor, name: str, person: object, mark: object, *args: Any) -> R:  # noqa: ANN401
            return service(_engine, _actor, *args)

        @functools.wraps(service)
        def call(engine: Engine, actor: Actor, *args: Any) -> R:  # noqa: ANN401
            return cached(engine, actor, name, who(actor), freshness.watermark(engine), *args)

        return call

    return wrap


analytics_summary = _watermarked()(analytics.summary)
export_overview = _watermarked()(exports.overview)
export_options = _watermarked()(exports.filter_options)
r3_threads = _watermarked()(exports.r3_threads)


@_watermarked()
def learning_view(
    engine: Engine, actor: Actor, project_id: int
) -> tuple[learning.LearningView, learning.LearningFigures]:
    """The person's learning view in the project and the figures computed from it."""
    view = learning.learning_view(engine, actor, project_id)
    # the records are summarised in the figures; leaving them out spares unpickling them on every run
    return replace(view, records=[]), learning.learning_figures(view)


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


@_watermarked(shared=True)
def document_list(engine: Engine, actor: Actor, project_id: int) -> DocumentList:
    """The project's documents, most recently changed first (a rename or a new version moves one up)."""
    rows = tuple(documents.list_documents(engine, actor, project_id))
    return DocumentList(
        rows=rows,
        titles=MappingProxyType({r.id: r.title for r in rows}),
        labels=MappingProxyType({r.id: document_label(r) for r in rows}),
        table=_table(rows),
    )
