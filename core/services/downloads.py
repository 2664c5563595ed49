"""What a person downloads from the Revise page: their current text and the document's edit log."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from core.access import Actor
from core.data import downloads
from core.db import read_scope


def current_text_bytes(engine: Engine, actor: Actor, document_id: int, fmt: str, title: str) -> bytes:
    """The text as this person has it now (their round's decisions applied), as .txt/.md/.docx."""
    with read_scope(engine) as s:
        text = downloads.current_text(s, document_id, actor.user_id)
    return downloads.text_bytes(text, fmt, title)


def edit_log_bytes(engine: Engine, actor: Actor, document_id: int, fmt: str) -> bytes:
    """The document's decision log: everyone's for researchers and admins, one's own otherwise."""
    own = () if actor.reads_all_decisions else (actor.user_id,)
    with read_scope(engine) as s:
        return downloads.edit_log_bytes(s, document_id, fmt, user_ids=own)
