"""Sign-in through a real OIDC provider (oidc-provider-mock on 127.0.0.1, as Streamlit's own
e2e_playwright/auth_test.py does) in Chromium, then what each role sees, on one app server.

The shared document (the local admin's) carries Otto's decisions. Ann is invited as an annotator,
Rosa as a researcher, boss@example.org is a first admin (REDRAFT_ADMIN_EMAILS); a stranger is not
invited. One app start; each person signs in in a browser context of their own."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from core import documents, joining, users
from core.db import make_engine, migrate, session_scope
from core.revision import review, rounds, threads
from tests.browser.conftest import AppServer, free_port, start_app, stop_app, wait_for_app
from tests.proposers_for_tests import ReplaceProposer

pytestmark = pytest.mark.browser

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the mock imports authlib.jose, deprecated in Authlib 1.9
    import oidc_provider_mock

PEOPLE = {
    "ann": {"email": "ann@uni.example", "name": "Ann", "email_verified": True},
    "rosa": {"email": "rosa@uni.example", "name": "Rosa", "email_verified": True},
    "boss": {"email": "boss@example.org", "name": "Boss", "email_verified": True},
    "eve": {"email": "eve@elsewhere.example", "name": "Eve", "email_verified": True},
}


@pytest.fixture(scope="module")
def idp() -> Iterator[str]:
    """The identity provider, with its people."""
    with oidc_provider_mock.run_server_in_thread(port=0) as server:
        url = f"http://127.0.0.1:{server.server_port}"
        for sub, claims in PEOPLE.items():
            assert httpx.put(f"{url}/users/{sub}", json=claims).status_code == 204
        yield url


def _seed(database_url: str) -> None:
    """The shared document with a round of Otto's, two decisions; Ann and Rosa invited."""
    engine = make_engine(database_url)
    migrate(engine)
    try:
        with session_scope(engine) as s:
            otto = users.create_user(s, "Otto", "annotator", email="otto@uni.example").id
            doc_id = documents.create_document(s, "Shared", "Teh cat sat on teh mat.").id
            thread_id = threads.active_thread(s, doc_id, otto).id
            joining.invite(s, "ann@uni.example", "annotator", None, None)
            joining.invite(s, "rosa@uni.example", "researcher", None, None)
        rnd = rounds.propose_round(
            engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer({"Teh": "The", "teh": "the"})
        )
        with session_scope(engine) as s:
            for edit in review.round_view(s, rnd.id, otto).edits:
                review.decide(s, edit.row.id, otto, "accept", round_id=rnd.id)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def oidc_app(tmp_path_factory: pytest.TempPathFactory, idp: str) -> Iterator[AppServer]:
    tmp = tmp_path_factory.mktemp("oidc")
    port = free_port()
    secrets = tmp / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "a-test-cookie-secret-long-enough-to-sign-with"\n'
        'client_id = "redraft-test"\n'
        'client_secret = "redraft-test-secret"\n'
        f'server_metadata_url = "{idp}/.well-known/openid-configuration"\n'
    )
    (tmp / "data").mkdir()
    _seed(f"sqlite:///{tmp / 'data' / 'redraft.db'}")
    env = {
        "REDRAFT_SIGNIN": "oidc",
        "REDRAFT_ADMIN_EMAILS": "boss@example.org",
        "STREAMLIT_SECRETS_FILES": str(secrets),
    }
    server = start_app(tmp, env, port=port)
    yield server
    stop_app(server)


