"""Proposing in the background: one job per revision thread, shared by every session of this process.

A proposer can take minutes, so the Revise page runs `propose_round` / `apply_and_continue` in a
thread with a cancel Event and polls the job from a fragment. Jobs are keyed by (database URL,
thread id): a reload or a second tab finds the running job and shows its progress.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from core.errors import RedraftError
from core.proposers.base import Proposer
from core.revision import rounds


@dataclass
class RoundJob:
    thread_id: int
    kind: str  # "propose" | "continue"
    cancel: threading.Event = field(default_factory=threading.Event)
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: bool = False
    round_id: int | None = None  # the round proposed (the next one, for "continue")
    round_status: str | None = None
    stop_reason: str | None = None
    applied_version_id: int | None = None
    error: str | None = None

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started


_jobs: dict[tuple[str, int], RoundJob] = {}
_lock = threading.Lock()


def _key(engine: Engine, thread_id: int) -> tuple[str, int]:
    return (str(engine.url), thread_id)


def get_job(engine: Engine, thread_id: int) -> RoundJob | None:
    with _lock:
        return _jobs.get(_key(engine, thread_id))


def clear_job(engine: Engine, thread_id: int) -> None:
    """Forget a finished job (its outcome has been shown)."""
    with _lock:
        job = _jobs.get(_key(engine, thread_id))
        if job is not None and job.finished:
            del _jobs[_key(engine, thread_id)]


def _start(engine: Engine, thread_id: int, kind: str, work: Callable[[RoundJob], None]) -> RoundJob:
    with _lock:
        running = _jobs.get(_key(engine, thread_id))
        if running is not None and not running.finished:
            return running  # a double click starts nothing new
        job = RoundJob(thread_id=thread_id, kind=kind)
        _jobs[_key(engine, thread_id)] = job

    def run() -> None:
        try:
            work(job)
        except RedraftError as exc:
            job.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - shown to the person instead of dying silently
            job.error = f"{exc.__class__.__name__}: {exc}"
        finally:
            job.finished = True

    threading.Thread(target=run, name=f"redraft-{kind}-{thread_id}", daemon=True).start()
    return job


def start_propose(
    engine: Engine, thread_id: int, settings: rounds.RoundSettings, *, proposer: Proposer | None = None
) -> RoundJob:
    """Propose the next round of a thread in the background (`proposer` overrides the spec's, for tests)."""

    def work(job: RoundJob) -> None:
        rnd = rounds.propose_round(
            engine, thread_id, settings, progress=job.progress, cancel=job.cancel, proposer=proposer
        )
        job.round_id, job.round_status = rnd.id, rnd.status
        job.stop_reason = rnd.stop_reason
        if rnd.status == "failed":
            job.error = rnd.error or "The proposer failed."

    return _start(engine, thread_id, "propose", work)


def start_continue(
    engine: Engine,
    thread_id: int,
    round_id: int,
    user_id: int,
    settings: rounds.RoundSettings,
    *,
    proposer: Proposer | None = None,
) -> RoundJob:
    """Apply a round and propose the next one (unless the loop stops) in the background."""

    def work(job: RoundJob) -> None:
        result = rounds.apply_and_continue(
            engine, round_id, user_id, settings, progress=job.progress, cancel=job.cancel, proposer=proposer
        )
        job.applied_version_id = result.version.id
        job.stop_reason = result.stop_reason
        if result.next_round is not None:
            job.round_id, job.round_status = result.next_round.id, result.next_round.status
            if result.next_round.status == "failed":
                job.error = result.next_round.error or "The proposer failed."

    return _start(engine, thread_id, "continue", work)
