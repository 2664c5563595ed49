"""One revision round: propose edits on a version, record decisions, apply them, decide whether to go on.

Proposing can take long (a model), so `propose_round` works in three short
transactions: create the round, run the proposer outside any transaction, store
its edits. Everything else takes an open Session; the caller commits.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core import documents, projects
from core.db import session_scope
from core.errors import ConflictError, InputError, NotFoundError, RedraftError
from core.models import ACTIONS, Decision, Round, Thread, Version, utcnow
from core.models import Edit as EditRow
from core.proposers import make_request
from core.proposers.base import DEFAULT_INTENTS, ProgressCallback, Proposer, SpecData
from core.proposers.registry import build_proposer, get_or_create_spec, spec_from_row
from core.revision import feedback
from core.text.edits import Edit, apply_edits

DEFAULT_MAX_DEPTH = 3  # as in R3
# Rounds this process is proposing right now (a double click must not start a second one).
_in_flight: set[int] = set()
PENDING = "pending"

STOP_MAX_DEPTH = "maximum depth reached"
STOP_NO_EDITS = "the proposer found no new edits"
STOP_USER = "finished by the user"


@dataclass(frozen=True)
class EditState:
    """A stored edit with this person's current decision on it."""

    row: EditRow
    status: str  # pending | accept | reject | modify
    modified_text: str | None = None

    @property
    def applied_after(self) -> str | None:
        """The text that replaces `before` if the round were applied now, or None if it is not applied."""
        if self.status == "accept":
            return self.row.after
        if self.status == "modify":
            return self.modified_text
        return None


@dataclass
class RoundView:
    round: Round
    base_text: str
    edits: list[EditState]
    hidden: list[EditState] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for e in self.edits if e.status == status)

    @property
    def counts(self) -> dict[str, int]:
        return {s: self.count(s) for s in (PENDING, "accept", "reject", "modify")}

    def preview_text(self) -> str:
        """The text as it would be if the round were applied now."""
        return apply_decided(self.base_text, self.edits)


# --- threads -----------------------------------------------------------------


def get_thread(session: Session, thread_id: int) -> Thread:
    thread = session.get(Thread, thread_id)
    if thread is None:
        raise NotFoundError(f"No thread with id {thread_id}.")
    return thread


def active_thread(session: Session, document_id: int, user_id: int, *, simulated: bool = False) -> Thread:
    """This person's active revision thread of the document, started if there is none."""
    documents.get_document(session, document_id)
    query = (
        select(Thread)
        .where(Thread.document_id == document_id, Thread.user_id == user_id, Thread.status == "active")
        .order_by(Thread.id.desc())
    )
    thread = session.exec(query).first()
    if thread is None:
        thread = Thread(document_id=document_id, user_id=user_id, simulated=simulated)
        session.add(thread)
        session.flush()
    return thread


def latest_thread(session: Session, document_id: int, user_id: int) -> Thread | None:
    """This person's most recent thread of the document (active or finished), without starting one."""
    query = select(Thread).where(Thread.document_id == document_id, Thread.user_id == user_id)
    return session.exec(query.order_by(Thread.id.desc())).first()


def thread_rounds(session: Session, thread_id: int) -> list[Round]:
    return list(session.exec(select(Round).where(Round.thread_id == thread_id).order_by(Round.depth, Round.id)).all())


def current_round(session: Session, thread_id: int) -> Round | None:
    """The latest round of a thread (reviewing, proposing or done), or None before the first."""
    return session.exec(select(Round).where(Round.thread_id == thread_id).order_by(Round.id.desc())).first()


def finish_thread(session: Session, thread_id: int, reason: str = STOP_USER) -> Thread:
    """End a thread. A round still under review is closed unapplied (its decisions stay stored)."""
    thread = get_thread(session, thread_id)
    if thread.status != "finished":
        thread.status = "finished"
        thread.stop_reason = reason
        thread.finished_at = utcnow()
        session.add(thread)
        for rnd in thread_rounds(session, thread_id):
            if rnd.status == "reviewing":
                rnd.status, rnd.stop_reason, rnd.finished_at = "finished", reason, utcnow()
                session.add(rnd)
        session.flush()
    return thread


# --- proposing ---------------------------------------------------------------


@dataclass(frozen=True)
class RoundSettings:
    spec: SpecData = field(default_factory=lambda: SpecData(kind="builtin"))
    intents: tuple[str, ...] = DEFAULT_INTENTS
    feedback: str = ""
    max_depth: int = DEFAULT_MAX_DEPTH
    disabled_rules: frozenset[str] = frozenset()


