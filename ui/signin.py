"""Who is using the app, per sign-in mode (core.signin.SignInMode, REDRAFT_SIGNIN):

- local: the embedded single person, the local admin; nobody to switch to.
- password: the built-in sign-in form; a reload stays signed in through a session cookie (HttpOnly,
  set by ui/session_routes, when served by `streamlit run serve.py`).
- oidc: Streamlit's native sign-in (st.login / st.user, `[auth]` in .streamlit/secrets.toml); the
  signed-in email maps to a user row (core.joining), others see a "not invited" page.

`signed_in_user()` runs first on every run (app.py) and stops the run until someone is signed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from core.errors import RedraftError
from core.joining import NotInvited
from core.services import accounts
from core.signin import SESSION_COOKIE, SESSION_DAYS, SignInMode, TooManyAttempts, sign_in_mode
from ui import session_routes
from ui.state import actor, engine
from ui.text import md_escape

# Writes (or clears) the session cookie from the page: Streamlit has no server-side cookie API. A
# components-v2 component runs in the app's own document (no iframe), so document.cookie is the app's.
_COOKIE_JS = """
export default function (component) {
  const { data } = component
  if (!data || !data.name) return
  const secure = location.protocol === "https:" ? "; Secure" : ""
  const current = document.cookie.split("; ").find((c) => c.startsWith(data.name + "="))
  if (data.value) {
    if (current === data.name + "=" + data.value) return
    document.cookie = data.name + "=" + data.value + "; Max-Age=" + data.max_age + "; Path=/; SameSite=Strict" + secure
  } else if (current) {
    document.cookie = data.name + "=; Max-Age=0; Path=/; SameSite=Strict" + secure
  }
}
"""
_cookie_writer = st.components.v2.component("redraft_session_cookie", html="<span></span>", js=_COOKIE_JS)


def _set_cookie(value: str | None) -> None:
    if session_routes.mounted():  # the cookie is HttpOnly, set and cleared by the HTTP routes only
        return
    with st.sidebar:
        _cookie_writer(
            key="session_cookie",
            data={"name": SESSION_COOKIE, "value": value or "", "max_age": SESSION_DAYS * 86400},
            height=0,
        )


# Sends the browser to one of ui/session_routes' paths (a full page load: only HTTP sets the cookie).
_GO_JS = """
export default function (component) {
  const { data } = component
  if (data && typeof data.url === "string" && data.url.startsWith("/auth/")) window.location.replace(data.url)
}
"""
_go = st.components.v2.component("redraft_go", html="<span></span>", js=_GO_JS)


def _go_to(path: str, **query: str) -> None:
    """Leave the page for a session route, coming back to where the person is now; stops the run."""
    here = urlsplit(str(st.context.url or "/"))
    back = session_routes.local_path(here.path + (f"?{here.query}" if here.query else ""))
    st.caption("Signing you in…" if path == session_routes.SESSION_PATH else "Signing you out…")
    _go(key="session_go", data={"url": f"{path}?{urlencode({**query, 'next': back})}"}, height=0)
    st.stop()


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def mode() -> SignInMode:
    try:
        return sign_in_mode()
    except RedraftError as exc:  # a misconfigured deployment: say so instead of guessing a mode
        st.error(md_escape(str(exc)))
        st.stop()
    raise AssertionError("unreachable")


def signed_in_user() -> int:
    """The signed-in user's id (set as st.session_state.user_id); stops the run with the sign-in page
    while nobody is signed in."""
    current = mode()
    if current is SignInMode.LOCAL:
        if "user_id" not in st.session_state:
            st.session_state.user_id = accounts.local_user_id(engine())
        if str(st.get_option("server.address") or "127.0.0.1") not in _LOOPBACK:
            st.sidebar.warning(
                "Local mode on a shared address: whoever reaches this app is its admin. "
                "Set REDRAFT_SIGNIN=password or oidc for several people.",
                icon=":material/warning:",
            )
    elif current is SignInMode.PASSWORD:
        _password_user()
    else:
        _oidc_user()
    return st.session_state.user_id


# --- password ----------------------------------------------------------------------------------------------


def _password_user() -> None:
    # The session's token, else the cookie's (a reload); checked on every run, so a sign-out in
    # another tab or an expired session ends this one too.
    cookie = st.context.cookies.get(SESSION_COOKIE)
    token = st.session_state.get("session_token") or (cookie if isinstance(cookie, str) else None)
    user_id = accounts.resume(engine(), token) if token else None
    if user_id is None:
        st.session_state.pop("user_id", None)
        st.session_state.pop("session_token", None)
        _set_cookie(None)  # a stale cookie (expired, revoked) goes
        _password_form()
        st.stop()
    st.session_state.user_id, st.session_state.session_token = user_id, token
    _set_cookie(token)
    if st.sidebar.button("Sign out", icon=":material/logout:", key="sign_out"):
        accounts.sign_out(engine(), st.session_state.get("session_token"))
        st.session_state.clear()
        if session_routes.mounted():
            _go_to(session_routes.SIGNOUT_PATH)
        st.rerun()


def _password_form() -> None:
    st.title("Sign in to Redraft")
    with st.form("login"):
        name = st.text_input("User name", key="login_name")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    routes = session_routes.mounted()
    try:
        signed = accounts.sign_in(engine(), name, password, address=st.context.ip_address, handoff=routes)
    except TooManyAttempts as exc:
        st.warning(str(exc), icon=":material/hourglass:")
        return
    except RedraftError as exc:
        st.error(md_escape(str(exc)))
        return
    if routes:  # the browser takes the code to the cookie route and comes back signed in
        _go_to(session_routes.SESSION_PATH, code=signed.token)
    st.session_state.user_id, st.session_state.session_token = signed.user_id, signed.token
    st.rerun()


# --- OIDC ------------------------------------------------------------------------------------------------


def _providers() -> list[str] | None:
    """Named providers ([auth.NAME] sections); empty when one provider sits directly under [auth];
    None when there is no [auth] section at all."""
    try:
        auth = st.secrets.get("auth")
    except (FileNotFoundError, StreamlitSecretNotFoundError):
        return None
    if not isinstance(auth, Mapping):
        return None
    return [name for name, value in auth.items() if isinstance(value, Mapping)]


def _oidc_user() -> None:
    if not st.user.is_logged_in:
        st.session_state.pop("user_id", None)
        st.title("Sign in to Redraft")
        providers = _providers()
        if providers is None:
            st.error(
                "REDRAFT_SIGNIN=oidc needs an [auth] section in .streamlit/secrets.toml (redirect_uri, "
                "cookie_secret, and the provider's client_id, client_secret, server_metadata_url): see the README."
            )
            st.stop()
        for name in providers:
            st.button(f"Sign in with {name}", key=f"oidc_{name}", on_click=st.login, args=(name,), type="primary")
        if not providers:
            st.button("Sign in", key="oidc_login", on_click=st.login, type="primary", icon=":material/login:")
        st.stop()
    email = str(st.user.get("email") or "")
    if st.session_state.get("_oidc_email") != email or "user_id" not in st.session_state:
        verified = st.user.get("email_verified", True) not in (False, "false")
        try:
            st.session_state.user_id = accounts.oidc_user_id(engine(), email, st.user.get("name"), verified=verified)
        except NotInvited as exc:
            st.title("Not invited")
            st.error(md_escape(str(exc)), icon=":material/block:")
            st.button("Sign out", key="oidc_logout_refused", on_click=st.logout)
            st.stop()
        st.session_state._oidc_email = email
    st.sidebar.button("Sign out", key="sign_out", icon=":material/logout:", on_click=st.logout)


def who_caption() -> None:
    """Who is working, in the sidebar (plain text: names are not Markdown)."""
    me = actor()
    label = "Local mode" if mode() is SignInMode.LOCAL else "Signed in as"
    st.sidebar.caption(f"{label}: {md_escape(me.name)} ({me.role})")
