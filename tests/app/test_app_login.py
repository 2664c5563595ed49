"""Sign-in modes through the whole app (AppTest): local mode is the local admin with nobody to switch
to; password mode shows the form, says when the password is wrong or the tries are used up; OIDC maps
the signed-in email to a person (invited) or shows "not invited"."""

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core import db, joining
from core.db import read_scope, session_scope
from core.models import SignInSession
from core.services import accounts
from core.signin import ACCOUNT_FREE_ATTEMPTS
from core.users import create_user
from tests.conftest import REPO


def make_app(tmp_path, monkeypatch, mode: str | None = None, **env: str) -> AppTest:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("REDRAFT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("REDRAFT_LOGIN", raising=False)
    monkeypatch.delenv("REDRAFT_SIGNIN", raising=False)
    if mode:
        monkeypatch.setenv("REDRAFT_SIGNIN", mode)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    eng = db.open_database(url)
    with session_scope(eng) as s:
        create_user(s, "ann1", "annotator", "correct horse")
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=30)


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    return at.button[0].click().run()


def test_local_mode_is_the_local_admin_with_nobody_to_switch_to(tmp_path, monkeypatch):
    at = make_app(tmp_path, monkeypatch).run()
    assert not at.exception
    assert at.title[0].value == "Documents"
    assert list(at.sidebar.selectbox) == []  # the old "Working as" switcher offered every person
    assert any(c.value == "Local mode: local (admin)" for c in at.sidebar.caption)
    at.switch_page("app_pages/people.py").run()  # the local admin manages people
    assert at.title[0].value == "People"
    assert "ann1" in at.dataframe[0].value["Name"].tolist()


def test_local_mode_on_a_shared_address_warns(tmp_path, monkeypatch):
    from streamlit import config

    at = make_app(tmp_path, monkeypatch)
    previous = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        at.run()
    finally:
        config.set_option("server.address", previous)
    assert "whoever reaches this app is its admin" in at.sidebar.warning[0].value
    local = AppTest.from_file(str(REPO / "app.py"), default_timeout=30).run()
    assert local.sidebar.caption and not local.sidebar.warning  # a loopback address (the default)


def test_paste_creates_a_document(tmp_path, monkeypatch):
    at = make_app(tmp_path, monkeypatch).run()
    at.text_input(key="paste_title").input("Essay")
    at.text_area(key="paste_text").input("Some text.\r\nMore.")
    at.button[0].click().run()  # the form's submit button
    assert not at.exception
    assert any("Created" in s.value for s in at.success)


def test_empty_paste_shows_an_error_and_writes_nothing(tmp_path, monkeypatch):
    at = make_app(tmp_path, monkeypatch).run()
    at.text_input(key="paste_title").input("Empty")
    at.text_area(key="paste_text").input("   ")
    at.button[0].click().run()
    assert any("empty" in e.value for e in at.error)
    with session_scope(db.open_database(f"sqlite:///{tmp_path / 'app.db'}")) as s:
        from core.documents import list_documents

        assert list_documents(s) == []


@pytest.mark.parametrize("env", [{"REDRAFT_SIGNIN": "password"}, {"REDRAFT_LOGIN": "1"}])
def test_password_mode_wrong_then_right(tmp_path, monkeypatch, env):
    at = make_app(tmp_path, monkeypatch, **env).run()
    assert at.title[0].value == "Sign in to Redraft"
    assert len(at.sidebar.button) == 0  # no pages, no sign-out before signing in
    sign_in(at, "ann1", "wrong password")
    assert [e.value for e in at.error] == ["Wrong user name or password\\."]
    sign_in(at, "nobody", "wrong password")
    assert [e.value for e in at.error] == ["Wrong user name or password\\."]  # the same for an unknown name
    sign_in(at, "ann1", "correct horse")
    assert not at.exception
    assert at.title[0].value == "Documents"
    assert any(c.value == "Signed in as: ann1 (annotator)" for c in at.sidebar.caption)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/people.py")  # not among an annotator's pages
    eng = db.open_database(f"sqlite:///{tmp_path / 'app.db'}")
    with read_scope(eng) as s:
        assert s.exec(select(SignInSession)).one().revoked_at is None
    at.sidebar.button(key="sign_out").click().run()
    assert at.title[0].value == "Sign in to Redraft"
    with read_scope(eng) as s:
        assert s.exec(select(SignInSession)).one().revoked_at is not None  # the cookie's token is dead


