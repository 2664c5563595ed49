"""A round under review as one person sees it, and their decisions on it (through core.decisions)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlmodel import Session, col, select

from core import decisions
from core.decisions import Action, EditStatus, Standing
from core.errors import ConflictError, InputError, NotFoundError
from core.learning.hidden import Hidden
from core.models import Decision, HiddenKind, Round, Version
from core.models import Edit as EditRow
from core.text.edits import Edit, apply_edits

PENDING = EditStatus.PENDING


@dataclass(frozen=True)
class EditState:
    """A stored edit with this person's standing decision on it."""

    row: EditRow
    status: str  # EditStatus
    modified_text: str | None = None
    comment: str | None = None  # on the decision that stands

    @property
    def applied_after(self) -> str | None:
        """The text that replaces `before` if the round were applied now, or None if it is not applied."""
        return Standing(EditStatus(self.status), self.modified_text).applied_after(self.row.after)


@dataclass
class RoundView:
    round: Round
    base_text: str
    edits: list[EditState]
    hidden: list[EditState] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for e in self.edits if e.status == status)

    @property
    def counts(self) -> dict[str, int]:
        return {s: self.count(s) for s in EditStatus}

    def preview_text(self) -> str:
        """The text as it would be if the round were applied now."""
        return apply_decided(self.base_text, self.edits)


def get_round(session: Session, round_id: int) -> Round:
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise NotFoundError(f"No round with id {round_id}.")
    return rnd


def get_edit(session: Session, edit_id: int) -> EditRow:
    edit = session.get(EditRow, edit_id)
    if edit is None:
        raise NotFoundError(f"No edit with id {edit_id}.")
    return edit


def round_edits(session: Session, round_id: int) -> list[EditRow]:
    query = select(EditRow).where(EditRow.round_id == round_id).order_by(col(EditRow.position))
    return list(session.exec(query).all())


def dropped(row: EditRow) -> bool:
    """Dropped by a change made by hand: no longer on the round's base text, never shown or applied."""
    return row.hidden_kind == HiddenKind.MANUAL_EDIT


def edit_states(session: Session, round_id: int, user_id: int) -> list[EditState]:
    """The round's edits (document order; not those dropped by a change made by hand) with this
    person's standing decision."""
    standing = decisions.for_round(session, round_id, user_id)
    comments = decisions.comments_for_round(session, round_id, user_id) if standing else {}
    states = []
    for row in round_edits(session, round_id):
        if dropped(row):
            continue
        st = standing.get(row.id or 0, decisions.PENDING)
        comment = comments.get(row.id or 0) if st.decided else None
        states.append(EditState(row=row, status=st.status, modified_text=st.modified_text, comment=comment))
    return states


def hide_edits(session: Session, rows: list[EditRow], hidden: Hidden) -> None:
    """Store edits as hidden for `hidden`'s reason (a term protected during the review)."""
    for row in rows:
        row.hidden_reason, row.hidden_kind, row.hidden_value = hidden.text, hidden.kind.value, hidden.value
        session.add(row)
    session.flush()


def round_view(session: Session, round_id: int, user_id: int) -> RoundView:
    rnd = get_round(session, round_id)
    base = session.get(Version, rnd.base_version_id)
    assert base is not None  # a round's base version goes away only with the round
    states = edit_states(session, round_id, user_id)
    shown = [s for s in states if s.row.hidden_reason is None or s.status != PENDING]
    hidden = [s for s in states if s.row.hidden_reason is not None and s.status == PENDING]
    return RoundView(round=rnd, base_text=base.text, edits=shown, hidden=hidden)


def decide(
    session: Session,
    edit_id: int,
    user_id: int,
    action: str,
    *,
    round_id: int | None = None,
    modified_text: str | None = None,
    comment: str | None = None,
    time_taken_ms: int | None = None,
    idempotency_key: str | None = None,
    simulated: bool = False,
) -> Decision:
    """Record one decision (append-only) on an edit of a round under review."""
    row = session.get(EditRow, edit_id)
    if row is not None and dropped(row):
        raise ConflictError("This edit was dropped: its text was changed by hand. It can no longer be decided.")
    return decisions.append(
        session,
        edit_id=edit_id,
        user_id=user_id,
        action=action,
        round_id=round_id,
        modified_text=modified_text,
        comment=comment,
        time_taken_ms=time_taken_ms,
        idempotency_key=idempotency_key,
        simulated=simulated,
    )


def decide_edits(
    session: Session,
    round_id: int,
    user_id: int,
    action: str,
    edit_ids: list[int],
    *,
    key: str | None = None,
    time_taken_ms: int | None = None,
) -> int:
    """One bulk action on the given edits of a round, all or nothing (a savepoint); with `key`, each
    edit's decision gets the key `key:edit_id`, so a resent bulk action stores nothing new."""
    if action not in decisions.BULK_ACTIONS:
        raise InputError("Bulk decisions are accept, reject or undo.")
    in_round = {row.id for row in round_edits(session, round_id) if not dropped(row)}
    if not set(edit_ids) <= in_round:
        raise InputError("Some of these edits are not in this round.")
    decisions.lock_round_for_decisions(session, round_id)
    with session.begin_nested():
        for edit_id in edit_ids:
            decisions.append(
                session,
                edit_id=edit_id,
                user_id=user_id,
                action=action,
                round_id=round_id,
                time_taken_ms=time_taken_ms,
                idempotency_key=f"{key}:{edit_id}" if key else None,
            )
    return len(edit_ids)


def decide_many(
    session: Session,
    round_id: int,
    user_id: int,
    action: str,
    *,
    intent: str | None = None,
    only_pending: bool = True,
    include_hidden: bool = False,
) -> int:
    """Accept or reject all (pending) edits of a round, optionally of one intent. Returns how many."""
    if action not in (Action.ACCEPT, Action.REJECT):
        raise InputError("Bulk decisions are accept or reject.")
    view = round_view(session, round_id, user_id)
    targets = view.edits + (view.hidden if include_hidden else [])
    ids = [
        s.row.id
        for s in targets
        if (not only_pending or s.status == PENDING) and (intent is None or s.row.intent == intent)
    ]
    return decide_edits(session, round_id, user_id, action, [i for i in ids if i is not None])


def apply_decided(base_text: str, states: list[EditState]) -> str:
    """The base text with every accepted or rewritten edit applied."""
    chosen = [
        replace(Edit(start=s.row.start, end=s.row.end, before=s.row.before, after=s.row.after), after=after)
        for s in states
        if (after := s.applied_after) is not None
    ]
    return apply_edits(base_text, chosen)
