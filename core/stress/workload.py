"""The workload: what each simulated browser session and twin does, and what it was told."""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy.engine import Engine

from core import access, documents
from core.db import read_scope, session_scope
from core.decisions import Action
from core.errors import RedraftError
from core.proposers.base import SpecData
from core.revision import rounds, threads
from core.revision.rounds import RoundSettings
from core.services import review as review_service
from core.services import revision

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


def local_actor(engine: Engine) -> access.Actor:
    with read_scope(engine) as s:
        return access.actor_for(s, documents.default_user(s).id or 0)


def twin(engine: Engine, actor: access.Actor, work: Workload, n: int, report: Report, fire_at: float | None) -> None:
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


def session_seed(work: Workload, process: int, session: int) -> int:
    return work.seed * 100_000 + process * 100 + session
