"""Durable jobs: background work as rows, so every process sees it, can cancel it, and sees it die.

A job is queued as a row (kind, owner, target, params); a worker claims it with a conditional
UPDATE (one worker wins), runs its handler, and beats: every HEARTBEAT_S it writes the progress
and reads the cancel flag. A cancel, or the job's deadline passing, sets the handler's cancel
Event within a beat. A running job whose heartbeat is older than STALE_AFTER_S (its process was
killed) is marked interrupted by any process's reaper (unless that process is on the reaper's
machine and still alive: then after LIVE_GRACE_S), and its kind's `on_interrupted` frees
what it held (a round left proposing). One active job per (kind, target) is held by a partial
unique index: a double click or two processes start one job.

Workers run inside the app process by default (`start_worker_thread`), or as separate
`python -m core worker` processes. No job library serves both SQLite and PostgreSQL with
heartbeats, progress and cooperative cancel (procrastinate is PostgreSQL-only, huey's SQL
storage and rq have no progress or cancel flag), so the table is ours.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.db import read_scope, session_scope
from core.errors import NotFoundError, RedraftError
from core.models import ACTIVE_JOB_STATUSES, Job, JobStatus, utcnow

log = logging.getLogger(__name__)

HEARTBEAT_S = 1.0
STALE_AFTER_S = 15.0
# A job whose worker process is on this machine and still alive is given this long: its beats can be
# late when the machine is loaded (measured: a beat waiting behind 10+ SQLite writers of its process).
LIVE_GRACE_S = 120.0
POLL_S = 0.5
DEFAULT_DEADLINE_S = 3600.0


@dataclass
class JobContext:
    """What a running handler gets: its job's params, a cancel Event, and progress reporting."""

    job_id: int
    kind: str
    owner_id: int | None
    target_id: int
    params: dict[str, Any]
    cancel: threading.Event = field(default_factory=threading.Event)
    done: int = 0
    total: int = 0
    message: str | None = None
    deadline: float | None = None  # time.monotonic() by which the whole job must end

    def progress(self, done: int, total: int, message: str | None = None) -> None:
        self.done, self.total = done, total
        if message is not None:
            self.message = message

    def seconds_left(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())


@dataclass(frozen=True)
class JobKind:
    """A kind of job: `run` does the work and returns its result (a JSON dict; an "error" key
    marks it failed); `on_interrupted` frees what an interrupted job held, in the reaper's
    transaction."""

    name: str
    run: Callable[[Engine, JobContext], dict[str, Any]]
    on_interrupted: Callable[[Session, Job], None] | None = None


_kinds: dict[str, JobKind] = {}


def register(kind: JobKind) -> None:
    _kinds[kind.name] = kind


def registered() -> dict[str, JobKind]:
    return dict(_kinds)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def alive_here(worker: str | None) -> bool:
    """Whether a worker (as `worker_name` wrote it) is a process on this machine that is still running
    (a zombie, killed but not yet waited for, is not)."""
    host, _, rest = (worker or "").partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if os.path.isdir("/proc/self"):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                state = stat.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- rows ---------------------------------------------------------------------------------------------


def active_for(session: Session, kind: str | None, target_kind: str, target_id: int) -> Job | None:
    query = select(Job).where(
        Job.target_kind == target_kind, Job.target_id == target_id, col(Job.status).in_(ACTIVE_JOB_STATUSES)
    )
    if kind is not None:
        query = query.where(Job.kind == kind)
    return session.exec(query.order_by(col(Job.id).desc())).first()


def submit(
    session: Session,
    kind: str,
    *,
    target_kind: str,
    target_id: int,
    owner_id: int | None,
    params: dict[str, Any] | None = None,
    deadline_s: float = DEFAULT_DEADLINE_S,
) -> Job:
    """Queue a job; if one of this kind is already active for the target, that one is returned."""
    existing = active_for(session, kind, target_kind, target_id)
    if existing is not None:
        return existing
    job = Job(
        kind=kind,
        target_kind=target_kind,
        target_id=target_id,
        owner_id=owner_id,
        params=params or {},
        deadline_at=utcnow() + timedelta(seconds=deadline_s),
    )
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError:  # another process queued it at the same moment
        existing = active_for(session, kind, target_kind, target_id)
        if existing is None:
            raise
        return existing
    return job


def get(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"No job with id {job_id}.")
    return job


def latest_for(session: Session, targets: list[tuple[str, int]]) -> Job | None:
    """The newest job on any of these (target kind, target id) pairs."""
    if not targets:
        return None
    match = or_(*(and_(col(Job.target_kind) == kind, col(Job.target_id) == tid) for kind, tid in targets))
    return session.exec(select(Job).where(match).order_by(col(Job.id).desc())).first()


