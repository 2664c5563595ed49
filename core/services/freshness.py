"""A watermark of the data the read-heavy pages summarise, so a page may cache what it computed from the
database and recompute as soon as anything it shows could have changed.

Decisions, edits, rounds and versions are append-only (their largest id moves with every change);
documents, mutes and learning settings are updated in place (their latest update time moves, a soft
delete included). One statement of indexed aggregates: far cheaper than any summary it guards.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from core.db import read_scope
from core.models import (
    Decision,
    Document,
    Edit,
    LearningProfile,
    Membership,
    Mute,
    Project,
    ProposerSpec,
    Round,
    Thread,
    User,
    Version,
)

Watermark = tuple[object, ...]


def watermark(engine: Engine) -> Watermark:
    """Changes whenever a decision, edit, round, version, thread, document, person, membership, project,
    proposer, mute or learning setting is added or changed."""
    parts = [
        select(func.max(col(model.id))).scalar_subquery()
        for model in (Decision, Edit, Round, Version, Thread, Document, User, Membership, Project, ProposerSpec, Mute)
    ]
    parts += [
        select(func.max(col(Document.updated_at))).scalar_subquery(),
        select(func.max(col(Document.deleted_at))).scalar_subquery(),
        select(func.max(col(Mute.updated_at))).scalar_subquery(),
        select(func.max(col(LearningProfile.updated_at))).scalar_subquery(),
        select(func.max(col(LearningProfile.fitted_at))).scalar_subquery(),
        select(func.count()).select_from(Round).where(col(Round.finished_at).is_(None)).scalar_subquery(),
    ]
    with read_scope(engine) as s:
        return tuple(s.connection().execute(select(*parts)).one())
