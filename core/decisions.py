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

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from itertools import chain, groupby
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple, Protocol, TypeVar

from sqlalchemy import Select, func, not_, null, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.errors import ConflictError, InputError, NotFoundError
from core.models import Decision, Document, Edit, Round, RoundStatus, Thread, User
from core.text.clean import has_control


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
# The plain strings, for loops over many rows: a str compared with a StrEnum member takes the slow path.
_UNDO, _MODIFY = Action.UNDO.value, Action.MODIFY.value
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
# One shared Standing per unrewritten status: folding 100,000 groups then builds no objects.
_UNREWRITTEN = {s.value: Standing(s) for s in (EditStatus.ACCEPT, EditStatus.REJECT)}


class _DecisionLike(Protocol):
    """A decision row: a Decision, or a result row with its action and modified_text columns."""

    @property
    def action(self) -> str: ...

    @property
    def modified_text(self) -> str | None: ...


R = TypeVar("R")


def standing_row(rows: Iterable[R], action: Callable[[R], str] = attrgetter("action")) -> R | None:
    """Of one person's decision rows on one edit (oldest first), the one that stands: each undo
    steps back one. None when nothing stands (pending). Rows can be records, tuples or dicts."""
    stack: list[R] = []
    for row in rows:
        if action(row) == _UNDO:
            if stack:
                stack.pop()
        else:
            stack.append(row)
    return stack[-1] if stack else None


def standing(decisions: Iterable[_DecisionLike]) -> Standing:
    """What a person's decisions on one edit (oldest first) leave standing; undo steps back one."""
    return _standing_of(standing_row(decisions))


def _standing_of(top: _DecisionLike | None) -> Standing:
    if top is None:
        return PENDING
    action = top.action
    if action == _MODIFY:
        return Standing(EditStatus.MODIFY, top.modified_text)
    return _UNREWRITTEN.get(action) or Standing(EditStatus(action))


D = TypeVar("D", bound=_DecisionLike)


def fold_standing(rows: Iterable[D], key: Callable[[D], object]) -> Iterator[tuple[Standing, list[D]]]:
    """Group `rows` (ordered by `key(row)`, then oldest first; each with .action and .modified_text)
    and yield what stands for each group with the group's rows: one pass, constant memory per group,
    for streamed exports."""
    for _, grouped in groupby(rows, key):
        group = list(grouped)
        yield _standing_of(standing_row(group)), group


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
        if has_control(modified_text):
            raise InputError("The rewrite contains control characters (such as NUL); type or paste plain text.")
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


# By edit, person, then oldest first (ids grow as decisions are appended): ready for fold_standing.
_STANDING_ORDER = (col(Decision.edit_id), col(Decision.user_id), col(Decision.id))


def for_round(session: Session, round_id: int, user_id: int) -> dict[int, Standing]:
    """edit id -> what stands for this person, for the edits of a round they decided."""
    query = (
        select(Decision).where(Decision.round_id == round_id, Decision.user_id == user_id).order_by(*_STANDING_ORDER)
    )
    return {group[0].edit_id: st for st, group in fold_standing(session.exec(query), lambda d: d.edit_id)}


def comments_for_round(session: Session, round_id: int, user_id: int) -> dict[int, str]:
    """edit id -> the comment on this person's decision that stands, where it has one."""
    query = (
        select(Decision).where(Decision.round_id == round_id, Decision.user_id == user_id).order_by(*_STANDING_ORDER)
    )
    out: dict[int, str] = {}
    for _, group in fold_standing(session.exec(query), lambda d: d.edit_id):
        top = standing_row(group)
        if top is not None and top.comment:
            out[top.edit_id] = top.comment
    return out


def for_round_by_user(session: Session, round_id: int) -> dict[tuple[int, int], Standing]:
    """(edit id, user id) -> what stands, for every person who decided edits of a round."""
    query = select(Decision).where(Decision.round_id == round_id).order_by(*_STANDING_ORDER)
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
    for st, group in fold_standing(session.execute(query), lambda r: r[0].id):  # rows with .action, ...
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
    q = select(func.count(col(Decision.id)))
    if round_id is not None:
        q = q.where(Decision.round_id == round_id)
    if user_id is not None:
        q = q.where(Decision.user_id == user_id)
    return int(session.exec(q).one())


