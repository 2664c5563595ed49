"""Fine-tune a transformers proposer on the decision log, and register the result as a new proposer.

    run = finetune(engine, base_spec_id=3, config=FinetuneConfig(method="dpo", lora=True),
                   filters=ExportFilters(project_ids=(1,)))      # or export_path="log.parquet"
    run.result_spec_id  # a ProposerSpec whose parent is spec 3; choose it for the next round

- The rows: `core.training.finetune_data` (the log in the base model's prompt format, split by
  document). How each kind of model trains (TRL for chat models, TRL's losses in a transformers
  Trainer for seq2seq ones): `core.training.finetune_train`.
- Full or LoRA (peft). A LoRA run is merged into the saved model (the adapter is kept beside it in
  `adapter/`), so the new proposer loads like any other model.
- Progress: `progress(FinetuneProgress)` after each logged step, with the loss; cancel: set the
  threading.Event (checked after every step). A cancelled run saves nothing and registers nothing.
- Several GPUs: the same function runs under `accelerate launch` (see docs/finetune.md): every process
  builds the same data; the main process writes the database and saves; the run id is broadcast.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.config import load_settings
from core.data.export_query import ExportFilters
from core.db import session_scope
from core.errors import NotFoundError
from core.models import Edit, ProposerSpec, Round, TrainingRun, TrainingStatus, id_of, utcnow
from core.proposers.base import SpecData
from core.specs import get_or_create_spec, spec_from_row
from core.training.finetune_data import METHODS, FinetuneConfig, base_spec, model_of, prepare_data
from core.training.finetune_train import (
    Cancelled,
    FinetuneProgress,
    ProgressFn,
    progress_callback,
    run_metrics,
    save_model,
    train_causal,
    train_seq2seq,
)

# Imported by the pages, services and CLI from here (they predate the split).
__all__ = [
    "METHODS",
    "FinetuneConfig",
    "FinetuneProgress",
    "LineageNode",
    "finetune",
    "lineage",
    "trace_edit",
    "training_runs",
]


# --- the run record ------------------------------------------------------------------------------


def _start_run(
    engine: Engine, spec: ProposerSpec, config: FinetuneConfig, snapshot: dict[str, Any]
) -> tuple[int, Path]:
    with session_scope(engine) as s:
        run = TrainingRun(
            base_spec_id=spec.id, method=config.method, status=TrainingStatus.RUNNING, data_snapshot=snapshot,
            hyperparams={**asdict(config), "learning_rate": config.lr},
        )  # fmt: skip
        s.add(run)
        s.flush()
        run_id = id_of(run)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        out = load_settings().models_dir / f"run-{run_id}-{config.method}-{stamp}"
        run.output_dir = str(out)
        s.add(run)
        return run_id, out


def discard_output(output_dir: str | None) -> None:
    """Remove what a run that did not finish wrote (checkpoints, a half-saved model): only under the
    models folder, so a path in the database can never point the removal anywhere else."""
    if not output_dir:
        return
    path, root = Path(output_dir).resolve(), load_settings().models_dir.resolve()
    if path != root and root in path.parents:
        shutil.rmtree(path, ignore_errors=True)


def _get_run(session: Session, run_id: int) -> TrainingRun:
    run = session.get(TrainingRun, run_id)
    if run is None:
        raise NotFoundError(f"No training run with id {run_id}.")
    return run


def _finish_run(
    engine: Engine, run_id: int, status: str, metrics: dict[str, Any], *, error: str | None = None,
    spec: ProposerSpec | None = None, config: FinetuneConfig | None = None, out: Path | None = None,
) -> TrainingRun:  # fmt: skip
    with session_scope(engine) as s:
        run = _get_run(s, run_id)
        run.status, run.metrics, run.error, run.finished_at = status, metrics, error, utcnow()
        if status != TrainingStatus.DONE:
            discard_output(run.output_dir)
        if status == TrainingStatus.DONE and spec is not None and out is not None and config is not None:
            base = spec_from_row(spec)
            name = (
                config.name
                or f"{base.name or spec.model} · {config.method}{' LoRA' if config.lora else ''} run {run_id}"
            )
            new = get_or_create_spec(
                s, SpecData(kind=base.kind, model=str(out), params=dict(base.params), name=name), parent_id=spec.id
            )
            run.result_spec_id = new.id
        s.add(run)
        s.flush()
        return run


# --- training ------------------------------------------------------------------------------------


def finetune(
    engine: Engine,
    base_spec_id: int,
    config: FinetuneConfig,
    *,
    filters: ExportFilters | None = None,
    export_path: str | Path | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> TrainingRun:
    """Train, save under data/models/, register the new spec (parent: the base) and return the TrainingRun.

    A failure is recorded on the run (status failed, error) and raised; a cancel gives status cancelled."""
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    spec = base_spec(engine, base_spec_id)
    data = prepare_data(engine, spec, config, filters=filters, export_path=export_path)
    state = PartialState()
    run_info: list[Any] = [None]
    if state.is_main_process:
        run_info = [_start_run(engine, spec, config, data.snapshot)]
    if state.num_processes > 1:  # every process trains into the run the main process created
        broadcast_object_list(run_info)
    run_id, out = run_info[0]
    history: list[dict[str, Any]] = []
    started = time.monotonic()
    trainer = None
    try:
        callback = progress_callback(progress, cancel, history)
        train = train_seq2seq if spec.kind == "hf-seq2seq" else train_causal
        trainer, tokenizer = train(model_of(spec), data, config, out, callback)
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        metrics = run_metrics(history, trainer, started)
        if data.splits.test:
            metrics["eval_loss"] = trainer.evaluate().get("eval_loss")
        if state.is_main_process:
            save_model(trainer, tokenizer, out, config.lora)
        state.wait_for_everyone()
    except (Cancelled, KeyboardInterrupt):
        if state.is_main_process:
            return _finish_run(engine, run_id, TrainingStatus.CANCELLED, run_metrics(history, trainer, started))
        raise
    except Exception as exc:
        if state.is_main_process:
            _finish_run(
                engine,
                run_id,
                TrainingStatus.FAILED,
                run_metrics(history, trainer, started),
                error=f"{type(exc).__name__}: {exc}",
            )
        raise
    if not state.is_main_process:
        with session_scope(engine) as s:
            return _get_run(s, run_id)
    return _finish_run(engine, run_id, TrainingStatus.DONE, metrics, spec=spec, config=config, out=out)


# --- lineage -------------------------------------------------------------------------------------


@dataclass
class LineageNode:
    """A proposer spec in the lineage tree, with the training run that produced it (if any)."""

    spec: ProposerSpec
    level: int
    run: TrainingRun | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.spec.id,
            "name": self.spec.name,
            "kind": self.spec.kind,
            "model": self.spec.model,
            "parent_id": self.spec.parent_id,
            "level": self.level,
            "training_run": self.run.id if self.run else None,
            "method": self.run.method if self.run else None,
        }


def lineage(session: Session) -> list[LineageNode]:
    """Every spec, depth first: each root (no parent) followed by what was trained from it."""
    specs = list(session.exec(select(ProposerSpec).order_by(col(ProposerSpec.id))).all())
    runs = {r.result_spec_id: r for r in session.exec(select(TrainingRun)).all() if r.result_spec_id is not None}
    known = {s.id for s in specs}
    children: dict[int | None, list[ProposerSpec]] = {}
    for s in specs:
        children.setdefault(s.parent_id if s.parent_id in known else None, []).append(s)
    out: list[LineageNode] = []

    def walk(parent: int | None, level: int) -> None:
        for s in children.get(parent, []):
            out.append(LineageNode(spec=s, level=level, run=runs.get(id_of(s))))
            walk(s.id, level + 1)

    walk(None, 0)
    return out


def training_runs(session: Session, limit: int = 100) -> list[TrainingRun]:
    return list(session.exec(select(TrainingRun).order_by(col(TrainingRun.id).desc()).limit(limit)).all())


def trace_edit(session: Session, edit_id: int) -> dict[str, Any]:
    """Where an edit came from: its round's spec, the training run that made that spec, and the chain of
    parent specs back to the root."""
    edit = session.get(Edit, edit_id)
    if edit is None:
        raise NotFoundError(f"No edit with id {edit_id}.")
    rnd = session.get(Round, edit.round_id)
    if rnd is None:
        raise NotFoundError(f"No round with id {edit.round_id}.")
    spec = session.get(ProposerSpec, rnd.spec_id) if rnd.spec_id else None
    run = (
        session.exec(select(TrainingRun).where(TrainingRun.result_spec_id == spec.id)).first()
        if spec is not None
        else None
    )
    chain = []
    seen: set[int] = set()
    while spec is not None and (spec_id := id_of(spec)) not in seen:
        seen.add(spec_id)
        chain.append(spec_id)
        spec = session.get(ProposerSpec, spec.parent_id) if spec.parent_id else None
    return {
        "edit_id": edit.id,
        "round_id": rnd.id,
        "spec_id": rnd.spec_id,
        "training_run_id": run.id if run else None,
        "base_spec_id": run.base_spec_id if run else None,
        "spec_chain": chain,
    }
