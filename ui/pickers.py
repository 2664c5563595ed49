"""Widgets that pick what a page works on, and the document (and round) a page's URL names.

The URL is the truth for one document (`?doc=ID`, and `&round=ID` where a round matters): a reload,
back / forward and a shared link open the same thing. `document_id` in the session only fills in
when the URL names none (the sidebar's page links drop query parameters).
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st
from sqlalchemy.engine import Engine

from ui import cached
from ui.state import actor, current_project_id

DOC_PARAM = "doc"
ROUND_PARAM = "round"
# A picker offers the most recently changed documents (and the open one): a selectbox of thousands is
# slow to draw and no one scrolls it; the Documents page lists, searches and opens every document.
PICKER_LIMIT = 100


def url_int(name: str) -> int | None:
    """A positive integer query parameter, or None when absent or not a number."""
    raw = st.query_params.get(name)
    return int(raw) if raw is not None and raw.isdigit() and int(raw) > 0 else None


PICKED = "_url_picked_doc"  # a document just picked in the selectbox: it wins over the URL once
UNLINKED = "_url_round_unlinked"  # the person moved away from the round the URL names


def write_url(**params: int | None) -> None:
    """Make the page's query parameters exactly `params` (None: absent) in ONE change: every change
    is a browser history entry, and back must go to the previous document, not half-way."""
    wanted = {k: str(v) for k, v in params.items() if v is not None}
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def linked_round() -> int | None:
    """The round the URL names, unless the person has since picked another document or pair."""
    if st.session_state.pop(UNLINKED, False):
        return None
    return url_int(ROUND_PARAM)


def unlink_round() -> None:
    """For a widget callback: what the page shows is no longer the URL's round."""
    st.session_state[UNLINKED] = True


def document_picker(eng: Engine, key: str, *, link_to_documents: bool = False) -> tuple[int, Mapping[int, str]]:
    """A "Document" selectbox over the current project's documents; returns the picked id and titles by id.

    Stops the page with a hint when the project has no documents. The document comes from the URL
    (`?doc=ID`), else from `document_id` in the session; the choice is written back to both. Labels
    are unique (a selectbox keeps its value as the label: two equal labels are one option). The page
    writes the URL (write_url) once it knows everything it names.
    """
    docs = cached.document_list(eng, actor(), current_project_id())
    if not docs.rows:
        st.info("No documents yet: create one on the Documents page first.", icon=":material/info:")
        if link_to_documents:
            st.page_link("app_pages/documents.py", label="Go to Documents", icon=":material/description:")
        st.stop()

    titles, labels = docs.titles, docs.labels
    picked = st.session_state.pop(PICKED, None)
    wanted = picked if picked is not None else url_int(DOC_PARAM)
    if wanted in titles:
        st.session_state.document_id = wanted
    elif picked is None and DOC_PARAM in st.query_params:
        st.warning(
            f"The link names document #{st.query_params.get(DOC_PARAM)}, which is not in this project "
            "(deleted, or never there). Showing another document.",
            icon=":material/link_off:",
        )
    if st.session_state.get("document_id") not in titles:
        st.session_state.document_id = docs.rows[0].id
    if st.session_state.get(key) != st.session_state.document_id:
        st.session_state[key] = st.session_state.document_id

    def _pick_document() -> None:
        st.session_state.document_id = st.session_state[PICKED] = st.session_state[key]
        unlink_round()  # a round belongs to the document it was linked with

    doc_id = st.selectbox(
        "Document",
        recent_first(list(titles), st.session_state.document_id),
        format_func=lambda i: labels.get(i, f"#{i}"),
        key=key,
        on_change=_pick_document,
        help=f"The {PICKER_LIMIT} most recently changed documents; open any other from the Documents page."
        if len(titles) > PICKER_LIMIT
        else None,
    )
    return doc_id, titles


def recent_first(ids: list[int], current: int | None) -> list[int]:
    """The first PICKER_LIMIT of `ids` (most recently changed first), and `current` wherever it is."""
    shown = ids[:PICKER_LIMIT]
    if current is not None and current in ids and current not in shown:
        shown.append(current)
    return shown
