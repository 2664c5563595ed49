"""A writer's day without surprises (issue 13, problems 1-6): documents and rounds named by the URL,
equal titles told apart, imports that import what was chosen, a Documents selection that follows its
document, a page that settles after the depth stop, and a decision queued while the server was down
(problem 6, the re-send after a server restart, is in test_review_resend.py)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select

from core.db import make_engine, session_scope
from core.models import Document
from core.revision import rounds
from tests.browser.conftest import wait_for_app
from tests.browser.review_page import (
    decide_with_mouse,
    edits,
    open_revise,
    open_url,
    query,
    seed_document,
    seed_round,
    wait_saved,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RULES = {"teh": "the", "recieve": "receive", "untill": "until", "wich": "which"}
# the rules above find edits in the first sentences; the built-in rules find more in the last two
TEXT = "We recieve teh report untill noon. It is teh one wich we read. She dont like apples. We was happy."


def picker(page):
    return page.get_by_role("combobox", name="Document")


def shows_document(page, label: str) -> None:
    expect(picker(page)).to_have_value(re.compile("^" + re.escape(label) + r"\b"))


def stored_documents(database_url: str) -> list[Document]:
    """The documents not deleted (deleting is a soft delete: the row stays for others' decisions)."""
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as s:
            query = select(Document).where(col(Document.deleted_at).is_(None)).order_by(Document.id)
            return list(s.exec(query).all())
    finally:
        engine.dispose()


def test_links_name_the_document_and_round_and_equal_titles_are_told_apart(browser, app_server):
    a_id, r1, _ = seed_round(app_server, "Alpha: " + TEXT, RULES, title="Twin")
    b_id, _, _ = seed_round(app_server, "Beta: " + TEXT, RULES, title="Twin")  # the newer: listed first
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    try:
        open_url(page, f"{app_server.url}/revise?doc={a_id}")
        shows_document(page, f"Twin · #{a_id}")
        expect(page.locator(".rd-doc")).to_contain_text("Alpha:")
        assert query(page) == {"doc": str(a_id), "round": str(r1)}

        decide_with_mouse(page, 0, "Accept")
        wait_saved(page)
        page.get_by_role("button", name="Apply and continue").click()
        expect(page.get_by_text("Round 2 of at most 3")).to_be_visible(timeout=90_000)
        # still the same document, its round 2 in the URL
        shows_document(page, f"Twin · #{a_id}")
        expect(page.locator(".rd-doc")).to_contain_text("Alpha:")
        r2 = query(page)["round"]
        assert query(page)["doc"] == str(a_id) and r2 != str(r1)

        page.reload()
        wait_for_app(page)
        expect(page.get_by_text("Round 2 of at most 3")).to_be_visible()
        expect(page.locator(".rd-doc")).to_contain_text("Alpha:")
        assert query(page) == {"doc": str(a_id), "round": r2}

        # the other "Twin" is another option; back goes back to the first
        picker(page).click()
        page.get_by_role("option", name=f"Twin · #{b_id}").click()
        wait_for_app(page)
        expect(page.locator(".rd-doc")).to_contain_text("Beta:")
        assert query(page)["doc"] == str(b_id)
        page.go_back()
        wait_for_app(page)
        shows_document(page, f"Twin · #{a_id}")
        expect(page.locator(".rd-doc")).to_contain_text("Alpha:")
    finally:
        ctx.close()

    # a shared link to round 1, applied since, in another browser: says so and leads to its diff
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    other = ctx.new_page()
    other.set_default_timeout(20_000)
    try:
        open_url(other, f"{app_server.url}/revise?doc={a_id}&round={r1}")
        expect(other.get_by_text("The linked round 1 is applied")).to_be_visible()
        other.get_by_role("link", name="See round 1 in History").click()
        wait_for_app(other)
        expect(other.get_by_role("heading", name="History")).to_be_visible()
        assert query(other)["doc"] == str(a_id)
        shows_document(other, f"Twin · #{a_id}")
        expect(other.locator(".rd-root.diff .ed").first).to_be_visible()
        assert "receive" in other.locator(".rd-root.diff .rd-doc").text_content()
    finally:
        ctx.close()


def test_revise_shows_the_text_before_the_first_round(page, app_server):
    doc_id = seed_document(app_server, "A fresh text, never revised.\nIts second line.", title="Fresh")
    seed_document(app_server, "Another text.", title="Other")  # listed first: the link must win
    open_url(page, f"{app_server.url}/revise?doc={doc_id}")
    expect(page.get_by_text("A fresh text, never revised.")).to_be_visible()
    expect(page.get_by_text("Its second line.")).to_be_visible()
    expect(page.get_by_role("button", name="Propose", exact=True)).to_be_visible()


def click_row(page, row: int) -> None:
    """Tick a row of the first table (the grid is a canvas: click the row marker where it is drawn)."""
    grid = page.locator("[data-testid='stDataFrame']").first
    expect(grid).to_be_visible()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 16, box["y"] + 35 + 35 * row + 17)
    wait_for_app(page)