def next_depth(session: Session, thread_id: int) -> int:
    applied = [r.depth for r in thread_rounds(session, thread_id) if r.status in ("applied", "finished")]
    return max(applied, default=0) + 1


def begin_round(session: Session, thread_id: int, settings: RoundSettings) -> Round:
    """Create the round record (status proposing) on the document's head version."""
    thread = get_thread(session, thread_id)
    if thread.status != "active":
        raise ConflictError(f"Thread {thread_id} is finished ({thread.stop_reason}); start a new one to go on.")
    latest = current_round(session, thread_id)
    if latest is not None and latest.status == "reviewing":
        raise ConflictError(f"Round {latest.depth} is still under review: apply or finish it first.")
    if latest is not None and latest.status == "proposing":
        if latest.id in _in_flight:
            raise ConflictError(f"Round {latest.depth} is being proposed right now; wait for it or cancel it.")
        # A round left 'proposing' by no live worker means its process died mid-round; record that, go on.
        latest.status, latest.error, latest.finished_at = "failed", "interrupted while proposing", utcnow()
        session.add(latest)
    depth = next_depth(session, thread_id)
    if depth > settings.max_depth:
        finish_thread(session, thread_id, STOP_MAX_DEPTH)
        raise ConflictError(f"The maximum depth ({settings.max_depth}) is reached; the thread is finished.")
    project_id = documents.get_document(session, thread.document_id).project_id
    # The project's instructions and switched-off rules go into the recorded spec and request.
    spec_row = get_or_create_spec(session, projects.spec_for_project(session, project_id, settings.spec))
    disabled = settings.disabled_rules | projects.disabled_rules(session, project_id)
    base = documents.head_version(session, thread.document_id)
    rnd = Round(
        thread_id=thread_id,
        depth=depth,
        base_version_id=base.id,
        spec_id=spec_row.id,
        feedback=settings.feedback.strip() or None,
        request={
            "intents": list(settings.intents),
            "max_depth": settings.max_depth,
            "disabled_rules": sorted(disabled),
        },
        status="proposing",
    )
    session.add(rnd)
    session.flush()
    return rnd


def store_edits(session: Session, round_id: int, base_text: str, edits: list[Edit]) -> list[EditRow]:
    """Store a round's edits (after feedback screening), in document order."""
    rnd = get_round(session, round_id)
    thread = get_thread(session, rnd.thread_id)
    screened = feedback.screen_edits(session, thread, base_text, edits)
    rows = []
    for position, item in enumerate(screened):
        e = item.edit
        rows.append(
            EditRow(
                round_id=round_id,
                position=position,
                start=e.start,
                end=e.end,
                before=e.before,
                after=e.after,
                alternatives=list(e.alternatives),
                intent=e.intent,
                explanation=e.explanation or None,
                source=e.source or None,
                score=e.score,
                predicted_accept=item.predicted_accept,
                hidden_reason=item.hidden_reason,
                content_hash=e.content_hash,
                context=feedback.edit_context(base_text, e),
            )
        )
    session.add_all(rows)
    session.flush()
    return rows


def propose_round(
    engine: Engine,
    thread_id: int,
    settings: RoundSettings,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    proposer: Proposer | None = None,
) -> Round:
    """Run one proposing step: returns the round, reviewing (with edits), finished (none new) or failed."""
    with session_scope(engine) as s:
        rnd = begin_round(s, thread_id, settings)
        base_text = s.get(Version, rnd.base_version_id).text
        context = feedback.request_context(s, get_thread(s, thread_id), settings.feedback)
        round_id = rnd.id
        spec = retry_spec(s, rnd)  # exactly what is recorded for the round
        disabled = frozenset(rnd.request["disabled_rules"])
    _in_flight.add(round_id)
    try:
        proposer = proposer or build_proposer(spec)
        request = make_request(
            base_text,
            intents=settings.intents,
            feedback=context.feedback,
            examples=context.examples,
            avoid=context.avoid,
            disabled_rules=disabled | context.disabled_rules,
            progress=progress,
            cancel=cancel,
        )
        edits, result = _propose(proposer, request)
    except RedraftError as exc:
        return _fail_round(engine, round_id, str(exc))
    except Exception as exc:  # a model that crashes must not take the round's record with it
        return _fail_round(engine, round_id, f"{exc.__class__.__name__}: {exc}")
    finally:
        _in_flight.discard(round_id)
    with session_scope(engine) as s:
        rnd = get_round(s, round_id)
        rnd.dropped = [
            {"sentence": d.sentence_index, "reason": d.reason, "output": d.output[:500]} for d in result.dropped
        ]
        if result.cancelled:
            rnd.status, rnd.stop_reason, rnd.finished_at = "cancelled", "cancelled by the user", utcnow()
            s.add(rnd)
            return rnd
        rows = store_edits(s, round_id, base_text, edits)
        if not rows:
            rnd.status, rnd.stop_reason, rnd.finished_at = "finished", STOP_NO_EDITS, utcnow()
            finish_thread(s, rnd.thread_id, STOP_NO_EDITS)
        else:
            rnd.status = "reviewing"
        s.add(rnd)
        return rnd