def watermark(session: Session, project_id: int) -> tuple[int, int]:
    """(how many decision rows, the latest decision id) of a project: it moves with every append, so
    anything fitted on the project's decisions is stale when it differs."""
    q = query(func.count(col(Decision.id)), func.max(col(Decision.id)), project_ids=[project_id], order=None)
    n, latest = session.execute(q).one()
    return int(n or 0), int(latest or 0)


# --- queries for exports, analytics and learning ------------------------------------------------------

_COLUMNS = frozenset(Decision.model_fields)


def column(name: str) -> Any:  # noqa: ANN401 - an SQLAlchemy column
    """The log's column `name` ("id", "created_at", "action", ...), for the select lists, groupings
    and counts callers pass to query(); the joins, filters and order stay here."""
    if name not in _COLUMNS:
        raise ValueError(f"The decision log has no column {name!r}.")
    return getattr(Decision, name)


def columns(*names: str) -> list[Any]:
    return [column(n) for n in names]


class Order(StrEnum):
    STANDING = "standing"  # by edit, person, then oldest first: ready for fold_standing
    LOG = "log"  # oldest first


def query(
    *selected: Any,
    project_ids: Sequence[int] | None = None,
    document_ids: Sequence[int] | None = None,
    user_ids: Sequence[int] | None = None,
    thread_id: int | None = None,
    thread_ids: Sequence[int] | None = None,
    round_id: int | None = None,
    round_ids: Sequence[int] | Select | None = None,
    edit_ids: Sequence[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    actions: Sequence[str] | None = None,
    simulated: bool | None = None,
    with_user: bool = False,
    order: Order | None = Order.STANDING,
) -> Select:
    """The base query of the log for exports, analytics and learning: `selected` over Decision joined
    to its Edit, Round, Thread and Document (and the deciding User with `with_user`, or when filtering
    on `simulated`: a decision is simulated when it or its person is). Ordered by edit, person, then
    oldest first (ready for fold_standing), oldest first with Order.LOG, or not at all (None: counts,
    groupings). Callers add their own columns and joins; the filters here are the log's."""
    q = (
        select(*selected)
        .select_from(Decision)
        .join(Edit, col(Edit.id) == col(Decision.edit_id))
        .join(Round, col(Round.id) == col(Edit.round_id))
        .join(Thread, col(Thread.id) == col(Round.thread_id))
        .join(Document, col(Document.id) == col(Thread.document_id))
    )
    if with_user or simulated is not None:
        q = q.join(User, col(User.id) == col(Decision.user_id))
    if project_ids is not None:
        q = q.where(col(Document.project_id).in_(list(project_ids)))
    if document_ids is not None:
        q = q.where(col(Thread.document_id).in_(list(document_ids)))
    if user_ids is not None:
        q = q.where(col(Decision.user_id).in_(list(user_ids)))
    if thread_id is not None:
        q = q.where(Round.thread_id == thread_id)
    if thread_ids is not None:
        q = q.where(col(Round.thread_id).in_(list(thread_ids)))
    if round_id is not None:
        q = q.where(Edit.round_id == round_id)
    if round_ids is not None:
        # a select of round ids (a campaign's rounds) stays a subquery: no bound parameter per round
        q = q.where(col(Edit.round_id).in_(round_ids if isinstance(round_ids, Select) else list(round_ids)))
    if edit_ids is not None:
        q = q.where(col(Decision.edit_id).in_(list(edit_ids)))
    if since is not None:
        q = q.where(col(Decision.created_at) >= since)
    if until is not None:
        q = q.where(col(Decision.created_at) <= until)
    if actions is not None:
        q = q.where(col(Decision.action).in_([str(a) for a in actions]))
    if simulated is not None:
        flag = or_(col(Decision.simulated), col(User.simulated))
        q = q.where(flag if simulated else not_(flag))
    if order == Order.STANDING:
        return q.order_by(*_STANDING_ORDER)
    if order == Order.LOG:
        return q.order_by(col(Decision.id))
    return q


def _rows(session: Session, q: Select) -> Iterator[Any]:
    """The rows of `q` streamed in batches, as plain rows from the connection: ORM row processing and
    one fetch per row took most of the time over 100,000 decisions."""
    return chain.from_iterable(session.connection().execute(q).partitions(2000))


class Stands(NamedTuple):
    """What stands for one edit and one person, with their latest decision row on it (an undo included).
    A named tuple: a page folds 100,000 of these, and a frozen dataclass took a third of that time."""

    edit_id: int
    user_id: int
    standing: Standing
    decision_id: int  # the latest row's id: later decisions have larger ids
    decided_at: datetime | None  # when the person last acted on the edit (None where not asked for)
    time_taken_ms: int | None  # of that latest row
    extra: tuple[Any, ...] = ()  # the caller's columns (of the edit, round, ...), as query() selected them


_STANDS_COLUMNS = ("edit_id", "user_id", "action", "modified_text", "id", "created_at", "time_taken_ms")
_EDIT_CHUNK = 5000


def stands(
    session: Session,
    *,
    project_ids: Sequence[int] | None = None,
    user_ids: Sequence[int] | None = None,
    edit_ids: Sequence[int] | None = None,
    round_ids: Sequence[int] | Select | None = None,
    thread_id: int | None = None,
    extra: Sequence[Any] = (),
    include_pending: bool = False,
    decided_at: bool = True,
) -> Iterator[Stands]:
    """What stands for every (edit, person) with decisions under these filters, streamed in edit then
    person order; `extra` columns (of the joined Edit, Round, Thread, Document) ride along. Edits
    undone back to pending are left out unless `include_pending`. Many `edit_ids` are asked in chunks.
    Without `decided_at` the time of the latest row is not read (None): turning 300,000 stored times
    into datetimes took a fifth of a campaign's agreement figures."""
    cols = [*columns(*_STANDS_COLUMNS), *extra]
    if not decided_at:
        cols[_STANDS_COLUMNS.index("created_at")] = null()
    n = len(_STANDS_COLUMNS)
    if edit_ids is not None:
        ids = sorted(set(edit_ids))
        chunks: Iterable[Sequence[int] | None] = (ids[i : i + _EDIT_CHUNK] for i in range(0, len(ids), _EDIT_CHUNK))
    else:
        chunks = (None,)
    for chunk in chunks:
        q = query(
            *cols, project_ids=project_ids, user_ids=user_ids, edit_ids=chunk, round_ids=round_ids, thread_id=thread_id
        )
        for st, group in fold_standing(_rows(session, q), itemgetter(0, 1)):
            if not st.decided and not include_pending:
                continue
            last = group[-1]
            yield Stands(last[0], last[1], st, last[4], last[5], last[6], tuple(last[n:]))


class OwnerStanding(NamedTuple):
    """What stands for an edit's thread owner, with when they last acted on it (an undo included)."""

    status: str  # accept | reject | modify (an EditStatus value)
    time_taken_ms: int | None  # of the latest row
    decided_at: datetime | None = None  # of the latest row, where asked for


def with_owner_standing(
    session: Session, edits: Select, *, decided_at: bool = True
) -> Iterator[tuple[Any, OwnerStanding | None]]:
    """Each row of `edits` (the caller's select over Edit joined to its Thread, Edit.id its first column,
    in the caller's order) with what stands for the owner of the edit's thread (their own revision),
    None when pending. The owner's decisions are joined on, so 100,000 edits are one read (a page's
    first paint), not two. Without `decided_at` the time of the latest decision is not read: turning
    100,000 stored times into datetimes took a quarter of the read."""
    if not edits.selected_columns[0].compare(Edit.__table__.c.id):  # type: ignore[attr-defined]
        raise ValueError("with_owner_standing needs Edit.id as the first column")
    n = len(edits.selected_columns)
    q = (
        edits.add_columns(*columns("action", "time_taken_ms", *(["created_at"] if decided_at else [])))
        .outerjoin(Decision, (col(Decision.edit_id) == col(Edit.id)) & (col(Decision.user_id) == col(Thread.user_id)))
        .order_by(col(Edit.id), col(Decision.id))  # after the caller's order: each edit's rows together, oldest first
    )
    action = itemgetter(n)
    for _, grouped in groupby(_rows(session, q), itemgetter(0)):
        group = list(grouped)
        top = standing_row(group, action) if group[0][n] is not None else None
        if top is None:
            yield group[0], None
        else:
            last = group[-1]
            yield group[0], OwnerStanding(top[n], *last[n + 1 :])


def in_project(
    session: Session, project_id: int, *, user_id: int | None = None, extra: Sequence[Any] = ()
) -> Iterator[Stands]:
    """What stands for each decided edit of a project (of one person, if given), per person."""
    return stands(session, project_ids=[project_id], user_ids=None if user_id is None else [user_id], extra=extra)


def for_edits(session: Session, edit_ids: Sequence[int], user_id: int | None = None) -> dict[tuple[int, int], Stands]:
    """(edit id, user id) -> what stands, for these edits (of one person, if given); pending ones left out."""
    users = None if user_id is None else [user_id]
    return {(s.edit_id, s.user_id): s for s in stands(session, edit_ids=edit_ids, user_ids=users)}


# --- the counts every page shows ------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionTally:
    """The one definition of "decisions" that Export, Analytics, Learning and `python -m core stats`
    show: edits decided, counted once per edit and person, by the decision that stands after undo
    (hidden edits a person chose to decide count too). `rows` is how many decision rows were appended
    (undo and superseded decisions included), where the caller read the log itself."""

    decided: int = 0
    accepted: int = 0
    modified: int = 0
    rejected: int = 0
    rows: int | None = None
    # decided edits by the caller's grouping columns ({"intent": {"fluency": 3}}), where asked for
    groups: dict[str, dict[Any, int]] = field(default_factory=dict)

    @property
    def acceptance(self) -> float | None:
        """Accepted or rewritten, of those decided; None when nothing is decided."""
        return (self.accepted + self.modified) / self.decided if self.decided else None

    def by_action(self) -> dict[str, int]:
        return {
            EditStatus.ACCEPT.value: self.accepted,
            EditStatus.MODIFY.value: self.modified,
            EditStatus.REJECT.value: self.rejected,
        }


def tally_standing(statuses: Iterable[str], rows: int | None = None) -> DecisionTally:
    """Count what stands (one status per edit and person; pending ones are not decided)."""
    return tally_counts(Counter(map(str, statuses)), rows)


def tally_counts(counts: Mapping[str, int], rows: int | None = None) -> DecisionTally:
    """tally_standing of statuses already counted ({"accept": 3, "pending": 2}): for callers that
    count many groups in one pass."""
    accepted, modified, rejected = (
        counts.get(s.value, 0) for s in (EditStatus.ACCEPT, EditStatus.MODIFY, EditStatus.REJECT)
    )
    return DecisionTally(accepted + modified + rejected, accepted, modified, rejected, rows)


def count_decided(
    session: Session,
    *,
    project_ids: Sequence[int] | None = None,
    document_ids: Sequence[int] | None = None,
    user_ids: Sequence[int] | None = None,
    thread_ids: Sequence[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    simulated: bool | None = None,
    where: Sequence[Any] = (),
    group_by: dict[str, Any] | None = None,
) -> DecisionTally:
    """The DecisionTally of the log under these filters (`where`: the caller's extra conditions on the
    joined Edit, Round, Thread, Document), read in one streamed pass; `group_by` names columns of those
    (or of the log: column("user_id")) to count decided edits by ({"depth": Round.depth})."""
    names = list(group_by or {})
    q = query(
        *columns("edit_id", "user_id", "action"),  # no rewritten text: a count needs only the action
        *(group_by or {}).values(),
        project_ids=project_ids,
        document_ids=document_ids,
        user_ids=user_ids,
        thread_ids=thread_ids,
        since=since,
        until=until,
        simulated=simulated,
    )
    for condition in where:
        q = q.where(condition)
    rows = 0
    statuses: Counter[str] = Counter()  # what stands: the top row's action
    groups: dict[str, dict[Any, int]] = {n: {} for n in names}
    action = itemgetter(2)
    for _, grouped in groupby(_rows(session, q), itemgetter(0, 1)):
        group = list(grouped)
        rows += len(group)
        top = standing_row(group, action)
        if top is not None:
            statuses[top[2]] += 1
            for i, name in enumerate(names):
                value = group[-1][3 + i]
                groups[name][value] = groups[name].get(value, 0) + 1
    return replace(tally_counts(statuses, rows), groups=groups)


# --- history -------------------------------------------------------------------------------------------


def append_imported(
    session: Session,
    *,
    edit_id: int,
    round_id: int,
    user_id: int,
    action: str,
    created_at: datetime,
    modified_text: str | None = None,
    idempotency_key: str | None = None,
) -> Decision:
    """Record a decision taken elsewhere (an imported log): its round is already applied, so the
    review-time lock does not apply; the import owns its transaction and its rounds."""
    act = check_action(action, modified_text)
    decision = Decision(
        round_id=round_id,
        edit_id=edit_id,
        user_id=user_id,
        action=act.value,
        modified_text=modified_text if act == Action.MODIFY else None,
        created_at=created_at,
        idempotency_key=idempotency_key or None,
    )
    session.add(decision)
    return decision
