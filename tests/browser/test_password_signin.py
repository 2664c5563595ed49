"""Password sign-in in Chromium: the session cookie keeps the person signed in across a reload; signing
out revokes it, so the next reload asks again. Served by `streamlit run serve.py`, the cookie is
HttpOnly (set by an HTTP route); by `streamlit run app.py`, the page's component writes it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core import signin, users
from core.db import make_engine, migrate, session_scope
from core.signin import SESSION_COOKIE
from tests.browser.conftest import AppServer, start_app, stop_app, wait_for_app

pytestmark = pytest.mark.browser


def _password_server(tmp_path: Path, script: str) -> AppServer:
    (tmp_path / "data").mkdir()
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'redraft.db'}")
    migrate(engine)
    with session_scope(engine) as s:
        users.create_user(s, "ann1", "annotator", "correct horse")
    engine.dispose()
    return start_app(tmp_path, {"REDRAFT_SIGNIN": "password"}, script=script)


@pytest.fixture
def password_app(tmp_path: Path) -> Iterator[AppServer]:
    server = _password_server(tmp_path, "app.py")
    yield server
    stop_app(server)


@pytest.fixture
def served_password_app(tmp_path: Path) -> Iterator[AppServer]:
    server = _password_server(tmp_path, "serve.py")
    yield server
    stop_app(server)


def _submit(page, password: str) -> None:  # noqa: ANN001 - a Playwright Page
    page.get_by_role("textbox", name="User name").fill("ann1")
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_served_with_its_routes_the_cookie_is_httponly_and_the_page_never_holds_it(browser, served_password_app):
    context = browser.new_context()
    page = context.new_page()
    page.goto(served_password_app.url)
    wait_for_app(page)
    _submit(page, "correct horse")
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Signed in as: ann1 (annotator)")).to_be_visible(timeout=20_000)
    wait_for_app(page)
    assert "code=" not in page.url  # the one-time code went to the route, which sent the browser back
    cookie = next(c for c in context.cookies() if c["name"] == SESSION_COOKIE)
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert SESSION_COOKIE not in page.evaluate("document.cookie")  # out of reach of any script on the page
    engine = make_engine(served_password_app.database_url)
    with session_scope(engine) as s:
        assert signin.session_user(s, cookie["value"]) is not None  # the cookie holds the session's token

    page.reload()
    wait_for_app(page)
    expect(sidebar.get_by_text("Signed in as: ann1 (annotator)")).to_be_visible()

    sidebar.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Redraft")).to_be_visible(timeout=20_000)
    wait_for_app(page)
    assert [c for c in context.cookies() if c["name"] == SESSION_COOKIE] == []  # the route cleared it
    with session_scope(engine) as s:
        assert signin.session_user(s, cookie["value"]) is None  # and the token is revoked
    engine.dispose()
    context.add_cookies([cookie])
    page.reload()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Sign in to Redraft")).to_be_visible()
    context.close()


def test_reload_keeps_the_sign_in_until_sign_out(browser, password_app):
    context = browser.new_context()
    page = context.new_page()
    page.goto(password_app.url)
    wait_for_app(page)
    _submit(page, "wrong password")
    wait_for_app(page)
    expect(page.get_by_text("Wrong user name or password.")).to_be_visible()
    _submit(page, "correct horse")
    wait_for_app(page)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Signed in as: ann1 (annotator)")).to_be_visible()
    page.wait_for_function(f"document.cookie.includes('{SESSION_COOKIE}=')")  # written by the page
    cookie = next(c for c in context.cookies() if c["name"] == SESSION_COOKIE)
    assert cookie["sameSite"] == "Strict" and cookie["path"] == "/"

    page.reload()
    wait_for_app(page)
    expect(sidebar.get_by_text("Signed in as: ann1 (annotator)")).to_be_visible()

    sidebar.get_by_role("button", name="Sign out").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Sign in to Redraft")).to_be_visible()
    page.wait_for_function(f"!document.cookie.includes('{SESSION_COOKIE}=')")  # the page clears it
    context.add_cookies([cookie])  # and the old token, replayed, is revoked on the server
    page.reload()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Sign in to Redraft")).to_be_visible()
    context.close()
