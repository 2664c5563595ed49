"""Never change "X" from an edit in the side panel (issue 13): the term is protected for the
document, the round's pending edits that change it are hidden at once, and the rest stay decidable."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from core.db import make_engine, session_scope
from core.models import ProtectedTerm
from tests.browser.review_page import edit, edits, open_revise, panel_button, seed_round, wait_saved

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TEXT = "We evaluate GigaBERT and mBERT. Thses results beat GigaBERT easily."
RULES = {"GigaBERT": "Gilbert", "mBERT": "Bert", "Thses": "These"}


def test_never_change_a_term_from_an_edit(page, app_server):
    seed_round(app_server, TEXT, RULES)
    open_revise(page, app_server.url)
    expect(edits(page)).to_have_count(4)
    edit(page, 0).click()  # GigaBERT -> Gilbert
    protect = page.locator(".rd-panel").get_by_role("button", name="Never change “GigaBERT”")
    expect(protect).to_be_visible()
    protect.click()
    expect(page.get_by_text("“GigaBERT” is protected in this document; 2 pending edit(s)")).to_be_visible()
    # both GigaBERT edits are hidden now, shown as the original text; the others still decidable
    expect(page.locator(".rd-doc .ed.hid")).to_have_count(2)
    for hid in page.locator(".rd-doc .ed.hid").all():
        expect(hid.locator("del")).to_have_text("GigaBERT")
    visible = page.locator(".rd-doc .ed:not(.hid)")
    expect(visible).to_have_count(2)
    visible.first.click()
    panel_button(page, "Accept").click()
    expect(visible.first).to_have_attribute("data-st", "accept")
    wait_saved(page)
    engine = make_engine(app_server.database_url)
    with session_scope(engine) as s:
        terms = [(t.term, t.source, t.document_id is not None) for t in s.exec(select(ProtectedTerm)).all()]
    engine.dispose()
    assert terms == [("GigaBERT", "edit", True)]
    # a decided edit offers no "Never change" (the person has chosen already)
    expect(page.locator(".rd-panel .act-protect:visible")).to_have_count(0)
    expect(page.locator(".rd-save")).not_to_have_text(re.compile("failed"))
    assert page.js_errors == []


def test_never_change_a_term_in_every_document_of_the_project(page, app_server):
    """The project's owner or an admin (here the local admin) also gets "…in every document of this
    project": the term then holds project-wide, and this round's edits that change it are hidden."""
    seed_round(app_server, TEXT, RULES)
    open_revise(page, app_server.url)
    expect(edits(page)).to_have_count(4)
    edit(page, 1).click()  # mBERT -> Bert
    everywhere = page.locator(".rd-panel").get_by_role("button", name="…in every document of this project")
    expect(everywhere).to_be_visible()
    everywhere.click()
    toast = "“mBERT” is protected in every document of this project; 1 pending edit(s)"
    expect(page.get_by_text(toast)).to_be_visible()
    expect(page.locator(".rd-doc .ed.hid")).to_have_count(1)
    expect(page.locator(".rd-doc .ed.hid del")).to_have_text("mBERT")
    engine = make_engine(app_server.database_url)
    with session_scope(engine) as s:
        terms = [(t.term, t.document_id) for t in s.exec(select(ProtectedTerm)).all()]
    engine.dispose()
    assert terms == [("mBERT", None)]  # no document: the whole project
    assert page.js_errors == []
