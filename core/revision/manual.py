"""A change made by hand while a round is under review (the writer edits the text on Revise).

The change becomes a new version (origin "manual", its parent the round's base version) and the
round's new base: the round's edits it does not touch move onto the new text and stay decidable; the
ones it touches are dropped with the reason stored (HiddenKind.MANUAL_EDIT), never shown or applied.
The round names the version the page saw: a conditional UPDATE refuses a change on a round no longer
under review, or on a base another tab changed meanwhile (as apply does), so nothing is lost silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, col

from core import documents
from core.errors import ConflictError, InputError
from core.learning import hidden
from core.models import Round, RoundStatus, Version, VersionOrigin
from core.revision import review
from core.revision.apply import RoundNotUnderReview
from core.revision.threads import get_thread
from core.text.rebase import rebase


@dataclass(frozen=True)
class ManualEdit:
    version_id: int
    kept: int  # edits moved onto the new text
    dropped: tuple[int, ...]  # ids of the edits the change touched


def edit_by_hand(session: Session, round_id: int, user_id: int, new_text: str, *, seen_version_id: int) -> ManualEdit:
    """Make `new_text` the round's base text (a new version), re-basing or dropping its edits."""
    rnd = review.get_round(session, round_id)
    if rnd.status != RoundStatus.REVIEWING:
        raise RoundNotUnderReview(rnd)
    base = session.get(Version, rnd.base_version_id)
    assert base is not None  # a round's base version goes away only with the round
    if new_text == base.text:
        raise InputError("The text is unchanged: there is nothing to save.")
    thread = get_thread(session, rnd.thread_id)
    version = documents.add_version(
        session, thread.document_id, new_text, origin=VersionOrigin.MANUAL, parent_id=base.id, user_id=user_id
    )
    if version.text == base.text:  # the same once cleaned (line endings, ...)
        raise InputError("The text is unchanged: there is nothing to save.")
    claimed = session.execute(
        update(Round)
        .where(
            col(Round.id) == round_id,
            col(Round.status) == RoundStatus.REVIEWING,
            col(Round.base_version_id) == seen_version_id,
        )
        .values(base_version_id=version.id)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]  # CursorResult
        session.refresh(rnd)
        if rnd.status != RoundStatus.REVIEWING:
            raise RoundNotUnderReview(rnd)
        raise ConflictError(
            "The text was changed in another tab or process since this page was drawn; "
            "nothing was saved. The page now shows the current text: make your change again there."
        )
    rows = [r for r in review.round_edits(session, round_id) if not review.dropped(r)]
    moved = rebase(base.text, version.text, [(r.start, r.end) for r in rows])
    gone = [r for r, span in zip(rows, moved.spans, strict=True) if span is None]
    for row, span in zip(rows, moved.spans, strict=True):
        if span is not None:
            row.start, row.end = span
            session.add(row)
    review.hide_edits(session, gone, hidden.manual_edit(version.id or 0))
    return ManualEdit(version.id or 0, len(rows) - len(gone), tuple(r.id or 0 for r in gone))
