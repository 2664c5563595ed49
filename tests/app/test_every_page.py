"""Every registered page runs without an exception, empty and with a revised document in the database."""

import re

import pytest

from core import documents
from core.db import session_scope
from core.revision import review, rounds, threads
from tests.app.conftest import app_test
from tests.conftest import REPO
from tests.proposers_for_tests import ReplaceProposer

PAGES = re.findall(r'st\.Page\("(app_pages/[a-z_]+\.py)"', (REPO / "app.py").read_text())
# pages whose tabs are drawn only while open: each tab is opened in turn (as a click on it does)
LAZY_TABS = {"app_pages/analytics.py": "an_tab", "app_pages/learning.py": "le_tab", "app_pages/export.py": "ex_tab"}


def test_every_page_file_is_registered():
    on_disk = {f"app_pages/{p.name}" for p in (REPO / "app_pages").glob("*.py")}
    assert set(PAGES) == on_disk and len(PAGES) >= 7


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_on_an_empty_database(app_engine, page):
    at = app_test()
    at.switch_page(page).run()
    assert not at.exception, at.exception


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_with_a_revised_document(app_engine, page):
    with session_scope(app_engine) as s:
        doc = documents.create_document(s, "<script>alert(1)</script>", "Teh cat sat on teh mat.")
        user_id = documents.default_user(s).id
        thread_id = threads.active_thread(s, doc.id, user_id).id
    proposer = ReplaceProposer({"Teh": "The", "teh": "the"})
    r1 = rounds.propose_round(app_engine, thread_id, rounds.RoundSettings(), proposer=proposer)
    with session_scope(app_engine) as s:
        first, second = review.round_view(s, r1.id, user_id).edits
        review.decide(s, first.row.id, user_id, "accept")
        review.decide(s, second.row.id, user_id, "reject")
    rounds.apply_and_continue(app_engine, r1.id, user_id, rounds.RoundSettings(), proposer=proposer)
    at = app_test()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    if page in LAZY_TABS:
        labels = [t.label for t in at.tabs]
        assert len(labels) >= 3
        for label in labels:
            at.session_state[LAZY_TABS[page]] = label
            at.run()
            assert not at.exception, (label, at.exception)
            (opened,) = [t for t in at.tabs if t.label == label]
            assert len(opened.children) > 0, label  # the open tab is drawn, the others are not
            assert all(not t.children for t in at.tabs if t.label != label), label
