"""Per-process resources and per-session state for pages."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.engine import Engine

from core.db import open_database, session_scope
from core.documents import default_project, default_user


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    """The process-wide engine, migrated to head on first use."""
    return open_database()


def current_user_id() -> int:
    """The signed-in user (the default local user when login is off)."""
    if "user_id" not in st.session_state:
        with session_scope(engine()) as s:
            st.session_state.user_id = default_user(s).id
    return st.session_state.user_id


def current_project_id() -> int:
    if "project_id" not in st.session_state:
        with session_scope(engine()) as s:
            st.session_state.project_id = default_project(s).id
    return st.session_state.project_id


def flash(message: str, kind: str = "success") -> None:
    """A message shown once on the next run (survives st.rerun)."""
    st.session_state.setdefault("_flash", []).append((kind, message))


def show_flashes() -> None:
    for kind, message in st.session_state.pop("_flash", []):
        getattr(st, kind)(message)
