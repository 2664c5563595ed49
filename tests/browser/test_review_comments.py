"""A comment on a decision (issue 13): typed in the side panel, stored with the decision, shown again
after a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import wait_for_app
from tests.browser.review_page import decide_with_mouse, decisions, edit, edits, open_revise, seed_round, wait_saved

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RULES = {"teh": "the", "recieve": "receive", "untill": "until"}
TEXT = "We recieve teh report untill noon."


def test_a_comment_on_a_decision_is_stored_and_shown_after_a_reload(page, app_server):
    seed_round(app_server, TEXT, RULES)
    open_revise(page, app_server.url)
    expect(edits(page)).to_have_count(3)
    box = page.locator(".rd-panel").get_by_role("textbox", name="Comment on this decision")
    edit(page, 1).click()
    expect(box).to_be_hidden()  # pending: a comment belongs to a decision
    decide_with_mouse(page, 1, "Reject")
    expect(box).to_be_visible()
    box.fill("keep <b>teh</b> as quoted")
    page.locator(".rd-panel").get_by_role("button", name="Save comment").click()
    wait_saved(page)
    assert [(d.action, d.comment) for d in decisions(app_server.database_url)] == [
        ("reject", None),
        ("reject", "keep <b>teh</b> as quoted"),
    ]
    page.reload()
    wait_for_app(page)
    edit(page, 1).click()
    expect(box).to_have_value("keep <b>teh</b> as quoted")
    expect(edit(page, 1)).to_have_attribute("data-st", "reject")
    edit(page, 0).click()
    decide_with_mouse(page, 0, "Accept")
    expect(box).to_have_value("")  # another edit's decision: its own (empty) comment
    assert page.js_errors == []
