"""One definition of "decisions" (issue 13, problem 11: Export said 104, Analytics 97, Learning 64 on one
database): the services behind the three pages count through core.decisions.tally_counts (what tally_standing
counts with) and agree, on a log holding undo, changed decisions and a decided hidden edit, on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from core import access, decisions, documents, users
from core.data.export import ExportFilters
from core.db import session_scope
from core.learning import analytics as analytics_core
from core.models import Edit
from core.revision import review, rounds, threads
from core.services import analytics, exports, learning
from tests.proposers_for_tests import ReplaceProposer

TEXT = "Teh cat sat on teh mat. Teh dog ran by teh red car. A nice day."
RULES = {"Teh": "The", "teh": "the", "nice": "fine"}


@pytest.fixture
def decided(engine: Engine) -> tuple[int, access.Actor, access.Actor]:
    """One writer's round of 5 edits: accept, reject then accept (changed), accept then undo (pending),
    modify, and a hidden edit decided anyway: 4 decided edits, 7 decision rows."""
    with session_scope(engine) as s:
        admin = access.actor_for(s, documents.default_user(s).id)
        writer = access.actor_for(s, users.create_user(s, "wendy", "writer").id)
        project_id = documents.default_project(s).id
        doc = documents.create_document(s, "Essay", TEXT).id
        thread_id = threads.active_thread(s, doc, writer.user_id).id
    rnd = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer(RULES))
    with session_scope(engine) as s:
        edits = [e.row.id for e in review.round_view(s, rnd.id, writer.user_id).edits]
        assert len(edits) == 5
        s.execute(
            update(Edit).where(Edit.id == edits[4]).values(hidden_reason="muted rule: x", hidden_kind="muted-rule")
        )
    with session_scope(engine) as s:
        w = writer.user_id
        review.decide(s, edits[0], w, "accept")
        review.decide(s, edits[1], w, "reject")
        review.decide(s, edits[1], w, "accept")
        review.decide(s, edits[2], w, "accept")
        review.decide(s, edits[2], w, "undo")
        review.decide(s, edits[3], w, "modify", modified_text="THE")
        review.decide(s, edits[4], w, "reject")
    return project_id, admin, writer


def test_export_analytics_and_learning_count_one_way(engine, decided, monkeypatch):
    project_id, admin, writer = decided
    calls: list[str] = []
    real = decisions.tally_counts

    def spy(counts, rows=None):
        calls.append("tally")
        return real(counts, rows)

    monkeypatch.setattr(decisions, "tally_counts", spy)
    for who in (admin, writer):
        calls.clear()
        exported = exports.overview(engine, who, ExportFilters(project_ids=(project_id,))).summary
        n_export = len(calls)
        records = analytics.records(engine, who, analytics_core.Filters(project_id=project_id))
        shown = analytics_core.tally(records)
        n_analytics = len(calls) - n_export
        view = learning.learning_view(engine, who, project_id)
        n_learning = len(calls) - n_export - n_analytics
        assert n_export and n_analytics and n_learning, "each page's service counts through the one function"
        if who is writer:
            assert view.own_decided == 4
        assert exported.decisions == shown["decided"] == view.project_decided == 4
        assert exported.rows == 7  # the log's rows are told apart, not called "decisions"
        assert exported.by_action == {"accept": 2, "modify": 1, "reject": 1}
        assert (shown["accepted"], shown["modified"], shown["rejected"]) == (2, 1, 1)
        assert shown["pending"] == 1 and shown["hidden"] == 0  # a hidden edit decided counts as shown
