"""SQLModel tables: the data model of DESIGN.md.

A model's suggestion (Edit: value, score, source) is kept apart from a person's
response (Decision: action, user), as in Argilla's record models. Decisions are
append-only; the latest per (edit, user) counts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Optional

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


# Roles a user can have; the default local user is an admin.
ROLES = ("admin", "writer", "annotator", "researcher")
# How a version came to be.
VERSION_ORIGINS = ("import", "paste", "round", "manual", "restore")
# What a person can do to an edit; "undo" cancels that person's previous decision.
ACTIONS = ("accept", "reject", "modify", "undo")
ROUND_STATUSES = ("proposing", "reviewing", "applied", "finished", "failed", "cancelled")


class User(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    role: str = Field(default="writer")
    password_hash: Optional[str] = None
    simulated: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)


class Project(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    owner_id: Optional[int] = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    # intents, max_depth, default proposer spec id, disabled_rules, instruction prefixes, ...
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Document(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    title: str
    source_filename: Optional[str] = None
    # The version a new round starts from; restoring an old version moves it. Not a foreign key:
    # version -> document -> version would be a cycle; versions only go away with their document.
    head_version_id: Optional[int] = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Version(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True, ondelete="CASCADE")
    parent_id: Optional[int] = Field(default=None, foreign_key="version.id", ondelete="SET NULL")
    text: str = Field(sa_column=Column(Text, nullable=False))
    origin: str = Field(default="import")
    # The round whose applied edits produced this version (origin == "round"). Not a foreign key,
    # to avoid the round -> version -> round cycle; both go away with their document.
    round_id: Optional[int] = Field(default=None, index=True)
    created_by_id: Optional[int] = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    # Anything changed on the way in (e.g. "CRLF normalised to LF"), so nothing is silent.
    note: Optional[str] = None
    created_at: datetime = Field(default_factory=utcnow)


class Thread(SQLModel, table=True):
    """One person's revision trajectory of one document (annotators each get their own)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    status: str = Field(default="active")  # active | finished
    stop_reason: Optional[str] = None
    simulated: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: Optional[datetime] = None


class ProposerSpec(SQLModel, table=True):
    """Exactly what proposed an edit: kind, model and settings, and what it was trained from."""

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(default="")
    kind: str = Field(index=True)  # builtin | hf-seq2seq | hf-chat | openai
    model: Optional[str] = None  # model id, local path or server model name
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    parent_id: Optional[int] = Field(default=None, foreign_key="proposerspec.id", ondelete="SET NULL")
    # sha256 of (kind, model, params): the same settings map to one row.
    fingerprint: str = Field(index=True, unique=True)
    created_at: datetime = Field(default_factory=utcnow)


class Round(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    thread_id: int = Field(foreign_key="thread.id", index=True, ondelete="CASCADE")
    depth: int = Field(default=1)
    base_version_id: int = Field(foreign_key="version.id", ondelete="CASCADE")
    result_version_id: Optional[int] = Field(default=None, foreign_key="version.id", ondelete="SET NULL")
    spec_id: Optional[int] = Field(default=None, foreign_key="proposerspec.id", ondelete="SET NULL")
    feedback: Optional[str] = Field(default=None, sa_column=Column(Text))
    # intents asked for and other request settings, for tracing
    request: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="proposing")
    stop_reason: Optional[str] = None
    error: Optional[str] = Field(default=None, sa_column=Column(Text))
    # model outputs dropped with their reasons (empty, runaway, repetitive, ...)
    dropped: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: Optional[datetime] = None


class Edit(SQLModel, table=True):
    """One atomic proposed change on a round's base version (character offsets)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True, ondelete="CASCADE")
    position: int = Field(default=0)  # order in the document
    start: int
    end: int
    before: str = Field(sa_column=Column(Text, nullable=False))
    after: str = Field(sa_column=Column(Text, nullable=False))
    alternatives: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    intent: Optional[str] = None
    explanation: Optional[str] = Field(default=None, sa_column=Column(Text))
    source: Optional[str] = None  # rule id or model name
    score: Optional[float] = None  # the proposer's own confidence
    predicted_accept: Optional[float] = None  # the preference model's estimate
    hidden_reason: Optional[str] = None  # muted rule/intent, below threshold, ...
    content_hash: str = Field(index=True)
    # the sentence (and neighbourhood) the edit sits in, for suppression and exports
    context: Optional[str] = Field(default=None, sa_column=Column(Text))


class Decision(SQLModel, table=True):
    """A person's response to an edit. Append-only; the latest per (edit, user) counts."""

    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_decision_idempotency_key"),
        Index("ix_decision_edit_user", "edit_id", "user_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    edit_id: int = Field(foreign_key="edit.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    action: str
    modified_text: Optional[str] = Field(default=None, sa_column=Column(Text))
    comment: Optional[str] = Field(default=None, sa_column=Column(Text))
    time_taken_ms: Optional[int] = None
    simulated: bool = Field(default=False)
    idempotency_key: Optional[str] = None
    created_at: datetime = Field(default_factory=utcnow)


class Mute(SQLModel, table=True):
    """A rule or intent whose edits are hidden: for one person, or (user_id None) for a project."""

    id: Optional[int] = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    user_id: Optional[int] = Field(default=None, foreign_key="user.id", index=True, ondelete="CASCADE")
    kind: str  # rule | intent
    value: str
    active: bool = Field(default=True)
    automatic: bool = Field(default=False)  # muted by the rejection rule, not by hand
    created_at: datetime = Field(default_factory=utcnow)
    # last muted or unmuted: automatic muting counts only rejections after an unmute
    updated_at: datetime = Field(default_factory=utcnow)


class LearningProfile(SQLModel, table=True):
    """A person's learning settings in a project and their fitted acceptance model (core.learning.preference)."""

    __table_args__ = (UniqueConstraint("project_id", "user_id", name="uq_learningprofile_project_user"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    learning: bool = Field(default=True)  # off: no suppression, automatic muting or preference
    threshold: float = Field(default=0.1)  # hide edits predicted below this acceptance (0: hide none)
    auto_mute_after: int = Field(default=3)  # rejections, none accepted, that mute a rule or intent (0: never)
    model: Optional[bytes] = Field(default=None, sa_column=Column(LargeBinary))
    # what the model was fitted on and its held-out accuracy and calibration
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    fitted_at: Optional[datetime] = None
    updated_at: datetime = Field(default_factory=utcnow)


class TrainingRun(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    base_spec_id: Optional[int] = Field(default=None, foreign_key="proposerspec.id", ondelete="SET NULL")
    result_spec_id: Optional[int] = Field(default=None, foreign_key="proposerspec.id", ondelete="SET NULL")
    method: str  # sft | dpo | kto
    status: str = Field(default="running")  # running | done | failed | cancelled
    data_snapshot: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    hyperparams: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    output_dir: Optional[str] = None
    error: Optional[str] = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: Optional[datetime] = None
