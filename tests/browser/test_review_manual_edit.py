"""Direct edits while reviewing (issue 13): the writer changes the text by hand on Revise; it becomes a
version with origin "manual", the edit on the changed word is dropped, the others stay decidable."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from core.db import make_engine, session_scope
from core.models import Version
from tests.browser.conftest import wait_for_app
from tests.browser.review_page import decide_with_mouse, decisions, edit, edits, open_revise, seed_round, wait_saved

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RULES = {"teh": "the", "recieve": "receive", "untill": "until", "wich": "which"}
TEXT = "We recieve teh report untill noon. It is teh one wich we read."
BY_HAND = "We recieve teh report before noon. It is teh one wich we read. Added by hand."


def test_the_text_changed_by_hand_keeps_the_untouched_edits_decidable(page, app_server):
    seed_round(app_server, TEXT, RULES)
    open_revise(page, app_server.url)
    expect(edits(page)).to_have_count(5)
    decide_with_mouse(page, 0, "Accept")  # recieve -> receive
    wait_saved(page)

    page.get_by_text("Edit the text by hand").click()
    box = page.get_by_role("textbox", name="Your text")
    expect(box).to_have_value(TEXT)
    box.fill(BY_HAND)
    page.get_by_role("button", name="Save my change").click()
    wait_for_app(page)
    expect(page.get_by_text("4 edit(s) of this round kept, 1 dropped")).to_be_visible()
    # "untill" was changed by hand: its edit is gone; the rest are where they were, the accept stands
    expect(edits(page)).to_have_count(4)
    assert "Added by hand." in page.locator(".rd-doc").text_content()
    assert "untill" not in page.locator(".rd-doc").text_content()
    expect(edit(page, 0)).to_have_attribute("data-st", "accept")
    decide_with_mouse(page, 3, "Accept")  # wich -> which, on the new text
    expect(edit(page, 3)).to_have_attribute("data-st", "accept")
    wait_saved(page)
    assert [d.action for d in decisions(app_server.database_url)] == ["accept", "accept"]
    engine = make_engine(app_server.database_url)
    with session_scope(engine) as s:
        last = s.exec(select(Version).order_by(Version.id.desc())).first()  # type: ignore[union-attr]
    engine.dispose()
    assert (last.origin, last.text) == ("manual", BY_HAND)
    assert page.js_errors == []
