"""Changes made by hand during a review (versions with origin "manual") as rows of the edit log.

Each changed span of a manual version (the word-aligned diff from its parent) is one row with the
decision log's fields (core.data.export_rows.ROW_FIELDS): action "manual", the person who made it,
the span and the sentence it is in, the round under review, the document, and the versions before
(base_version_id) and after (result_version_id); the fields of a decision or a proposer stay empty.
Rows follow the filters that mean something for them (projects, documents, people, time, simulated,
actions); a filter on intents, depths, proposers or threads, or `latest_only` (what stands of
decisions), leaves them out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlmodel import Session, col, select

from core.data.export_query import ExportFilters
from core.data.export_rows import ROW_FIELDS, sentence_window
from core.models import Document, Project, Round, User, Version, VersionOrigin
from core.text.edits import diff

MANUAL = "manual"


def _applies(filters: ExportFilters) -> bool:
    if filters.latest_only or filters.intents or filters.depths or filters.spec_ids or filters.thread_ids:
        return False
    if filters.actions and MANUAL not in filters.actions:
        return False
    return filters.simulated is not True  # a change by hand is never simulated


def iter_manual_rows(session: Session, filters: ExportFilters | None = None) -> Iterator[dict[str, Any]]:
    """One row per span changed by hand, oldest version first."""
    filters = filters or ExportFilters()
    if not _applies(filters):
        return
    query = (
        select(Version, Document, Project, User)
        .join(Document, col(Document.id) == Version.document_id)
        .join(Project, col(Project.id) == Document.project_id)
        .outerjoin(User, col(User.id) == Version.created_by_id)
        .where(col(Version.origin) == VersionOrigin.MANUAL, col(Version.parent_id).is_not(None))
        .order_by(col(Version.id))
    )
    if filters.project_ids:
        query = query.where(col(Document.project_id).in_(filters.project_ids))
    if filters.document_ids:
        query = query.where(col(Version.document_id).in_(filters.document_ids))
    if filters.user_ids:
        query = query.where(col(Version.created_by_id).in_(filters.user_ids))
    if filters.since is not None:
        query = query.where(col(Version.created_at) >= filters.since)
    if filters.until is not None:
        query = query.where(col(Version.created_at) < filters.until)
    for version, document, project, user in session.exec(query):
        parent = session.get(Version, version.parent_id)
        if parent is None:
            continue
        rnd = session.exec(select(Round).where(Round.base_version_id == version.id)).first()
        for change in diff(parent.text, version.text):
            s0, s1 = sentence_window(parent.text, change.start, change.end)
            row: dict[str, Any] = dict.fromkeys(ROW_FIELDS)
            row.update(
                decided_at=version.created_at,
                action=MANUAL,
                simulated=False,
                user_id=user.id if user else None,
                user_name=user.name if user else None,
                user_role=user.role if user else None,
                start=change.start,
                end=change.end,
                before=change.before,
                after=change.after,
                sentence=parent.text[s0:s1],
                edit_offset=change.start - s0,
                round_id=rnd.id if rnd else None,
                depth=rnd.depth if rnd else None,
                thread_id=rnd.thread_id if rnd else None,
                document_id=document.id,
                document_title=document.title,
                project_id=project.id,
                project_name=project.name,
                base_version_id=parent.id,
                result_version_id=version.id,
            )
            yield row
