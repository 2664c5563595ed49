"""Fine-tuning settings and data: the rows a run trains on, in the base model's own prompt format.

Rows come from the decision log (live, through core.data.export_query, only what stands per edit and
person) or from an export file, built into SFT, DPO or KTO rows by core.data.trl_data and split by
document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from core.data.export_query import ExportFilters, iter_decision_rows
from core.data.trl_data import PromptFormat, TrlSplits, make_splits, read_log_file
from core.db import session_scope
from core.errors import InputError, NotFoundError
from core.models import ProposerSpec
from core.proposers.registry import MODEL_KINDS

METHODS = ("sft", "dpo", "kto")
# Learning rates that usually work: preference methods move the policy less.
DEFAULT_LR = {("sft", False): 5e-5, ("sft", True): 2e-4, ("dpo", False): 5e-6, ("dpo", True): 5e-5,
              ("kto", False): 5e-6, ("kto", True): 5e-5}  # fmt: skip


@dataclass(frozen=True)
class FinetuneConfig:
    """Training settings; every field has a default that works for a first run."""

    method: str = "sft"
    lora: bool = False
    epochs: float = 3.0
    max_steps: int = -1  # > 0 overrides epochs
    learning_rate: float | None = None  # None: DEFAULT_LR for the method
    batch_size: int = 8
    gradient_accumulation_steps: int = 1
    warmup_ratio: float = 0.0
    weight_decay: float = 0.0
    max_length: int = 1024
    beta: float = 0.1  # dpo, kto: how far the policy may move from the reference
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: str | list[str] = "all-linear"
    test_fraction: float = 0.1
    seed: int = 0
    logging_steps: int = 1
    use_cpu: bool = False
    name: str = ""  # name of the new proposer spec

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"Unknown method {self.method!r}; use one of {', '.join(METHODS)}.")
        if self.batch_size < 1 or self.gradient_accumulation_steps < 1:
            raise InputError("The batch size and gradient accumulation steps must be at least 1.")
        if self.method == "kto" and self.batch_size < 2:
            raise InputError("KTO estimates its KL term within a batch: use a batch size of at least 2.")
        if self.max_steps <= 0 and self.epochs <= 0:
            raise InputError("Give a positive number of epochs or of steps.")
        if self.learning_rate is not None and self.learning_rate <= 0:
            raise InputError("The learning rate must be positive.")

    @property
    def lr(self) -> float:
        return self.learning_rate if self.learning_rate is not None else DEFAULT_LR[(self.method, self.lora)]


@dataclass
class PreparedData:
    splits: TrlSplits
    fmt: PromptFormat
    snapshot: dict[str, Any] = field(default_factory=dict)
    kto_weights: tuple[float, float] = (1.0, 1.0)  # desirable, undesirable


def kto_weights(labels: list[bool]) -> tuple[float, float]:
    """(desirable, undesirable) loss weights that balance the two kinds of example, as TRL advises:
    desirable_weight * n_desirable / (undesirable_weight * n_undesirable) within [1, 4/3]."""
    good = sum(1 for x in labels if x)
    bad = len(labels) - good
    if not good or not bad or 1 <= good / bad <= 4 / 3:
        return 1.0, 1.0
    return (round(bad / good, 4), 1.0) if good < bad else (1.0, round(good / bad, 4))


# --- data ----------------------------------------------------------------------------------


def model_of(spec: ProposerSpec) -> str:
    """The transformers model a spec names (what a fine-tune starts from); InputError for other kinds."""
    if spec.kind not in MODEL_KINDS or not spec.model:
        raise InputError(
            f"Spec {spec.id} is of kind {spec.kind!r}; fine-tuning needs a transformers model "
            f"({', '.join(MODEL_KINDS)})."
        )
    return spec.model


def base_spec(engine: Engine, spec_id: int) -> ProposerSpec:
    with session_scope(engine) as s:
        spec = s.get(ProposerSpec, spec_id)
        if spec is None:
            raise NotFoundError(f"No proposer spec with id {spec_id}.")
        model_of(spec)
        return spec


def prepare_data(
    engine: Engine,
    spec: ProposerSpec,
    config: FinetuneConfig,
    *,
    filters: ExportFilters | None = None,
    export_path: str | Path | None = None,
) -> PreparedData:
    """Training rows in the base model's own prompt format, split by document."""
    fmt = PromptFormat.for_spec(spec.kind, spec.params)
    if export_path is not None:
        rows = list(read_log_file(export_path))
        source: dict[str, Any] = {"source": "export", "export_path": str(export_path)}
    else:
        filters = filters or ExportFilters()
        with session_scope(engine) as s:
            rows = list(iter_decision_rows(s, ExportFilters(**{**filters.__dict__, "latest_only": True})))
        source = {"source": "live", "filters": filters.describe()}
    splits = make_splits(config.method, rows, fmt, test_fraction=config.test_fraction, seed=config.seed)
    if not splits.train:
        raise InputError(
            f"No {config.method.upper()} training rows: {splits.stats.decisions} decided edits gave none "
            f"({splits.stats.skipped_no_change} without a change, {splits.stats.skipped_no_prompt} without a prompt "
            "for this model). Widen the filters or decide more edits."
        )
    if config.method == "kto" and len({r["label"] for r in splits.train}) < 2:
        raise InputError("KTO needs both accepted and rejected edits in the training data.")
    weights = kto_weights([r["label"] for r in splits.train]) if config.method == "kto" else (1.0, 1.0)
    snapshot = {
        **source,
        "prompt_style": fmt.style,
        "counts": {**splits.stats.as_dict(), **splits.counts()},
        "test_documents": splits.test_documents,
    }
    if config.method == "kto":
        snapshot["kto_weights"] = {"desirable": weights[0], "undesirable": weights[1]}
    return PreparedData(splits=splits, fmt=fmt, snapshot=snapshot, kto_weights=weights)
