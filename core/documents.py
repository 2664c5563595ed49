"""Documents and their version trees: create, list, rename, delete, versions, restore.

Every function takes an open Session and leaves committing to the caller
(`core.db.session_scope`), so a failure half-way writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from core.config import load_settings
from core.db import DEFAULT_PROJECT, DEFAULT_USER
from core.errors import InputError, NotFoundError
from core.files import UploadedDocument, clean_title, prepare_text, read_upload
from core.models import Document, Project, User, Version, VersionOrigin, id_of, utcnow
from core.text.clean import clean_text


@dataclass(frozen=True)
class DocumentSummary:
    id: int
    title: str
    source_filename: str | None
    versions: int
    characters: int
    created_at: datetime
    updated_at: datetime
    owner_id: int | None = None


def default_user(session: Session) -> User:
    user = session.exec(select(User).where(User.name == DEFAULT_USER)).first()
    if user is None:
        raise NotFoundError("The default user is missing: run `python -m core init-db`.")
    return user


def default_project(session: Session) -> Project:
    project = session.exec(select(Project).where(Project.name == DEFAULT_PROJECT)).first()
    if project is None:
        raise NotFoundError("The default project is missing: run `python -m core init-db`.")
    return project


def get_document(session: Session, document_id: int, *, include_deleted: bool = False) -> Document:
    """The document; NotFoundError if it is missing, or deleted (a deleted one is kept for exports:
    they pass `include_deleted`)."""
    document = session.get(Document, document_id)
    if document is None or (document.deleted_at is not None and not include_deleted):
        raise NotFoundError(f"No document with id {document_id}.")
    return document


def create_document(
    session: Session,
    title: str,
    text: str,
    *,
    project_id: int | None = None,
    user_id: int | None = None,
    source_filename: str | None = None,
    origin: str = VersionOrigin.PASTE,
    notes: tuple[str, ...] = (),
    max_bytes: int | None = None,
) -> Document:
    """A new document with its first version. Validates everything before writing anything."""
    prepared = prepare_text(text, max_bytes or load_settings().max_document_bytes)
    title = clean_title(title)
    project_id = project_id or id_of(default_project(session))
    user_id = user_id or id_of(default_user(session))
    document = Document(project_id=project_id, title=title, source_filename=source_filename, owner_id=user_id)
    session.add(document)
    session.flush()
    note = " ".join(notes + prepared.notes) or None
    version = Version(document_id=id_of(document), text=prepared.text, origin=origin, created_by_id=user_id, note=note)
    session.add(version)
    session.flush()
    document.head_version_id = version.id
    session.add(document)
    session.flush()
    return document


def identical_document(session: Session, project_id: int, text: str) -> Document | None:
    """A document of the project whose current text is `text` as it would be stored (line endings
    normalised), or None. Compares lengths first, so only same-sized texts are read."""
    if not isinstance(text, str) or not text.strip():
        return None
    stored = clean_text(text).text.replace("\r\n", "\n")
    query = (
        select(Document)
        .join(Version, col(Version.id) == col(Document.head_version_id))
        .where(
            Document.project_id == project_id,
            col(Document.deleted_at).is_(None),
            func.length(col(Version.text)) == len(stored),
            col(Version.text) == stored,
        )
        .order_by(col(Document.id))
        .limit(1)
    )
    return session.exec(query).first()


def import_upload(
    session: Session, upload: UploadedDocument, *, project_id: int | None = None, user_id: int | None = None
) -> Document:
    return create_document(
        session,
        upload.title,
        upload.text,
        project_id=project_id,
        user_id=user_id,
        source_filename=upload.filename,
        origin=VersionOrigin.IMPORT,
        notes=upload.notes,
    )


def import_file(
    session: Session,
    name: str,
    data: bytes,
    encoding: str | None = None,
    *,
    project_id: int | None = None,
    user_id: int | None = None,
) -> Document:
    """Create a document from an uploaded file's bytes (.txt, .md, .docx)."""
    upload = read_upload(name, data, load_settings().max_document_bytes, encoding=encoding)
    return import_upload(session, upload, project_id=project_id, user_id=user_id)


def list_documents(session: Session, project_id: int | None = None) -> list[DocumentSummary]:
    """Documents, most recently changed first, with version counts and head sizes."""
    counts = (
        select(col(Version.document_id), func.count(col(Version.id)).label("n"))
        .group_by(col(Version.document_id))
        .subquery()
    )
    # columns, not Document entities: a thousand ORM objects cost more than the query
    query = (
        select_columns(
            col(Document.id), col(Document.title), col(Document.source_filename), counts.c.n,
            func.length(col(Version.text)), col(Document.created_at), col(Document.updated_at),
            col(Document.owner_id),
        )
        .join(counts, counts.c.document_id == col(Document.id), isouter=True)
        .join(Version, col(Version.id) == col(Document.head_version_id), isouter=True)
        .order_by(col(Document.updated_at).desc(), col(Document.id).desc())
    )  # fmt: skip
    query = query.where(col(Document.deleted_at).is_(None))
    if project_id is not None:
        query = query.where(col(Document.project_id) == project_id)
    return [
        DocumentSummary(
            id=doc_id,
            title=title,
            source_filename=filename,
            versions=n or 0,
            characters=length or 0,
            created_at=created_at,
            updated_at=updated_at,
            owner_id=owner_id,
        )  # fmt: skip
        for doc_id, title, filename, n, length, created_at, updated_at, owner_id in session.execute(query).all()
    ]


