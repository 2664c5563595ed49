"""Helpers for the review browser tests: open the Revise page, reach into the component, seed rounds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from sqlalchemy.engine import Engine
from sqlmodel import select

from core import documents
from core.db import make_engine, migrate, session_scope
from core.models import Decision
from core.revision import rounds, threads
from tests.browser.conftest import AppServer, wait_for_app
from tests.conftest import REPO
from tests.proposers_for_tests import ReplaceProposer


def open_url(page: Page, url: str) -> None:
    """Open an address (a deep link with ?doc=… and &round=…) and wait for the app."""
    page.goto(url)
    wait_for_app(page)


def query(page: Page) -> dict[str, str]:
    """The page's query parameters now."""
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(page.url).query))


def open_revise(page: Page, url: str) -> None:
    """The entry page first (a fresh server knows st.navigation only once app.py has run), then Revise."""
    page.goto(url)
    wait_for_app(page)
    page.get_by_role("link", name="Revise").click()
    wait_for_app(page)


def new_tab(browser: Browser, url: str, context: BrowserContext | None = None) -> tuple[BrowserContext, Page]:
    """Another tab on the Revise page: in `context` (tabs of one browser share its localStorage), or
    in a new context (another browser profile). Its page errors collect in `page.js_errors`."""
    ctx = context or browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors  # type: ignore[attr-defined]
    open_revise(pg, url)
    return ctx, pg


def request_sync(page: Page) -> None:
    """The tab gets the window focus back: the review component asks the server for fresh data."""
    page.evaluate("window.dispatchEvent(new Event('focus'))")


def in_background(page: Page, hidden: bool = True) -> None:
    """Make the tab report itself hidden (a background tab: no 15 s sync), or visible again. No
    visibilitychange is sent either way, so the component does not sync because of this."""
    if hidden:
        page.evaluate("Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true})")
    else:
        page.evaluate("delete document.visibilityState")


def edits(page: Page) -> Locator:
    return page.locator(".rd-doc .ed")


def edit(page: Page, i: int) -> Locator:
    return page.locator(f".rd-doc .ed[data-i='{i}']")


def panel_button(page: Page, name: str) -> Locator:
    return page.locator(".rd-panel").get_by_role("button", name=name, exact=True)


def decide_with_mouse(page: Page, i: int, action: str) -> None:
    """Focus edit i, then press the panel's button (Accept, Reject, Undo)."""
    edit(page, i).click()
    panel_button(page, action).click()


def open_popover(page: Page, label: str, inside: str) -> None:
    """Open a popover and wait for a button in it (a click landing during a rerun can be lost)."""
    target = page.get_by_role("button", name=inside)
    for _ in range(3):
        wait_for_app(page)
        page.get_by_role("button", name=label, exact=True).click()
        try:
            expect(target).to_be_visible(timeout=3000)
            return
        except AssertionError:
            continue
    expect(target).to_be_visible()


def wait_saved(page: Page) -> None:
    expect(page.locator(".rd-root").first).to_have_attribute("data-saved", "yes", timeout=15_000)


def count(page: Page, kind: str) -> Locator:
    return page.locator(f".rd-count.k-{kind} b")


def seed_document(server: AppServer, text: str, title: str = "Seeded") -> int:
    """A document (no round yet) in the server's database; its id."""
    engine = make_engine(server.database_url)
    migrate(engine)
    try:
        with session_scope(engine) as s:
            return documents.create_document(s, title, text).id
    finally:
        engine.dispose()


def seed_round(
    server: AppServer,
    text: str,
    rules: dict[str, str] | None = None,
    title: str = "Seeded",
    proposer: object = None,
    settings: rounds.RoundSettings | None = None,
) -> tuple[int, int, int]:
    """A document with a round under review in the server's database: (document, round, user) ids.
    The edits come from `proposer`, or a ReplaceProposer with `rules`; `settings` are the round's."""
    engine = make_engine(server.database_url)
    migrate(engine)  # the app migrates on its first page load; the test may come first
    try:
        with session_scope(engine) as s:
            doc = documents.create_document(s, title, text)
            user_id = documents.default_user(s).id
            thread_id = threads.active_thread(s, doc.id, user_id).id
            doc_id = doc.id
        proposer = proposer or ReplaceProposer(rules or {})
        rnd = rounds.propose_round(engine, thread_id, settings or rounds.RoundSettings(), proposer=proposer)
        assert rnd.status == "reviewing", rnd.error
        return doc_id, rnd.id, user_id
    finally:
        engine.dispose()


def decisions(database_url: str) -> list[Decision]:
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as s:
            return list(s.exec(select(Decision).order_by(Decision.id)).all())
    finally:
        engine.dispose()


def with_engine(database_url: str) -> Engine:
    return make_engine(database_url)


def start_on_port(tmp: Path, port: int) -> subprocess.Popen:
    """`streamlit run app.py` on a given port and tmp/data/redraft.db (as conftest.start_app does), to
    restart an app where the browser expects it."""
    data_dir = tmp / "data"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{data_dir / 'redraft.db'}",
        "REDRAFT_DATA_DIR": str(data_dir),
        "HF_HUB_OFFLINE": "1",
    }
    log = (tmp / f"streamlit-{port}.log").open("a")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.headless=true", "--server.address=127.0.0.1", f"--server.port={port}",
            "--server.fileWatcherType=none", "--browser.gatherUsageStats=false",
        ],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as resp:
                if resp.read() == b"ok":
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit did not restart")


PASSWORD = "correct horse battery"  # people the campaign helpers make with `password=PASSWORD`


def sign_in(page: Page, name: str, password: str = PASSWORD) -> None:
    """The password sign-in form (a server started with REDRAFT_SIGNIN=password)."""
    page.get_by_role("textbox", name="User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_for_app(page)


def annotator_tab(browser: Browser, server: AppServer, name: str, password: str = PASSWORD) -> Page:
    """A new browser profile signed in as annotator `name` (a REDRAFT_SIGNIN=password server), on the
    Annotate page. Every address it requests is kept in `page.requests`."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    page.requests = []  # type: ignore[attr-defined]
    page.on("request", lambda r: page.requests.append(r.url))  # type: ignore[attr-defined]
    page.goto(server.url)
    wait_for_app(page)
    sign_in(page, name, password)
    page.get_by_role("link", name="Annotate").click()
    wait_for_app(page)
    return page
