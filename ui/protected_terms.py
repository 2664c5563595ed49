"""Protected terms on the pages: what a proposer does with feedback, confirming the terms found in
"don't change ..." feedback (Revise), and the list with add and remove (Learning).

Every change goes through core.services.protected, acting for the signed-in person."""

from __future__ import annotations

import hashlib

import streamlit as st
from sqlalchemy.engine import Engine

from core.access import Actor
from core.errors import RedraftError
from core.proposers.base import SpecData
from core.proposers.feedback_use import describe_feedback_use
from core.services import protected
from ui import cached
from ui.state import flash
from ui.text import md_escape


def _protect(engine: Engine, actor: Actor, document_id: int, terms: list[str], scope: str, source: str) -> None:
    try:
        for term in terms:
            protected.protect_term(engine, actor, document_id=document_id, term=term, scope=scope, source=source)
    except RedraftError as exc:
        flash(str(exc), "error")
        return
    flash(f"Protected: {', '.join(terms)}. No proposer will change them from the next round on.")


def _dismiss(key: str) -> None:
    st.session_state[key] = True


def feedback_panel(engine: Engine, actor: Actor, document_id: int, spec: SpecData, feedback: str) -> None:
    """Under the feedback box: what this proposer does with feedback, and the terms "don't change ..."
    feedback names that are not protected yet, to confirm (nothing is stored unconfirmed)."""
    st.caption(describe_feedback_use(spec))
    found = protected.terms_from_feedback(feedback)
    if not found:
        return
    have = {t.term for t in protected.list_terms(engine, actor, document_id=document_id)}
    new = [t for t in found if t not in have]
    digest = hashlib.sha1("\n".join([str(document_id), *new]).encode()).hexdigest()[:12]
    dismissed = f"_pt_dismissed_{digest}"
    if not new or st.session_state.get(dismissed):
        return
    with st.container(border=True, key="pt_feedback_confirm"):
        st.markdown("**Protect these terms?** Your feedback asks not to change them.")
        picked = st.pills("Terms to protect", new, selection_mode="multi", default=new, key=f"pt_pick_{digest}")
        with st.container(horizontal=True):
            st.button(
                "Protect in this document",
                key="pt_feedback_protect",
                type="primary",
                icon=":material/shield:",
                disabled=not picked,
                on_click=_protect,
                args=(engine, actor, document_id, list(picked or []), "document", "feedback"),
            )
            st.button("Not now", key="pt_feedback_dismiss", on_click=_dismiss, args=(dismissed,))


def _remove(engine: Engine, actor: Actor, term_id: int, term: str) -> None:
    try:
        protected.remove_term(engine, actor, term_id)
        flash(f"{term} is no longer protected.")
    except RedraftError as exc:
        flash(str(exc), "error")


def learning_section(engine: Engine, actor: Actor, project_id: int) -> None:
    """The project's protected terms (project-wide and per document), with add and remove."""
    st.subheader("Protected terms")
    st.caption(
        "Names, jargon, citations or code that no proposer may change. The built-in rules skip them; models "
        "are told about them and any edit of theirs that would still change one is hidden."
    )
    terms = protected.list_terms(engine, actor, project_id=project_id)
    if not terms:
        st.caption("None yet. Add one below, from an edit (Never change …), or from “don't change …” feedback.")
    for t in terms:
        where = "whole project" if t.scope == "project" else f"document {t.document_title or ''} (#{t.document_id})"
        c1, c2 = st.columns([8, 2], vertical_alignment="center")
        shown = t.term.replace("`", "'")  # inline code shows the term literally; a backtick would end it
        c1.markdown(f"`{shown}` · {md_escape(where)} · added from {md_escape(t.source)}")
        c2.button(
            "Remove",
            key=f"pt_remove_{t.id}",
            icon=":material/delete:",
            on_click=_remove,
            args=(engine, actor, t.id, t.term),
        )
    docs = cached.document_list(engine, actor, project_id)
    if not docs.rows:
        return
    labels = docs.labels
    choices = [0, *labels]  # 0: the whole project (a document id is never 0)
    with st.form("pt_add", border=False, clear_on_submit=True):
        c1, c2, c3 = st.columns([4, 4, 2], vertical_alignment="bottom")
        term = c1.text_input("Term to protect", key="pt_add_term", max_chars=200, placeholder="e.g. GigaBERT")
        place = c2.selectbox(
            "Where",
            choices,
            format_func=lambda i: labels.get(i, "The whole project"),
            index=1,
            key="pt_add_where",
            help="A whole project's terms can be added by its owner or an admin.",
        )
        if c3.form_submit_button("Protect", icon=":material/shield:"):
            scope = "project" if not place else "document"
            try:
                protected.protect_term(
                    engine, actor, document_id=place or docs.rows[0].id, term=term, scope=scope, source="learning"
                )
                flash(f"Protected {term.strip()}.")
                st.rerun()
            except RedraftError as exc:
                st.error(md_escape(str(exc)), icon=":material/error:")