def _propose(proposer: Proposer, request):  # noqa: ANN001, ANN202 - thin wrapper kept for tracebacks
    from core.proposers import propose_edits

    return propose_edits(proposer, request)


def _fail_round(engine: Engine, round_id: int, error: str) -> Round:
    with session_scope(engine) as s:
        rnd = get_round(s, round_id)
        rnd.status, rnd.error, rnd.finished_at = "failed", error, utcnow()
        s.add(rnd)
        return rnd


def retry_spec(session: Session, rnd: Round) -> SpecData:
    """The proposer spec a round used, to propose again with the same settings."""
    from core.models import ProposerSpec

    return spec_from_row(session.get(ProposerSpec, rnd.spec_id))


# --- deciding ----------------------------------------------------------------


def get_round(session: Session, round_id: int) -> Round:
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise NotFoundError(f"No round with id {round_id}.")
    return rnd


def get_edit(session: Session, edit_id: int) -> EditRow:
    edit = session.get(EditRow, edit_id)
    if edit is None:
        raise NotFoundError(f"No edit with id {edit_id}.")
    return edit


def decide(
    session: Session,
    edit_id: int,
    user_id: int,
    action: str,
    *,
    modified_text: str | None = None,
    comment: str | None = None,
    time_taken_ms: int | None = None,
    idempotency_key: str | None = None,
    simulated: bool = False,
) -> Decision:
    """Record one decision (append-only). The same idempotency key twice returns the first row."""
    if action not in ACTIONS:
        raise InputError(f"Unknown action {action!r}; use one of {', '.join(ACTIONS)}.")
    if idempotency_key:
        existing = session.exec(select(Decision).where(Decision.idempotency_key == idempotency_key)).first()
        if existing is not None:
            return existing
    edit = get_edit(session, edit_id)
    rnd = get_round(session, edit.round_id)
    if rnd.status != "reviewing":
        raise ConflictError(f"Round {rnd.depth} is {rnd.status}; its edits can no longer be decided.")
    if action == "modify":
        if modified_text is None:
            raise InputError("A rewrite needs the replacement text.")
        if len(modified_text) > 100_000:
            raise InputError("The rewrite is longer than 100,000 characters.")
    decision = Decision(
        edit_id=edit_id,
        user_id=user_id,
        action=action,
        modified_text=modified_text if action == "modify" else None,
        comment=comment or None,
        time_taken_ms=max(0, int(time_taken_ms)) if time_taken_ms is not None else None,
        idempotency_key=idempotency_key or None,
        simulated=simulated,
    )
    if not idempotency_key:
        session.add(decision)
        session.flush()
        return decision
    # A concurrent double click with the same key: the unique constraint keeps one row.
    try:
        with session.begin_nested():
            session.add(decision)
            session.flush()
    except IntegrityError:
        existing = session.exec(select(Decision).where(Decision.idempotency_key == idempotency_key)).first()
        if existing is None:
            raise
        return existing
    return decision


def replay(decisions: list[Decision]) -> tuple[str, str | None]:
    """The state a person's decisions on one edit leave it in; undo steps back one decision."""
    stack: list[tuple[str, str | None]] = []
    for d in decisions:
        if d.action == "undo":
            if stack:
                stack.pop()
        else:
            stack.append((d.action, d.modified_text))
    return stack[-1] if stack else (PENDING, None)


def edit_states(session: Session, round_id: int, user_id: int) -> list[EditState]:
    """All edits of a round (document order) with this person's current decision."""
    rows = list(session.exec(select(EditRow).where(EditRow.round_id == round_id).order_by(EditRow.position)).all())
    by_edit: dict[int, list[Decision]] = {}
    query = (
        select(Decision)
        .join(EditRow, EditRow.id == Decision.edit_id)
        .where(EditRow.round_id == round_id, Decision.user_id == user_id)
        .order_by(Decision.created_at, Decision.id)
    )
    for d in session.exec(query).all():
        by_edit.setdefault(d.edit_id, []).append(d)
    states = []
    for row in rows:
        status, text = replay(by_edit.get(row.id, []))
        states.append(EditState(row=row, status=status, modified_text=text))
    return states


