"""Documents: listing, creating, importing, renaming and deleting.

Documents belong to a project, not to a person: everyone working in the project sees and manages
them (no check beyond that exists yet). Versions and restoring are in core.services.history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from core import documents
from core.access import Actor
from core.config import load_settings
from core.db import read_scope, session_scope
from core.documents import DocumentSummary
from core.errors import RedraftError


@dataclass(frozen=True)
class CreatedDocument:
    id: int
    title: str


@dataclass(frozen=True)
class ImportResult:
    imported: list[CreatedDocument] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line per file refused, saying why


def list_documents(engine: Engine, actor: Actor, project_id: int) -> list[DocumentSummary]:
    with read_scope(engine) as s:
        return documents.list_documents(s, project_id=project_id)


def create_document(engine: Engine, actor: Actor, project_id: int, title: str, text: str) -> CreatedDocument:
    """A document from pasted text; InputError if the text is empty or too large."""
    with session_scope(engine) as s:
        doc = documents.create_document(
            s, title or "Untitled", text, project_id=project_id, user_id=actor.user_id, origin="paste"
        )
        return CreatedDocument(doc.id or 0, doc.title)


def import_files(
    engine: Engine, actor: Actor, project_id: int, files: Iterable[tuple[str, bytes]], encoding: str | None = None
) -> ImportResult:
    """Import uploaded files, each in its own transaction: a refused file is reported, the others kept."""
    result = ImportResult()
    for name, data in files:
        try:
            with session_scope(engine) as s:
                doc = documents.import_file(
                    s, name, data, encoding=encoding, project_id=project_id, user_id=actor.user_id
                )
                result.imported.append(CreatedDocument(doc.id or 0, doc.title))
        except RedraftError as exc:
            result.errors.append(str(exc))
    return result


def rename_document(engine: Engine, actor: Actor, document_id: int, title: str) -> str:
    """Rename; returns the title as stored (cleaned)."""
    with session_scope(engine) as s:
        return documents.rename_document(s, document_id, title).title


def delete_document(engine: Engine, actor: Actor, document_id: int) -> None:
    """Delete a document with its versions, rounds and decisions."""
    with session_scope(engine) as s:
        documents.delete_document(s, document_id)


def max_document_bytes() -> int:
    return load_settings().max_document_bytes
