"""An app-equivalent process (sessions, twins, the in-process worker) and the whole run."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core import jobs
from core.db import make_engine, read_scope
from core.models import ACTIVE_JOB_STATUSES, Job
from core.services.worker import start_threads
from core.stress.cli import CliMain, cli_in_process, cli_operator, start_cli
from core.stress.workload import Report, Session, Workload, local_actor, session_seed, twin

# --- an app process, and the whole run ----------------------------------------------------------------


def app_process(works: list[Workload], index: int, setup: Callable[[], None] | None, ctl: dict[str, Any]) -> None:
    """An app-equivalent process: its in-process job worker, and per workload its sessions and twins."""
    if setup is not None:
        setup()
    engine = make_engine(works[0].url)
    workers = start_threads(engine)  # the app's embedded worker (core.services.worker)
    actor = local_actor(engine)
    for k, work in enumerate(works):
        ctl["ready"].put(index)
        ctl["go"][k].wait()
        start_at = ctl["start_at"][k]
        time.sleep(max(0.0, start_at - time.time()))
        reports = [Report() for _ in range(work.sessions + 1)]

        def run(n: int, report: Report, work: Workload = work, cli_done: Any = ctl["cli_done"][k]) -> None:
            # a page stays open while the CLI acts: past its steps, a session goes on deciding (not
            # applying) until the CLI is done
            session = Session(engine, actor, work, session_seed(work, index, n), report)
            i = 0
            while i < work.steps or (not cli_done.is_set() and i < 5 * work.steps):
                if not session.step(i):
                    break
                i += 1
            report.ended = time.time()

        def twins(report: Report, work: Workload = work, start_at: float = start_at) -> None:
            for n in range(work.twins):
                twin(engine, actor, work, n, report, start_at + (n + 1) * work.twin_gap_s)

        tasks = [threading.Thread(target=run, args=(n, reports[n])) for n in range(work.sessions)]
        tasks.append(threading.Thread(target=twins, args=(reports[-1],)))
        for t in tasks:
            t.start()
        for t in tasks:
            t.join()
        merged = Report()
        for r in reports:
            merged.merge(r)
        ctl["results"].put(merged)
        ctl["drained"][k].wait()  # keep the worker running until every queued job has ended
    workers.set()
    time.sleep(1.0)
    engine.dispose()


@dataclass
class SeedRun:
    work: Workload
    report: Report
    seconds: float  # the page actions' time: from the start to the last one (sequential: their sum)


def wait_for_jobs(engine: Engine, timeout_s: float = 180.0) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        with read_scope(engine) as s:
            active = s.exec(select(func.count(col(Job.id))).where(col(Job.status).in_(ACTIVE_JOB_STATUSES))).one()
        if not active:
            return
        time.sleep(0.2)


def run_concurrent(
    engine: Engine,
    works: list[Workload],
    *,
    app_processes: int = 2,
    cli_operators: int = 2,
    setup: Callable[[], None] | None = None,
    cli_setup: str = "",
) -> list[SeedRun]:
    """Run each workload with `app_processes` spawned app processes (running `setup` first) and
    `cli_operators` CLI operators (their processes running `cli_setup` first) at once."""
    ctx = mp.get_context("spawn")
    ctl: dict[str, Any] = {
        "ready": ctx.Queue(),
        "results": ctx.Queue(),
        "go": [ctx.Event() for _ in works],
        "drained": [ctx.Event() for _ in works],
        "cli_done": [ctx.Event() for _ in works],
        "start_at": ctx.Array("d", len(works)),
    }
    procs = [ctx.Process(target=app_process, args=(works, i, setup, ctl), daemon=True) for i in range(app_processes)]
    for p in procs:
        p.start()
    runs, warm = [], []
    try:
        for k, work in enumerate(works):
            for _ in procs:
                ctl["ready"].get(timeout=120)
            warm = start_cli(cli_operators * work.cli_steps, cli_setup)
            start_at = time.time() + 0.3
            ctl["start_at"][k] = start_at
            ctl["go"][k].set()
            report = Report()
            cli = [Report() for _ in range(cli_operators)]
            ops = [
                threading.Thread(
                    target=cli_operator,
                    args=(engine, work, n, warm[n * work.cli_steps : (n + 1) * work.cli_steps], start_at, cli[n]),
                )
                for n in range(cli_operators)
            ]
            for t in ops:
                t.start()
            for t in ops:
                t.join()
            ctl["cli_done"][k].set()
            for _ in procs:
                report.merge(ctl["results"].get(timeout=600))
            for r in cli:
                report.merge(r)
            seconds = report.ended - start_at
            wait_for_jobs(engine)
            ctl["drained"][k].set()
            runs.append(SeedRun(work, report, seconds))
    finally:
        for cli_proc in warm:
            if cli_proc.poll() is None:
                cli_proc.kill()
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    return runs


def sequential(
    engine: Engine, work: Workload, *, app_processes: int = 2, cli_operators: int = 2, cli_main: CliMain | None = None
) -> SeedRun:
    """The same sessions' plans, CLI commands (through `cli_main`, core.cli.main; none without it) and
    twins, one action at a time in this process (jobs run inline after each apply). The proposer
    kinds must be registered here."""
    actor, report = local_actor(engine), Report()

    def run_jobs() -> None:
        while jobs.run_once(engine):
            pass

    sessions = [
        Session(engine, actor, work, session_seed(work, p, n), report)
        for p in range(app_processes)
        for n in range(work.sessions)
    ]
    twins_at = {(n + 1) * work.steps // (work.twins + 1): n for n in range(work.twins)}
    cli_at = {(j + 1) * work.steps // (work.cli_steps + 1): j for j in range(work.cli_steps)}
    t0 = time.time()
    for i in range(work.steps):
        for session in sessions:
            session.step(i, run_jobs)
        if i in twins_at:
            for _ in range(app_processes):
                twin(engine, actor, work, twins_at[i], report, None)
        if i in cli_at and cli_main is not None:
            for n in range(cli_operators):
                cli_in_process(engine, work, n, report, cli_at[i], cli_main)
            run_jobs()
    report.ended = time.time()
    run_jobs()
    return SeedRun(work, report, report.ended - t0 - report.cli_s)
