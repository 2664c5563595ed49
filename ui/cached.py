"""Summaries the read-heavy pages compute from the whole decision log, cached for a short while and
keyed by the database watermark (core.services.freshness): a page switch reuses them, and any change
to what they count (a decision, an edit, a rename, a mute, ...) recomputes them at once. The TTL only
bounds memory and what no watermark sees. Keyed by the person too: what one may read is not another's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st
from sqlalchemy.engine import Engine

from core.access import Actor
from core.data.export import ExportFilters
from core.learning.analytics import Filters
from core.services import analytics, exports, freshness, learning

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