def sign_in(browser: Browser, server: AppServer, sub: str) -> Page:
    """A fresh browser: the app's sign-in button, the provider's page (sub, Authorize), back in the app."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(30_000)
    page.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())  # the provider's stylesheet: offline
    page.goto(server.url)
    wait_for_app(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**")
    page.locator("input[name='sub']").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{server.url}/**")
    wait_for_app(page)
    return page


def go(page: Page, title: str) -> None:
    page.get_by_role("link", name=title, exact=True).click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()


def metric(page: Page, label: str) -> str:
    box = page.get_by_test_id("stMetric").filter(has_text=label)
    return box.get_by_test_id("stMetricValue").inner_text()


def test_annotator_sees_only_their_own_and_no_admin_controls(browser, oidc_app):
    page = sign_in(browser, oidc_app, "ann")
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Signed in as: Ann (annotator)")).to_be_visible()
    expect(sidebar.get_by_role("link", name="People")).to_have_count(0)
    expect(page.get_by_role("button", name="Create document")).to_have_count(0)  # annotators do not create

    page.reload()  # Streamlit's identity cookie keeps the person signed in
    wait_for_app(page)
    expect(sidebar.get_by_text("Signed in as: Ann (annotator)")).to_be_visible()

    go(page, "Export")
    assert metric(page, "Decided edits") == "0"  # Otto's two decisions are not hers to see
    expect(page.get_by_text("You export your own decisions only")).to_be_visible()
    go(page, "Analytics")
    expect(page.get_by_text("You see the edits proposed in your own revisions")).to_be_visible()
    page.get_by_text("Filters", exact=True).click()
    expect(page.get_by_test_id("stSelectbox").filter(has_text="Person")).to_be_visible()
    expect(page.get_by_test_id("stSelectbox").filter(has_text="Person")).not_to_contain_text("Everyone")
    go(page, "History")
    expect(page.get_by_text("Only the document's owner or an admin restores")).to_be_visible()
    expect(page.get_by_role("button", name="Restore as the current version")).to_have_count(0)
    go(page, "Models")
    expect(page.get_by_text("Add a proposer")).to_have_count(0)
    go(page, "Learning")
    page.get_by_role("tab", name="Project rules").click()
    expect(page.get_by_role("button", name="Save project settings")).to_have_count(0)
    expect(page.get_by_text("Only an admin can change them.")).to_be_visible()

    sidebar.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/oauth2/end_session**")  # Streamlit's sign-out ends the provider's session too
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{oidc_app.url}/**")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Sign in to Redraft")).to_be_visible()
    page.reload()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Sign in to Redraft")).to_be_visible()  # signed out for good
    page.context.close()


def test_researcher_exports_the_project(browser, oidc_app):
    page = sign_in(browser, oidc_app, "rosa")
    expect(page.get_by_test_id("stSidebar").get_by_text("Signed in as: Rosa (researcher)")).to_be_visible()
    go(page, "Export")
    assert metric(page, "Decided edits") == "2"  # Otto's, in her project
    page.get_by_role("button", name="Prepare download").click()
    wait_for_app(page)
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").first.click()
    assert "Teh" in Path(download.value.path()).read_text()
    expect(page.get_by_test_id("stSidebar").get_by_role("link", name="People")).to_have_count(0)
    page.context.close()


def test_admin_gets_people_and_every_control(browser, oidc_app):
    page = sign_in(browser, oidc_app, "boss")
    expect(page.get_by_test_id("stSidebar").get_by_text("Signed in as: Boss (admin)")).to_be_visible()
    go(page, "People")
    page.get_by_role("textbox", name="Email").fill("new@uni.example")
    page.get_by_role("button", name="Invite").click()
    wait_for_app(page)
    expect(page.get_by_text("new@uni.example · annotator in Default")).to_be_visible()
    go(page, "Models")
    expect(page.get_by_text("Add a proposer (a model or a server)")).to_be_visible()
    go(page, "Learning")
    page.get_by_role("tab", name="Project rules").click()
    expect(page.get_by_role("button", name="Save project settings")).to_be_visible()
    go(page, "History")
    expect(page.get_by_text("Only the document's owner or an admin restores")).to_have_count(0)
    page.context.close()


def test_stranger_is_not_invited(browser, oidc_app):
    page = sign_in(browser, oidc_app, "eve")
    expect(page.get_by_role("heading", name="Not invited")).to_be_visible()
    expect(page.get_by_text("eve@elsewhere.example is not invited")).to_be_visible()
    expect(page.get_by_role("link", name="Documents")).to_have_count(0)
    page.context.close()
