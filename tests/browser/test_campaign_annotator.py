"""An annotator in Chromium: Next, decide with the keys in the writers' review component, Finish;
a second annotator gets the same edits with none of the first one's decisions (blind). The
guidelines beside the review are inert: no script runs and the image is never requested."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from core.db import make_engine, migrate, session_scope
from core.models import Decision
from core.services import campaigns
from tests.browser.conftest import AppServer, start_app, stop_app
from tests.browser.review_page import PASSWORD, annotator_tab, edit, edits, wait_saved
from tests.campaign_helpers import make_campaign

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TRACKER = "http://127.0.0.1:9/pixel.png"
GUIDELINES = (
    f"# Rules\nAccept real fixes.\n<script>window.pwned = 1</script>\n![tracker]({TRACKER})\n<img src={TRACKER}>\n"
)


@pytest.fixture
def server(tmp_path: Path, browser) -> Iterator[AppServer]:  # noqa: ANN001 - the session's Chromium
    # The campaign's proposals job runs in the test (its test proposer is registered here only).
    app = start_app(tmp_path, {"REDRAFT_WORKER": "external", "REDRAFT_SIGNIN": "password"})
    yield app
    stop_app(app)


def decisions_of(database_url: str, user_id: int) -> list[str]:
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as s:
            rows = s.exec(select(Decision).where(Decision.user_id == user_id).order_by(Decision.id))
            return [d.action for d in rows]
    finally:
        engine.dispose()


def test_two_annotators_judge_the_same_edits_blind_with_the_keys(browser, server):
    engine = make_engine(server.database_url)
    migrate(engine)
    setup = make_campaign(engine, docs=1, annotators=2, overlap=2, guidelines=GUIDELINES, password=PASSWORD)
    first, second = setup.annotators

    page = annotator_tab(browser, server, first.name)
    page.get_by_role("button", name="Next").click()
    expect(edits(page)).to_have_count(4)
    guidelines = page.locator(".st-key-an_guidelines")
    expect(guidelines).to_contain_text("<script>window.pwned = 1</script>")  # shown as text
    expect(guidelines.locator("h1, h2, h3").first).to_have_text("Rules")  # the Markdown is kept
    assert guidelines.locator("img, script, iframe").count() == 0
    assert page.evaluate("window.pwned") is None
    expect(edit(page, 0)).to_have_class(re.compile(r"\bfocus\b"))  # the keys work at once
    for key in ("a", "r", "a", "a"):
        page.keyboard.press(key)
    expect(edit(page, 3)).to_have_attribute("data-st", "accept")
    wait_saved(page)
    page.get_by_role("button", name="Finish document").click()
    expect(page.get_by_text("Finished")).to_be_visible()
    assert decisions_of(server.database_url, first.user_id) == ["accept", "reject", "accept", "accept"]

    other = annotator_tab(browser, server, second.name)
    other.get_by_role("button", name="Next").click()
    expect(edits(other)).to_have_count(4)
    assert [edit(other, i).get_attribute("data-st") for i in range(4)] == ["pending"] * 4  # blind
    for _ in range(4):
        other.keyboard.press("r")
    expect(edit(other, 3)).to_have_attribute("data-st", "reject")
    wait_saved(other)
    other.get_by_role("button", name="Finish document").click()
    expect(other.get_by_text("Finished")).to_be_visible()

    assert not any(TRACKER in url for url in page.requests + other.requests)  # type: ignore[attr-defined]
    progress = campaigns.status(engine, setup.researcher, setup.campaign_id).campaign
    assert progress["done"] == 2 and progress["items_complete"] == 1
    labels = campaigns.standing_labels(engine, setup.researcher, setup.campaign_id)
    assert sorted(lab.source for lab in labels) == ["unanimous", "unresolved", "unresolved", "unresolved"]
    engine.dispose()
