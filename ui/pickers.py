"""Widgets that pick what a page works on."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.engine import Engine

from core.services import documents
from ui.state import actor, current_project_id


def document_picker(eng: Engine, key: str, *, link_to_documents: bool = False) -> tuple[int, dict[int, str]]:
    """A "Document" selectbox over the current project's documents; returns the picked id and titles by id.

    Stops the page with a hint when the project has no documents. The selectbox has its own
    `key`: a widget's key is dropped on pages that do not show it, and `document_id` is shared
    across pages, so the picker is seeded from it and writes the choice back to it.
    """
    docs = documents.list_documents(eng, actor(), current_project_id())
    if not docs:
        st.info("No documents yet: create one on the Documents page first.", icon=":material/info:")
        if link_to_documents:
            st.page_link("app_pages/documents.py", label="Go to Documents", icon=":material/description:")
        st.stop()

    titles = {d.id: d.title for d in docs}
    if st.session_state.get("document_id") not in titles:
        st.session_state.document_id = docs[0].id
    if st.session_state.get(key) != st.session_state.document_id:
        st.session_state[key] = st.session_state.document_id

    def _pick_document() -> None:
        st.session_state.document_id = st.session_state[key]

    doc_id = st.selectbox(
        "Document", list(titles), format_func=lambda i: titles.get(i, f"#{i}"), key=key, on_change=_pick_document
    )
    return doc_id, titles
