from playwright.sync_api import expect
from sqlmodel import select

from core.db import make_engine, session_scope
from core.models import Document, Version
from tests.browser.conftest import wait_for_app


def test_create_document_by_paste_is_listed_and_stored(page, app_server):
    page.get_by_role("textbox", name="Title").fill("Browser <script>alert(1)</script> doc")
    page.get_by_role("textbox", name="Text", exact=True).fill("This are a sentence with a error.\nSecond line.")
    page.get_by_role("button", name="Create document").click()
    wait_for_app(page)
    expect(page.get_by_text("Created “Browser <script>alert(1)</script> doc”.")).to_be_visible()
    grid = page.locator("[data-testid='stDataFrame']").first
    expect(grid).to_be_visible()
    # the title shows as text in the selected-document panel, no script ran
    # (the grid also holds the title in a hidden accessibility table, so look in the panel's text element)
    panel_title = page.locator("[data-testid='stText']", has_text="Browser <script>alert(1)</script> doc")
    expect(panel_title.first).to_be_visible()
    assert page.js_errors == []
    engine = make_engine(app_server.database_url)
    with session_scope(engine) as s:
        (doc,) = s.exec(select(Document)).all()
        (version,) = s.exec(select(Version)).all()
        assert doc.title == "Browser <script>alert(1)</script> doc"
        assert version.text == "This are a sentence with a error.\nSecond line."
    engine.dispose()


def test_a_deep_link_on_a_fresh_server_runs_through_the_app(browser, app_server):
    # A page folder named pages/ made Streamlit serve /revise without app.py on a fresh server.
    context = browser.new_context()
    page = context.new_page()
    page.goto(app_server.url + "/revise")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Revise")).to_be_visible()
    expect(page.get_by_text("Local mode: local (admin)")).to_be_visible()  # the sidebar app.py draws
    expect(page.get_by_role("link", name="Analytics")).to_be_visible()
    context.close()
