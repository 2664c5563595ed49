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
from core.errors import InputError, RedraftError
from core.files import read_upload


@dataclass(frozen=True)
class CreatedDocument:
    id: int
    title: str


@dataclass(frozen=True)
class Duplicate:
    """A file or text that was not imported: its text is already the current text of `existing`."""

    name: str  # the file name, or the title given
    existing: CreatedDocument


class DuplicateDocumentError(InputError):
    """The text is already a document of this project; `existing` names it, so a page can open it."""

    def __init__(self, duplicate: Duplicate) -> None:
        super().__init__(
            f"“{duplicate.name}” has the same text as the document “{duplicate.existing.title}” "
            f"(#{duplicate.existing.id}): nothing was created."
        )
        self.duplicate = duplicate


@dataclass(frozen=True)
class ImportResult:
    imported: list[CreatedDocument] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line per file refused, saying why
    duplicates: list[Duplicate] = field(default_factory=list)  # files whose text is already a document


def list_documents(engine: Engine, actor: Actor, project_id: int) -> list[DocumentSummary]:
    with read_scope(engine) as s:
        return documents.list_documents(s, project_id=project_id)


def create_document(
    engine: Engine, actor: Actor, project_id: int, title: str, text: str, *, allow_duplicate: bool = False
) -> CreatedDocument:
    """A document from pasted text; InputError if the text is empty or too large, DuplicateDocumentError
    if it is already the current text of a document in the project (unless `allow_duplicate`)."""
    with session_scope(engine) as s:
        same = None if allow_duplicate else documents.identical_document(s, project_id, text)
        if same is not None:
            raise DuplicateDocumentError(Duplicate(title or "Untitled", CreatedDocument(same.id or 0, same.title)))
        doc = documents.create_document(
            s, title or "Untitled", text, project_id=project_id, user_id=actor.user_id, origin="paste"
        )
        return CreatedDocument(doc.id or 0, doc.title)


def import_files(
    engine: Engine, actor: Actor, project_id: int, files: Iterable[tuple[str, bytes]], encoding: str | None = None
) -> ImportResult:
    """Import uploaded files, each in its own transaction: a refused file is reported, the others kept.
    A file whose text is already a document's current text (an earlier import of the same file) is
    not imported again: it is listed in `duplicates` with the document it matches."""
    result = ImportResult()
    for name, data in files:
        try:
            with session_scope(engine) as s:
                upload = read_upload(name, data, load_settings().max_document_bytes, encoding=encoding)
                same = documents.identical_document(s, project_id, upload.text)
                if same is not None:
                    result.duplicates.append(Duplicate(upload.filename, CreatedDocument(same.id or 0, same.title)))
                    continue
                doc = documents.import_upload(s, upload, project_id=project_id, user_id=actor.user_id)
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
