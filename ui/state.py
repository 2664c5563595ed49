"""Per-process resources and per-session state for pages."""

from __future__ import annotations

import os
import threading

import streamlit as st
from sqlalchemy.engine import Engine

from core.access import Actor
from core.errors import RedraftError
from core.services import accounts, worker
from ui.text import md_escape


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    """The process-wide engine, migrated to head on first use; this process's job worker starts
    with it (unless REDRAFT_WORKER=external leaves jobs to `python -m core worker`)."""
    eng = worker.open_app_database()
    _worker(eng.url.render_as_string(hide_password=False))
    return eng


@st.cache_resource(show_spinner=False)
def _worker(url: str) -> threading.Event | None:
    """One set of worker threads per process and database."""
    if not worker.in_app_worker_enabled():
        return None
    return worker.start_threads(worker.open_app_database(url))


def actor() -> Actor:
    """The signed-in person, as the services take them."""
    return accounts.actor(engine(), current_user_id())


def login_required() -> bool:
    """Login is off by default (one local writer); REDRAFT_LOGIN=1 turns it on for shared servers."""
    return os.environ.get("REDRAFT_LOGIN", "").lower() in ("1", "true", "yes")


def current_user_id() -> int:
    """The signed-in user (the default local user when login is off)."""
    if "user_id" not in st.session_state:
        if login_required():
            st.stop()  # app.py shows the login form before any page runs
        st.session_state.user_id = accounts.local_user_id(engine())
    return st.session_state.user_id


def login_form() -> None:
    """Sign-in form; on success the session's user is set and the app reruns."""
    st.title("Sign in to Redraft")
    with st.form("login"):
        name = st.text_input("User name")
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Sign in", type="primary"):
            try:
                st.session_state.user_id = accounts.sign_in(engine(), name, password)
                st.rerun()
            except RedraftError as exc:
                st.error(md_escape(str(exc)))  # the message quotes the name typed: text, not Markdown


def user_switcher() -> None:
    """Without login, pick who is working (annotators each get their own threads)."""
    people = [(p.id, p.name, p.role) for p in accounts.people(engine())]
    ids = [p[0] for p in people]
    labels = {p[0]: f"{p[1]} ({p[2]})" for p in people}
    current = current_user_id()
    chosen = st.sidebar.selectbox(
        "Working as", ids, index=ids.index(current) if current in ids else 0, format_func=labels.get, key="user_pick"
    )
    if chosen != current:
        st.session_state.user_id = chosen
        st.rerun()


def current_project_id() -> int:
    if "project_id" not in st.session_state:
        st.session_state.project_id = accounts.default_project_id(engine())
    return st.session_state.project_id


def flash(message: str, kind: str = "success") -> None:
    """A message shown once on the next run (survives st.rerun)."""
    st.session_state.setdefault("_flash", []).append((kind, message))


def show_flashes() -> None:
    for kind, message in st.session_state.pop("_flash", []):
        getattr(st, kind)(message)
