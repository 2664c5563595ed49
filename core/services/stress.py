"""Several people and processes on the same rounds at once: the checks behind bench/concurrency.py
and tests/db/test_concurrency.py.

`seed` makes documents with a round under review each; `hammer` is one worker process: it
decides, bulk-decides, undoes and applies those rounds in a random order, and records what the
services answered; `verify` checks the database against the rules: one version and one next
round per applied round, every decision reported stored is in the applied text or its round was
never applied, no duplicate idempotency key, bulk actions all-or-nothing.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core import access, documents, jobs
from core.db import make_engine, read_scope, session_scope
from core.decisions import Action
from core.errors import RedraftError
from core.models import Decision, Round, RoundStatus, Version
from core.revision import review, rounds, threads
from core.services import review as review_service
from core.services import revision


@dataclass
class Report:
    """What one worker was told."""

    stored: list[tuple[int, int, str, str]] = field(default_factory=list)  # round, edit, action, key
    bulk_stored: list[tuple[int, list[int], str, str]] = field(default_factory=list)  # round, ids, action, key
    refused: Counter[str] = field(default_factory=Counter)
    applied: list[int] = field(default_factory=list)


def seed(engine: Engine, documents_n: int, words: int, proposer: object) -> list[int]:
    """Documents with one round under review each (by the local user); their round ids."""
    round_ids = []
    text = " ".join(("teh" if i % 3 == 0 else "wich" if i % 3 == 1 else "word") for i in range(words)) + "."
    for n in range(documents_n):
        with session_scope(engine) as s:
            doc = documents.create_document(s, f"Stress {n} {uuid.uuid4().hex[:6]}", text)
            user_id = documents.default_user(s).id or 0
            thread_id = threads.active_thread(s, doc.id or 0, user_id).id or 0
        rnd = rounds.propose_round(engine, thread_id, rounds.RoundSettings(max_depth=5), proposer=proposer)  # type: ignore[arg-type]
        round_ids.append(rnd.id or 0)
    return round_ids


def hammer(url: str, round_ids: list[int], seed_value: int, steps: int) -> Report:
    """One worker: random decisions, bulk actions, undos and applies on the given rounds."""
    rng = random.Random(seed_value)
    engine = make_engine(url)
    report = Report()
    with read_scope(engine) as s:
        user_id = documents.default_user(s).id or 0
        actor = access.actor_for(s, user_id)
        edit_ids = {r: [e.id or 0 for e in review.round_edits(s, r)] for r in round_ids}
    for _ in range(steps):
        round_id = rng.choice(round_ids)
        roll = rng.random()
        key = f"{seed_value}-{uuid.uuid4().hex}"
        try:
            if roll < 0.6:
                edit_id = rng.choice(edit_ids[round_id])
                action = rng.choice([Action.ACCEPT, Action.REJECT, Action.MODIFY, Action.UNDO])
                text = f"w{rng.randint(0, 9)}" if action == Action.MODIFY else None
                review_service.decide(engine, actor, round_id, edit_id, action, modified_text=text, key=key)
                report.stored.append((round_id, edit_id, action, key))
            elif roll < 0.85:
                ids = rng.sample(edit_ids[round_id], k=min(len(edit_ids[round_id]), rng.randint(2, 6)))
                action = rng.choice([Action.ACCEPT, Action.REJECT])
                with session_scope(engine) as s:
                    review.decide_edits(s, round_id, user_id, action, ids, key=key)
                report.bulk_stored.append((round_id, ids, action, key))
            else:
                job = revision.apply_and_continue(engine, actor, round_id, rounds.RoundSettings(max_depth=1))
                report.applied.append(job.id or 0)
                jobs.run_once(engine)  # every process is also a worker, as the app's are
        except RedraftError as exc:
            report.refused[type(exc).__name__] += 1
    engine.dispose()
    return report


@dataclass
class Verdict:
    rounds: int
    applied: int
    versions_from_rounds: int
    next_rounds: int
    decisions_reported: int
    decisions_missing: int  # reported stored, round applied, yet not in the applied text
    duplicate_keys: int
    partial_bulks: int

    @property
    def ok(self) -> bool:
        return not (self.decisions_missing or self.duplicate_keys or self.partial_bulks) and (
            self.versions_from_rounds == self.applied and self.next_rounds <= self.applied
        )


def verify(engine: Engine, round_ids: list[int], reports: list[Report]) -> Verdict:
    """Check the database against what the workers were told."""
    with read_scope(engine) as s:
        rnds = {r.id: r for r in s.exec(select(Round).where(col(Round.id).in_(round_ids))).all()}
        applied = [r for r in rnds.values() if r.status == RoundStatus.APPLIED]
        versions = s.exec(select(Version).where(col(Version.round_id).in_(round_ids))).all()
        thread_ids = {r.thread_id for r in rnds.values()}
        later = s.exec(select(Round).where(col(Round.thread_id).in_(thread_ids), col(Round.id).notin_(round_ids))).all()
        keys = Counter(
            k for k in s.exec(select(Decision.idempotency_key).where(col(Decision.round_id).in_(round_ids))).all() if k
        )
        present = set(keys)
        missing = 0
        user_id = documents.default_user(s).id or 0
        for r in applied:
            # the applied text is exactly the base with the standing decisions applied
            states = review.edit_states(s, r.id or 0, user_id)
            base = s.get(Version, r.base_version_id)
            result = s.get(Version, r.result_version_id)
            assert base is not None and result is not None
            if review.apply_decided(base.text, states) != result.text:
                missing += 1
        reported = [k for rep in reports for (_, _, _, k) in rep.stored]
        # a decision reported stored must exist (and so, being on a round applied after it, be in its text)
        missing += sum(1 for k in reported if k not in present)
        partial = 0
        for rep in reports:
            for _, ids, _, key in rep.bulk_stored:
                partial += int(any(f"{key}:{i}" not in present for i in ids))
    return Verdict(
        rounds=len(round_ids),
        applied=len(applied),
        versions_from_rounds=len(versions),
        next_rounds=len(later),
        decisions_reported=len(reported),
        decisions_missing=missing,
        duplicate_keys=sum(1 for n in keys.values() if n > 1),
        partial_bulks=partial,
    )
