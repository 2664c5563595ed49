"""The decision log: the one owner of the Decision table (as llm's LogStore owns its log).

Decisions are append-only; for one edit and one person, the decision that stands is found by
replaying theirs in order, an undo stepping back one. Every other module asks here: to append
(idempotent, refused once the round is no longer under review), for what stands on a round or a
thread, and for the base query that exports and analytics add their columns to.

A decision names the round it was made on. Appending takes a shared lock on that round's row
while it is under review (PostgreSQL: FOR SHARE; SQLite: the write lock of core.db's
IMMEDIATE transactions); applying a round changes its status with a conditional UPDATE, which
waits for those locks. So a decision is either in the applied text or refused, across processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.errors import ConflictError, InputError, NotFoundError
from core.models import Decision, Document, Edit, Round, RoundStatus, Thread


class Action(StrEnum):
    """What a person can do to an edit; undo steps back their previous decision on it."""

    ACCEPT = "accept"
    REJECT = "reject"
    MODIFY = "modify"
    UNDO = "undo"


class EditStatus(StrEnum):
    """Where an edit stands for one person."""

    PENDING = "pending"
    ACCEPT = "accept"
    REJECT = "reject"
    MODIFY = "modify"


ACTIONS = tuple(Action)
BULK_ACTIONS = (Action.ACCEPT, Action.REJECT, Action.UNDO)
MAX_REWRITE_CHARS = 100_000
MAX_COMMENT_CHARS = 10_000
MAX_TIME_TAKEN_MS = 24 * 3600 * 1000


class RoundClosed(ConflictError):
    """The round is no longer under review: its edits cannot be decided."""


@dataclass(frozen=True)
class Standing:
    """The decision that stands for one edit and one person."""

    status: EditStatus = EditStatus.PENDING
    modified_text: str | None = None

    def applied_after(self, proposed_after: str) -> str | None:
        """The text that replaces the edit's `before` if applied now, or None if it is not applied."""
        if self.status == EditStatus.ACCEPT:
            return proposed_after
        if self.status == EditStatus.MODIFY:
            return self.modified_text
        return None

    @property
    def decided(self) -> bool:
        return self.status != EditStatus.PENDING

    @property
    def pair(self) -> tuple[str, str | None]:
        """(status, rewritten text) as plain values, for rows and exports."""
        return self.status.value, self.modified_text


PENDING = Standing()


class _DecisionLike(Protocol):
    action: str
    modified_text: str | None


R = TypeVar("R")


def standing_row(rows: Iterable[R], action: Callable[[R], str] = attrgetter("action")) -> R | None:
    """Of one person's decision rows on one edit (oldest first), the one that stands: each undo
    steps back one. None when nothing stands (pending). Rows can be records, tuples or dicts."""
    stack: list[R] = []
    for row in rows:
        if action(row) == Action.UNDO:
            if stack:
                stack.pop()
        else:
            stack.append(row)
    return stack[-1] if stack else None


def standing(decisions: Iterable[_DecisionLike]) -> Standing:
    """What a person's decisions on one edit (oldest first) leave standing; undo steps back one."""
    top = standing_row(decisions)
    if top is None:
        return PENDING
    return Standing(EditStatus(top.action), top.modified_text if top.action == Action.MODIFY else None)


def fold_standing(rows: Iterable[R], key: Any) -> Iterator[tuple[Standing, list[R]]]:
    """Group `rows` (ordered by `key(row)`, then oldest first) and yield what stands for each group
    with the group's rows: one pass, constant memory per group, for streamed exports."""
    group: list[R] = []
    current: object = object()
    for row in rows:
        k = key(row)
        if group and k != current:
            yield standing(group), group  # type: ignore[arg-type]  # rows carry action/modified_text
            group = []
        current = k
        group.append(row)
    if group:
        yield standing(group), group  # type: ignore[arg-type]


# --- appending ---------------------------------------------------------------------------------------


def _clean_time(ms: float | int | None) -> int | None:
    if ms is None or isinstance(ms, bool):
        return None
    return int(min(max(0, ms), MAX_TIME_TAKEN_MS))


def check_action(action: str, modified_text: str | None) -> Action:
    """The action, validated: a clear InputError for anything a person cannot do."""
    try:
        act = Action(action)
    except ValueError:
        raise InputError(f"Unknown action {action!r}; use one of {', '.join(ACTIONS)}.") from None
    if act == Action.MODIFY:
        if not isinstance(modified_text, str):
            raise InputError("A rewrite needs the replacement text.")
        if len(modified_text) > MAX_REWRITE_CHARS:
            raise InputError(f"The rewrite is longer than {MAX_REWRITE_CHARS:,} characters.")
    return act


def lock_round_for_decisions(session: Session, round_id: int) -> Round:
    """The round, share-locked while it is under review; RoundClosed if it is not (any more)."""
    query = select(Round).where(Round.id == round_id, Round.status == RoundStatus.REVIEWING)
    rnd = session.exec(query.with_for_update(read=True)).first()
    if rnd is not None:
        return rnd
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise NotFoundError(f"No round with id {round_id}.")
    raise RoundClosed(f"Round {rnd.depth} is {rnd.status}; its edits can no longer be decided.")


def by_key(session: Session, idempotency_key: str) -> Decision | None:
    return session.exec(select(Decision).where(Decision.idempotency_key == idempotency_key)).first()


