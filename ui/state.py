"""Per-process resources and per-session state for pages."""

from __future__ import annotations

import threading

import streamlit as st
from sqlalchemy.engine import Engine
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from core.access import Actor
from core.services import accounts, worker


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


_RUN_ACTOR = "_run_actor"  # (user id, Actor) read in this full run


def begin_run() -> None:
    """app.py, first: the signed-in person is read from the database once per run, not by every widget
    that asks. Each run reads afresh, so a role taken away holds from the next click."""
    st.session_state[_RUN_ACTOR] = None


def actor() -> Actor:
    """The signed-in person, as the services take them."""
    user_id = current_user_id()
    ctx = get_script_run_ctx()
    if ctx is not None and ctx.fragment_ids_this_run:  # a fragment's rerun: app.py did not begin it
        return accounts.actor(engine(), user_id)
    memo = st.session_state.get(_RUN_ACTOR, False)
    if memo is False:  # no begin_run (a page run on its own): nothing to reuse
        return accounts.actor(engine(), user_id)
    if memo is None or memo[0] != user_id:
        memo = (user_id, accounts.actor(engine(), user_id))
        st.session_state[_RUN_ACTOR] = memo
    return memo[1]


def current_user_id() -> int:
    """The signed-in user, set by ui.signin.signed_in_user() (app.py runs it before any page)."""
    if "user_id" not in st.session_state:
        st.stop()  # nobody signed in: app.py has drawn the sign-in page
    return st.session_state.user_id


def current_project_id() -> int:
    if "project_id" not in st.session_state:
        st.session_state.project_id = accounts.home_project_id(engine(), actor())
    return st.session_state.project_id


def flash(message: str, kind: str = "success") -> None:
    """A message shown once on the next run (survives st.rerun)."""
    st.session_state.setdefault("_flash", []).append((kind, message))


def show_flashes() -> None:
    for kind, message in st.session_state.pop("_flash", []):
        getattr(st, kind)(message)