def test_signing_out_elsewhere_ends_this_session(tmp_path, monkeypatch):
    at = make_app(tmp_path, monkeypatch, "password").run()
    sign_in(at, "ann1", "correct horse")
    assert at.title[0].value == "Documents"
    eng = db.open_database(f"sqlite:///{tmp_path / 'app.db'}")
    accounts.sign_out(eng, at.session_state["session_token"])  # another tab (same token) signed out
    at.run()
    assert at.title[0].value == "Sign in to Redraft"


def test_password_mode_says_when_to_try_again(tmp_path, monkeypatch):
    at = make_app(tmp_path, monkeypatch, "password").run()
    for _ in range(ACCOUNT_FREE_ATTEMPTS):
        sign_in(at, "ann1", "wrong password")
    sign_in(at, "ann1", "correct horse")
    assert at.title[0].value == "Sign in to Redraft"
    assert len(at.warning) == 1 and "Too many sign-in attempts; try again in" in at.warning[0].value


def test_unknown_sign_in_mode_says_so(tmp_path, monkeypatch):
    at = make_app(tmp_path, monkeypatch, "ldap").run()
    assert "REDRAFT\\_SIGNIN" in at.error[0].value
    assert not at.title


def oidc_app(tmp_path, monkeypatch, email: str, **env: str) -> AppTest:
    at = make_app(tmp_path, monkeypatch, "oidc", **env)
    at.user = {"is_logged_in": True, "email": email, "name": email.split("@")[0]}
    return at


AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "s" * 32}


def test_oidc_not_signed_in_shows_the_sign_in_buttons(tmp_path, monkeypatch):
    at = make_app(tmp_path, monkeypatch, "oidc")
    at.user = {"is_logged_in": False}
    at.secrets = {"auth": {**AUTH, "client_id": "x", "client_secret": "y", "server_metadata_url": "http://idp/"}}
    at.run()
    assert at.title[0].value == "Sign in to Redraft"
    assert at.button(key="oidc_login").label == "Sign in"
    provider = {"client_id": "x", "client_secret": "y", "server_metadata_url": "http://idp/"}
    at.secrets = {"auth": {**AUTH, "google": provider, "microsoft": provider}}
    at.run()
    assert [b.label for b in at.button] == ["Sign in with google", "Sign in with microsoft"]


def test_oidc_without_auth_secrets_says_what_to_configure(tmp_path, monkeypatch):
    at = make_app(tmp_path, monkeypatch, "oidc")
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception
    assert "REDRAFT_SIGNIN=oidc needs an [auth] section in .streamlit/secrets.toml" in at.error[0].value


def test_oidc_invited_email_joins_with_its_role(tmp_path, monkeypatch):
    at = oidc_app(tmp_path, monkeypatch, "Rosa@Example.com")
    with session_scope(db.open_database(f"sqlite:///{tmp_path / 'app.db'}")) as s:
        joining.invite(s, "rosa@example.com", "researcher", None, None)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Documents"
    assert any(c.value == "Signed in as: Rosa (researcher)" for c in at.sidebar.caption)


def test_oidc_stranger_is_not_invited(tmp_path, monkeypatch):
    at = oidc_app(tmp_path, monkeypatch, "eve@elsewhere.example", REDRAFT_ALLOWED_DOMAINS="uni.example").run()
    assert at.title[0].value == "Not invited"
    assert "eve@elsewhere\\.example is not invited" in at.error[0].value
    assert at.button(key="oidc_logout_refused").label == "Sign out"


def test_oidc_admin_email_gets_the_people_page(tmp_path, monkeypatch):
    at = oidc_app(tmp_path, monkeypatch, "boss@example.org", REDRAFT_ADMIN_EMAILS="boss@example.org").run()
    assert any(c.value == "Signed in as: boss (admin)" for c in at.sidebar.caption)
    at.switch_page("app_pages/people.py").run()
    at.text_input(key="pp_email").input("new@uni.example")
    at.selectbox(key="pp_role").select("researcher")
    at.form_submit_button[0].click().run()
    assert not at.exception
    assert any("Invited new@uni\\.example as researcher" in s.value for s in at.success)
    assert any("new@uni.example · researcher" in t.value for t in at.text)
