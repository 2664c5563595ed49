"""What a person downloads from the Revise page: their current text and the document's edit log."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from core import access
from core.access import Action, Actor
from core.data import downloads
from core.db import read_scope


def current_text_bytes(engine: Engine, actor: Actor, document_id: int, fmt: str, title: str) -> bytes:
    """The text as this person has it now (their round's decisions applied), as .txt/.md/.docx."""
    with read_scope(engine) as s:
        access.authorize_document(s, actor, Action.DOCUMENT_READ, document_id)
        text = downloads.current_text(s, document_id, actor.user_id)
    return downloads.text_bytes(text, fmt, title)


def edit_log_bytes(engine: Engine, actor: Actor, document_id: int, fmt: str) -> bytes:
    """The document's decision log: everyone's for the project's researchers and admins, one's own otherwise."""
    with read_scope(engine) as s:
        ref = access.authorize_document(s, actor, Action.DECISIONS_READ_OWN, document_id)
        own = () if access.allowed(actor, Action.DECISIONS_READ_ALL, ref) else (actor.user_id,)
        return downloads.edit_log_bytes(s, document_id, fmt, user_ids=own)
