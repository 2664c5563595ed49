"""Applying a round: its accepted and rewritten edits make the next version, exactly once.

The round's status moves from reviewing to applied with a conditional UPDATE: of two processes
(or two tabs, or the CLI beside the app) applying one round, one wins and the other is told. The
UPDATE waits for decisions being appended (they share-lock the round, core.decisions), and the
decisions are read after it, so every decision stored is in the applied text, or was refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, col

from core import documents
from core.errors import ConflictError
from core.models import Round, RoundStatus, Version, VersionOrigin, utcnow
from core.revision.review import apply_decided, edit_states, get_round
from core.revision.threads import STOP_MAX_DEPTH, get_thread


class RoundNotUnderReview(ConflictError):
    """The round shown is not the one under review any more (applied elsewhere, finished, failed)."""

    def __init__(self, rnd: Round) -> None:
        self.round_id, self.status, self.result_version_id = rnd.id, rnd.status, rnd.result_version_id
        if rnd.status == RoundStatus.APPLIED:
            what = f"was already applied (version #{rnd.result_version_id})"
        else:
            what = f"is {rnd.status}"
        super().__init__(f"Round {rnd.depth} {what}; only a round under review can be applied.")


@dataclass(frozen=True)
class Applied:
    version: Version
    round: Round


def apply_round(session: Session, round_id: int, user_id: int) -> Version:
    """Apply the thread owner's accepted and rewritten edits as the next version. Raises
    RoundNotUnderReview when the round is not under review (already applied, by anyone, included)."""
    claimed = session.execute(
        update(Round)
        .where(col(Round.id) == round_id, col(Round.status) == RoundStatus.REVIEWING)
        .values(status=RoundStatus.APPLIED, finished_at=utcnow())
    )
    rnd = get_round(session, round_id)
    if not claimed.rowcount:  # type: ignore[attr-defined]  # CursorResult
        raise RoundNotUnderReview(rnd)
    thread = get_thread(session, rnd.thread_id)
    base = session.get(Version, rnd.base_version_id)
    assert base is not None
    text = apply_decided(base.text, edit_states(session, round_id, thread.user_id))
    version = documents.add_version(
        session,
        thread.document_id,
        text,
        origin=VersionOrigin.ROUND,
        parent_id=base.id,
        round_id=rnd.id,
        user_id=user_id,
    )
    rnd.result_version_id = version.id
    session.add(rnd)
    session.flush()
    return version


def stop_reason_after(session: Session, round_id: int, max_depth: int) -> str | None:
    """Why the loop stops after this round, or None if another round may start."""
    rnd = get_round(session, round_id)
    if rnd.status == RoundStatus.FINISHED:
        return rnd.stop_reason
    if rnd.depth >= max_depth:
        return STOP_MAX_DEPTH
    return None
