"""Documents: listing, creating, importing, renaming, deleting, versions and restoring."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from core import documents
from core.access import Actor
from core.db import read_scope
from core.documents import DocumentSummary


def list_documents(engine: Engine, actor: Actor, project_id: int) -> list[DocumentSummary]:
    with read_scope(engine) as s:
        return documents.list_documents(s, project_id=project_id)
