"""Several people and processes on the same rounds at once: the checks behind bench/concurrency.py
and tests/db/test_concurrency.py.

The workload, as the issue describes it: two app-equivalent processes, each with browser sessions
(threads) that decide through the review component's outbox and the review service, bulk-decide,
undo, and sometimes "apply and continue", and with the app's in-process job worker; beside them,
CLI operators running `python -m core round decide|continue` as subprocesses (started ahead, so
that their work, not their imports, lands amid the sessions' — see WARM_CLI); and, on purpose,
the same idempotency key sent by both app processes at the same instant. Most actions are
decisions; applies come later and rarer, so many decisions race an apply. `sequential` runs the
same sessions' plans one after another in one process, for the throughput baseline. `verify`
checks the database against what every client was told (see Verdict).
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core import access, documents, jobs
from core.config import ROOT
from core.db import make_engine, read_scope, session_scope
from core.decisions import Action
from core.errors import RedraftError
from core.models import ACTIVE_JOB_STATUSES, Decision, Job, JobStatus, Round, RoundStatus, Thread, Version
from core.proposers.base import SpecData
from core.revision import review, rounds, threads
from core.revision.rounds import RoundSettings
from core.services import review as review_service
from core.services import revision
from core.services.worker import start_threads

CLOSED = "can no longer be decided"  # a decision that raced an apply and lost (RoundClosed)
BUSY = ("database is locked", "(OperationalError)")  # SQLite's busy timeout ran out: failed, not refused


@dataclass(frozen=True)
class Workload:
    """One seed's workload on documents that each have a round under review."""

    url: str
    document_ids: tuple[int, ...]
    spec: dict[str, Any]  # SpecData fields of the proposer every round uses
    seed: int
    max_depth: int = 3
    sessions: int = 5  # browser sessions per app process
    steps: int = 40  # actions per session
    apply_from: float = 0.4  # share of a session's steps before it applies anything
    apply_rate: float = 0.05  # chance that a later step is "apply and continue"
    twins: int = 6  # keys sent by both app processes at the same instant
    twin_gap_s: float = 0.4
    cli_steps: int = 3  # commands per CLI operator
    cli_gap_s: float = 1.0  # between one operator's commands

    @property
    def settings(self) -> RoundSettings:
        return RoundSettings(spec=SpecData(**self.spec), max_depth=self.max_depth)


@dataclass
class Report:
    """What one client (a process's sessions, or a CLI operator) was told."""

    stored: list[str] = field(default_factory=list)  # keys of decisions reported stored
    refused: list[tuple[str, str]] = field(default_factory=list)  # (what, message)
    refused_keys: list[str] = field(default_factory=list)  # keys of refused decisions (bulk members too)
    bulks: list[tuple[list[str], bool]] = field(default_factory=list)  # member keys, stored?
    twins: list[tuple[str, bool]] = field(default_factory=list)
    applies: list[tuple[int, int]] = field(default_factory=list)  # (round asked, job answered)
    errors: list[str] = field(default_factory=list)  # failures that are no refusal (a crash)
    busy: list[str] = field(default_factory=list)  # failures because the database stayed locked
    actions: Counter[str] = field(default_factory=Counter)
    latency_ms: list[float] = field(default_factory=list)  # per page decision action
    ended: float = 0.0  # when the last page action (not CLI) ended, wall clock
    cli_s: float = 0.0  # time spent in CLI commands, summed
    cli_ended: list[float] = field(default_factory=list)  # when each CLI command ended, wall clock

    def merge(self, other: Report) -> Report:
        for f in fields(self):
            if f.name == "ended":
                self.ended = max(self.ended, other.ended)
            elif f.name == "cli_s":
                self.cli_s += other.cli_s
            else:
                mine, theirs = getattr(self, f.name), getattr(other, f.name)
                mine.update(theirs) if isinstance(mine, Counter) else mine.extend(theirs)
        return self

    def refuse(self, what: str, message: str, keys: Sequence[str] = ()) -> None:
        self.refused.append((what, message))
        self.refused_keys.extend(keys)

    def fail(self, what: str, message: str, keys: Sequence[str] = ()) -> None:
        """A failure the client was told of that is no refusal: its keys must not be stored either."""
        self.refused_keys.extend(keys)
        if any(b in message for b in BUSY):
            self.busy.append(f"{what}: {message[-200:]}")
        else:
            self.errors.append(f"{what}: {message[-300:]}")


