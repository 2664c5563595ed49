"""Changing the text by hand while reviewing a round (Revise's "Edit text"), for the acting person.

Only the owner of the revision thread may (THREAD_DECIDE on the round); a campaign's shared round is
never edited by hand (every annotator judges the same text). See core.revision.manual.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from core import access
from core.access import Actor
from core.db import session_scope
from core.revision import manual
from core.revision.manual import ManualEdit
from core.services import campaigns


def edit_text(engine: Engine, actor: Actor, round_id: int, new_text: str, *, seen_version_id: int) -> ManualEdit:
    """The round's base text changed by hand to `new_text` (a new version with origin "manual");
    `seen_version_id` is the base version the page showed. The round's edits the change touches are
    dropped with the reason stored; the others stay decidable."""
    with session_scope(engine) as s:
        if campaigns.check_campaign_round(s, actor, round_id, write=False) is not None:
            raise access.deny(actor, "edit a campaign document by hand: everyone judges the same text")
        access.authorize_round(s, actor, access.Action.THREAD_DECIDE, round_id)
        return manual.edit_by_hand(s, round_id, actor.user_id, new_text, seen_version_id=seen_version_id)


__all__ = ["ManualEdit", "edit_text"]