def list_jobs(
    session: Session, *, owner_id: int | None = None, active_only: bool = False, limit: int = 100
) -> list[Job]:
    query = select(Job)
    if owner_id is not None:
        query = query.where(Job.owner_id == owner_id)
    if active_only:
        query = query.where(col(Job.status).in_(ACTIVE_JOB_STATUSES))
    return list(session.exec(query.order_by(col(Job.id).desc()).limit(limit)).all())


def request_cancel(session: Session, job_id: int) -> bool:
    """Ask a job to stop: a queued one is cancelled at once, a running one within a heartbeat."""
    get(session, job_id)
    queued = session.execute(
        update(Job)
        .where(col(Job.id) == job_id, col(Job.status) == JobStatus.QUEUED)
        .values(status=JobStatus.CANCELLED, cancel_requested=True, finished_at=utcnow(), error="cancelled")
    )
    if queued.rowcount:  # type: ignore[attr-defined]  # CursorResult
        return True
    running = session.execute(
        update(Job).where(col(Job.id) == job_id, col(Job.status) == JobStatus.RUNNING).values(cancel_requested=True)
    )
    return bool(running.rowcount)  # type: ignore[attr-defined]


# --- running ------------------------------------------------------------------------------------------


def claim_next(engine: Engine, worker: str, kinds: set[str] | None = None) -> Job | None:
    """Claim the oldest queued job (of `kinds`) for this worker; None if there is none."""
    kinds = kinds if kinds is not None else set(_kinds)
    if not kinds:
        return None
    with read_scope(engine) as s:
        candidates = s.exec(
            select(Job.id)
            .where(Job.status == JobStatus.QUEUED, col(Job.kind).in_(kinds))
            .order_by(col(Job.id))
            .limit(5)
        ).all()
    for job_id in candidates:
        job = claim(engine, job_id, worker) if job_id is not None else None
        if job is not None:
            return job
    return None


def claim(engine: Engine, job_id: int, worker: str) -> Job | None:
    """Claim this job if it is still queued (one worker wins); None if another has it or it ended."""
    with session_scope(engine) as s:
        now = utcnow()
        won = s.execute(
            update(Job)
            .where(col(Job.id) == job_id, col(Job.status) == JobStatus.QUEUED)
            .values(status=JobStatus.RUNNING, worker=worker, started_at=now, heartbeat_at=now)
        )
        # rowcount exists on the CursorResult an UPDATE returns; the stubs type it as Result
        return get(s, job_id) if won.rowcount else None  # type: ignore[attr-defined]


def _beat(engine: Engine, ctx: JobContext) -> bool:
    """Write progress and the heartbeat; True if the job was asked to stop."""
    with session_scope(engine) as s:
        s.execute(
            update(Job)
            .where(col(Job.id) == ctx.job_id, col(Job.status) == JobStatus.RUNNING)
            .values(heartbeat_at=utcnow(), progress_done=ctx.done, progress_total=ctx.total, message=ctx.message)
        )
        row = s.exec(select(Job.cancel_requested, Job.status).where(Job.id == ctx.job_id)).first()
    if row is None:
        return True
    cancel_requested, status = row
    return bool(cancel_requested) or status != JobStatus.RUNNING


