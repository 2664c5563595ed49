"""Problem 6 of issue 13: a decision queued in the browser while the app server was killed is stored
once the server is back, without a reload. A restarted server is a new session that knows none of
the page's fragments: the review component's own re-sends (fragment reruns) are dropped there, so it
asks for a full rerun when its outbox goes unanswered."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.review_page import decide_with_mouse, decisions, open_revise, seed_round, start_on_port, wait_saved

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RULES = {"teh": "the", "recieve": "receive", "untill": "until", "wich": "which"}
TEXT = "We recieve teh report untill noon. It is teh one wich we read. Teh end is near, wich is fine."


def test_a_decision_queued_while_the_server_was_killed_is_stored_without_a_reload(browser, app_server, tmp_path):
    seed_round(app_server, TEXT, RULES)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(20_000)
    reloads: list[str] = []
    page.on("framenavigated", lambda frame: reloads.append(frame.url) if frame == page.main_frame else None)
    open_revise(page, app_server.url)
    decide_with_mouse(page, 0, "Accept")
    wait_saved(page)
    navigations = len(reloads)
    port = int(app_server.url.rsplit(":", 1)[1])
    server = app_server.process
    try:
        # several kills: whether Streamlit's own reconnect reruns the page depends on timing
        for n, edit_index in enumerate((2, 3, 5)):
            server.kill()  # SIGKILL: no goodbye to the browser
            server.wait(timeout=10)
            decide_with_mouse(page, edit_index, "Reject")
            expect(page.locator(".rd-root")).to_have_attribute("data-saved", "no")
            server = start_on_port(tmp_path, port)
            # stored soon after the server's return (the component asks again at most 15 s apart)
            expect(page.locator(".rd-root")).to_have_attribute("data-saved", "yes", timeout=40_000)
            assert [d.action for d in decisions(app_server.database_url)] == ["accept"] + ["reject"] * (n + 1)
    finally:
        server.kill()
        server.wait(timeout=10)
        context.close()
    assert len(reloads) == navigations  # nothing reloaded the page
