"""`python -m core round decide --comment` and `round edit` (issue 13: comments and changes by hand
from the command line, the same services as the Revise page)."""

from __future__ import annotations

import json

from sqlmodel import select

from core import documents
from core.db import make_engine, migrate, session_scope
from core.models import Decision, Version
from core.revision import review, rounds, threads
from tests.db.test_cli_documents import run_cli
from tests.proposers_for_tests import ReplaceProposer

TEXT = "We recieve teh report untill noon."


def test_comment_and_edit_by_hand_from_the_cli(db_url, tmp_path):
    engine = make_engine(db_url)
    migrate(engine)
    with session_scope(engine) as s:
        doc = documents.create_document(s, "Notes", TEXT)
        user_id, base_id = documents.default_user(s).id, doc.head_version_id
        thread_id = threads.active_thread(s, doc.id, user_id).id
    rules = {"recieve": "receive", "teh": "the", "untill": "until"}
    rnd = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer(rules))
    with session_scope(engine) as s:
        ids = [e.row.id for e in review.edit_states(s, rnd.id, user_id)]

    r = run_cli(db_url, "round", "decide", str(rnd.id), "accept", str(ids[0]), "--comment", "house style")
    assert r.returncode == 0, r.stderr
    r = run_cli(db_url, "round", "decide", str(rnd.id), "accept", "--comment", "all of them")
    assert r.returncode != 0 and "name the edit ids" in r.stderr  # a comment needs its decision
    new = tmp_path / "new.txt"
    new.write_text("We recieve teh report before noon.", encoding="utf-8")
    r = run_cli(db_url, "round", "edit", str(rnd.id), str(new), "--on-version", str(base_id))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["kept"] == 2 and out["dropped"] == [ids[2]]
    again = run_cli(db_url, "round", "edit", str(rnd.id), str(new), "--on-version", str(base_id))
    assert again.returncode != 0 and "another tab or process" in again.stderr  # drawn on the old base
    with session_scope(engine) as s:
        assert [(d.action, d.comment) for d in s.exec(select(Decision)).all()] == [("accept", "house style")]
        assert s.get(Version, out["version"]).origin == "manual"
    engine.dispose()
