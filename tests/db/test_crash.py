"""kill -9 a `python -m core worker` mid-job (issue 10), on SQLite and PostgreSQL.

The worker is a real subprocess (the test proposer kinds registered, as a deployment registers its
own). It is killed while proposing (a "test-blocking" round), while applying and continuing (in
the continue job's proposing step, and at a random moment from its claim on), and while
fine-tuning a tiny T5. Then, with a short stale threshold for the reaper: the job is marked
interrupted, no round is left proposing (no training run left running), nothing is half-written
(no version for a killed proposal; a killed continue applied its round fully, one version with
the decided text, or not at all; a killed fine-tune registers no model), and the work goes on:
a restarted worker proposes the next round, the round is applied again, a new fine-tune runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from core import access, documents, jobs
from core.db import read_scope, session_scope
from core.models import Edit, Job, JobStatus, Round, RoundStatus, Version
from core.proposers.base import SpecData
from core.revision import apply, review, rounds, threads
from core.revision.rounds import RoundSettings
from core.services import revision
from tests.proposers_for_tests import register_test_kinds

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TEXT = "Teh cat sat on teh mat. It was wich day. Teh end came."
REPLACE = SpecData(kind="test-replace", params={"rules": {"Teh": "The", "teh": "the", "wich": "which"}})
BLOCKING = SpecData(kind="test-blocking")
STALE_S = 1.0  # the reaper's threshold here; the heartbeat is every jobs.HEARTBEAT_S (1 s)


@pytest.fixture(autouse=True)
def test_kinds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("REDRAFT_DATA_DIR", str(tmp_path / "data"))
    register_test_kinds()
    yield


class Worker:
    """`python -m core worker` in a subprocess, its output in a log file."""

    def __init__(self, url: str, log: Path) -> None:
        code = (
            "from tests.proposers_for_tests import register_test_kinds; register_test_kinds()\n"
            f"from core.cli import main; raise SystemExit(main(['--database-url', {url!r}, 'worker']))"
        )
        self.log = log
        env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
        with log.open("a") as out:
            self.proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdout=out, stderr=out)
        wait_until(lambda: "worker: running jobs" in log.read_text(), 120, "the worker to start", self)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(30) == -signal.SIGKILL

    def tail(self) -> str:
        return self.log.read_text()[-3000:]


def wait_until(check: Callable[[], Any], timeout_s: float, what: str, worker: Worker | None = None) -> Any:  # noqa: ANN401
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        if worker is not None and worker.proc.poll() is not None:
            pytest.fail(f"the worker exited ({worker.proc.returncode}) before {what}:\n{worker.tail()}")
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}" + (f":\n{worker.tail()}" if worker else ""))


def reap(engine: Engine, job_id: int) -> None:
    """Reap with a short stale threshold until the killed worker's job is marked interrupted."""
    wait_until(lambda: job_id in jobs.reap(engine, stale_after_s=STALE_S), 10 * STALE_S + 10, f"job {job_id} reaped")
    with read_scope(engine) as s:
        job = jobs.get(s, job_id)
    assert job.status == JobStatus.INTERRUPTED and "interrupted" in job.error


def setup_document(engine: Engine) -> tuple[int, int, access.Actor]:
    with session_scope(engine) as s:
        doc = documents.create_document(s, "crash", TEXT)
        user_id = documents.default_user(s).id
        thread_id = threads.active_thread(s, doc.id, user_id).id
        return doc.id, thread_id, access.actor_for(s, user_id)


def rows(engine: Engine, model: Any, **where: Any) -> list[Any]:  # noqa: ANN401
    with read_scope(engine) as s:
        query = select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return list(s.exec(query.order_by(col(model.id))).all())


def running_round(engine: Engine, thread_id: int, job_id: int, depth: int) -> Round | None:
    """The round the job is proposing (status proposing, the job running), once it is."""
    with read_scope(engine) as s:
        rnd = s.exec(
            select(Round).where(Round.thread_id == thread_id, Round.job_id == job_id, Round.depth == depth)
        ).first()
        job = s.get(Job, job_id)
    return rnd if rnd is not None and rnd.status == RoundStatus.PROPOSING and job.status == JobStatus.RUNNING else None


def assert_nothing_proposing(engine: Engine, thread_id: int) -> None:
    assert not rows(engine, Round, thread_id=thread_id, status=RoundStatus.PROPOSING)
    assert not [j for j in rows(engine, Job, target_id=thread_id) if j.status in (JobStatus.QUEUED, JobStatus.RUNNING)]


