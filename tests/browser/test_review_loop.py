"""The review loop in Chromium: import -> propose (builtin) -> decide -> apply -> round 2 -> finish ->
download, with the database checked after; and nothing lost on reload or app restart."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from core import documents
from core.db import make_engine, session_scope
from core.models import Round, Version
from core.revision import apply, review, threads
from tests.browser.conftest import stop_app, wait_for_app
from tests.browser.review_page import (
    count,
    decide_with_mouse,
    decisions,
    edit,
    edits,
    open_popover,
    open_revise,
    panel_button,
    seed_round,
    start_on_port,
    wait_saved,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LEARNER_TEXT = (
    "This are a sentence with a error. I has went to the store yesterday.\n\n"
    "Their is many reason for it. She dont like apples. We was happy."
)


def test_review_loop_end_to_end(page, app_server):
    # import: paste a document, open it in Revise
    page.get_by_role("textbox", name="Title").fill("Learner essay")
    page.get_by_role("textbox", name="Text", exact=True).fill(LEARNER_TEXT)
    page.get_by_role("button", name="Create document").click()
    wait_for_app(page)
    page.get_by_role("button", name="Open in Revise").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Revise")).to_be_visible()

    # propose with the built-in rules (the default proposer)
    page.get_by_role("button", name="Propose", exact=True).click()
    expect(edits(page).first).to_be_visible(timeout=90_000)
    n = edits(page).count()
    assert n >= 6, f"the builtin proposer found only {n} edits"
    expect(page.get_by_text("Round 1 of at most 3")).to_be_visible()

    decide_with_mouse(page, 0, "Accept")
    decide_with_mouse(page, 1, "Accept")
    decide_with_mouse(page, 2, "Reject")
    edit(page, 3).click()
    panel_button(page, "Rewrite").click()
    page.locator(".rd-rewrite textarea").fill("REWRITTEN")
    panel_button(page, "Save rewrite").click()
    decide_with_mouse(page, 4, "Accept")
    panel_button(page, "Undo").click()  # edit 4 is pending again
    expect(edit(page, 4)).to_have_attribute("data-st", "pending")
    wait_saved(page)
    expect(count(page, "accept")).to_have_text("2")
    expect(count(page, "reject")).to_have_text("1")
    expect(count(page, "modify")).to_have_text("1")
    expect(count(page, "pending")).to_have_text(str(n - 4))

    engine = make_engine(app_server.database_url)
    with session_scope(engine) as s:
        (doc,) = documents.list_documents(s)
        user_id = documents.default_user(s).id
        thread = threads.latest_thread(s, doc.id, user_id)
        r1 = threads.current_round(s, thread.id)
        view = review.round_view(s, r1.id, user_id)
        expected_v2 = view.preview_text()
        e = [st.row for st in view.edits]
    assert "REWRITTEN" in expected_v2
    assert e[0].after in expected_v2 and e[2].before in expected_v2

    # apply and continue: round 2 is proposed on the new version
    page.get_by_role("button", name="Apply and continue").click()
    expect(page.get_by_text("Round 2 of at most 3")).to_be_visible(timeout=90_000)
    expect(edits(page).first).to_be_visible()
    decide_with_mouse(page, 0, "Accept")
    wait_saved(page)

    page.get_by_role("button", name="Finish", exact=True).click()
    wait_for_app(page)
    expect(page.get_by_text("This revision is finished")).to_be_visible()

    # download the current text and the edit log
    open_popover(page, "Download", "Text (.txt)")
    with page.expect_download() as dl:
        page.get_by_role("button", name="Text (.txt)").click()
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    with page.expect_download() as dl_log:
        page.get_by_role("button", name="Edit log (.jsonl)").click()
    log_rows = [json.loads(line) for line in Path(dl_log.value.path()).read_text(encoding="utf-8").splitlines()]

    with session_scope(engine) as s:
        versions = documents.versions(s, doc.id)
        assert [v.origin for v in versions] == ["paste", "round", "round"]
        assert versions[1].text == expected_v2
        assert text == versions[-1].text == documents.head_version(s, doc.id).text
        rows = s.exec(select(Round).where(Round.thread_id == thread.id).order_by(Round.depth)).all()
        assert [(r.depth, r.status) for r in rows] == [(1, "applied"), (2, "applied")]
        assert threads.get_thread(s, thread.id).status == "finished"
    stored = decisions(app_server.database_url)
    by_edit = [(d.edit_id, d.action) for d in stored if d.edit_id in {x.id for x in e}]
    assert by_edit == [
        (e[0].id, "accept"),
        (e[1].id, "accept"),
        (e[2].id, "reject"),
        (e[3].id, "modify"),
        (e[4].id, "accept"),
        (e[4].id, "undo"),
    ]
    assert next(d for d in stored if d.action == "modify").modified_text == "REWRITTEN"
    assert all(d.time_taken_ms is not None and d.idempotency_key for d in stored)
    assert len(stored) == 7  # six in round 1, one in round 2: no double decisions
    assert sorted(r["decision_id"] for r in log_rows) == [d.id for d in stored]
    assert page.js_errors == []
    engine.dispose()


RULES = {"teh": "the", "recieve": "receive", "untill": "until", "wich": "which"}
TEXT = "We recieve teh report untill noon. It is teh one wich we read. Teh end is near, wich is fine."


def test_reload_right_after_a_decision_loses_nothing_and_resumes(page, app_server):
    seed_round(app_server, TEXT, RULES)
    open_revise(page, app_server.url)
    expect(edits(page)).to_have_count(6)
    decide_with_mouse(page, 1, "Accept")
    wait_saved(page)
    decide_with_mouse(page, 3, "Reject")
    page.reload()  # at once: the decision may not have reached the server yet
    wait_for_app(page)
    expect(edit(page, 1)).to_have_attribute("data-st", "accept")
    expect(edit(page, 3)).to_have_attribute("data-st", "reject")
    expect(edit(page, 3)).to_have_class(re.compile(r"\bfocus\b"))  # the review resumes there
    wait_saved(page)
    decide_with_mouse(page, 4, "Accept")
    wait_saved(page)
    assert [d.action for d in decisions(app_server.database_url)] == ["accept", "reject", "accept"]
    assert page.js_errors == []


def test_app_restart_mid_review_loses_nothing(browser, app_server, tmp_path):
    _, round_id, user_id = seed_round(app_server, TEXT, RULES)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    open_revise(page, app_server.url)
    decide_with_mouse(page, 0, "Accept")
    wait_saved(page)
    port = int(app_server.url.rsplit(":", 1)[1])
    stop_app(app_server)
    # decided while the server is down: kept in the browser, shown as not saved yet
    decide_with_mouse(page, 2, "Reject")
    expect(page.locator(".rd-root")).to_have_attribute("data-saved", "no")
    restarted = start_on_port(tmp_path, port)
    try:
        wait_saved(page)
        page.reload()
        wait_for_app(page)
        expect(edit(page, 0)).to_have_attribute("data-st", "accept")
        expect(edit(page, 2)).to_have_attribute("data-st", "reject")
    finally:
        restarted.terminate()
        restarted.wait(timeout=10)
        context.close()
    engine = make_engine(app_server.database_url)
    with session_scope(engine) as s:
        view = review.round_view(s, round_id, user_id)
        assert [st.status for st in view.edits][:3] == ["accept", "pending", "reject"]
        assert s.exec(select(Version)).all()[-1].origin == "paste"  # nothing applied behind the person's back
    engine.dispose()
    assert [d.action for d in decisions(app_server.database_url)] == ["accept", "reject"]


def test_a_decision_the_server_refuses_is_shown_as_failed(page, app_server):
    _, round_id, user_id = seed_round(app_server, TEXT, RULES)
    open_revise(page, app_server.url)
    expect(edits(page)).to_have_count(6)
    engine = make_engine(app_server.database_url)
    with session_scope(engine) as s:  # applied elsewhere (another tab) while this page still shows it
        apply.apply_round(s, round_id, user_id)
    engine.dispose()
    decide_with_mouse(page, 1, "Accept")
    expect(edit(page, 1)).to_have_class(re.compile(r"\bfailed\b"))
    expect(edit(page, 1)).to_have_attribute("data-st", "pending")  # back to what the server holds
    expect(page.locator(".rd-p-error")).to_contain_text("Round 1 is applied")
    expect(page.locator(".rd-save")).to_contain_text("Round 1 is applied")  # the review is closed now
    assert decisions(app_server.database_url) == []
