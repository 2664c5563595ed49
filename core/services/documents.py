"""Documents: listing, creating, importing, renaming and deleting, as the policy (core.access) allows.

Members of a project list and read its documents; admins, researchers and writers create them; the
owner or an admin renames and deletes one. Deleting is a soft delete: the document leaves every
list, while its versions and everyone's decisions stay for exports and research, so one person
cannot destroy another's work (the page shows how many decisions of others it hides first).
Versions and restoring are in core.services.history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import col

from core import access, decisions, documents
from core.access import Action, Actor, ProjectRef
from core.config import load_settings
from core.db import read_scope, session_scope
from core.documents import DocumentSummary
from core.errors import InputError, RedraftError
from core.files import read_upload
from core.models import Decision
from core.text.sizes import format_size


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


@dataclass(frozen=True)
class DeletionImpact:
    """What deleting a document hides from other people (kept in the log, gone from their pages)."""

    others_decisions: int
    others_people: int


def list_documents(engine: Engine, actor: Actor, project_id: int) -> list[DocumentSummary]:
    access.authorize(actor, Action.DOCUMENT_LIST, ProjectRef(project_id))
    with read_scope(engine) as s:
        return documents.list_documents(s, project_id=project_id)


def may(actor: Actor, action: Action, document: DocumentSummary, project_id: int) -> bool:
    """For pages: whether to show a control on a listed document."""
    return access.allowed(actor, action, access.DocumentRef(project_id, document.id, document.owner_id))


def may_create(actor: Actor, project_id: int) -> bool:
    """For pages: whether to show the paste and upload controls."""
    return access.allowed(actor, Action.DOCUMENT_CREATE, ProjectRef(project_id))


def create_document(
    engine: Engine, actor: Actor, project_id: int, title: str, text: str, *, allow_duplicate: bool = False
) -> CreatedDocument:
    """A document from pasted text; InputError if the text is empty or too large, DuplicateDocumentError
    if it is already the current text of a document in the project (unless `allow_duplicate`)."""
    access.authorize(actor, Action.DOCUMENT_CREATE, ProjectRef(project_id))
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
    access.authorize(actor, Action.DOCUMENT_CREATE, ProjectRef(project_id))
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
        access.authorize_document(s, actor, Action.DOCUMENT_RENAME, document_id)
        return documents.rename_document(s, document_id, title).title


def deletion_impact(engine: Engine, actor: Actor, document_id: int) -> DeletionImpact:
    """Other people's decisions on the document, to show before it is deleted."""
    with read_scope(engine) as s:
        access.authorize_document(s, actor, Action.DOCUMENT_DELETE, document_id)
        q = decisions.query(
            func.count(col(Decision.id)),
            func.count(func.distinct(col(Decision.user_id))),
            document_ids=[document_id],
            order=None,
        ).where(col(Decision.user_id) != actor.user_id)
        n, people = s.execute(q).one()
    return DeletionImpact(int(n or 0), int(people or 0))


def delete_document(engine: Engine, actor: Actor, document_id: int) -> None:
    """Delete a document (soft: hidden everywhere, its decisions kept for exports): owner or admin."""
    with session_scope(engine) as s:
        access.authorize_document(s, actor, Action.DOCUMENT_DELETE, document_id)
        documents.delete_document(s, document_id, actor.user_id)


def max_document_size() -> str:
    """The document size limit as every message names it ("2 MiB")."""
    return format_size(load_settings().max_document_bytes)
