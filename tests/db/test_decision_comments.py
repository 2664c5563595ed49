"""Comments on decisions (issue 13): sent with a decision from the review component's outbox, shown
again with the decision that stands, and in the edit log and the exports; on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlmodel import select

from core import documents
from core.data.export import ExportFilters
from core.db import session_scope
from core.decisions import MAX_COMMENT_CHARS
from core.models import Decision
from core.revision import review, rounds, threads
from core.services import accounts, downloads, exports
from core.services import review as review_service
from core.services.review_payload import review_payload
from tests.proposers_for_tests import ReplaceProposer

TEXT = "We recieve teh report untill noon."
RULES = {"recieve": "receive", "teh": "the", "untill": "until"}


def _round(engine):
    with session_scope(engine) as s:
        doc = documents.create_document(s, "Notes", TEXT)
        user_id = documents.default_user(s).id
        thread_id = threads.active_thread(s, doc.id, user_id).id
        doc_id = doc.id
    rnd = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer(RULES))
    with session_scope(engine) as s:
        ids = [e.row.id for e in review.edit_states(s, rnd.id, user_id)]
    return doc_id, rnd.id, accounts.actor(engine, user_id), ids


def test_a_comment_goes_with_its_decision_into_the_view_the_log_and_exports(engine):
    doc_id, round_id, me, ids = _round(engine)
    memo: dict[str, str | None] = {}
    outbox = {
        "seq": 1,
        "items": [
            {"k": "a1", "id": ids[0], "a": "accept"},
            {"k": "a2", "id": ids[0], "a": "accept", "c": "house style"},  # a comment added after
            {"k": "m1", "id": ids[1], "a": "modify", "t": "a", "c": "an article, not the"},
            {"k": "r1", "id": ids[2], "a": "reject", "c": "x" * (MAX_COMMENT_CHARS + 1)},  # too long
            {"k": "r2", "id": ids[2], "a": "reject", "c": 42},  # not text
        ],
    }
    results = review_service.sync_outbox(engine, me, round_id, outbox, memo)
    assert results["a1"] is None and results["a2"] is None and results["m1"] is None
    assert results["r1"] == results["r2"] == f"A comment is text of at most {MAX_COMMENT_CHARS:,} characters."

    with session_scope(engine) as s:
        rows = s.exec(select(Decision).order_by(Decision.id)).all()
        assert [(r.action, r.comment) for r in rows] == [
            ("accept", None),
            ("accept", "house style"),
            ("modify", "an article, not the"),
        ]
        view = review.round_view(s, round_id, me.user_id)
    states = {e.row.id: e for e in view.edits}
    assert (states[ids[0]].status, states[ids[0]].comment) == ("accept", "house style")
    assert (states[ids[1]].modified_text, states[ids[1]].comment) == ("a", "an article, not the")
    assert states[ids[2]].comment is None
    # the component gets it back (a reload shows it)
    payload = review_payload(view, scope="s")
    assert payload["state"][str(ids[0])] == ["accept", None, "house style"]
    assert payload["state"][str(ids[1])] == ["modify", "a", "an article, not the"]

    # the edit log download and the decision-log export carry it
    log = [json.loads(line) for line in downloads.edit_log_bytes(engine, me, doc_id, "jsonl").decode().splitlines()]
    assert [(r["action"], r["comment"]) for r in log] == [
        ("accept", None),
        ("accept", "house style"),
        ("modify", "an article, not the"),
    ]
    exported = exports.log_bytes(engine, me, ExportFilters(document_ids=(doc_id,)), "csv").decode()
    assert "house style" in exported and "an article, not the" in exported
    # counts are by what stands: a comment re-stating a decision is not another decided edit
    assert exports.decision_count(engine, me, ExportFilters(document_ids=(doc_id,))) == 2


def test_undo_after_a_comment_steps_back_to_the_decision_without_it(engine):
    _, round_id, me, ids = _round(engine)
    memo: dict[str, str | None] = {}
    items = [
        {"k": "a1", "id": ids[0], "a": "reject"},
        {"k": "a2", "id": ids[0], "a": "reject", "c": "keep the old word"},
        {"k": "u1", "id": ids[0], "a": "undo"},
    ]
    review_service.sync_outbox(engine, me, round_id, {"seq": 1, "items": items}, memo)
    with session_scope(engine) as s:
        (state,) = [e for e in review.round_view(s, round_id, me.user_id).edits if e.row.id == ids[0]]
    assert (state.status, state.comment) == ("reject", None)