def seed(engine: Engine, documents_n: int, words: int, spec: SpecData, max_depth: int = 3) -> tuple[int, ...]:
    """Documents with a first round under review each (by the local user); their ids."""
    vocab = ("teh", "wich", "word", "teh", "wich", "plain", "text.")
    text = " ".join(vocab[i % len(vocab)] for i in range(words)).rstrip(".") + "."
    out = []
    for n in range(documents_n):
        with session_scope(engine) as s:
            doc = documents.create_document(s, f"Stress {n} {uuid.uuid4().hex[:6]}", text)
            thread_id = threads.active_thread(s, doc.id or 0, documents.default_user(s).id or 0).id or 0
        rounds.propose_round(engine, thread_id, RoundSettings(spec=spec, max_depth=max_depth))
        out.append(doc.id or 0)
    return tuple(out)


# --- one browser session --------------------------------------------------------------------------


class Session:
    """A browser tab: it shows the round it last loaded (stale until it reloads) and acts on it."""

    def __init__(self, engine: Engine, actor: access.Actor, work: Workload, rng_seed: int, report: Report) -> None:
        self.engine, self.actor, self.work, self.report = engine, actor, work, report
        self.rng = random.Random(rng_seed)
        self.views: dict[int, tuple[int, list[int]] | None] = {}
        self.finished: set[int] = set()
        self.memo: dict[str, str | None] = {}  # the outbox answers this session has (as the page keeps them)
        self.pending: list[str] = []

    def reload(self, doc: int) -> None:
        state = revision.revision_state(self.engine, self.actor, doc)
        if state.thread is not None and state.thread.status != "active":
            self.finished.add(doc)
        if not state.reviewing or state.round is None:
            self.views[doc] = None  # proposing: the page shows progress, nothing to click
            return
        view = review_service.round_view(self.engine, self.actor, state.round.id or 0)
        self.views[doc] = (state.round.id or 0, [e.row.id or 0 for e in view.edits + view.hidden])

    def step(self, i: int, run_jobs: Callable[[], None] | None = None) -> bool:
        """One user action; False when every document's thread is finished."""
        docs = [d for d in self.work.document_ids if d not in self.finished]
        if not docs:
            return False
        rng, rep = self.rng, self.report
        doc = rng.choice(docs)
        self.pending = []  # the keys of a direct decision in flight
        try:
            if doc not in self.views or rng.random() < 0.2:
                self.reload(doc)
            view = self.views[doc]
            if view is None or not view[1]:
                rep.actions["wait"] += 1
                return True
            round_id, ids = view
            roll = rng.random()
            t0, refused = time.perf_counter(), len(rep.refused)
            if self.work.apply_from * self.work.steps <= i < self.work.steps and roll < self.work.apply_rate:
                self._apply(round_id)
                if run_jobs is not None:
                    run_jobs()
                self.reload(doc)
                return True
            if roll < 0.6:
                self._outbox_singles(round_id, ids)
            elif roll < 0.8:
                self._outbox_bulk(round_id, ids)
            else:
                self._decide(round_id, ids)
            rep.latency_ms.append((time.perf_counter() - t0) * 1000)
            if len(rep.refused) > refused:  # the page shows the refusal and the round as it is now
                self.reload(doc)
        except RedraftError as exc:  # a reload refused (cannot happen here: one person, admin)
            rep.refuse("reload", str(exc))
        except Exception as exc:  # noqa: BLE001 - counted: anything but a refusal is a failure
            rep.fail("step", f"{type(exc).__name__}: {exc}", self.pending)
        return True

    def _key(self) -> str:
        return f"s{self.work.seed}-{uuid.uuid4().hex[:16]}"

    def _single(self, ids: list[int]) -> dict[str, Any]:
        action = self.rng.choice([Action.ACCEPT, Action.ACCEPT, Action.REJECT, Action.MODIFY, Action.UNDO])
        item: dict[str, Any] = {"k": self._key(), "id": self.rng.choice(ids), "a": str(action)}
        if action == Action.MODIFY:
            item["t"] = f"w{self.rng.randint(0, 9)}"
        return item

    def _send(self, round_id: int, items: list[dict[str, Any]]) -> dict[str, str | None]:
        outbox = {"seq": len(self.memo), "items": items}
        return review_service.sync_outbox(self.engine, self.actor, round_id, outbox, self.memo)

    def _outbox_singles(self, round_id: int, ids: list[int]) -> None:
        items = [self._single(ids) for _ in range(self.rng.choice([1, 1, 1, 2, 3]))]
        results = self._send(round_id, items)
        for item in items:
            self.report.actions[f"outbox {item['a']}"] += 1
            self._answer(item["k"], results, [item["k"]], "outbox")

    def _outbox_bulk(self, round_id: int, ids: list[int]) -> None:
        action = self.rng.choice([Action.ACCEPT, Action.REJECT, Action.UNDO])
        chosen = self.rng.sample(ids, k=min(len(ids), self.rng.randint(2, 8)))
        key = self._key()
        members = [f"{key}:{i}" for i in chosen]
        results = self._send(round_id, [{"k": key, "bulk": str(action), "ids": chosen}])
        self.report.actions[f"bulk {action}"] += 1
        stored = self._answer(key, results, members, "bulk")
        self.report.bulks.append((members, stored))

    def _answer(self, key: str, results: dict[str, str | None], keys: list[str], what: str) -> bool:
        if key not in results:
            self.report.errors.append(f"{what} {key}: no answer from sync_outbox")
            return False
        message = results[key]
        if message is None:
            self.report.stored.extend(keys)
            return True
        if message.startswith("The server could not store it"):
            self.report.fail(what, message, keys)
        else:
            self.report.refuse(what, message, keys)
        return False

    def _decide(self, round_id: int, ids: list[int]) -> None:
        item = self._single(ids)
        self.report.actions[f"decide {item['a']}"] += 1
        self.pending = [item["k"]]
        try:
            review_service.decide(
                self.engine, self.actor, round_id, item["id"], item["a"], modified_text=item.get("t"), key=item["k"]
            )
            self.report.stored.append(item["k"])
        except RedraftError as exc:
            self.report.refuse("decide", str(exc), [item["k"]])

    def _apply(self, round_id: int) -> None:
        self.report.actions["apply"] += 1
        try:
            job = revision.apply_and_continue(self.engine, self.actor, round_id, self.work.settings)
            self.report.applies.append((round_id, job.id or 0))
        except RedraftError as exc:
            self.report.refuse("apply", str(exc))


