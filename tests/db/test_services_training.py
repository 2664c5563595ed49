"""The Models page's services: adding a proposer (admins), and fine-tuning as a durable job: queued as a
row, run by a worker, its progress and loss curve on the row, cancelled through it, and its training
run marked failed when the process running it dies."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from core import access, documents, jobs, users
from core.access import Actor, PermissionDenied
from core.config import load_settings
from core.data.export import ExportFilters
from core.db import session_scope
from core.errors import ConflictError, InputError
from core.models import Job, JobStatus, ProposerSpec, TrainingRun, utcnow
from core.proposers.base import SpecData
from core.proposers.registry import release_proposers
from core.revision import apply, review, rounds, threads
from core.services import training
from core.specs import get_or_create_spec
from core.text.edits import diff
from core.training.finetune import FinetuneConfig

PAIRS = [
    ("She go to school every day.", "She goes to school every day."),
    ("He have two cats.", "He has two cats."),
    ("They was late again.", "They were late again."),
]


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REDRAFT_DATA_DIR", str(tmp_path / "data"))
    yield tmp_path / "data"
    release_proposers()


@pytest.fixture(scope="module")
def tiny_t5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tinymodels import build_tiny_t5

    return build_tiny_t5(tmp_path_factory.mktemp("models") / "t5")


def actor_named(engine: Engine, name: str, role: str) -> Actor:
    with session_scope(engine) as s:
        user = users.get_or_create_user(s, name, role) if name != "local" else documents.default_user(s)
        return access.actor_for(s, user.id)


def decided(engine: Engine, spec: SpecData, user_id: int) -> int:
    """One document per pair, the spec's round proposing the revision, accepted; returns the spec's id."""
    with session_scope(engine) as s:
        for text, revised in PAIRS:
            doc = documents.create_document(s, text[:12], text)
            thread = threads.active_thread(s, doc.id, user_id)
            rnd = rounds.begin_round(s, thread.id, rounds.RoundSettings(spec=spec, intents=("fluency",)))
            rnd.status = "reviewing"
            rows = rounds.store_edits(s, rnd.id, text, [replace(e, intent="fluency") for e in diff(text, revised)])
            for row in rows:
                review.decide(s, row.id, user_id, "accept")
            apply.apply_round(s, rnd.id, user_id)
        return get_or_create_spec(s, spec).id


def model_spec(engine: Engine, model: str = "/nowhere/t5") -> int:
    with session_scope(engine) as s:
        return get_or_create_spec(s, SpecData(kind="hf-seq2seq", model=model, name="t5")).id


def test_the_worker_knows_fine_tunes() -> None:
    from core.services import worker  # noqa: F401 - what the app's and the CLI's workers import

    assert training.FINETUNE in jobs.registered()


def test_adding_a_proposer_is_an_admins(engine: Engine) -> None:
    with pytest.raises(PermissionDenied):
        training.add_proposer(engine, actor_named(engine, "rita", "researcher"), "hf-chat:some/model")
    row = training.add_proposer(engine, actor_named(engine, "local", "admin"), "hf-chat:some/model", "Chat")
    assert (row.kind, row.model, row.name) == ("hf-chat", "some/model", "Chat")
    overview = training.models_overview(engine, actor_named(engine, "local", "admin"))
    assert overview.bases == {row.id: f"#{row.id} Chat"} and overview.job is None


def test_start_checks_queues_one_and_cancels(engine: Engine) -> None:
    researcher = actor_named(engine, "rita", "researcher")
    other = actor_named(engine, "rex", "researcher")
    writer = actor_named(engine, "wendy", "writer")
    otto = actor_named(engine, "otto", "writer")
    config = FinetuneConfig(max_steps=2)
    with session_scope(engine) as s:
        builtin = get_or_create_spec(s, SpecData(kind="builtin")).id
    with pytest.raises(InputError, match="not a transformers model"):
        training.start_finetune(engine, researcher, builtin, config, ExportFilters())
    base = model_spec(engine)
    with pytest.raises(InputError, match="nothing to train on"):
        training.start_finetune(engine, researcher, base, config, ExportFilters())
    decided(engine, SpecData(kind="hf-seq2seq", model="/nowhere/t5", name="t5"), writer.user_id)
    with pytest.raises(PermissionDenied):  # fine-tuning is a researcher's or an admin's
        training.start_finetune(engine, writer, base, config, ExportFilters())
    with pytest.raises(InputError, match="nothing to train on"):  # otto decided nothing
        training.start_finetune(engine, researcher, base, config, ExportFilters(user_ids=(otto.user_id,)))
    job = training.start_finetune(engine, researcher, base, config, ExportFilters(user_ids=(writer.user_id,)))
    assert (job.kind, job.target_kind, job.target_id, job.owner_id) == ("finetune", "spec", base, researcher.user_id)
    assert job.params["filters"]["user_ids"] == [writer.user_id] and job.params["config"]["max_steps"] == 2
    assert training.models_overview(engine, researcher).job.id == job.id
    with pytest.raises(ConflictError, match="already running"):
        training.start_finetune(engine, researcher, base, config, ExportFilters())
    with pytest.raises(PermissionDenied):  # another researcher's job is not theirs to cancel
        training.cancel_finetune(engine, other, job.id)
    assert training.cancel_finetune(engine, researcher, job.id)
    assert training.get_job(engine, researcher, job.id).status == JobStatus.CANCELLED


def test_an_interrupted_fine_tune_marks_its_run_failed(engine: Engine) -> None:
    admin = actor_named(engine, "local", "admin")
    base = decided(engine, SpecData(kind="hf-seq2seq", model="/nowhere/t5"), admin.user_id)
    other_base = model_spec(engine, "/nowhere/other")
    job = training.start_finetune(engine, admin, base, FinetuneConfig(method="sft"), ExportFilters())
    stale = utcnow() - timedelta(minutes=5)
    with session_scope(engine) as s:  # a worker began it, then its process died mid-training
        s.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(status="running", started_at=stale - timedelta(seconds=1), heartbeat_at=stale)
        )
        models = load_settings().models_dir
        (models / "run-ours" / "checkpoints").mkdir(parents=True)  # what the killed process left
        (models / "run-elsewhere").mkdir(parents=True)
        ours = TrainingRun(
            base_spec_id=base, method="sft", status="running", created_at=stale, output_dir=str(models / "run-ours")
        )
        elsewhere = TrainingRun(
            base_spec_id=other_base,
            method="sft",
            status="running",
            created_at=stale,
            output_dir=str(models / "run-elsewhere"),
        )
        s.add_all([ours, elsewhere])
        s.flush()
        ours_id, elsewhere_id = ours.id, elsewhere.id
    assert jobs.reap(engine) == [job.id]
    with session_scope(engine) as s:
        assert jobs.get(s, job.id).status == JobStatus.INTERRUPTED
        run = s.get(TrainingRun, ours_id)
        assert run.status == "failed" and "interrupted" in run.error and run.finished_at is not None
        assert s.get(TrainingRun, elsewhere_id).status == "running"
    assert not (models / "run-ours").exists() and (models / "run-elsewhere").exists()
    # the page can start the next one
    assert training.start_finetune(engine, admin, base, FinetuneConfig(), ExportFilters()).id != job.id


def test_a_fine_tune_job_runs_to_a_new_proposer(sqlite_engine: Engine, tiny_t5: Path) -> None:
    engine = sqlite_engine
    admin = actor_named(engine, "local", "admin")
    base = decided(engine, SpecData(kind="hf-seq2seq", model=str(tiny_t5)), admin.user_id)
    config = FinetuneConfig(method="sft", max_steps=2, batch_size=2, use_cpu=True, test_fraction=0, name="tuned")
    job = training.start_finetune(engine, admin, base, config, ExportFilters())
    assert jobs.run_once(engine, kinds={training.FINETUNE})
    done = training.get_job(engine, admin, job.id)
    assert done.status == JobStatus.DONE, done.error
    assert done.result["run_status"] == "done" and len(training.losses_of(done)) == 2
    assert (done.progress_done, done.progress_total) == (2, 2) and done.message.startswith("loss ")
    with session_scope(engine) as s:
        run = s.get(TrainingRun, done.result["training_run_id"])
        new = s.get(ProposerSpec, done.result["result_spec_id"])
        assert run.status == "done" and (new.parent_id, new.name) == (base, "tuned")


def test_cancelling_a_running_fine_tune_through_its_row(sqlite_engine: Engine, tiny_t5: Path) -> None:
    engine = sqlite_engine
    admin = actor_named(engine, "local", "admin")
    base = decided(engine, SpecData(kind="hf-seq2seq", model=str(tiny_t5)), admin.user_id)
    config = FinetuneConfig(method="sft", max_steps=500, batch_size=2, use_cpu=True, test_fraction=0)
    job = training.start_finetune(engine, admin, base, config, ExportFilters())
    stop = threading.Event()
    worker = threading.Thread(target=jobs.work_forever, args=(engine, stop, {training.FINETUNE}), daemon=True)
    worker.start()
    try:
        for _ in range(600):  # until the row shows a loss curve (published while training)
            row = training.get_job(engine, admin, job.id)
            if training.losses_of(row) or row.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
                break
            threading.Event().wait(0.1)
        assert row.status == JobStatus.RUNNING
        assert training.cancel_finetune(engine, admin, job.id)
        ended = jobs.wait_for(engine, job.id, timeout_s=120)
    finally:
        stop.set()
        worker.join(30)
    assert ended.status == JobStatus.CANCELLED and 0 < ended.progress_done < 500
    with session_scope(engine) as s:
        run = s.get(TrainingRun, ended.result["training_run_id"])
        assert run.status == "cancelled" and run.result_spec_id is None and run.metrics["steps"] < 500
        assert run.output_dir and not Path(run.output_dir).exists()  # no half-written model left behind
