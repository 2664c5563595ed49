"""SQLModel tables: the data model of DESIGN.md.

A model's suggestion (Edit: value, score, source) is kept apart from a person's
response (Decision: action, user), as in Argilla's record models. Decisions are
append-only; the latest per (edit, user) counts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Optional, Protocol

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Role(StrEnum):
    """What a person may do (core.access); the default local user is an admin."""

    ADMIN = "admin"
    WRITER = "writer"
    ANNOTATOR = "annotator"
    RESEARCHER = "researcher"


class VersionOrigin(StrEnum):
    """How a version came to be."""

    IMPORT = "import"
    PASTE = "paste"
    ROUND = "round"
    MANUAL = "manual"
    RESTORE = "restore"


class RoundStatus(StrEnum):
    PROPOSING = "proposing"  # a job is proposing its edits
    REVIEWING = "reviewing"  # edits can be decided
    APPLIED = "applied"  # decisions applied: result_version_id holds the text
    FINISHED = "finished"  # closed without applying (thread finished, or no edits)
    FAILED = "failed"  # the proposer failed or its job was interrupted
    CANCELLED = "cancelled"


# A round in one of these is "open": at most one per thread (a partial unique index holds it).
OPEN_ROUND_STATUSES = (RoundStatus.PROPOSING, RoundStatus.REVIEWING)


class ThreadStatus(StrEnum):
    ACTIVE = "active"
    FINISHED = "finished"


class HiddenKind(StrEnum):
    """Why an edit is stored hidden; its hidden_value names the rule or intent where there is one."""

    PROJECT_MUTED_RULE = "project-muted-rule"
    PROJECT_MUTED_INTENT = "project-muted-intent"
    MUTED_RULE = "muted-rule"
    MUTED_INTENT = "muted-intent"
    BELOW_THRESHOLD = "below-threshold"
    PROTECTED_TERM = "protected-term"  # the edit changes a term the writer protected
    MANUAL_EDIT = "manual-edit"  # dropped: the writer changed its text by hand during the review


class TermScope(StrEnum):
    """Where a protected term holds: one document, or every document of its project."""

    DOCUMENT = "document"
    PROJECT = "project"


class TermSource(StrEnum):
    """How a protected term was added."""

    EDIT = "edit"  # "Never change 'X'" on an edit
    LEARNING = "learning"  # typed on the Learning page
    FEEDBACK = "feedback"  # found in feedback text and confirmed by the writer
    CLI = "cli"


class TrainingStatus(StrEnum):
    """Where a fine-tuning run (TrainingRun) stands."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


# Kept as tuples for choices and validation.
ROLES = tuple(Role)
VERSION_ORIGINS = tuple(VersionOrigin)
ROUND_STATUSES = tuple(RoundStatus)


class _Keyed(Protocol):
    id: Optional[int]