def append(
    session: Session,
    *,
    edit_id: int,
    user_id: int,
    action: str,
    round_id: int | None = None,
    modified_text: str | None = None,
    comment: str | None = None,
    time_taken_ms: float | int | None = None,
    idempotency_key: str | None = None,
    simulated: bool = False,
) -> Decision:
    """Append one decision on an edit of a round under review. The same idempotency key twice
    returns the first row. `round_id` is the round the person saw: an edit of another round is
    refused (a stale page)."""
    act = check_action(action, modified_text)
    if comment is not None and len(comment) > MAX_COMMENT_CHARS:
        raise InputError(f"The comment is longer than {MAX_COMMENT_CHARS:,} characters.")
    if idempotency_key:
        existing = by_key(session, idempotency_key)
        if existing is not None:
            return existing
    edit = session.get(Edit, edit_id)
    if round_id is not None and (edit is None or edit.round_id != round_id):
        raise ConflictError("This edit is not in this round.")
    if edit is None:
        raise NotFoundError(f"No edit with id {edit_id}.")
    lock_round_for_decisions(session, edit.round_id)
    decision = Decision(
        round_id=edit.round_id,
        edit_id=edit_id,
        user_id=user_id,
        action=act.value,
        modified_text=modified_text if act == Action.MODIFY else None,
        comment=comment or None,
        time_taken_ms=_clean_time(time_taken_ms),
        idempotency_key=idempotency_key or None,
        simulated=simulated,
    )
    if not idempotency_key:
        session.add(decision)
        session.flush()
        return decision
    # The same key from two processes at once: the unique constraint keeps one row.
    try:
        with session.begin_nested():
            session.add(decision)
            session.flush()
    except IntegrityError:
        existing = by_key(session, idempotency_key)
        if existing is None:
            raise
        return existing
    return decision


# --- what stands --------------------------------------------------------------------------------------


def _ordered(query: Select) -> Select:
    return query.order_by(col(Decision.edit_id), col(Decision.user_id), col(Decision.id))


def for_round(session: Session, round_id: int, user_id: int) -> dict[int, Standing]:
    """edit id -> what stands for this person, for the edits of a round they decided."""
    query = _ordered(select(Decision).where(Decision.round_id == round_id, Decision.user_id == user_id))
    return {group[0].edit_id: st for st, group in fold_standing(session.exec(query), lambda d: d.edit_id)}


def for_round_by_user(session: Session, round_id: int) -> dict[tuple[int, int], Standing]:
    """(edit id, user id) -> what stands, for every person who decided edits of a round."""
    query = _ordered(select(Decision).where(Decision.round_id == round_id))
    rows = session.exec(query)
    return {(g[0].edit_id, g[0].user_id): st for st, g in fold_standing(rows, lambda d: (d.edit_id, d.user_id))}


def for_thread(session: Session, thread_id: int, user_id: int) -> list[tuple[Edit, Standing, datetime]]:
    """(edit, what stands, when last decided) for every edit of a thread this person decided, oldest
    edit first; undone-to-pending edits are left out."""
    query = (
        select(Edit, Decision.action, Decision.modified_text, Decision.created_at)
        .join(Decision, col(Decision.edit_id) == col(Edit.id))
        .join(Round, col(Round.id) == col(Edit.round_id))
        .where(Round.thread_id == thread_id, Decision.user_id == user_id)
        .order_by(col(Edit.id), col(Decision.id))
    )
    out = []
    for st, group in fold_standing(session.exec(query), lambda r: r[0].id):
        if st.decided:
            out.append((group[0][0], st, group[-1][3]))
    return out


def last_decided_at(session: Session, round_id: int, user_id: int) -> datetime | None:
    query = (
        select(Decision.created_at)
        .where(Decision.round_id == round_id, Decision.user_id == user_id)
        .order_by(col(Decision.id).desc())
    )
    return session.exec(query).first()


def count(session: Session, *, round_id: int | None = None, user_id: int | None = None) -> int:
    """How many decision rows (appended, undo included) a round or person has."""
    from sqlalchemy import func

    query = select(func.count(col(Decision.id)))
    if round_id is not None:
        query = query.where(Decision.round_id == round_id)
    if user_id is not None:
        query = query.where(Decision.user_id == user_id)
    return int(session.exec(query).one())


def query(
    *columns: Any,
    project_ids: Sequence[int] | None = None,
    document_ids: Sequence[int] | None = None,
    user_ids: Sequence[int] | None = None,
    thread_id: int | None = None,
    round_id: int | None = None,
    edit_ids: Sequence[int] | None = None,
) -> Select:
    """The base query of the log for exports and analytics: `columns` over Decision joined to its
    Edit, Round, Thread and Document, ordered by edit, person, then oldest first (ready for
    fold_standing). Callers add their own columns and joins; the filters here are the log's."""
    q = (
        select(*columns)
        .select_from(Decision)
        .join(Edit, col(Edit.id) == col(Decision.edit_id))
        .join(Round, col(Round.id) == col(Edit.round_id))
        .join(Thread, col(Thread.id) == col(Round.thread_id))
        .join(Document, col(Document.id) == col(Thread.document_id))
    )
    if project_ids is not None:
        q = q.where(col(Document.project_id).in_(list(project_ids)))
    if document_ids is not None:
        q = q.where(col(Document.id).in_(list(document_ids)))
    if user_ids is not None:
        q = q.where(col(Decision.user_id).in_(list(user_ids)))
    if thread_id is not None:
        q = q.where(Round.thread_id == thread_id)
    if round_id is not None:
        q = q.where(Decision.round_id == round_id)
    if edit_ids is not None:
        q = q.where(col(Decision.edit_id).in_(list(edit_ids)))
    return _ordered(q)