def _actor(engine: Engine) -> access.Actor:
    with read_scope(engine) as s:
        return access.actor_for(s, documents.default_user(s).id or 0)


def _twin(engine: Engine, actor: access.Actor, work: Workload, n: int, report: Report, fire_at: float | None) -> None:
    """Decision n of the twins: the same key, edit and action in both app processes, fired at
    `fire_at` (wall clock) so the two transactions meet; None fires at once (sequential)."""
    rng = random.Random(work.seed * 7919 + n)  # the same choices in every process
    doc, pos, action = rng.choice(work.document_ids), rng.randrange(10_000), rng.choice([Action.ACCEPT, Action.REJECT])
    try:
        state = revision.revision_state(engine, actor, doc)
        if not state.reviewing or state.round is None:
            return
        round_id = state.round.id or 0
        view = review_service.round_view(engine, actor, round_id)
        ids = [e.row.id or 0 for e in view.edits + view.hidden]
        key = f"twin-{work.seed}-{n}-{round_id}"
        if fire_at is not None:
            time.sleep(max(0.0, fire_at - time.time()))
        report.actions["twin"] += 1
        try:
            review_service.decide(engine, actor, round_id, ids[pos % len(ids)], action, key=key)
            report.twins.append((key, True))
        except RedraftError as exc:
            report.twins.append((key, False))
            report.refuse("twin", str(exc))
        except Exception as exc:  # noqa: BLE001 - counted: anything but a refusal is a failure
            report.twins.append((key, False))
            report.fail("twin", f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # noqa: BLE001
        report.fail("twin (reading the round)", f"{type(exc).__name__}: {exc}")


def _session_seed(work: Workload, process: int, session: int) -> int:
    return work.seed * 100_000 + process * 100 + session


# --- the CLI beside the app ---------------------------------------------------------------------------


def _cli_plan(engine: Engine, actor: access.Actor, work: Workload, index: int, i: int) -> list[str] | None:
    """Command i of operator `index` (typed after looking at the round, as `round status` shows it)."""
    rng = random.Random(work.seed * 1000 + 500 + index * 37 + i)
    doc = rng.choice(work.document_ids)
    state = revision.revision_state(engine, actor, doc)
    if not state.reviewing or state.round is None:
        return None
    round_id = state.round.id or 0
    if i >= work.apply_from * work.cli_steps and rng.random() < 0.4:
        spec = json.dumps(work.spec)
        return ["round", "continue", str(round_id), "--proposer", spec, "--max-depth", str(work.max_depth)]
    view = review_service.round_view(engine, actor, round_id)
    edit = rng.choice(view.edits + view.hidden).row.id
    action = rng.choice(["accept", "reject", "modify", "undo"])
    cmd = ["round", "decide", str(round_id), action, str(edit), "--key", f"cli{work.seed}-{uuid.uuid4().hex[:16]}"]
    return cmd + (["--text", "cli"] if action == "modify" else [])


def _cli_outcome(report: Report, cmd: list[str], rc: int, out: str, err: str) -> None:
    what = f"cli {cmd[1]}"
    report.actions[what] += 1
    key = [cmd[cmd.index("--key") + 1]] if "--key" in cmd else []
    if rc == 0:
        report.stored.extend(key)
        if cmd[1] == "continue":
            report.applies.append((int(cmd[2]), int(json.loads(out.strip().splitlines()[-1])["job"])))
    elif rc == 2 and err.strip().startswith("error: "):
        report.refuse(what, err.strip()[len("error: ") :], key)
    else:
        report.fail(what, f"exited {rc}: {(err or out).strip()}", key)


# A CLI process started ahead (interpreter and every command's imports: seconds, tens of seconds on
# a machine busy with the sessions), that then reads
# its command line from stdin and runs `python -m core`'s main on it: its work lands amid the sessions'.
WARM_CLI = (
    "import json, sys\nfrom core.cli import build_parser, main\nbuild_parser()\nprint('ready', flush=True)\n"
    "argv = json.loads(sys.stdin.readline())\nraise SystemExit(0 if argv is None else main(argv))\n"
)


def start_cli(count: int, setup_code: str = "") -> list[subprocess.Popen[str]]:
    """`count` warm CLI processes (running `setup_code` first, e.g. registering proposer kinds)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", setup_code + "\n" + WARM_CLI],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    for proc in procs:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"a CLI process did not start: {proc.communicate(timeout=30)[1][-2000:]}")
    return procs


def cli_operator(
    engine: Engine, work: Workload, index: int, procs: list[subprocess.Popen[str]], start_at: float, report: Report
) -> None:
    """One operator's commands, one per warm CLI process, every `cli_gap_s` from `start_at`; each is
    typed after a look at the round (as `round status` shows it)."""
    actor = _actor(engine)
    for i, proc in enumerate(procs):
        time.sleep(max(0.0, start_at + (i + 0.5) * work.cli_gap_s + index * 0.3 - time.time()))
        cmd = _cli_plan(engine, actor, work, index, i)
        t0 = time.perf_counter()
        out, err = proc.communicate(json.dumps(cmd and ["--database-url", work.url, *cmd]) + "\n", timeout=300)
        if cmd is None:
            report.actions["wait"] += 1
            continue
        report.cli_s += time.perf_counter() - t0
        report.cli_ended.append(time.time())
        _cli_outcome(report, cmd, proc.returncode, out, err)


CliMain = Callable[[list[str]], int]  # core.cli.main (a layer above: the caller passes it)


def cli_in_process(engine: Engine, work: Workload, index: int, report: Report, i: int, main: CliMain) -> None:
    """Step i of a CLI operator, run by core.cli.main in this process (the sequential baseline)."""
    cmd = _cli_plan(engine, _actor(engine), work, index, i)
    if cmd is None:
        report.actions["wait"] += 1
        return
    out, err = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["--database-url", work.url, *cmd])
    report.cli_s += time.perf_counter() - t0
    _cli_outcome(report, cmd, rc, out.getvalue(), err.getvalue())


# --- an app process, and the whole run ----------------------------------------------------------------


def app_process(works: list[Workload], index: int, setup: Callable[[], None] | None, ctl: dict[str, Any]) -> None:
    """An app-equivalent process: its in-process job worker, and per workload its sessions and twins."""
    if setup is not None:
        setup()
    engine = make_engine(works[0].url)
    workers = start_threads(engine)  # the app's embedded worker (core.services.worker)
    actor = _actor(engine)
    for k, work in enumerate(works):
        ctl["ready"].put(index)
        ctl["go"][k].wait()
        start_at = ctl["start_at"][k]
        time.sleep(max(0.0, start_at - time.time()))
        reports = [Report() for _ in range(work.sessions + 1)]

        def run(n: int, report: Report, work: Workload = work, cli_done: Any = ctl["cli_done"][k]) -> None:
            # a page stays open while the CLI acts: past its steps, a session goes on deciding (not
            # applying) until the CLI is done
            session = Session(engine, actor, work, _session_seed(work, index, n), report)
            i = 0
            while i < work.steps or (not cli_done.is_set() and i < 5 * work.steps):
                if not session.step(i):
                    break
                i += 1
            report.ended = time.time()

        def twins(report: Report, work: Workload = work, start_at: float = start_at) -> None:
            for n in range(work.twins):
                _twin(engine, actor, work, n, report, start_at + (n + 1) * work.twin_gap_s)

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
    actor, report = _actor(engine), Report()

    def run_jobs() -> None:
        while jobs.run_once(engine):
            pass

    sessions = [
        Session(engine, actor, work, _session_seed(work, p, n), report)
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
                _twin(engine, actor, work, twins_at[i], report, None)
        if i in cli_at and cli_main is not None:
            for n in range(cli_operators):
                cli_in_process(engine, work, n, report, cli_at[i], cli_main)
            run_jobs()
    report.ended = time.time()
    run_jobs()
    return SeedRun(work, report, report.ended - t0 - report.cli_s)


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
        job_rows = s.exec(
            select(Job).where(col(Job.target_id).in_(thread_ids), Job.target_kind == revision.THREAD)
        ).all()
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
