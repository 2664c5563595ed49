"""What the person's decisions taught: why edits are hidden, mutes, and lifting them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from core.access import Actor
from core.db import read_scope, session_scope
from core.learning import hidden, muting
from core.revision import review


@dataclass(frozen=True)
class HiddenSummary:
    counts: list[tuple[str, int]]  # ("muted rules", 12)
    mutes: list[tuple[int, str]]  # (mute id, description) of the mutes hiding these edits


def hidden_in_round(engine: Engine, actor: Actor, round_id: int, project_id: int) -> HiddenSummary:
    """How many of the round's edits are hidden from this person and why, with the mutes behind them."""
    with read_scope(engine) as s:
        shown_hidden = review.round_view(s, round_id, actor.user_id).hidden
        values = {h.row.hidden_value for h in shown_hidden} - {None}
        mutes = [
            (m.id or 0, muting.describe(m))
            for m in muting.list_mutes(s, project_id, actor.user_id)
            if m.value in values
        ]
    return HiddenSummary(hidden.counts(h.row.hidden_kind for h in shown_hidden), mutes)


def unmute(engine: Engine, actor: Actor, mute_id: int) -> None:
    with session_scope(engine) as s:
        muting.unmute(s, mute_id, by_user_id=actor.user_id)
