"""Protected terms on the Revise page (terms found in feedback, confirmed by the writer; what the
proposer uses of feedback) and the Learning page (list, add, remove), in AppTest on a real SQLite file."""

from __future__ import annotations

from core import documents
from core.db import session_scope
from core.services import accounts, protected
from tests.app.conftest import app_test

TEXT = "We evaluate GigaBERT, mBERT and XLM-R on the genQA benchmark."
FEEDBACK = "Don't change genQA, GigaBERT, mBERT, XLM-R"


def _seed(engine) -> int:
    with session_scope(engine) as s:
        return documents.create_document(s, "Paper", TEXT).id


def _me(engine):
    return accounts.actor(engine, accounts.local_user_id(engine))


def test_revise_offers_the_feedback_terms_and_stores_only_the_confirmed(app_engine):
    doc = _seed(app_engine)
    at = app_test()
    at.switch_page("app_pages/revise.py").run()
    assert not at.exception
    assert any("do not read free-text feedback" in c.value for c in at.caption)
    at.text_area(key="rv_feedback").set_value(FEEDBACK).run()
    assert not at.exception
    (pick,) = [p for p in at.get("button_group") if p.label == "Terms to protect"] or [None]
    assert pick is not None
    assert protected.list_terms(app_engine, _me(app_engine), document_id=doc) == []  # nothing stored unconfirmed
    pick.set_value(["genQA", "GigaBERT", "mBERT"]).run()  # the writer leaves XLM-R out
    at.button(key="pt_feedback_protect").click().run()
    assert not at.exception
    stored = protected.list_terms(app_engine, _me(app_engine), document_id=doc)
    assert sorted(t.term for t in stored) == ["GigaBERT", "genQA", "mBERT"]
    assert {t.source for t in stored} == {"feedback"}
    assert any("Protected" in m.value for m in at.success)


def test_learning_page_lists_adds_and_removes_terms(app_engine):
    doc = _seed(app_engine)
    at = app_test()
    at.switch_page("app_pages/learning.py").run()
    assert not at.exception
    at.session_state["le_tab"] = "Protected terms"  # as a click on the tab does
    at.run()
    at.text_input(key="pt_add_term").set_value("GigaBERT")
    at.selectbox(key="pt_add_where").set_value(0)  # the whole project (the local user is an admin)
    at.button[[b.label for b in at.button].index("Protect")].click().run()
    assert not at.exception
    (term,) = protected.list_terms(app_engine, _me(app_engine), document_id=doc)
    assert (term.term, term.scope, term.source) == ("GigaBERT", "project", "learning")
    assert any("GigaBERT" in m.value and "whole project" in m.value for m in at.markdown)
    at.button(key=f"pt_remove_{term.id}").click().run()
    assert not at.exception
    assert protected.list_terms(app_engine, _me(app_engine), document_id=doc) == []
