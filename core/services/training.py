"""Models: proposers as a lineage tree, training runs, adding a proposer, and fine-tuning as a job.

A fine-tune is a durable job (core.jobs, kind "finetune", target the base spec): any process's
worker runs it, the Models page shows its row's progress (step, loss, the loss curve so far) from
any tab after a reload, and Cancel sets the row's flag, honoured after the current training step.
If the process running it dies, the reaper marks the job interrupted and `run_interrupted` marks
its TrainingRun failed. One fine-tune at a time per database (they hold a GPU).

Training data follows the export policy (core.services.exports): researchers and admins train on
anyone's decisions, everyone else on their own. Adding a proposer is an admin's (core.access).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import access, jobs
from core.access import Action, Actor
from core.data import export
from core.data.export import ExportFilters
from core.db import read_scope, session_scope
from core.errors import ConflictError, InputError, NotFoundError
from core.models import ACTIVE_JOB_STATUSES, Job, JobStatus, ProposerSpec, TrainingRun, TrainingStatus, utcnow
from core.proposers.endpoints import check_endpoint
from core.proposers.registry import MODEL_KINDS, parse_spec
from core.services.exports import scoped
from core.specs import register_spec
from core.training.finetune import (
    FinetuneConfig,
    FinetuneProgress,
    LineageNode,
    discard_output,
    finetune,
    lineage,
    training_runs,
)

log = logging.getLogger(__name__)

FINETUNE = "finetune"
SPEC = "spec"
FINETUNE_DEADLINE_S = 12 * 3600.0  # a whole fine-tune; the run stops (cancelled) at its next step after it
LOSSES_KEPT = 500  # points of the live loss curve on the job row
PUBLISH_EVERY_S = 1.0  # how often the live loss curve is written while training
INTERRUPTED = "interrupted: the process running it stopped"


@dataclass(frozen=True)
class ModelsOverview:
    """What the Models page shows, read in one transaction."""

    nodes: list[LineageNode]  # every spec, depth first, with the run that trained it
    runs: list[TrainingRun]  # newest first
    job: Job | None  # the latest fine-tune job (running, or how the last one ended)

    @property
    def bases(self) -> dict[int, str]:
        """Specs that can be fine-tuned (transformers models), labelled."""
        models = [n.spec for n in self.nodes if n.spec.kind in MODEL_KINDS]
        return {spec.id or 0: f"#{spec.id} {spec.name or spec.model}" for spec in models}


def _latest_job(session: Session) -> Job | None:
    return session.exec(select(Job).where(Job.kind == FINETUNE).order_by(col(Job.id).desc())).first()


def models_overview(engine: Engine, actor: Actor) -> ModelsOverview:
    """Proposers, training runs and the latest fine-tune job. (The fine-tune's data filters offer what
    core.services.exports.filter_options does: pages read them only when the form is drawn.)"""
    with read_scope(engine) as s:
        return ModelsOverview(lineage(s), training_runs(s), _latest_job(s))


def may_add_proposer(actor: Actor) -> bool:
    """For pages: whether to show "Add a proposer"."""
    return access.allowed(actor, Action.PROPOSERS_MANAGE)


def add_proposer(engine: Engine, actor: Actor, text: str, name: str = "") -> ProposerSpec:
    """Store a proposer given as a spec string (a model, or a server): admins only, and an openai server
    only where proposers may send text (not link-local or cloud metadata addresses: core.proposers.endpoints)."""
    access.authorize(actor, Action.PROPOSERS_MANAGE)
    check_endpoint(parse_spec(text))
    with session_scope(engine) as s:
        return register_spec(s, text, name)


# --- the fine-tune job --------------------------------------------------------------------------------


def start_finetune(
    engine: Engine, actor: Actor, base_spec_id: int, config: FinetuneConfig, filters: ExportFilters
) -> Job:
    """Queue a fine-tune of a transformers proposer on the decisions the filters select (narrowed to
    the person's own unless they read everyone's). Researchers and admins only (core.access). Refused
    while another fine-tune is running."""
    filters = scoped(actor, filters)
    for pid in filters.project_ids or ():
        access.authorize(actor, Action.FINETUNE, access.ProjectRef(pid))
    if not filters.project_ids:  # an admin choosing no project: every project
        access.authorize(actor, Action.PROPOSERS_MANAGE)
    with session_scope(engine) as s:
        spec = s.get(ProposerSpec, base_spec_id)
        if spec is None:
            raise NotFoundError(f"No proposer spec with id {base_spec_id}.")
        if spec.kind not in MODEL_KINDS or not spec.model:
            raise InputError(f"Proposer #{base_spec_id} is not a transformers model ({', '.join(MODEL_KINDS)}).")
        running = s.exec(select(Job).where(Job.kind == FINETUNE, col(Job.status).in_(ACTIVE_JOB_STATUSES))).first()
        if running is not None:
            raise ConflictError("A fine-tune is already running; wait for it or cancel it.")
        if export.summarize(s, filters).decisions == 0:
            raise InputError("No decisions match these filters: there is nothing to train on.")
        return jobs.submit(
            s,
            FINETUNE,
            target_kind=SPEC,
            target_id=base_spec_id,
            owner_id=actor.user_id,
            params={"config": asdict(config), "filters": filters.describe()},
            deadline_s=FINETUNE_DEADLINE_S,
        )


def get_job(engine: Engine, actor: Actor, job_id: int) -> Job:
    with read_scope(engine) as s:
        return jobs.get(s, job_id)


def cancel_finetune(engine: Engine, actor: Actor, job_id: int) -> bool:
    """Stop a fine-tune: its owner or an admin. The run is recorded as cancelled; nothing is registered."""
    with session_scope(engine) as s:
        job = jobs.get(s, job_id)
        if job.kind != FINETUNE:
            raise NotFoundError(f"Job {job_id} is not a fine-tune.")
        access.authorize(actor, Action.JOB_CANCEL, access.JobRef(job.owner_id))
        return jobs.request_cancel(s, job_id)


def losses_of(job: Job) -> list[float]:
    """The loss curve so far (while running) or of the whole run, from the job row."""
    return [float(point[1]) for point in (job.result or {}).get("losses") or []]


def _publish(engine: Engine, job_id: int, partial: dict[str, Any]) -> None:
    """Show a running job's partial result (its loss curve) to every process; the final result replaces it."""
    try:
        with session_scope(engine) as s:
            s.execute(
                update(Job).where(col(Job.id) == job_id, col(Job.status) == JobStatus.RUNNING).values(result=partial)
            )
    except Exception:  # noqa: BLE001 - a missed update of the curve must not stop the training
        log.exception("could not publish the progress of job %s", job_id)


