"""Proposing a round: edits on the head version, stored for review; and applying then going on.

Proposing can take long (a model), so `propose_round` works in three short transactions: create
the round, run the proposer outside any transaction, store its edits. The database holds the
rules: one open round per thread (a partial unique index), a round that follows an applied one
names it (so two processes continuing one round start one next round), and edits are stored only
while the round is still proposing (a cancel or an interrupted job wins).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import documents, projects, specs
from core.db import session_scope
from core.errors import ConflictError, RedraftError
from core.models import (
    ACTIVE_JOB_STATUSES,
    OPEN_ROUND_STATUSES,
    Job,
    ProposerSpec,
    Round,
    RoundStatus,
    ThreadStatus,
    Version,
    id_of,
    utcnow,
)
from core.models import Edit as EditRow
from core.proposers import make_request, propose_edits
from core.proposers.base import DEFAULT_INTENTS, ProgressCallback, ProposalResult, Proposer, SpecData
from core.proposers.registry import build_proposer
from core.revision import feedback, protected
from core.revision.apply import RoundNotUnderReview, apply_round, stop_reason_after
from core.revision.review import get_round
from core.revision.threads import STOP_MAX_DEPTH, STOP_NO_EDITS, current_round, finish_thread, get_thread
from core.text.clean import clean_text
from core.text.edits import Edit

DEFAULT_MAX_DEPTH = 3  # as in R3
INTERRUPTED = "interrupted: the process proposing it stopped"


@dataclass(frozen=True)
class RoundSettings:
    spec: SpecData = field(default_factory=lambda: SpecData(kind="builtin"))
    intents: tuple[str, ...] = DEFAULT_INTENTS
    feedback: str = ""
    max_depth: int = DEFAULT_MAX_DEPTH
    disabled_rules: frozenset[str] = frozenset()


def next_depth(session: Session, thread_id: int) -> int:
    query = select(Round.depth).where(
        Round.thread_id == thread_id, col(Round.status).in_([RoundStatus.APPLIED, RoundStatus.FINISHED])
    )
    return max(session.exec(query).all(), default=0) + 1


def open_round(session: Session, thread_id: int) -> Round | None:
    query = select(Round).where(Round.thread_id == thread_id, col(Round.status).in_(OPEN_ROUND_STATUSES))
    return session.exec(query).first()


def begin_round(
    session: Session,
    thread_id: int,
    settings: RoundSettings,
    *,
    after_round_id: int | None = None,
    job_id: int | None = None,
) -> Round:
    """Create the round record (status proposing) on the document's head version.

    `after_round_id`: the round this one follows; if another round already followed it, nothing
    is started (ConflictError)."""
    thread = get_thread(session, thread_id)
    if thread.status != ThreadStatus.ACTIVE:
        raise ConflictError(f"Thread {thread_id} is finished ({thread.stop_reason}); start a new one to go on.")
    latest = current_round(session, thread_id)
    if after_round_id is not None and (latest is None or latest.id != after_round_id):
        raise ConflictError("Another round already followed this one; showing the current round.")
    busy = open_round(session, thread_id)
    if busy is not None and busy.status == RoundStatus.PROPOSING and _job_ended(session, busy.job_id):
        free_round(session, busy.id or 0)  # its job died before the reaper saw it
        busy = None
    if busy is not None:
        if busy.status == RoundStatus.REVIEWING:
            raise ConflictError(f"Round {busy.depth} is still under review: apply or finish it first.")
        raise ConflictError(f"Round {busy.depth} is being proposed right now; wait for it or cancel it.")
    depth = next_depth(session, thread_id)
    if depth > settings.max_depth:
        finish_thread(session, thread_id, STOP_MAX_DEPTH)
        raise ConflictError(f"The maximum depth ({settings.max_depth}) is reached; the thread is finished.")
    project_id = documents.get_document(session, thread.document_id).project_id
    # The project's instructions and switched-off rules go into the recorded spec and request.
    spec_row = specs.get_or_create_spec(session, projects.spec_for_project(session, project_id, settings.spec))
    disabled = settings.disabled_rules | projects.disabled_rules(session, project_id)
    base = documents.head_version(session, thread.document_id)
    rnd = Round(
        thread_id=thread_id,
        depth=depth,
        base_version_id=id_of(base),
        spec_id=spec_row.id,
        feedback=clean_text(settings.feedback).text.strip() or None,
        request={
            "intents": list(settings.intents),
            "max_depth": settings.max_depth,
            "disabled_rules": sorted(disabled),
            "protected_terms": list(protected.protected_texts(session, thread.document_id)),
        },
        status=RoundStatus.PROPOSING,
        job_id=job_id,
    )
    try:
        with session.begin_nested():  # the unique index: another process opened a round meanwhile
            session.add(rnd)
            session.flush()
    except IntegrityError:
        raise ConflictError("Another round of this thread was started at the same moment.") from None
    return rnd


def _job_ended(session: Session, job_id: int | None) -> bool:
    if job_id is None:
        return False  # proposed in a caller's own process: it frees the round itself on failure
    job = session.get(Job, job_id)
    return job is None or job.status not in ACTIVE_JOB_STATUSES


def store_edits(
    session: Session, round_id: int, base_text: str, edits: list[Edit], *, screen: bool = True
) -> list[EditRow]:
    """Store a round's edits in document order: screened by the thread owner's feedback and protected
    terms, or (`screen` False: a campaign's shared round, the same edits for everyone) all of them, shown."""
    if screen:
        rnd = get_round(session, round_id)
        thread = get_thread(session, rnd.thread_id)
        terms = (rnd.request or {}).get("protected_terms", ())
        screened = feedback.screen_edits(session, thread, base_text, edits, terms)
    else:
        screened = [feedback.ScreenedEdit(edit) for edit in edits]
    rows = [
        EditRow(
            round_id=round_id,
            position=position,
            start=item.edit.start,
            end=item.edit.end,
            before=item.edit.before,
            after=item.edit.after,
            alternatives=list(item.edit.alternatives),
            intent=item.edit.intent,
            explanation=item.edit.explanation or None,
            source=item.edit.source or None,
            score=item.edit.score,
            predicted_accept=item.predicted_accept,
            hidden_reason=item.hidden_reason,
            hidden_kind=item.hidden_kind,
            hidden_value=item.hidden_value,
            content_hash=item.edit.content_hash,
            context=feedback.edit_context(base_text, item.edit),
        )
        for position, item in enumerate(screened)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def _set_status(session: Session, round_id: int, status: RoundStatus, **values: object) -> bool:
    """Move a proposing round on; False if it is no longer proposing (cancelled or interrupted)."""
    done = session.execute(
        update(Round)
        .where(col(Round.id) == round_id, col(Round.status) == RoundStatus.PROPOSING)
        .values(status=status, **values)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]  # CursorResult


def propose_round(
    engine: Engine,
    thread_id: int,
    settings: RoundSettings,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    proposer: Proposer | None = None,
    after_round_id: int | None = None,
    timeout_s: float | None = None,
    job_id: int | None = None,
) -> Round:
    """Run one proposing step: returns the round, reviewing (with edits), finished (none new),
    cancelled or failed."""
    with session_scope(engine) as s:
        rnd = begin_round(s, thread_id, settings, after_round_id=after_round_id, job_id=job_id)
        base = s.get(Version, rnd.base_version_id)
        assert base is not None
        base_text = base.text
        # Feedback goes into the prompt as stored: without control characters.
        context = feedback.request_context(s, get_thread(s, thread_id), clean_text(settings.feedback).text)
        round_id = rnd.id
        assert round_id is not None
        spec = retry_spec(s, rnd)  # exactly what is recorded for the round
        disabled = frozenset(rnd.request["disabled_rules"])
        terms = tuple(rnd.request.get("protected_terms", ()))
    try:
        request = make_request(
            base_text,
            intents=settings.intents,
            feedback=context.feedback,
            examples=context.examples,
            avoid=context.avoid,
            disabled_rules=disabled | context.disabled_rules,
            protected_terms=terms,
            progress=progress,
            cancel=cancel,
            timeout_s=timeout_s,
        )
        edits, result = propose_edits(proposer or build_proposer(spec), request)
    except RedraftError as exc:
        return fail_round(engine, round_id, str(exc))
    except Exception as exc:  # a model that crashes must not take the round's record with it
        return fail_round(engine, round_id, f"{exc.__class__.__name__}: {exc}")
    if edits:
        feedback.refresh_model(engine, thread_id)
    try:
        return _store_result(engine, round_id, thread_id, base_text, edits, result, cancel)
    except _Discard:
        with session_scope(engine) as s:
            return get_round(s, round_id)


def _store_result(
    engine: Engine,
    round_id: int,
    thread_id: int,
    base_text: str,
    edits: list[Edit],
    result: ProposalResult,
    cancel: threading.Event | None,
) -> Round:
    with session_scope(engine) as s:
        dropped = [{"sentence": d.sentence_index, "reason": d.reason, "output": d.output[:500]} for d in result.dropped]
        if result.cancelled or (cancel is not None and cancel.is_set()):
            _set_status(
                s, round_id, RoundStatus.CANCELLED, stop_reason="cancelled", finished_at=utcnow(), dropped=dropped
            )
            return get_round(s, round_id)
        rows = store_edits(s, round_id, base_text, edits) if edits else []
        if not rows:
            timeouts = [d.reason for d in result.dropped if d.reason.startswith("timeout")]
            if timeouts:  # the model never answered: a failure to see and retry, not "nothing to change"
                error = f"No edits: {len(timeouts)} sentence(s) got no answer in time ({timeouts[0]})."
                _set_status(s, round_id, RoundStatus.FAILED, error=error, finished_at=utcnow(), dropped=dropped)
                return get_round(s, round_id)
            done = _set_status(
                s, round_id, RoundStatus.FINISHED, stop_reason=STOP_NO_EDITS, finished_at=utcnow(), dropped=dropped
            )
            if done:
                finish_thread(s, thread_id, STOP_NO_EDITS)
        elif not _set_status(s, round_id, RoundStatus.REVIEWING, dropped=dropped):
            raise _Discard()  # no longer proposing: roll the edits back, keep what happened to it
        return get_round(s, round_id)


class _Discard(Exception):
    pass


def fail_round(engine: Engine, round_id: int, error: str) -> Round:
    """Record that proposing failed (if the round is still proposing) and return the round."""
    with session_scope(engine) as s:
        _set_status(s, round_id, RoundStatus.FAILED, error=error[:5000], finished_at=utcnow())
        return get_round(s, round_id)


def free_round(session: Session, round_id: int, reason: str = INTERRUPTED) -> bool:
    """Mark a round left proposing by a dead job failed, so its thread can go on."""
    return _set_status(session, round_id, RoundStatus.FAILED, error=reason, finished_at=utcnow())


def free_rounds_of_job(session: Session, job_id: int) -> int:
    """Free every round a dead job left proposing; how many."""
    query = select(Round.id).where(Round.job_id == job_id, Round.status == RoundStatus.PROPOSING)
    return sum(free_round(session, round_id) for round_id in session.exec(query).all() if round_id is not None)


def retry_spec(session: Session, rnd: Round) -> SpecData:
    """The proposer spec a round used, to propose again with the same settings."""
    row = session.get(ProposerSpec, rnd.spec_id)
    assert row is not None
    return specs.spec_from_row(row)


@dataclass(frozen=True)
class ContinueResult:
    version: Version
    next_round: Round | None
    stop_reason: str | None
    already_applied: bool = False  # the round had been applied before (a repeat, another tab)


def apply_and_continue(
    engine: Engine,
    round_id: int,
    user_id: int,
    settings: RoundSettings,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    proposer: Proposer | None = None,
    timeout_s: float | None = None,
    job_id: int | None = None,
) -> ContinueResult:
    """Apply this round, then start the next one unless the loop stops (depth limit or no new edits).
    A round applied before is not applied again: the result names its version and the round that
    followed it."""
    with session_scope(engine) as s:
        try:
            version = apply_round(s, round_id, user_id)
        except RoundNotUnderReview as exc:
            if exc.status != RoundStatus.APPLIED or exc.result_version_id is None:
                raise
            return _already_applied(s, round_id, exc.result_version_id)
        thread_id = get_round(s, round_id).thread_id
        reason = stop_reason_after(s, round_id, settings.max_depth)
        if reason:
            finish_thread(s, thread_id, reason)
            return ContinueResult(version=version, next_round=None, stop_reason=reason)
    try:
        nxt = propose_round(
            engine,
            thread_id,
            settings,
            progress=progress,
            cancel=cancel,
            proposer=proposer,
            after_round_id=round_id,
            timeout_s=timeout_s,
            job_id=job_id,
        )
    except ConflictError:  # another process started the next round first
        with session_scope(engine) as s:
            return _already_applied(s, round_id, version.id or 0)
    stop = nxt.stop_reason if nxt.status == RoundStatus.FINISHED else None
    return ContinueResult(version=version, next_round=nxt, stop_reason=stop)


def _already_applied(session: Session, round_id: int, version_id: int) -> ContinueResult:
    version = session.get(Version, version_id)
    assert version is not None
    thread_id = get_round(session, round_id).thread_id
    later = session.exec(
        select(Round).where(Round.thread_id == thread_id, col(Round.id) > round_id).order_by(col(Round.id))
    ).first()
    return ContinueResult(
        version=version,
        next_round=later,
        stop_reason=get_thread(session, thread_id).stop_reason,
        already_applied=True,
    )