def test_the_documents_selection_follows_its_document(page, app_server):
    ids = [seed_document(app_server, f"Text number {n}.", title=f"Doc {n}") for n in range(3)]
    page.reload()
    wait_for_app(page)
    click_row(page, 1)  # newest first: Doc 2, Doc 1, Doc 0
    expect(page.get_by_text(f"Document #{ids[1]}")).to_be_visible()
    page.get_by_role("textbox", name="Rename").fill("Renamed one")
    page.get_by_role("button", name="Save title").click()
    wait_for_app(page)
    # the list re-sorts (the renamed document is the newest now): the panel stays on it
    expect(page.get_by_text("Title saved.")).to_be_visible()
    expect(page.get_by_text(f"Document #{ids[1]}")).to_be_visible()
    expect(page.get_by_role("textbox", name="Rename")).to_have_value("Renamed one")
    page.get_by_role("button", name="Delete…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Renamed one")
    dialog.get_by_role("button", name="Delete", exact=True).click()
    wait_for_app(page)
    expect(page.get_by_text("Document deleted.")).to_be_visible()
    assert [d.id for d in stored_documents(app_server.database_url)] == [ids[0], ids[2]]
    # nothing else is selected in its place: a second Delete… cannot hit another document
    expect(page.get_by_text("Select a document to open, rename or delete it.")).to_be_visible()
    expect(page.get_by_role("button", name="Delete…")).to_have_count(0)


def test_import_clears_the_uploader_and_spots_a_text_imported_twice(page, app_server):
    upload_tab = page.get_by_role("tab", name="Upload files")
    upload_tab.click()
    dropzone = page.locator("[data-testid='stFileUploaderDropzoneInput']")

    def choose(name: str, text: str) -> None:
        dropzone.set_input_files({"name": name, "mimeType": "text/plain", "buffer": text.encode()})
        expect(page.get_by_role("button", name="Import")).to_be_enabled()

    choose("first.txt", "The first file.")
    page.get_by_role("button", name="Import").click()
    wait_for_app(page)
    expect(page.get_by_text("Imported 1 document(s).")).to_be_visible()
    expect(upload_tab).to_have_attribute("aria-selected", "true")  # no flip back to "Paste text"
    expect(page.locator("[data-testid='stFileUploaderFile']")).to_have_count(0)  # the uploader is empty

    choose("second.txt", "The second file.")
    wait_for_app(page)
    expect(upload_tab).to_have_attribute("aria-selected", "true")
    page.get_by_role("button", name="Import").click()
    wait_for_app(page)
    expect(page.get_by_text("Imported 1 document(s).")).to_be_visible()
    docs = stored_documents(app_server.database_url)
    assert [d.source_filename for d in docs] == ["first.txt", "second.txt"]  # not the first one again

    choose("first again.txt", "The first file.")
    page.get_by_role("button", name="Import").click()
    wait_for_app(page)
    expect(page.get_by_text("has the same text as “first”")).to_be_visible()
    assert len(stored_documents(app_server.database_url)) == 2
    page.get_by_role("button", name="Open it").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Revise")).to_be_visible()
    assert query(page)["doc"] == str(docs[0].id)
    expect(page.get_by_text("The first file.")).to_be_visible()


def test_after_the_depth_stop_the_page_settles(page, app_server):
    seed_round(app_server, TEXT, RULES, settings=rounds.RoundSettings(max_depth=1))
    open_revise(page, app_server.url)
    expect(page.get_by_text("Round 1 of at most 1")).to_be_visible()
    decide_with_mouse(page, 0, "Accept")
    wait_saved(page)
    page.get_by_role("button", name="Apply and continue").click()
    expect(page.get_by_text("This revision is finished")).to_be_visible(timeout=60_000)
    wait_for_app(page)
    expect(page.get_by_text("maximum depth reached")).to_have_count(1)  # one message
    for name in ("Apply and continue", "Finish"):  # nothing left to press that would be refused
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    expect(edits(page)).to_have_count(0)
    expect(page.get_by_text("We receive teh report")).to_be_visible()  # the final text
    expect(page.get_by_role("button", name="Download")).to_be_visible()
    expect(page.get_by_role("link", name="See the history")).to_be_visible()
    expect(page.get_by_text("Start a new revision of this text")).to_be_visible()