def propose_after_restart(engine: Engine, url: str, log: Path, actor: access.Actor, doc_id: int) -> Round:
    """The thread goes on: a restarted worker proposes the next round."""
    job = revision.propose(engine, actor, doc_id, RoundSettings(spec=REPLACE, max_depth=3))
    worker = Worker(url, log)
    try:
        done = jobs.wait_for(engine, job.id, timeout_s=60)
    finally:
        worker.kill()
    assert done.status == JobStatus.DONE, (done.error, worker.tail())
    with read_scope(engine) as s:
        return review.get_round(s, done.result["round_id"])


def decide_some(engine: Engine, round_id: int, user_id: int) -> str:
    """Accept, reject and rewrite an edit each; the text an apply must produce."""
    with session_scope(engine) as s:
        edits = review.round_edits(s, round_id)
        assert len(edits) >= 3
        review.decide(s, edits[0].id, user_id, "accept")
        review.decide(s, edits[1].id, user_id, "reject")
        review.decide(s, edits[2].id, user_id, "modify", modified_text="THE")
        view = review.round_view(s, round_id, user_id)
        return view.preview_text()


def test_kill_while_proposing(engine: Engine, db_url: str, tmp_path: Path) -> None:
    doc_id, thread_id, actor = setup_document(engine)
    versions = len(rows(engine, Version, document_id=doc_id))
    job = revision.propose(engine, actor, doc_id, RoundSettings(spec=BLOCKING, max_depth=3))
    worker = Worker(db_url, tmp_path / "worker.log")
    try:
        killed = wait_until(lambda: running_round(engine, thread_id, job.id, 1), 60, "the round proposing", worker)
        time.sleep(0.3)  # inside the proposer
    finally:
        worker.kill()
    reap(engine, job.id)
    rnd = rows(engine, Round, id=killed.id)[0]
    assert rnd.status == RoundStatus.FAILED and "interrupted" in rnd.error
    assert_nothing_proposing(engine, thread_id)
    assert len(rows(engine, Version, document_id=doc_id)) == versions  # no half-written version
    assert not rows(engine, Edit, round_id=killed.id)
    nxt = propose_after_restart(engine, db_url, tmp_path / "worker2.log", actor, doc_id)
    assert (nxt.status, nxt.depth) == (RoundStatus.REVIEWING, 1) and rows(engine, Edit, round_id=nxt.id)


def test_kill_while_applying_and_continuing(engine: Engine, db_url: str, tmp_path: Path) -> None:
    doc_id, thread_id, actor = setup_document(engine)
    r1 = rounds.propose_round(engine, thread_id, RoundSettings(spec=REPLACE, max_depth=3))
    expected = decide_some(engine, r1.id, actor.user_id)
    versions = len(rows(engine, Version, document_id=doc_id))
    job = revision.apply_and_continue(engine, actor, r1.id, RoundSettings(spec=BLOCKING, max_depth=3))
    worker = Worker(db_url, tmp_path / "worker.log")
    try:  # killed in the continue job's proposing step: the apply before it has committed
        r2 = wait_until(lambda: running_round(engine, thread_id, job.id, 2), 60, "the next round proposing", worker)
        time.sleep(0.3)
    finally:
        worker.kill()
    reap(engine, job.id)
    assert_nothing_proposing(engine, thread_id)
    applied = rows(engine, Round, id=r1.id)[0]
    made = rows(engine, Version, round_id=r1.id)
    assert applied.status == RoundStatus.APPLIED and len(made) == 1 and applied.result_version_id == made[0].id
    assert made[0].text == expected and len(rows(engine, Version, document_id=doc_id)) == versions + 1
    failed = rows(engine, Round, id=r2.id)[0]
    assert (
        failed.status == RoundStatus.FAILED and "interrupted" in failed.error and failed.base_version_id == made[0].id
    )
    assert rows(engine, Edit, round_id=r2.id) == []
    nxt = propose_after_restart(engine, db_url, tmp_path / "worker2.log", actor, doc_id)
    assert (nxt.status, nxt.depth, nxt.base_version_id) == (RoundStatus.REVIEWING, 2, made[0].id)


