"""A decision that meets a busy database is not refused: it stays unanswered, so the browser sends it
again, and it is stored once the database is free (issue 10). A real SQLite file, its write lock held by
another connection past the busy timeout."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlmodel import select

from core import db, documents
from core.db import make_engine, migrate, session_scope
from core.models import Decision
from core.revision import review, rounds, threads
from core.services import accounts
from core.services import review as review_service
from tests.proposers_for_tests import ReplaceProposer

TEXT = "We recieve teh report untill noon."
RULES = {"recieve": "receive", "teh": "the", "untill": "until"}


def test_a_busy_database_leaves_the_decision_to_come_again_and_it_is_stored_once(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 300)  # read at connect and at each write
    path = tmp_path / "busy.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with session_scope(engine) as s:
        doc = documents.create_document(s, "Notes", TEXT)
        user_id = documents.default_user(s).id
        thread_id = threads.active_thread(s, doc.id, user_id).id
    rnd = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer(RULES))
    with session_scope(engine) as s:
        first, second, _ = [e.row.id for e in review.edit_states(s, rnd.id, user_id)]
    me = accounts.actor(engine, user_id)
    engine.dispose()  # new connections take the short busy timeout
    memo: dict[str, str | None] = {}
    outbox = {"seq": 1, "items": [{"k": "k1", "id": first, "a": "accept"}, {"k": "k2", "id": second, "a": "bogus"}]}

    other = sqlite3.connect(path, isolation_level=None)  # another process's writer, holding the lock
    other.execute("BEGIN IMMEDIATE")
    try:
        results = review_service.sync_outbox(engine, me, rnd.id, outbox, memo)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert results == {"k2": "Unknown action 'bogus'."}  # refused at once; the accept has no answer yet
    assert review_service.unanswered(outbox, memo)
    # the browser sends its outbox again: now it is stored, once
    assert review_service.sync_outbox(engine, me, rnd.id, outbox, memo) == {"k1": None, "k2": "Unknown action 'bogus'."}
    assert review_service.sync_outbox(engine, me, rnd.id, outbox, memo) == {"k1": None, "k2": "Unknown action 'bogus'."}
    with session_scope(engine) as s:
        assert [(d.edit_id, d.action) for d in s.exec(select(Decision)).all()] == [(first, "accept")]
    engine.dispose()


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (db.DatabaseBusy("busy"), True),
        (ValueError("database is locked"), False),  # only the database's own errors count
    ],
)
def test_what_counts_as_transient(error, transient):
    assert db.is_transient(error) is transient