def _heartbeat_loop(engine: Engine, ctx: JobContext, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        try:
            if _beat(engine, ctx) or (ctx.deadline is not None and time.monotonic() >= ctx.deadline):
                ctx.cancel.set()
        except Exception:  # noqa: BLE001 - a missed beat is retried; the reaper allows several
            log.exception("heartbeat of job %s failed", ctx.job_id)


def _finish(engine: Engine, ctx: JobContext, status: JobStatus, result: dict[str, Any], error: str | None) -> None:
    with session_scope(engine) as s:
        s.execute(
            update(Job)
            .where(col(Job.id) == ctx.job_id, col(Job.status) == JobStatus.RUNNING)
            .values(
                status=status,
                result=result,
                error=error,
                finished_at=utcnow(),
                heartbeat_at=utcnow(),
                progress_done=ctx.done,
                progress_total=ctx.total,
                message=ctx.message,
            )
        )


def run_claimed(engine: Engine, job: Job) -> None:
    """Run a job this worker claimed, beating while it runs, and record how it ended."""
    assert job.id is not None
    kind = _kinds.get(job.kind)
    deadline = None
    if job.deadline_at is not None:
        deadline = time.monotonic() + max(0.0, (job.deadline_at - utcnow()).total_seconds())
    ctx = JobContext(job.id, job.kind, job.owner_id, job.target_id, dict(job.params or {}), deadline=deadline)
    if kind is None:
        _finish(engine, ctx, JobStatus.FAILED, {}, f"This process does not know jobs of kind {job.kind!r}.")
        return
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat_loop, args=(engine, ctx, stop), name=f"beat-{job.id}", daemon=True)
    beat.start()
    try:
        result = kind.run(engine, ctx)
        timed_out = ctx.deadline is not None and time.monotonic() >= ctx.deadline
        if ctx.cancel.is_set():
            status = JobStatus.FAILED if timed_out else JobStatus.CANCELLED
            error = "The job ran past its deadline and was stopped." if timed_out else "cancelled"
            _finish(engine, ctx, status, result or {}, error)
        elif result and result.get("error"):  # the work ended and recorded its own failure
            _finish(engine, ctx, JobStatus.FAILED, result, str(result["error"]))
        else:
            _finish(engine, ctx, JobStatus.DONE, result or {}, None)
    except RedraftError as exc:
        _finish(engine, ctx, JobStatus.FAILED, {}, str(exc))
    except Exception as exc:  # noqa: BLE001 - recorded on the row, shown to the person
        log.exception("job %s (%s) failed", job.id, job.kind)
        _finish(engine, ctx, JobStatus.FAILED, {}, f"{exc.__class__.__name__}: {exc}")
    finally:
        stop.set()
        beat.join(timeout=5)


def reap(engine: Engine, stale_after_s: float = STALE_AFTER_S) -> list[int]:
    """Mark running jobs whose heartbeat stopped as interrupted and free what they held. Returns
    their ids. Safe from any number of processes at once (conditional UPDATE per job)."""
    now = utcnow()
    cutoff = now - timedelta(seconds=stale_after_s)
    grace_cutoff = now - timedelta(seconds=max(stale_after_s, LIVE_GRACE_S))
    running = col(Job.status) == JobStatus.RUNNING
    with read_scope(engine) as s:
        stale = s.exec(select(Job.id, Job.worker).where(running, col(Job.heartbeat_at) < cutoff)).all()
        past_grace = set(s.exec(select(Job.id).where(running, col(Job.heartbeat_at) < grace_cutoff)).all())
    reaped = []
    for job_id, worker in stale:
        if job_id not in past_grace and alive_here(worker):
            continue
        with session_scope(engine) as s:
            won = s.execute(
                update(Job)
                .where(col(Job.id) == job_id, col(Job.status) == JobStatus.RUNNING, col(Job.heartbeat_at) < cutoff)
                .values(
                    status=JobStatus.INTERRUPTED,
                    finished_at=utcnow(),
                    error="interrupted: the process running it stopped",
                )
            )
            # rowcount exists on the CursorResult an UPDATE returns; the stubs type it as Result
            if won.rowcount and job_id is not None:  # type: ignore[attr-defined]
                job = get(s, job_id)
                kind = _kinds.get(job.kind)
                if kind is not None and kind.on_interrupted is not None:
                    kind.on_interrupted(s, job)
                reaped.append(job_id)
    return reaped


def run_once(engine: Engine, worker: str | None = None, kinds: set[str] | None = None) -> bool:
    """Reap, then claim and run one job. True if a job ran."""
    reap(engine)
    job = claim_next(engine, worker or worker_name(), kinds)
    if job is None:
        return False
    run_claimed(engine, job)
    return True


def work_forever(engine: Engine, stop: threading.Event, kinds: set[str] | None = None) -> None:
    """A worker loop: reap stale jobs, run queued ones, until `stop` is set."""
    name = worker_name()
    while not stop.is_set():
        try:
            ran = run_once(engine, name, kinds)
        except Exception:  # noqa: BLE001 - a worker must outlive a failing poll (database restart)
            log.exception("worker poll failed")
            ran = False
        if not ran:
            stop.wait(POLL_S)


def run_here(engine: Engine, job_id: int, timeout_s: float = 600.0) -> Job:
    """Run this one job in this thread if no worker has claimed it yet, else wait for it (the CLI: a
    process that exits when its job ends must never take on another person's job)."""
    job = claim(engine, job_id, worker_name())
    if job is not None:
        run_claimed(engine, job)
    return wait_for(engine, job_id, timeout_s)


def wait_for(engine: Engine, job_id: int, timeout_s: float = 600.0) -> Job:
    """Block until a job ends (for the CLI and tests); returns its final row."""
    end = time.monotonic() + timeout_s
    while True:
        with read_scope(engine) as s:
            job = get(s, job_id)
        if job.status not in ACTIVE_JOB_STATUSES or time.monotonic() >= end:
            return job
        time.sleep(0.1)
