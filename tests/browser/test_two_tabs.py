"""Two tabs on one round (DESIGN "Rules that keep several people safe"): a stale tab applies nothing and
stores no decision on a round another tab applied, and a tab shows the decision that stands when another
tab changed it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select

from core.db import make_engine, session_scope
from core.models import Decision, Job, Round, RoundStatus, Version
from core.revision import review
from core.services.revision import CONTINUE
from tests.browser.review_page import (
    decide_with_mouse,
    decisions,
    edit,
    edits,
    in_background,
    new_tab,
    request_sync,
    seed_round,
    wait_saved,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RULES = {"teh": "the", "recieve": "receive", "untill": "until", "wich": "which"}
# round 1 (the rules above): 0 recieve, 1 teh, 2 untill, 3 teh, 4 wich; round 2 is proposed by the
# built-in rules, which find more in the last two sentences
TEXT = "We recieve teh report untill noon. It is teh one wich we read. She dont like apples. We was happy."
CHANGED = re.compile(r"\bchanged\b")
FAILED = re.compile(r"\bfailed\b")
OUT_OF_DATE = "This page was out of date (another tab or process acted first); it now shows the current state."


def round_caption(page, depth: int):
    return page.get_by_text(f"Round {depth} of at most 3")


def test_a_stale_tab_applies_nothing_and_stores_no_decision(browser, app_server):
    doc_id, round_id, user_id = seed_round(app_server, TEXT, RULES)
    ctx_a, a = new_tab(browser, app_server.url)
    ctx_b, b = new_tab(browser, app_server.url)
    try:
        for tab in (a, b):
            expect(round_caption(tab, 1)).to_be_visible()
            expect(edits(tab)).to_have_count(5)

        decide_with_mouse(a, 0, "Accept")
        wait_saved(a)
        # B decides too while round 1 is under review: stored, so it is in the applied text
        decide_with_mouse(b, 2, "Accept")
        wait_saved(b)
        # B goes to the background: its 15 s sync does not run, however long A's apply takes
        in_background(b)

        a.get_by_role("button", name="Apply and continue").click()
        expect(round_caption(a, 2)).to_be_visible(timeout=90_000)
        expect(edits(a).first).to_be_visible()

        # B still shows round 1 under review; a decision there is refused and shown as failed
        expect(round_caption(b, 1)).to_be_visible()
        expect(b.locator(".rd-save")).not_to_contain_text("applied")  # B has not synced on its own
        decide_with_mouse(b, 1, "Accept")
        expect(edit(b, 1)).to_have_class(FAILED)
        expect(edit(b, 1)).to_have_attribute("data-st", "pending")  # back to what the server holds
        expect(b.locator(".rd-p-error")).to_have_text(re.compile(r"^Not saved: .*Round 1 is applied"))
        expect(b.locator(".rd-save")).to_have_text("Round 1 is applied: its edits can no longer be decided.")
        expect(b.locator(".rd-root")).to_have_class(re.compile(r"\blocked\b"))  # no more decisions here
        edit(b, 3).click()
        b.keyboard.press("a")
        expect(edit(b, 3)).to_have_attribute("data-st", "pending")
        in_background(b, hidden=False)

        # B's "Apply and continue" was drawn for round 1: refused, then the page shows round 2
        b.get_by_role("button", name="Apply and continue").click()
        warning = b.get_by_test_id("stAlertContentWarning")
        expect(warning).to_contain_text(OUT_OF_DATE)
        expect(warning).to_contain_text("Round 1 was already applied")
        expect(round_caption(b, 2)).to_be_visible()
        expect(round_caption(b, 1)).to_have_count(0)
        expect(edits(b)).to_have_count(edits(a).count())
        assert a.js_errors == [] and b.js_errors == []  # type: ignore[attr-defined]
    finally:
        ctx_a.close()
        ctx_b.close()

    engine = make_engine(app_server.database_url)
    try:
        with session_scope(engine) as s:
            (r1,) = s.exec(select(Round).where(Round.id == round_id)).all()
            thread_rounds = s.exec(select(Round).where(Round.thread_id == r1.thread_id).order_by(col(Round.id))).all()
            assert [(r.depth, r.status) for r in thread_rounds] == [
                (1, RoundStatus.APPLIED),
                (2, RoundStatus.REVIEWING),
            ]
            versions = s.exec(select(Version).where(Version.document_id == doc_id).order_by(col(Version.id))).all()
            assert [(v.origin, v.round_id) for v in versions] == [("paste", None), ("round", round_id)]
            assert r1.result_version_id == versions[1].id
            assert thread_rounds[1].base_version_id == versions[1].id
            # the decisions stored before the apply are in the text; B's refused one is not
            assert versions[1].text == TEXT.replace("recieve", "receive").replace("untill", "until")
            assert len(s.exec(select(Job).where(Job.kind == CONTINUE)).all()) == 1  # only A's apply ran
            view = review.round_view(s, round_id, user_id)
            assert [st.status for st in view.edits] == ["accept", "pending", "accept", "pending", "pending"]
            edit_ids = [st.row.id for st in view.edits]
            stored = s.exec(select(Decision).order_by(col(Decision.id))).all()
            assert [(d.edit_id, d.action) for d in stored] == [(edit_ids[0], "accept"), (edit_ids[2], "accept")]
    finally:
        engine.dispose()


@pytest.mark.parametrize("same_browser", [False, True], ids=["two-browser-profiles", "one-browser-two-tabs"])
def test_a_decision_changed_in_another_tab_shows_what_stands(browser, app_server, same_browser):
    _, round_id, user_id = seed_round(app_server, TEXT, RULES)
    ctx_a, a = new_tab(browser, app_server.url)
    ctx_b = None
    try:
        expect(edits(a)).to_have_count(5)
        decide_with_mouse(a, 0, "Accept")
        wait_saved(a)
        expect(a.locator(".rd-save")).to_have_text("All decisions saved")

        ctx_b, b = new_tab(browser, app_server.url, ctx_a if same_browser else None)
        expect(edit(b, 0)).to_have_attribute("data-st", "accept")  # B opens on what is stored
        decide_with_mouse(b, 0, "Reject")
        wait_saved(b)
        expect(edit(b, 0)).to_have_attribute("data-st", "reject")
        expect(edit(b, 0)).not_to_have_class(CHANGED)  # B decided it itself

        request_sync(a)  # A gets the focus back
        expect(edit(a, 0)).to_have_attribute("data-st", "reject")
        expect(edit(a, 0)).to_have_class(CHANGED)
        expect(edit(a, 0)).to_have_attribute("title", "Changed in another tab or by another process: now rejected")
        expect(a.locator(".rd-save")).to_have_text("1 decision changed elsewhere — showing what is stored")
        expect(a.locator(".rd-root")).to_have_attribute("data-saved", "yes")
        for i in range(1, 5):
            expect(edit(a, i)).to_have_attribute("data-st", "pending")
            expect(edit(a, i)).not_to_have_class(CHANGED)
        assert a.js_errors == [] and b.js_errors == []  # type: ignore[attr-defined]
    finally:
        if ctx_b is not None and ctx_b is not ctx_a:
            ctx_b.close()
        ctx_a.close()

    assert [d.action for d in decisions(app_server.database_url)] == ["accept", "reject"]
    engine = make_engine(app_server.database_url)
    try:
        with session_scope(engine) as s:
            view = review.round_view(s, round_id, user_id)
            assert [st.status for st in view.edits] == ["reject", "pending", "pending", "pending", "pending"]
    finally:
        engine.dispose()
