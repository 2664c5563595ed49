"""A document's versions with where each came from, and restoring an old one.

Any member of the project reads a document's versions (the shared text; no decisions are shown).
Restoring moves the head everyone's next round starts from, so only the document's owner or an
admin may (core.access)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from core import access, documents
from core.access import Action, Actor
from core.db import read_scope, session_scope
from core.errors import NotFoundError
from core.models import Round, Version


@dataclass(frozen=True)
class VersionHistory:
    """Every version of a document, oldest first, with the head and each version's origin in words."""

    document_id: int
    versions: list[Version]
    head_id: int | None
    origins: dict[int, str]  # version id -> "pasted", "round 2", "restored" ...
    numbers: dict[int, int]  # version id -> its number within the document (1, 2, ...)
    may_restore: bool = False  # whether this person may restore an old version

    def label(self, version_id: int) -> str:
        """The version as people name it: "v2" (its number in this document, not the global id)."""
        return documents.version_label(self.numbers[version_id])

    @property
    def by_id(self) -> dict[int, Version]:
        return {v.id or 0: v for v in self.versions}

    @property
    def head_text(self) -> str:
        return next((v.text for v in self.versions if v.id == self.head_id), "")


def version_history(engine: Engine, actor: Actor, document_id: int) -> VersionHistory:
    with read_scope(engine) as s:
        ref = access.authorize_document(s, actor, Action.DOCUMENT_READ, document_id)
        versions = documents.versions(s, document_id)
        numbers = documents.version_numbers(s, document_id)
        head_id = documents.get_document(s, document_id).head_version_id
        depth_by_round: dict[int, int] = {}
        for v in versions:
            if v.round_id is not None and v.round_id not in depth_by_round:
                rnd = s.get(Round, v.round_id)
                if rnd is not None:  # a round that is gone leaves the origin as "round (id N)"
                    depth_by_round[v.round_id] = rnd.depth
    origins = {v.id or 0: documents.describe_origin(v, depth_by_round) for v in versions}
    may_restore = access.allowed(actor, Action.DOCUMENT_RESTORE, ref)
    return VersionHistory(document_id, versions, head_id, origins, numbers, may_restore)


def restore_version(engine: Engine, actor: Actor, document_id: int, version_id: int) -> Version:
    """Make an old version's text the new head (history is never rewritten): the document's owner or
    an admin. The version must be of the document the person was looking at."""
    with session_scope(engine) as s:
        access.authorize_document(s, actor, Action.DOCUMENT_RESTORE, document_id)
        old = documents.get_version(s, version_id)
        if old.document_id != document_id:
            raise NotFoundError(f"Version {version_id} is not a version of this document.")
        return documents.restore_version(s, version_id, user_id=actor.user_id)
