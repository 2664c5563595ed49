"""Reviewing without the mouse, and repeats (held keys, double clicks) that must make one decision."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.db import make_engine, session_scope
from core.revision import review
from tests.browser.conftest import wait_for_app
from tests.browser.review_page import decisions, edit, edits, open_revise, panel_button, seed_round, wait_saved

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RULES = {"teh": "the", "recieve": "receive", "untill": "until", "wich": "which"}
# edits in document order: recieve, teh, untill, teh, wich, wich
TEXT = "We recieve teh report untill noon. It is teh one wich we read. The end is near, wich is fine."
FOCUS = re.compile(r"\bfocus\b")


def statuses(page) -> list[str]:
    return [edit(page, i).get_attribute("data-st") for i in range(edits(page).count())]


def test_keyboard_only_review(page, app_server):
    _, round_id, user_id = seed_round(app_server, TEXT, RULES)
    open_revise(page, app_server.url)
    expect(edits(page)).to_have_count(6)
    expect(edit(page, 0)).to_have_class(FOCUS)  # the first pending edit has the focus, the keys work at once

    page.keyboard.press("a")  # accept, and on to the next pending edit
    expect(edit(page, 1)).to_have_class(FOCUS)
    page.keyboard.press("r")  # reject
    page.keyboard.press("j")  # skip edit 2
    expect(edit(page, 3)).to_have_class(FOCUS)
    page.keyboard.press("e")  # rewrite: type, Ctrl+Enter saves
    expect(page.locator(".rd-rewrite textarea")).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type("its own words")  # letters typed here are text, not commands
    page.keyboard.press("Control+Enter")
    expect(edit(page, 3)).to_have_attribute("data-st", "modify")
    expect(edit(page, 3).locator(".mod")).to_have_text("its own words")
    page.keyboard.press("u")  # undo the last decision: the rewrite; the focus goes back to it
    expect(edit(page, 3)).to_have_attribute("data-st", "pending")
    expect(edit(page, 3)).to_have_class(FOCUS)
    page.keyboard.press("k")
    expect(edit(page, 2)).to_have_class(FOCUS)
    # a held key repeats: still one decision
    page.keyboard.down("a")
    page.keyboard.down("a")
    page.keyboard.down("a")
    page.keyboard.up("a")
    expect(edit(page, 2)).to_have_attribute("data-st", "accept")
    wait_saved(page)
    assert statuses(page) == ["accept", "reject", "accept", "pending", "pending", "pending"]
    assert [d.action for d in decisions(app_server.database_url)] == ["accept", "reject", "modify", "undo", "accept"]

    # Streamlit's own "r" (rerun) shortcut never fires from inside the review, and the page kept its state
    wait_for_app(page)
    engine = make_engine(app_server.database_url)
    with session_scope(engine) as s:
        view = review.round_view(s, round_id, user_id)
        assert [st.status for st in view.edits] == statuses(page)
        assert view.round.status == "reviewing"
    engine.dispose()
    assert page.js_errors == []


def test_double_clicks_and_repeats_make_one_decision(page, app_server):
    seed_round(app_server, TEXT, RULES)
    open_revise(page, app_server.url)
    edit(page, 2).click()
    panel_button(page, "Accept").dblclick()
    expect(edit(page, 2)).to_have_attribute("data-st", "accept")
    panel_button(page, "Accept").click()  # already accepted: nothing new
    panel_button(page, "Undo").dblclick()  # one undo, not two
    expect(edit(page, 2)).to_have_attribute("data-st", "pending")
    panel_button(page, "Undo").click(force=True)  # nothing left to undo (aria-disabled): a no-op
    page.locator(".rd-accept-all").dblclick()  # bulk: once
    wait_saved(page)
    assert statuses(page) == ["accept"] * 6
    actions = [d.action for d in decisions(app_server.database_url)]
    assert actions == ["accept", "undo"] + ["accept"] * 6
    # undo the bulk action as a whole
    page.locator(".rd-undo-bulk").click()
    wait_saved(page)
    assert statuses(page) == ["pending"] * 6
    assert [d.action for d in decisions(app_server.database_url)][-6:] == ["undo"] * 6
    assert page.js_errors == []