def id_of(row: _Keyed) -> int:
    """A row's primary key, which the database sets on flush: typed Optional on the models, it is
    always there on a stored row, and a missing one is a bug (a row used before it was flushed)."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id yet: flush it before using its id.")
    return row.id


class User(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    # The role where the person has no membership of their own; "admin" is an admin everywhere.
    role: str = Field(default=Role.WRITER)
    # The signed-in (OIDC) email that maps to this row, lower case.
    email: Optional[str] = Field(default=None, index=True, unique=True)
    password_hash: Optional[str] = None
    simulated: bool = Field(default=False)
    # Set for people made by an import ("r3:ann1"): an import finds its own annotators by this, never an
    # existing person by name.
    import_key: Optional[str] = Field(default=None, index=True, unique=True)
    created_at: datetime = Field(default_factory=utcnow)


class Project(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    owner_id: Optional[int] = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    # intents, max_depth, default proposer spec id, disabled_rules, instruction prefixes, ...
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Membership(SQLModel, table=True):
    """A person's role in one project (Argilla's workspaces): what core.access allows them there."""

    __table_args__ = (UniqueConstraint("project_id", "user_id", name="uq_membership_project_user"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    role: str = Field(default=Role.WRITER)
    created_at: datetime = Field(default_factory=utcnow)


class Invitation(SQLModel, table=True):
    """Who may join by signing in: an email, the role and project they get on first sign-in."""

    id: Optional[int] = Field(default=None, primary_key=True)
    email: str = Field(index=True, unique=True)  # lower case
    role: str = Field(default=Role.ANNOTATOR)
    project_id: Optional[int] = Field(default=None, foreign_key="project.id", ondelete="CASCADE")
    invited_by_id: Optional[int] = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    accepted_at: Optional[datetime] = None


class SignInThrottle(SQLModel, table=True):
    """Failed password sign-ins per account or address (a sha256 of it, never the name or address
    itself), and until when the next try is refused: in the database, so every process sees it."""

    key: str = Field(primary_key=True)
    failures: int = Field(default=0)
    blocked_until: Optional[datetime] = None
    updated_at: datetime = Field(default_factory=utcnow)


class SignInSession(SQLModel, table=True):
    """A password sign-in that survives a reload: the browser keeps a random token in a cookie, the
    database only its sha256. Signing out revokes it.

    Served through serve.py, the cookie is HttpOnly, set by an HTTP route the page sends the browser
    to with a one-time handoff code (its sha256 here, for a minute); the token is made when the code
    is exchanged, so the page's script never holds it."""

    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(index=True, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: Optional[datetime] = None
    handoff_hash: Optional[str] = Field(default=None, index=True, unique=True)
    handoff_expires_at: Optional[datetime] = None


class Document(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    title: str
    # Who made it (may rename, delete, restore it besides admins).
    owner_id: Optional[int] = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    # Soft delete: hidden from lists and pages, its decisions kept for exports and research.
    deleted_at: Optional[datetime] = None
    deleted_by_id: Optional[int] = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
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
    origin: str = Field(default=VersionOrigin.IMPORT)
    # The round whose applied edits produced this version (origin == "round"). Not a foreign key,
    # to avoid the round -> version -> round cycle; both go away with their document.
    round_id: Optional[int] = Field(default=None, index=True)
    created_by_id: Optional[int] = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    # Anything changed on the way in (e.g. "CRLF normalised to LF"), so nothing is silent.
    note: Optional[str] = None
    created_at: datetime = Field(default_factory=utcnow)


class Thread(SQLModel, table=True):
    """One person's revision trajectory of one document (annotators each get their own)."""

    # One active thread per person and document, held by the database across processes.
    __table_args__ = (
        Index(
            "uq_thread_active_per_user",
            "document_id",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    status: str = Field(default=ThreadStatus.ACTIVE)
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
    # One open (proposing or reviewing) round per thread, held by the database across processes.
    __table_args__ = (
        Index(
            "uq_round_open_per_thread",
            "thread_id",
            unique=True,
            sqlite_where=text("status IN ('proposing', 'reviewing')"),
            postgresql_where=text("status IN ('proposing', 'reviewing')"),
        ),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    thread_id: int = Field(foreign_key="thread.id", index=True, ondelete="CASCADE")
    depth: int = Field(default=1)
    base_version_id: int = Field(foreign_key="version.id", ondelete="CASCADE")
    result_version_id: Optional[int] = Field(default=None, foreign_key="version.id", ondelete="SET NULL")
    spec_id: Optional[int] = Field(default=None, foreign_key="proposerspec.id", ondelete="SET NULL")
    feedback: Optional[str] = Field(default=None, sa_column=Column(Text))
    # intents asked for and other request settings, for tracing
    request: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=RoundStatus.PROPOSING)
    # The job proposing it (core.jobs): when that job dies, the round is freed.
    job_id: Optional[int] = Field(default=None, foreign_key="job.id", ondelete="SET NULL")
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
    hidden_reason: Optional[str] = None  # the reason as shown ("muted rule: X")
    hidden_kind: Optional[str] = None  # HiddenKind: why it is hidden, as data
    hidden_value: Optional[str] = None  # the muted rule or intent, if any
    content_hash: str = Field(index=True)
    # the sentence (and neighbourhood) the edit sits in, for suppression and exports
    context: Optional[str] = Field(default=None, sa_column=Column(Text))


class Decision(SQLModel, table=True):
    """A person's response to an edit. Append-only; the latest per (edit, user) counts."""

    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_decision_idempotency_key"),
        Index("ix_decision_edit_user", "edit_id", "user_id"),
        Index("ix_decision_round_user", "round_id", "user_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    # The round the decision was made on: a decision names the state it was made on.
    round_id: Optional[int] = Field(default=None, foreign_key="round.id", ondelete="CASCADE")
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


class ProtectedTerm(SQLModel, table=True):
    """A word or phrase no proposer may change: in one document, or (document_id None) in its project.

    One row per term and place, held by the database (two partial unique indexes, since NULLs never
    collide in a plain one)."""

    __table_args__ = (
        Index(
            "uq_protectedterm_document",
            "document_id",
            "term",
            unique=True,
            sqlite_where=text("document_id IS NOT NULL"),
            postgresql_where=text("document_id IS NOT NULL"),
        ),
        Index(
            "uq_protectedterm_project",
            "project_id",
            "term",
            unique=True,
            sqlite_where=text("document_id IS NULL"),
            postgresql_where=text("document_id IS NULL"),
        ),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    document_id: Optional[int] = Field(default=None, foreign_key="document.id", index=True, ondelete="CASCADE")
    term: str
    source: str = Field(default=TermSource.EDIT)
    created_by_id: Optional[int] = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)


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
    status: str = Field(default=TrainingStatus.RUNNING)
    data_snapshot: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    hyperparams: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    output_dir: Optional[str] = None
    error: Optional[str] = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: Optional[datetime] = None


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # its worker stopped beating (process killed)


ACTIVE_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class Job(SQLModel, table=True):
    """Background work as a row (core.jobs): any process shows it, cancels it, and sees it die."""

    __table_args__ = (
        Index("ix_job_status", "status"),
        Index("ix_job_target", "target_kind", "target_id"),
        # One active job per target (a double click, or two processes, start one).
        Index(
            "uq_job_active_target",
            "kind",
            "target_kind",
            "target_id",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str  # propose | continue | finetune | export
    owner_id: Optional[int] = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    target_kind: str  # thread | spec | project ...
    target_id: int
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=JobStatus.QUEUED)
    progress_done: int = Field(default=0)
    progress_total: int = Field(default=0)
    message: Optional[str] = Field(default=None, sa_column=Column(Text))
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: Optional[str] = Field(default=None, sa_column=Column(Text))
    cancel_requested: bool = Field(default=False)
    worker: Optional[str] = None  # host:pid:thread of the worker that runs it
    deadline_at: Optional[datetime] = None
    heartbeat_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)
    started_at: Optional[datetime] = None
    finished_at: Optional[datetime] = None


# --- annotation campaigns (core.campaigns) --------------------------------------------------------------


class CampaignStatus(StrEnum):
    PREPARING = "preparing"  # the proposals for its items are being made
    OPEN = "open"  # annotators take items
    CLOSED = "closed"  # no more decisions; labels and exports stay


class ItemStatus(StrEnum):
    PENDING = "pending"  # proposals not made yet (or their job died: made again)
    READY = "ready"  # its shared round is under review
    EMPTY = "empty"  # the proposer found nothing to judge
    FAILED = "failed"


class AssignmentStatus(StrEnum):
    RESERVED = "reserved"  # taken with "Next": expires if not finished in time
    ASSIGNED = "assigned"  # given by a researcher (or sent back for correction): no expiry
    DONE = "done"  # finished: never taken away


class Campaign(SQLModel, table=True):
    """Several people judging the same frozen proposals: overlap, guidelines, gold items."""

    id: Optional[int] = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    name: str = Field(index=True, unique=True)
    created_by_id: Optional[int] = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    status: str = Field(default=CampaignStatus.PREPARING)
    spec_id: Optional[int] = Field(default=None, foreign_key="proposerspec.id", ondelete="SET NULL")
    intents: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    rounds_per_item: int = Field(default=1)
    overlap: int = Field(default=2)  # how many people judge each item (Argilla's min_submitted)
    guidelines: str = Field(default="", sa_column=Column(Text, nullable=False))
    gold_every: int = Field(default=0)  # every k-th item a person takes is a gold item (0: none)
    gold_min_accuracy: Optional[float] = None  # below it (on enough gold edits) a person is paused
    reservation_minutes: int = Field(default=30)
    # an edit goes to adjudication when the share of its most common label is below this
    min_agreement: float = Field(default=1.0)
    job_id: Optional[int] = Field(default=None, foreign_key="job.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)


class CampaignItem(SQLModel, table=True):
    """One document of a campaign, with the shared round everyone judges."""

    __table_args__ = (UniqueConstraint("campaign_id", "document_id", name="uq_campaignitem_document"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    document_id: int = Field(foreign_key="document.id", index=True, ondelete="CASCADE")
    # indexed: every decision asks whether its round is a campaign's shared round
    round_id: Optional[int] = Field(default=None, foreign_key="round.id", ondelete="SET NULL", index=True)
    status: str = Field(default=ItemStatus.PENDING)
    is_gold: bool = Field(default=False)
    # edit id (as a string: JSON keys) -> the known answer (accept | reject | modify)
    gold_answers: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: Optional[str] = Field(default=None, sa_column=Column(Text))


class CampaignMember(SQLModel, table=True):
    """An annotator of a campaign; a paused one gets no more items."""

    __table_args__ = (UniqueConstraint("campaign_id", "user_id", name="uq_campaignmember_user"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    paused: bool = Field(default=False)
    paused_reason: Optional[str] = None
    created_at: datetime = Field(default_factory=utcnow)


class CampaignAssignment(SQLModel, table=True):
    """A person's hold on an item. The database keeps the rules across processes: a person holds an
    item once (unique item, user), an item has at most `overlap` holders (one row per slot, slots
    0..overlap-1, unique item, slot; gold items have no slot), and a person holds one reservation
    from "Next" at a time per campaign (a partial unique index)."""

    __table_args__ = (
        UniqueConstraint("item_id", "user_id", name="uq_assignment_item_user"),
        UniqueConstraint("item_id", "slot", name="uq_assignment_item_slot"),
        Index("ix_assignment_campaign_status", "campaign_id", "status"),
        Index(
            "uq_assignment_one_reserved",
            "campaign_id",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'reserved'"),
            postgresql_where=text("status = 'reserved'"),
        ),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    item_id: int = Field(foreign_key="campaignitem.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    slot: Optional[int] = None
    status: str = Field(default=AssignmentStatus.RESERVED)
    manual: bool = Field(default=False)
    reserved_at: datetime = Field(default_factory=utcnow)
    expires_at: Optional[datetime] = None
    done_at: Optional[datetime] = None


class Adjudication(SQLModel, table=True):
    """An adjudicator's label for a shared edit people disagreed on; the latest per edit counts."""

    id: Optional[int] = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    edit_id: int = Field(foreign_key="edit.id", index=True, ondelete="CASCADE")
    user_id: Optional[int] = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    action: str  # accept | reject | modify
    modified_text: Optional[str] = Field(default=None, sa_column=Column(Text))
    comment: Optional[str] = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
