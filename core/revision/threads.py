"""Threads: one person's revision trajectory of a document, and the rounds in it.

State changes are conditional UPDATEs (the database decides, across processes): a thread is
finished once, and one active thread per person and document is held by a partial unique index.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import documents
from core.errors import NotFoundError
from core.models import Round, RoundStatus, Thread, ThreadStatus, utcnow

STOP_MAX_DEPTH = "maximum depth reached"
STOP_NO_EDITS = "the proposer found no new edits"
STOP_USER = "finished by the user"


def get_thread(session: Session, thread_id: int) -> Thread:
    thread = session.get(Thread, thread_id)
    if thread is None:
        raise NotFoundError(f"No thread with id {thread_id}.")
    return thread


def _active(session: Session, document_id: int, user_id: int) -> Thread | None:
    query = select(Thread).where(
        Thread.document_id == document_id, Thread.user_id == user_id, Thread.status == ThreadStatus.ACTIVE
    )
    return session.exec(query.order_by(col(Thread.id).desc())).first()


def active_thread(session: Session, document_id: int, user_id: int, *, simulated: bool = False) -> Thread:
    """This person's active revision thread of the document, started if there is none."""
    documents.get_document(session, document_id)
    thread = _active(session, document_id, user_id)
    if thread is not None:
        return thread
    try:
        with session.begin_nested():  # another process may start it at the same moment
            thread = Thread(document_id=document_id, user_id=user_id, simulated=simulated)
            session.add(thread)
            session.flush()
        return thread
    except IntegrityError:
        existing = _active(session, document_id, user_id)
        if existing is None:
            raise
        return existing


def latest_thread(session: Session, document_id: int, user_id: int) -> Thread | None:
    """This person's most recent thread of the document (active or finished), without starting one."""
    query = select(Thread).where(Thread.document_id == document_id, Thread.user_id == user_id)
    return session.exec(query.order_by(col(Thread.id).desc())).first()


def thread_rounds(session: Session, thread_id: int) -> list[Round]:
    query = select(Round).where(Round.thread_id == thread_id).order_by(col(Round.depth), col(Round.id))
    return list(session.exec(query).all())


def current_round(session: Session, thread_id: int) -> Round | None:
    """The latest round of a thread (reviewing, proposing or done), or None before the first."""
    return session.exec(select(Round).where(Round.thread_id == thread_id).order_by(col(Round.id).desc())).first()


def finish_thread(session: Session, thread_id: int, reason: str = STOP_USER) -> Thread:
    """End a thread. A round still under review is closed unapplied (its decisions stay stored)."""
    get_thread(session, thread_id)
    now = utcnow()
    finished = session.execute(
        update(Thread)
        .where(col(Thread.id) == thread_id, col(Thread.status) == ThreadStatus.ACTIVE)
        .values(status=ThreadStatus.FINISHED, stop_reason=reason, finished_at=now)
    )
    if finished.rowcount:  # type: ignore[attr-defined]  # CursorResult
        session.execute(
            update(Round)
            .where(col(Round.thread_id) == thread_id, col(Round.status) == RoundStatus.REVIEWING)
            .values(status=RoundStatus.FINISHED, stop_reason=reason, finished_at=now)
        )
    session.flush()
    return get_thread(session, thread_id)
