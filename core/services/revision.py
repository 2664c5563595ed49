"""A writer's revision loop: what the Revise page and the CLI do, for the acting person.

Proposing and "apply and continue" run as durable jobs (core.jobs): a page queues one and shows
its row's progress, from any process, after a reload. Every action names the round the person
saw; the database refuses it if that round is no longer under review, and the page is told
what stands now.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core import access, documents, jobs
from core.access import Action, Actor
from core.config import round_deadline_s
from core.db import read_scope, session_scope
from core.errors import ConflictError, InputError
from core.models import Job, ProposerSpec, Round, RoundStatus, Thread, ThreadStatus, Version
from core.proposers.base import SpecData
from core.revision import apply, review, rounds, threads
from core.revision.apply import RoundNotUnderReview
from core.revision.rounds import RoundSettings
from core.specs import list_specs, spec_from_row

PROPOSE = "propose"
CONTINUE = "continue"
THREAD = "thread"
ROUND = "round"  # apply-and-continue jobs target the round they apply: one per round, never another's
ROUND_DEADLINE_S = round_deadline_s()  # a whole proposing round, model calls included


# --- settings as job parameters ----------------------------------------------------------------------


def settings_to_params(settings: RoundSettings) -> dict[str, Any]:
    return {
        "spec": asdict(settings.spec),
        "intents": list(settings.intents),
        "feedback": settings.feedback,
        "max_depth": settings.max_depth,
        "disabled_rules": sorted(settings.disabled_rules),
    }


def settings_from_params(params: dict[str, Any]) -> RoundSettings:
    spec = params.get("spec") or {}
    return RoundSettings(
        spec=SpecData(
            kind=spec.get("kind", "builtin"),
            model=spec.get("model"),
            params=dict(spec.get("params") or {}),
            name=spec.get("name", ""),
        ),
        intents=tuple(params.get("intents") or ()),
        feedback=params.get("feedback") or "",
        max_depth=int(params.get("max_depth", rounds.DEFAULT_MAX_DEPTH)),
        disabled_rules=frozenset(params.get("disabled_rules") or ()),
    )


# --- what the page shows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevisionState:
    """Everything the Revise page shows for one person and document, read in one transaction."""

    document_id: int
    head: Version
    thread: Thread | None
    round: Round | None  # the thread's latest round
    history: list[Round]
    job: Job | None  # the thread's latest job (running, or how the last one ended)
    version_numbers: dict[int, int]  # version id -> its number within the document

    def version_label(self, version_id: int | None) -> str:
        """A version of this document as people name it ("v2"), never the global id."""
        number = self.version_numbers.get(version_id or 0)
        return documents.version_label(number) if number is not None else "(unknown version)"

    @property
    def reviewing(self) -> bool:
        return (
            self.thread is not None
            and self.thread.status == ThreadStatus.ACTIVE
            and self.round is not None
            and self.round.status == RoundStatus.REVIEWING
        )

    @property
    def job_running(self) -> bool:
        return self.job is not None and self.job.status in (jobs.JobStatus.QUEUED, jobs.JobStatus.RUNNING)


def revision_state(engine: Engine, actor: Actor, document_id: int) -> RevisionState:
    with read_scope(engine) as s:
        access.authorize_document(s, actor, Action.DOCUMENT_READ, document_id)
        thread = threads.latest_thread(s, document_id, actor.user_id)
        rnd = threads.current_round(s, thread.id) if thread and thread.id else None
        history = threads.thread_rounds(s, thread.id) if thread and thread.id else []
        targets = [(THREAD, thread.id)] if thread and thread.id else []
        job = jobs.latest_for(s, targets + [(ROUND, r.id) for r in history if r.id is not None])
        head = documents.head_version(s, document_id)
        numbers = documents.version_numbers(s, document_id)
    return RevisionState(document_id, head, thread, rnd, history, job, numbers)


def proposer_choices(engine: Engine) -> list[tuple[int, SpecData, str]]:
    """(spec id, spec, name) of every stored proposer that can propose, newest first."""
    with read_scope(engine) as s:
        return [(row.id or 0, spec_from_row(row), row.name or "") for row in list_specs(s)]


def current_text(engine: Engine, actor: Actor, document_id: int) -> str:
    """The latest version with this person's decisions so far on their round under review."""
    from core.data import downloads

    with read_scope(engine) as s:
        access.authorize_document(s, actor, Action.DOCUMENT_READ, document_id)
        return downloads.current_text(s, document_id, actor.user_id)


# --- actions ------------------------------------------------------------------------------------------


def check_spec(session: Session, actor: Actor, spec: SpecData) -> None:
    """Only admins point Redraft at a new model server: others may use one an admin stored."""
    if spec.kind != "openai" or actor.is_admin:
        return
    base_url = (spec.params or {}).get("base_url")
    stored = session.exec(select(ProposerSpec).where(ProposerSpec.kind == "openai", ProposerSpec.model == spec.model))
    if not any((row.params or {}).get("base_url") == base_url for row in stored):
        raise access.deny(actor, "use a model server no admin has added (an admin adds it on the Models page)")