def rename_document(session: Session, document_id: int, title: str) -> Document:
    document = get_document(session, document_id)
    document.title = clean_title(title)
    document.updated_at = utcnow()
    session.add(document)
    session.flush()
    return document


def delete_document(session: Session, document_id: int, user_id: int | None = None) -> None:
    """Delete a document: a soft delete. It leaves every list and page; its versions, rounds and
    everyone's decisions stay for exports and research (people's work is never destroyed)."""
    document = get_document(session, document_id)
    if document.deleted_at is not None:
        raise NotFoundError(f"No document with id {document_id}.")
    document.deleted_at = utcnow()
    document.deleted_by_id = user_id
    session.add(document)
    session.flush()


def versions(session: Session, document_id: int) -> list[Version]:
    """All versions of a document, oldest first."""
    get_document(session, document_id)
    query = select(Version).where(Version.document_id == document_id).order_by(col(Version.created_at), col(Version.id))
    return list(session.exec(query).all())


def version_numbers(session: Session, document_id: int) -> dict[int, int]:
    """Each version's number within its document (1 for the first, oldest first as `versions` lists
    them), by version id. People name versions by these ("v2"), never by the global id."""
    number = func.row_number().over(order_by=(col(Version.created_at), col(Version.id)))
    query = select(col(Version.id), number).where(Version.document_id == document_id)
    return {int(i or 0): int(n) for i, n in session.exec(query).all()}


def version_number(session: Session, version_id: int) -> int:
    """One version's number within its document."""
    return version_numbers(session, get_version(session, version_id).document_id)[version_id]


def version_label(number: int) -> str:
    """How a version is named to people: "v3"."""
    return f"v{number}"


def get_version(session: Session, version_id: int) -> Version:
    version = session.get(Version, version_id)
    if version is None:
        raise NotFoundError(f"No version with id {version_id}.")
    return version


def head_version(session: Session, document_id: int, *, include_deleted: bool = False) -> Version:
    document = get_document(session, document_id, include_deleted=include_deleted)
    if document.head_version_id is None:
        raise NotFoundError(f"Document {document_id} has no versions.")
    return get_version(session, document.head_version_id)


def add_version(
    session: Session,
    document_id: int,
    text: str,
    *,
    origin: str,
    parent_id: int | None = None,
    round_id: int | None = None,
    user_id: int | None = None,
    note: str | None = None,
) -> Version:
    """A new version that becomes the document's head. `parent_id` defaults to the current head."""
    document = get_document(session, document_id)
    prepared = prepare_text(text, load_settings().max_document_bytes)
    version = Version(
        document_id=document_id,
        parent_id=parent_id if parent_id is not None else document.head_version_id,
        text=prepared.text,
        origin=origin,
        round_id=round_id,
        created_by_id=user_id,
        note=" ".join(filter(None, [note, *prepared.notes])) or None,
    )
    session.add(version)
    session.flush()
    document.head_version_id = version.id
    document.updated_at = utcnow()
    session.add(document)
    session.flush()
    return version


def restore_version(session: Session, version_id: int, user_id: int | None = None) -> Version:
    """Restoring never rewrites history: the old text becomes a new head whose parent is the old head."""
    old = get_version(session, version_id)
    document = get_document(session, old.document_id)
    name = version_label(version_number(session, version_id))
    if document.head_version_id == old.id:
        raise InputError(f"Version {name} is already the current version.")
    return add_version(
        session, old.document_id, old.text, origin=VersionOrigin.RESTORE, user_id=user_id, note=f"Restored from {name}."
    )


_ORIGIN_WORDS: dict[str, str] = {
    VersionOrigin.IMPORT: "imported",
    VersionOrigin.PASTE: "pasted",
    VersionOrigin.MANUAL: "manual edit",
    VersionOrigin.RESTORE: "restored",
}


def describe_origin(version: Version, depth_by_round: dict[int, int] | None = None) -> str:
    """Human words for where a version came from."""
    if version.origin == VersionOrigin.ROUND and version.round_id is not None:
        depth = (depth_by_round or {}).get(version.round_id)
        return f"round {depth}" if depth is not None else f"round (id {version.round_id})"
    return _ORIGIN_WORDS.get(version.origin, version.origin)