def run_finetune(engine: Engine, ctx: jobs.JobContext) -> dict[str, Any]:
    """The job: train (core.training.finetune), reporting each logged step and honouring cancel."""
    config = FinetuneConfig(**ctx.params.get("config", {}))
    filters = ExportFilters.from_dict(ctx.params.get("filters") or {})
    losses: list[list[float]] = []
    published = [0.0]

    def progress(p: FinetuneProgress) -> None:
        if p.loss is not None:
            losses.append([p.step, p.loss])
        ctx.progress(p.step, p.total_steps, f"loss {p.loss:.4f}" if p.loss is not None else None)
        if time.monotonic() - published[0] >= PUBLISH_EVERY_S:
            published[0] = time.monotonic()
            _publish(engine, ctx.job_id, {"losses": losses[-LOSSES_KEPT:]})

    run = finetune(engine, ctx.target_id, config, filters=filters, progress=progress, cancel=ctx.cancel)
    return {
        "training_run_id": run.id,
        "run_status": run.status,
        "result_spec_id": run.result_spec_id,
        "final_loss": (run.metrics or {}).get("final_loss"),
        "losses": losses[-LOSSES_KEPT:],
    }


def run_interrupted(session: Session, job: Job) -> None:
    """The job's process died: its training run (running, on this base, begun since the job started)
    is marked failed, so no run stays "running" for ever."""
    method = (job.params or {}).get("config", {}).get("method")
    since = job.started_at or job.created_at
    query = select(TrainingRun).where(
        TrainingRun.base_spec_id == job.target_id,
        TrainingRun.status == TrainingStatus.RUNNING,
        col(TrainingRun.created_at) >= since,
    )
    for run in session.exec(query).all():
        if method is not None and run.method != method:
            continue
        run.status, run.error, run.finished_at = TrainingStatus.FAILED, INTERRUPTED, utcnow()
        discard_output(run.output_dir)  # where the worker ran on this machine; elsewhere nothing is there
        session.add(run)
    session.flush()


jobs.register(jobs.JobKind(FINETUNE, run_finetune, run_interrupted))