@pytest.mark.parametrize("delay_s", [0.0, 0.05])
def test_kill_at_any_moment_of_apply_and_continue(engine: Engine, db_url: str, tmp_path: Path, delay_s: float) -> None:
    """Killed from the job's claim on: the round is applied fully (one version, the decided text)
    or not at all (no version, decisions kept, it can be applied again)."""
    doc_id, thread_id, actor = setup_document(engine)
    r1 = rounds.propose_round(engine, thread_id, RoundSettings(spec=REPLACE, max_depth=3))
    expected = decide_some(engine, r1.id, actor.user_id)
    worker = Worker(db_url, tmp_path / "worker.log")
    try:
        job = revision.apply_and_continue(engine, actor, r1.id, RoundSettings(spec=BLOCKING, max_depth=3))
        wait_until(lambda: rows(engine, Job, id=job.id)[0].status != JobStatus.QUEUED, 60, "the claim", worker)
        time.sleep(delay_s)
    finally:
        worker.kill()
    reap(engine, job.id)
    assert_nothing_proposing(engine, thread_id)
    rnd, made = rows(engine, Round, id=r1.id)[0], rows(engine, Version, round_id=r1.id)
    if rnd.status == RoundStatus.APPLIED:
        assert len(made) == 1 and made[0].text == expected and rnd.result_version_id == made[0].id
        nxt = propose_after_restart(engine, db_url, tmp_path / "worker2.log", actor, doc_id)
        assert (nxt.status, nxt.depth, nxt.base_version_id) == (RoundStatus.REVIEWING, 2, made[0].id)
    else:
        assert rnd.status == RoundStatus.REVIEWING and made == [] and rnd.result_version_id is None
        with read_scope(engine) as s:  # the decisions are all there
            base = s.get(Version, rnd.base_version_id).text
            assert review.apply_decided(base, review.edit_states(s, r1.id, actor.user_id)) == expected
        again = rounds.apply_and_continue(engine, r1.id, actor.user_id, RoundSettings(spec=REPLACE, max_depth=3))
        assert again.version.text == expected and again.next_round.status == RoundStatus.REVIEWING
    print(f"\nkilled {delay_s:.2f} s after the claim: round {rnd.status}")


# --- fine-tuning ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_t5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tinymodels import build_tiny_t5

    return build_tiny_t5(tmp_path_factory.mktemp("models") / "t5")


PAIRS = [
    ("She go to school every day.", "She goes to school every day."),
    ("He have two cats.", "He has two cats."),
    ("They was late again.", "They were late again."),
]


def decided_on(engine: Engine, spec: SpecData, user_id: int) -> int:
    """A round per pair proposed by `spec`, its edits accepted and applied; the spec's id."""
    from core.specs import get_or_create_spec
    from core.text.edits import diff

    with session_scope(engine) as s:
        for text, revised in PAIRS:
            doc = documents.create_document(s, text[:12], text)
            thread = threads.active_thread(s, doc.id, user_id)
            rnd = rounds.begin_round(s, thread.id, RoundSettings(spec=spec, intents=("fluency",)))
            rnd.status = RoundStatus.REVIEWING
            edits = [replace(e, intent="fluency") for e in diff(text, revised)]
            for row in rounds.store_edits(s, rnd.id, text, edits):
                review.decide(s, row.id, user_id, "accept")
            apply.apply_round(s, rnd.id, user_id)
        return get_or_create_spec(s, spec).id


def test_kill_while_fine_tuning(engine: Engine, db_url: str, tmp_path: Path, tiny_t5: Path) -> None:
    training = pytest.importorskip("core.services.training")
    from core.data.export import ExportFilters
    from core.models import ProposerSpec, TrainingRun
    from core.training.finetune import FinetuneConfig

    with read_scope(engine) as s:
        admin = access.actor_for(s, documents.default_user(s).id)
    base = decided_on(engine, SpecData(kind="hf-seq2seq", model=str(tiny_t5), name="t5"), admin.user_id)
    config = FinetuneConfig(method="sft", max_steps=5000, batch_size=2, use_cpu=True, test_fraction=0)
    job = training.start_finetune(engine, admin, base, config, ExportFilters())
    worker = Worker(db_url, tmp_path / "worker.log")
    try:  # killed once training has made steps (the heartbeat carries them to the row)
        wait_until(lambda: rows(engine, Job, id=job.id)[0].progress_done >= 2, 180, "training steps", worker)
    finally:
        worker.kill()
    reap(engine, job.id)
    runs = rows(engine, TrainingRun, base_spec_id=base)
    assert len(runs) == 1 and runs[0].status == "failed" and "interrupted" in runs[0].error
    assert runs[0].result_spec_id is None and not rows(engine, ProposerSpec, parent_id=base)  # nothing registered
    out = Path(runs[0].output_dir or tmp_path / "none")
    print(f"\nthe killed run's output folder: {sorted(p.name for p in out.iterdir()) if out.exists() else 'none'}")
    # a new fine-tune can start, and runs to a new proposer
    config = replace(config, max_steps=2, name="after the crash")
    again = training.start_finetune(engine, admin, base, config, ExportFilters())
    assert jobs.run_once(engine, kinds={training.FINETUNE})
    with read_scope(engine) as s:
        done = jobs.get(s, again.id)
        assert done.status == JobStatus.DONE, done.error
        new = s.get(ProposerSpec, done.result["result_spec_id"])
        assert (new.parent_id, new.name) == (base, "after the crash")
        running = s.exec(select(func.count(col(TrainingRun.id))).where(TrainingRun.status == "running")).one()
    assert running == 0
