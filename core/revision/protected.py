"""Protected terms: the one owner of the ProtectedTerm table.

A term protected for a document holds in that document; one protected for a project holds in every
document of it. Rounds read the terms that hold for their document (`terms_for_document`) into the
request, so every proposer gets them; `core.revision.feedback.screen_edits` hides any edit that still
touches one (a model may ignore its prompt).
"""

from __future__ import annotations

from sqlalchemy import delete, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.documents import get_document
from core.errors import InputError, NotFoundError
from core.models import ProtectedTerm, TermScope, TermSource
from core.text.terms import clean_term


def check_scope(scope: str) -> TermScope:
    try:
        return TermScope(scope)
    except ValueError:
        raise InputError(f"A term is protected for a 'document' or a 'project', not {scope!r}.") from None


def check_source(source: str) -> TermSource:
    try:
        return TermSource(source)
    except ValueError:
        known = ", ".join(s.value for s in TermSource)
        raise InputError(f"Unknown source {source!r} of a protected term; use one of {known}.") from None


def scope_of(row: ProtectedTerm) -> TermScope:
    return TermScope.PROJECT if row.document_id is None else TermScope.DOCUMENT


def add_term(
    session: Session, document_id: int, term: str, *, scope: TermScope, source: TermSource, user_id: int | None
) -> ProtectedTerm:
    """Protect `term` in the document (or its whole project); the row already there if it is protected
    in that place already (the database's unique indexes decide between two writers)."""
    cleaned = clean_term(term)
    document = get_document(session, document_id)
    where_doc = None if scope == TermScope.PROJECT else document_id
    existing = _find(session, document.project_id, where_doc, cleaned)
    if existing is not None:
        return existing
    row = ProtectedTerm(
        project_id=document.project_id, document_id=where_doc, term=cleaned, source=source, created_by_id=user_id
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # another writer protected it at the same moment
        found = _find(session, document.project_id, where_doc, cleaned)
        if found is None:
            raise
        return found
    return row


def _find(session: Session, project_id: int, document_id: int | None, term: str) -> ProtectedTerm | None:
    query = select(ProtectedTerm).where(ProtectedTerm.project_id == project_id, ProtectedTerm.term == term)
    if document_id is None:
        query = query.where(col(ProtectedTerm.document_id).is_(None))
    else:
        query = query.where(ProtectedTerm.document_id == document_id)
    return session.exec(query).first()


def get_term(session: Session, term_id: int) -> ProtectedTerm:
    row = session.get(ProtectedTerm, term_id)
    if row is None:
        raise NotFoundError(f"No protected term with id {term_id} (it may have been removed already).")
    return row


def terms_for_document(session: Session, document_id: int) -> list[ProtectedTerm]:
    """The terms that hold in a document: its own and its project's, project ones first, then by term."""
    project_id = get_document(session, document_id).project_id
    query = select(ProtectedTerm).where(
        ProtectedTerm.project_id == project_id,
        or_(col(ProtectedTerm.document_id).is_(None), col(ProtectedTerm.document_id) == document_id),
    )
    rows = list(session.exec(query).all())
    rows.sort(key=lambda r: (r.document_id is not None, r.term.casefold(), r.term))
    return rows


def terms_in_project(session: Session, project_id: int) -> list[ProtectedTerm]:
    """Every term protected in a project: project-wide ones and each document's."""
    query = select(ProtectedTerm).where(ProtectedTerm.project_id == project_id)
    rows = list(session.exec(query).all())
    rows.sort(key=lambda r: (r.document_id is not None, r.document_id or 0, r.term.casefold(), r.term))
    return rows


def protected_texts(session: Session, document_id: int) -> tuple[str, ...]:
    """The terms a round on this document must leave alone, sorted (they are recorded in the round's request)."""
    return tuple(sorted({r.term for r in terms_for_document(session, document_id)}))


def remove_term(session: Session, term_id: int) -> bool:
    """Stop protecting a term; False if it was already gone."""
    done = session.execute(delete(ProtectedTerm).where(col(ProtectedTerm.id) == term_id))
    return bool(done.rowcount)  # type: ignore[attr-defined]  # CursorResult