def propose(engine: Engine, actor: Actor, document_id: int, settings: RoundSettings) -> Job:
    """Queue proposing the next round of this person's thread (started if there is none). A
    second click while it runs returns the same job."""
    if not settings.intents:
        raise InputError("Choose at least one intent.")
    with session_scope(engine) as s:
        access.authorize_document(s, actor, Action.DOCUMENT_READ, document_id)
        check_spec(s, actor, settings.spec)
        thread = threads.active_thread(s, document_id, actor.user_id)
        access.authorize_thread(s, actor, Action.THREAD_PROPOSE, thread)
        assert thread.id is not None
        busy = rounds.open_round(s, thread.id)
        if busy is not None and busy.status == RoundStatus.REVIEWING:
            raise ConflictError(f"Round {busy.depth} is still under review: apply or finish it first.")
        return jobs.submit(
            s,
            PROPOSE,
            target_kind=THREAD,
            target_id=thread.id,
            owner_id=actor.user_id,
            params={"settings": settings_to_params(settings)},
            deadline_s=ROUND_DEADLINE_S,
        )


def apply_and_continue(engine: Engine, actor: Actor, round_id: int, settings: RoundSettings) -> Job:
    """Queue applying the round the person saw and proposing the next one. Refused at once
    (RoundNotUnderReview) if that round is no longer under review: a stale tab applies nothing."""
    with session_scope(engine) as s:
        rnd = review.get_round(s, round_id)
        thread = threads.get_thread(s, rnd.thread_id)
        access.authorize_thread(s, actor, Action.THREAD_APPLY, thread)
        check_spec(s, actor, settings.spec)
        if rnd.status != RoundStatus.REVIEWING:
            raise RoundNotUnderReview(rnd)
        assert thread.id is not None
        return jobs.submit(
            s,
            CONTINUE,
            target_kind=ROUND,
            target_id=round_id,
            owner_id=actor.user_id,
            params={"round_id": round_id, "settings": settings_to_params(settings)},
            deadline_s=ROUND_DEADLINE_S,
        )


@dataclass(frozen=True)
class Finished:
    applied_round_depth: int | None
    applied_version_id: int | None
    applied_version_number: int | None = None  # its number within the document ("v3")


def finish(engine: Engine, actor: Actor, thread_id: int, round_id: int | None) -> Finished:
    """End the thread. The round the person saw, if under review with accepted or rewritten
    edits, is applied first; if it is no longer under review, nothing is done (stale page)."""
    with session_scope(engine) as s:
        thread = threads.get_thread(s, thread_id)
        access.authorize_thread(s, actor, Action.THREAD_FINISH, thread)
        applied: tuple[int | None, int | None, int | None] = (None, None, None)
        if round_id is not None:
            view = review.round_view(s, round_id, thread.user_id)
            if view.round.thread_id != thread_id:
                raise ConflictError("This round is not in the revision shown.")
            if view.round.status != RoundStatus.REVIEWING:
                raise RoundNotUnderReview(view.round)
            if view.count("accept") or view.count("modify"):
                version = apply.apply_round(s, round_id, actor.user_id)
                applied = (view.round.depth, version.id, documents.version_number(s, version.id or 0))
        latest = threads.current_round(s, thread_id)
        if round_id is None and latest is not None and latest.status == RoundStatus.REVIEWING:
            raise ConflictError(f"Round {latest.depth} is under review now; reload to see it before finishing.")
        threads.finish_thread(s, thread_id)
    return Finished(*applied)


def cancel_job(engine: Engine, actor: Actor, job_id: int) -> bool:
    with session_scope(engine) as s:
        job = jobs.get(s, job_id)
        access.authorize(actor, Action.JOB_CANCEL, access.JobRef(job.owner_id))
        return jobs.request_cancel(s, job_id)


def get_job(engine: Engine, job_id: int) -> Job:
    with read_scope(engine) as s:
        return jobs.get(s, job_id)


# --- the jobs themselves (run by a worker, in this process or another) --------------------------------


def _round_result(rnd: Round) -> dict[str, Any]:
    out: dict[str, Any] = {"round_id": rnd.id, "round_status": rnd.status, "stop_reason": rnd.stop_reason}
    if rnd.status == RoundStatus.FAILED:
        out["error"] = rnd.error or "The proposer failed."
    return out


def run_propose(engine: Engine, ctx: jobs.JobContext) -> dict[str, Any]:
    settings = settings_from_params(ctx.params["settings"])
    rnd = rounds.propose_round(
        engine,
        ctx.target_id,
        settings,
        progress=ctx.progress,
        cancel=ctx.cancel,
        job_id=ctx.job_id,
        timeout_s=ctx.seconds_left(),
    )
    return _round_result(rnd)


def run_continue(engine: Engine, ctx: jobs.JobContext) -> dict[str, Any]:
    settings = settings_from_params(ctx.params["settings"])
    result = rounds.apply_and_continue(
        engine,
        int(ctx.params["round_id"]),
        ctx.owner_id or 0,
        settings,
        progress=ctx.progress,
        cancel=ctx.cancel,
        job_id=ctx.job_id,
        timeout_s=ctx.seconds_left(),
    )
    out: dict[str, Any] = {
        "applied_version_id": result.version.id,
        "stop_reason": result.stop_reason,
        "already_applied": result.already_applied,
    }
    if result.next_round is not None:
        out |= _round_result(result.next_round)
        out["stop_reason"] = result.stop_reason
    return out


def free_job_rounds(session: Any, job: Job) -> None:  # noqa: ANN401 - Session
    if job.id is not None:
        rounds.free_rounds_of_job(session, job.id)


jobs.register(jobs.JobKind(PROPOSE, run_propose, free_job_rounds))
jobs.register(jobs.JobKind(CONTINUE, run_continue, free_job_rounds))
