"""The verdict: the database checked against what every client was told."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.db import read_scope
from core.models import Decision, Job, JobStatus, Round, RoundStatus, Thread, Version
from core.revision import review, threads
from core.services import revision
from core.stress.run import SeedRun
from core.stress.workload import CLOSED, Report, Workload

# --- the verdict --------------------------------------------------------------------------------------


@dataclass
class Verdict:
    """The database against what the clients were told. The counts from bad_versions on break a rule."""

    actions: int = 0  # client actions that did something (waits for a proposing round not counted)
    rounds: int = 0
    applied: int = 0
    versions: int = 0  # versions made by these threads' rounds
    next_rounds: int = 0  # rounds that follow an applied round
    stored: int = 0  # decisions reported stored (each member of a bulk action counted)
    refused: int = 0  # actions refused with a message
    lost_races: int = 0  # of which decisions on a round applied meanwhile
    close_calls: int = 0  # decisions stored in the last 0.5 s before their round was applied (in its text)
    bulks: int = 0
    twin_pairs: int = 0  # keys sent by two processes at once
    bad_versions: int = 0  # applied rounds without exactly one version; versions of rounds not applied
    bad_next: int = 0  # applied rounds with other than one next round on their version (none at max depth)
    text_mismatch: int = 0  # applied text is not the base with the standing decisions applied
    missing: int = 0  # reported stored, yet not in the log
    refused_but_stored: int = 0  # refused (or failed), yet in the log
    silent_refusals: int = 0  # refused without a message
    duplicate_keys: int = 0
    partial_bulks: int = 0  # a bulk action partly in the log
    wrong_job: int = 0  # "apply and continue" answered with a job for another round
    jobs_not_done: int = 0  # jobs that failed, were interrupted or never ended
    left_proposing: int = 0
    errors: int = 0  # failures that were not refusals (crashes, database errors other than a lock)
    busy: int = 0  # failures because the database stayed locked past its busy timeout (SQLite)
    job_problems: tuple[str, ...] = ()  # how the jobs counted in jobs_not_done ended

    @property
    def safe(self) -> bool:
        """The rules hold: every count from bad_versions to errors is 0 (busy failures allowed)."""
        names = [f.name for f in fields(self)]
        return all(getattr(self, n) == 0 for n in names[names.index("bad_versions") : names.index("busy")])

    @property
    def ok(self) -> bool:
        return self.safe and self.busy == 0

    def line(self) -> str:
        return " ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


def verify(engine: Engine, work: Workload, report: Report) -> Verdict:
    """Check the database against the rules and against what every client was told."""
    v = Verdict(actions=sum(n for what, n in report.actions.items() if what != "wait"))
    with read_scope(engine) as s:
        thread_ids = s.exec(select(Thread.id).where(col(Thread.document_id).in_(work.document_ids))).all()
        rnds = s.exec(select(Round).where(col(Round.thread_id).in_(thread_ids))).all()
        round_ids = [r.id for r in rnds]
        versions = Counter(s.exec(select(Version.round_id).where(col(Version.round_id).in_(round_ids))).all())
        v.rounds, v.versions = len(rnds), sum(versions.values())
        for r in rnds:
            followers = [f for f in rnds if f.thread_id == r.thread_id and f.depth == r.depth + 1]
            if r.status != RoundStatus.APPLIED:
                v.bad_versions += versions[r.id]
                v.bad_next += len(followers)
                v.left_proposing += r.status == RoundStatus.PROPOSING
                continue
            v.applied += 1
            v.next_rounds += len(followers)
            if r.finished_at is not None:
                applied_at = r.finished_at.replace(tzinfo=None)
                made = s.exec(select(Decision.created_at).where(Decision.round_id == r.id)).all()
                v.close_calls += sum(
                    1 for t in made if 0 <= (applied_at - t.replace(tzinfo=None)).total_seconds() < 0.5
                )
            if versions[r.id] != 1 or r.result_version_id is None:
                v.bad_versions += 1
                continue
            result, base = s.get(Version, r.result_version_id), s.get(Version, r.base_version_id)
            assert result is not None and base is not None
            owner = threads.get_thread(s, r.thread_id).user_id
            if (
                result.parent_id != base.id
                or review.apply_decided(base.text, review.edit_states(s, r.id or 0, owner)) != result.text
            ):
                v.text_mismatch += 1
            expected = 1 if r.depth < work.max_depth else 0
            v.bad_next += len(followers) != expected or any(f.base_version_id != result.id for f in followers)
        key_rows = Counter(s.exec(select(Decision.idempotency_key).where(col(Decision.round_id).in_(round_ids))).all())
        on_threads = and_(col(Job.target_kind) == revision.THREAD, col(Job.target_id).in_(thread_ids))
        on_rounds = and_(col(Job.target_kind) == revision.ROUND, col(Job.target_id).in_(round_ids))
        job_rows = s.exec(select(Job).where(or_(on_threads, on_rounds))).all()
    key_rows.pop(None, None)
    v.duplicate_keys = sum(1 for n in key_rows.values() if n > 1)
    v.stored = len(report.stored)
    v.missing = sum(1 for k in report.stored if k not in key_rows)
    v.refused = len(report.refused)
    v.lost_races = sum(1 for _, msg in report.refused if CLOSED in msg)
    v.silent_refusals = sum(1 for _, msg in report.refused if not msg.strip())
    twin_keys = {k for k, _ in report.twins}
    v.refused_but_stored = sum(1 for k in report.refused_keys if k in key_rows and k not in twin_keys)  # or failed
    v.missing += sum(1 for k, ok in report.twins if ok and k not in key_rows)
    v.twin_pairs = sum(1 for n in Counter(k for k, _ in report.twins).values() if n > 1)
    v.bulks = len(report.bulks)
    v.partial_bulks = sum(1 for keys, ok in report.bulks if any((k in key_rows) != ok for k in keys))
    by_id = {j.id: j for j in job_rows}
    v.wrong_job = sum(1 for rid, jid in report.applies if jid not in by_id or by_id[jid].params.get("round_id") != rid)
    v.jobs_not_done = sum(1 for j in job_rows if j.status != JobStatus.DONE)
    v.job_problems = tuple(
        f"job {j.id} ({j.kind} {j.target_kind} {j.target_id}): {j.status} {j.error}"
        for j in job_rows
        if j.status != JobStatus.DONE
    )
    v.errors, v.busy = len(report.errors), len(report.busy)
    return v


def summary(run: SeedRun) -> dict[str, Any]:
    """Throughput of the page actions (sessions and twins), their decision latency, and the CLI's."""
    rep = run.report
    n = sum(n for what, n in rep.actions.items() if what != "wait" and not what.startswith("cli"))
    cli = sum(n for what, n in rep.actions.items() if what.startswith("cli"))
    lat = sorted(rep.latency_ms)
    p95 = lat[int(0.95 * (len(lat) - 1))] if lat else 0.0
    return {
        "actions": n,
        "seconds": round(run.seconds, 2),
        "per_s": round(n / run.seconds, 1) if run.seconds > 0 else 0.0,
        "p50_ms": round(statistics.median(lat), 1) if lat else 0.0,
        "p95_ms": round(p95, 1),
        "max_ms": round(lat[-1], 1) if lat else 0.0,
        "cli": cli,
        "cli_mean_s": round(rep.cli_s / cli, 2) if cli else 0.0,
        "cli_in_window": sum(1 for t in rep.cli_ended if t <= rep.ended),  # ended while sessions acted
    }
