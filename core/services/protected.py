"""Protected terms: words and phrases (names, jargon, citations, code) no proposer may change.

Added from an edit ("Never change 'GigaBERT'"), from the Learning page, or from feedback text once the
writer confirms the terms `terms_from_feedback` found in it. A term holds in one document or, for its
owner or an admin, in every document of a project (core.access decides who may do which).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import access
from core.access import Actor
from core.db import read_scope, session_scope
from core.decisions import EditStatus
from core.documents import get_document
from core.errors import InputError
from core.learning import hidden
from core.models import Document, ProtectedTerm, RoundStatus, TermScope, TermSource
from core.models import Edit as EditRow
from core.projects import get_project
from core.revision import protected, review, threads
from core.text import terms as text_terms


@dataclass(frozen=True)
class ProtectedTermView:
    id: int
    term: str
    scope: str  # TermScope: "document" or "project"
    source: str  # TermSource: edit, learning, feedback, cli
    project_id: int
    document_id: int | None
    document_title: str | None
    created_at: datetime


def _views(session: Session, rows: list[ProtectedTerm]) -> list[ProtectedTermView]:
    doc_ids = {r.document_id for r in rows if r.document_id is not None}
    titles = (
        dict(session.exec(select(Document.id, Document.title).where(col(Document.id).in_(doc_ids))).all())
        if doc_ids
        else {}
    )
    return [
        ProtectedTermView(
            id=r.id or 0,
            term=r.term,
            scope=protected.scope_of(r).value,
            source=r.source,
            project_id=r.project_id,
            document_id=r.document_id,
            document_title=titles.get(r.document_id) if r.document_id is not None else None,
            created_at=r.created_at,
        )
        for r in rows
    ]


def protect_term(
    engine: Engine, actor: Actor, *, document_id: int, term: str, scope: str = "document", source: str = "edit"
) -> ProtectedTermView:
    """Protect `term` in the document (scope "document") or in its whole project (scope "project").
    Protecting a term already protected there returns it as it is."""
    where = protected.check_scope(scope)
    how = protected.check_source(source)
    with session_scope(engine) as s:
        project = get_project(s, get_document(s, document_id).project_id)
        access.check_protect_terms(s, actor, document_id, where.value, project.owner_id)
        row = protected.add_term(s, document_id, term, scope=where, source=how, user_id=actor.user_id)
        return _views(s, [row])[0]


@dataclass(frozen=True)
class ProtectedFromEdit:
    term: ProtectedTermView
    hidden_edit_ids: tuple[int, ...]  # pending edits of the round that changed it, now hidden


def protect_edit_term(engine: Engine, actor: Actor, edit_id: int, *, scope: str = "document") -> ProtectedFromEdit:
    """Never change "X" on an edit: protect the word or phrase the edit's original span alters (in its
    document, or its project), and hide the edits of the round, still pending for this person, that
    change it. InputError when the edit alters no word (an insertion, spaces or punctuation)."""
    where = protected.check_scope(scope)
    with session_scope(engine) as s:
        edit = review.get_edit(s, edit_id)
        rnd = review.get_round(s, edit.round_id)
        access.authorize_round(s, actor, access.Action.THREAD_READ, rnd.id or 0)
        document_id = threads.get_thread(s, rnd.thread_id).document_id
        project = get_project(s, get_document(s, document_id).project_id)
        access.check_protect_terms(s, actor, document_id, where.value, project.owner_id)
        base_text = review.round_view(s, rnd.id or 0, actor.user_id).base_text
        term = text_terms.term_of_change(base_text, edit.start, edit.end)
        if term is None:
            raise InputError(
                f"This edit changes no word of the text ({edit.before!r}): there is nothing to protect from it."
            )
        row = protected.add_term(s, document_id, term, scope=where, source=TermSource.EDIT, user_id=actor.user_id)
        hide: list[EditRow] = []
        if rnd.status == RoundStatus.REVIEWING:
            spans = text_terms.term_spans(base_text, [row.term])
            states = review.edit_states(s, rnd.id or 0, actor.user_id)
            hide = [
                st.row
                for st in states
                if st.status == EditStatus.PENDING
                and st.row.hidden_kind is None
                and text_terms.touched_term(spans, st.row.start, st.row.end) is not None
            ]
            review.hide_edits(s, hide, hidden.protected(row.term))
        return ProtectedFromEdit(_views(s, [row])[0], tuple(r.id or 0 for r in hide))


def may_protect_in_project(engine: Engine, actor: Actor, round_id: int) -> bool:
    """Whether this person may protect a word of this round's document in its whole project (the
    project's owner or an admin): the review then offers "…in every document" beside "Never change"."""
    with read_scope(engine) as s:
        rnd = review.get_round(s, round_id)
        document = get_document(s, threads.get_thread(s, rnd.thread_id).document_id)
        project = get_project(s, document.project_id)
        return access.allowed(
            actor, access.Action.TERMS_PROTECT_PROJECT, access.ProjectRef(document.project_id, project.owner_id)
        )


def list_terms(
    engine: Engine, actor: Actor, *, document_id: int | None = None, project_id: int | None = None
) -> list[ProtectedTermView]:
    """With document_id: the terms that hold in that document (its project's first). With only
    project_id: every term protected in the project, project-wide ones first, then each document's."""
    with read_scope(engine) as s:
        if document_id is not None:
            access.authorize_document(s, actor, access.Action.DOCUMENT_READ, document_id)
            return _views(s, protected.terms_for_document(s, document_id))
        if project_id is not None:
            access.authorize(actor, access.Action.DOCUMENT_LIST, access.ProjectRef(project_id))
            return _views(s, protected.terms_in_project(s, project_id))
    raise InputError("Say which document's or project's protected terms to list.")


def remove_term(engine: Engine, actor: Actor, term_id: int) -> None:
    """Stop protecting a term (NotFoundError if it is gone already)."""
    with session_scope(engine) as s:
        row = protected.get_term(s, term_id)
        project = get_project(s, row.project_id)
        access.check_remove_term(
            actor, row.project_id, protected.scope_of(row).value, project.owner_id, row.created_by_id
        )
        protected.remove_term(s, term_id)


def terms_from_feedback(feedback: str) -> list[str]:
    """Terms a "don't change ..." instruction in feedback names (quoted, capitalised, camelCase or
    acronyms), for the writer to confirm before they are stored with protect_term(source="feedback")."""
    return text_terms.terms_from_feedback(feedback)


__all__ = [
    "ProtectedFromEdit",
    "ProtectedTermView",
    "TermScope",
    "list_terms",
    "protect_edit_term",
    "protect_term",
    "remove_term",
    "terms_from_feedback",
]
