"""Pages show only the controls the policy allows (AppTest, signed in through OIDC as each person):
the shared document is the local admin's and carries an annotator's decisions."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core import documents, users
from core.db import session_scope
from core.revision import review, rounds, threads
from tests.app.conftest import app_test
from tests.proposers_for_tests import ReplaceProposer


@pytest.fixture
def shared(app_engine, monkeypatch) -> int:
    monkeypatch.setenv("REDRAFT_SIGNIN", "oidc")
    with session_scope(app_engine) as s:
        otto = users.create_user(s, "otto", "annotator", email="otto@uni.example").id
        users.create_user(s, "wren", "writer", email="wren@uni.example")
        doc_id = documents.create_document(s, "Shared", "Teh cat sat on teh mat.").id
        thread_id = threads.active_thread(s, doc_id, otto).id
    rnd = rounds.propose_round(app_engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer({"Teh": "The"}))
    with session_scope(app_engine) as s:
        for edit in review.round_view(s, rnd.id, otto).edits:
            review.decide(s, edit.row.id, otto, "accept", round_id=rnd.id)
    return doc_id


def as_person(email: str, doc_id: int) -> AppTest:
    at = app_test()
    at.user = {"is_logged_in": True, "email": email}
    at.session_state["document_id"] = doc_id  # the row picked in the documents table
    return at.run()


def test_annotator_gets_no_create_rename_or_delete(shared):
    at = as_person("otto@uni.example", shared)
    assert not at.exception
    assert at.title[0].value == "Documents"
    assert not [b for b in at.button if b.key in ("save_title", "delete_doc")]
    assert not [e for e in at.expander if e.label == "New document"]
    assert at.button(key="open_revise").label == "Open in Revise"  # the work they may do is there


def test_writer_sees_no_delete_for_a_document_not_theirs(shared):
    at = as_person("wren@uni.example", shared)
    assert any(e.label == "New document" for e in at.expander)  # writers create their own documents
    assert not [b for b in at.button if b.key in ("save_title", "delete_doc")]


def test_admin_deleting_is_told_whose_work_it_hides(shared, monkeypatch):
    monkeypatch.setenv("REDRAFT_ADMIN_EMAILS", "boss@example.org")
    at = as_person("boss@example.org", shared)
    assert at.text_input(key=f"rename_{shared}").value == "Shared"
    at.button(key="delete_doc").click().run()
    assert any("1 decision(s) of 1 other person(s)" in w.value for w in at.warning)