def round_view(session: Session, round_id: int, user_id: int) -> RoundView:
    rnd = get_round(session, round_id)
    base = session.get(Version, rnd.base_version_id)
    states = edit_states(session, round_id, user_id)
    shown = [s for s in states if s.row.hidden_reason is None or s.status != PENDING]
    hidden = [s for s in states if s.row.hidden_reason is not None and s.status == PENDING]
    return RoundView(round=rnd, base_text=base.text, edits=shown, hidden=hidden)


def decide_many(
    session: Session,
    round_id: int,
    user_id: int,
    action: str,
    *,
    intent: str | None = None,
    only_pending: bool = True,
    include_hidden: bool = False,
) -> int:
    """Accept or reject all (pending) edits of a round, optionally of one intent. Returns how many."""
    if action not in ("accept", "reject"):
        raise InputError("Bulk decisions are accept or reject.")
    view = round_view(session, round_id, user_id)
    targets = view.edits + (view.hidden if include_hidden else [])
    n = 0
    for state in targets:
        if only_pending and state.status != PENDING:
            continue
        if intent is not None and state.row.intent != intent:
            continue
        decide(session, state.row.id, user_id, action)
        n += 1
    return n


# --- applying ----------------------------------------------------------------


def apply_decided(base_text: str, states: list[EditState]) -> str:
    chosen = [replace(_as_edit(s.row), after=s.applied_after) for s in states if s.applied_after is not None]
    return apply_edits(base_text, chosen)


def _as_edit(row: EditRow) -> Edit:
    return Edit(start=row.start, end=row.end, before=row.before, after=row.after)


def apply_round(session: Session, round_id: int, user_id: int) -> Version:
    """Apply accepted and rewritten edits: the next version. Applying twice returns the same version."""
    rnd = get_round(session, round_id)
    if rnd.status == "applied" and rnd.result_version_id is not None:
        return session.get(Version, rnd.result_version_id)
    if rnd.status != "reviewing":
        raise ConflictError(f"Round {rnd.depth} is {rnd.status}; only a round under review can be applied.")
    thread = get_thread(session, rnd.thread_id)
    base = session.get(Version, rnd.base_version_id)
    states = edit_states(session, round_id, user_id)
    text = apply_decided(base.text, states)
    version = documents.add_version(
        session, thread.document_id, text, origin="round", parent_id=base.id, round_id=rnd.id, user_id=user_id
    )
    rnd.status, rnd.result_version_id, rnd.finished_at = "applied", version.id, utcnow()
    session.add(rnd)
    session.flush()
    return version


def stop_reason_after(session: Session, round_id: int, max_depth: int) -> str | None:
    """Why the loop stops after this round, or None if another round may start."""
    rnd = get_round(session, round_id)
    if rnd.status == "finished":
        return rnd.stop_reason
    if rnd.depth >= max_depth:
        return STOP_MAX_DEPTH
    return None


@dataclass(frozen=True)
class ContinueResult:
    version: Version
    next_round: Round | None
    stop_reason: str | None


def apply_and_continue(
    engine: Engine,
    round_id: int,
    user_id: int,
    settings: RoundSettings,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    proposer: Proposer | None = None,
) -> ContinueResult:
    """Apply this round, then start the next one unless the loop stops (depth limit or no new edits)."""
    with session_scope(engine) as s:
        already = get_round(s, round_id).status == "applied"
        version = apply_round(s, round_id, user_id)
        rnd = get_round(s, round_id)
        thread_id = rnd.thread_id
        if already:  # a repeated click: report the round that followed, start nothing new
            later = s.exec(
                select(Round).where(Round.thread_id == thread_id, Round.base_version_id == version.id)
            ).first()
            return ContinueResult(version=version, next_round=later, stop_reason=get_thread(s, thread_id).stop_reason)
        reason = stop_reason_after(s, round_id, settings.max_depth)
        if reason:
            finish_thread(s, thread_id, reason)
            return ContinueResult(version=version, next_round=None, stop_reason=reason)
    nxt = propose_round(engine, thread_id, settings, progress=progress, cancel=cancel, proposer=proposer)
    stop = nxt.stop_reason if nxt.status == "finished" else None
    return ContinueResult(version=version, next_round=nxt, stop_reason=stop)


def last_decision_time(session: Session, round_id: int, user_id: int) -> datetime | None:
    query = (
        select(Decision.created_at)
        .join(EditRow, EditRow.id == Decision.edit_id)
        .where(EditRow.round_id == round_id, Decision.user_id == user_id)
        .order_by(Decision.created_at.desc())
    )
    return session.exec(query).first()
