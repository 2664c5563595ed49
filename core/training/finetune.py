"""Fine-tune a transformers proposer on the decision log, and register the result as a new proposer.

    run = finetune(engine, base_spec_id=3, config=FinetuneConfig(method="dpo", lora=True),
                   filters=ExportFilters(project_ids=(1,)))      # or export_path="log.parquet"
    run.result_spec_id  # a ProposerSpec whose parent is spec 3; choose it for the next round

- Chat models (kind hf-chat) train with TRL: SFTTrainer, DPOTrainer, KTOTrainer, on conversational
  rows whose prompt is exactly what `ChatProposer` sends (the same `build_messages`), so the model
  learns the format it is asked in. DPO and KTO get the reference model explicitly (TRL would
  otherwise try to load one by the policy's name); with LoRA the reference is the base with the
  adapter switched off.
- Seq2seq models (kind hf-seq2seq, CoEdIT style): TRL 1.16's trainers take causal models only, so
  the same rows train with a transformers Trainer: cross-entropy on the completion for SFT, and the
  DPO (sigmoid) and KTO losses as TRL defines them, computed on the decoder's log-probabilities.
- Full or LoRA (peft). A LoRA run is merged into the saved model (the adapter is kept beside it in
  `adapter/`), so the new proposer loads like any other model.
- Progress: `progress(FinetuneProgress)` after each logged step, with the loss; cancel: set the
  threading.Event (checked after every step). A cancelled run saves nothing and registers nothing.
- Several GPUs: the same function runs under `accelerate launch` (see docs/finetune.md): every process
  builds the same data; the main process writes the database and saves; the run id is broadcast.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from core.config import load_settings
from core.data.export import ExportFilters, iter_decision_rows
from core.data.trl_data import PromptFormat, TrlSplits, make_splits, read_log_file
from core.db import session_scope
from core.errors import ConflictError, InputError, NotFoundError
from core.models import ProposerSpec, TrainingRun, utcnow
from core.proposers.base import SpecData
from core.proposers.registry import MODEL_KINDS
from core.specs import get_or_create_spec, spec_from_row

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


@dataclass(frozen=True)
class FinetuneProgress:
    step: int
    total_steps: int
    loss: float | None
    epoch: float | None = None

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps > 0 else 0.0


ProgressFn = Callable[[FinetuneProgress], None]


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


def base_spec(engine: Engine, spec_id: int) -> ProposerSpec:
    with session_scope(engine) as s:
        spec = s.get(ProposerSpec, spec_id)
        if spec is None:
            raise NotFoundError(f"No proposer spec with id {spec_id}.")
        if spec.kind not in MODEL_KINDS or not spec.model:
            raise InputError(
                f"Spec {spec_id} is of kind {spec.kind!r}; fine-tuning needs a transformers model "
                f"({', '.join(MODEL_KINDS)})."
            )
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


# --- the run record ------------------------------------------------------------------------------


def _start_run(
    engine: Engine, spec: ProposerSpec, config: FinetuneConfig, snapshot: dict[str, Any]
) -> tuple[int, Path]:
    with session_scope(engine) as s:
        run = TrainingRun(
            base_spec_id=spec.id, method=config.method, status="running", data_snapshot=snapshot,
            hyperparams={**asdict(config), "learning_rate": config.lr},
        )  # fmt: skip
        s.add(run)
        s.flush()
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        out = load_settings().models_dir / f"run-{run.id}-{config.method}-{stamp}"
        run.output_dir = str(out)
        s.add(run)
        return run.id, out


def _finish_run(
    engine: Engine, run_id: int, status: str, metrics: dict[str, Any], *, error: str | None = None,
    spec: ProposerSpec | None = None, config: FinetuneConfig | None = None, out: Path | None = None,
) -> TrainingRun:  # fmt: skip
    with session_scope(engine) as s:
        run = s.get(TrainingRun, run_id)
        run.status, run.metrics, run.error, run.finished_at = status, metrics, error, utcnow()
        if status == "done" and spec is not None and out is not None and config is not None:
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


class _Cancelled(Exception):
    pass


def _callback(progress: ProgressFn | None, cancel: threading.Event | None, history: list[dict[str, Any]]):  # noqa: ANN202
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001, ANN003, ANN201
            logs = logs or {}
            if "loss" in logs:
                history.append({"step": state.global_step, "loss": float(logs["loss"]), "epoch": logs.get("epoch")})
                if progress is not None:
                    progress(
                        FinetuneProgress(state.global_step, state.max_steps, float(logs["loss"]), logs.get("epoch"))
                    )

        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003, ANN201
            if cancel is not None and cancel.is_set():
                control.should_training_stop = True
            return control

    return Progress()


def _common_args(config: FinetuneConfig, out: Path) -> dict[str, Any]:
    return {
        "output_dir": str(out / "checkpoints"),
        "num_train_epochs": config.epochs,
        "max_steps": config.max_steps,
        "learning_rate": config.lr,
        "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "warmup_steps": config.warmup_ratio,  # a float below 1 is a ratio of all steps
        "weight_decay": config.weight_decay,
        "logging_steps": config.logging_steps,
        "save_strategy": "no",
        "report_to": [],
        "seed": config.seed,
        # `accelerate launch --cpu` says so in the environment; the Trainer must agree or tensors split devices.
        "use_cpu": config.use_cpu or os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes"),
        "disable_tqdm": True,
        "remove_unused_columns": False,
    }


def _lora_config(config: FinetuneConfig, task_type: str):  # noqa: ANN202 - peft.LoraConfig
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
        target_modules=config.lora_target_modules, task_type=task_type,
    )  # fmt: skip


def _datasets(splits: TrlSplits):  # noqa: ANN202
    from datasets import Dataset

    return Dataset.from_list(splits.train), (Dataset.from_list(splits.test) if splits.test else None)


def _train_causal(model_name: str, data: PreparedData, config: FinetuneConfig, out: Path, callback: Any) -> Any:  # noqa: ANN401
    """TRL trainers for a causal (chat) model; returns the trainer after training."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer, SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(model_name)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(model_name)
    train, test = _datasets(data.splits)
    peft_config = _lora_config(config, "CAUSAL_LM") if config.lora else None
    args = _common_args(config, out)
    common = dict(model=model, train_dataset=train, eval_dataset=test, processing_class=tokenizer,
                  callbacks=[callback], peft_config=peft_config)  # fmt: skip
    if config.method == "sft":
        trainer = SFTTrainer(args=SFTConfig(**args, max_length=config.max_length), **common)
    else:
        # The reference is given, never looked up by name; with LoRA it is the base, adapter off.
        ref = None if config.lora else AutoModelForCausalLM.from_pretrained(model_name)
        if config.method == "dpo":
            trainer = DPOTrainer(
                ref_model=ref, args=DPOConfig(**args, beta=config.beta, max_length=config.max_length), **common
            )
        else:
            kto_args = KTOConfig(
                **args, beta=config.beta, max_length=config.max_length,
                desirable_weight=data.kto_weights[0], undesirable_weight=data.kto_weights[1],
            )  # fmt: skip
            trainer = KTOTrainer(ref_model=ref, args=kto_args, **common)
    _quiet(trainer)
    trainer.train()
    return trainer, tokenizer


def _quiet(trainer: Any) -> None:  # noqa: ANN401
    """Progress goes through our callback; drop the Trainer's own printing of every log dict."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)


def _train_seq2seq(model_name: str, data: PreparedData, config: FinetuneConfig, out: Path, callback: Any) -> Any:  # noqa: ANN401
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, TrainingArguments

    tokenizer = AutoTokenizer.from_pretrained(model_name)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_name)
    ref = None
    if config.lora:
        from peft import get_peft_model

        model = get_peft_model(model, _lora_config(config, "SEQ_2_SEQ_LM"))
    elif config.method != "sft":
        ref = AutoModelForSeq2SeqLM.from_pretrained(model_name)
    train = tokenize_rows(data.splits.train, tokenizer, config.method, config.max_length)
    test = tokenize_rows(data.splits.test, tokenizer, config.method, config.max_length) if data.splits.test else None
    args = TrainingArguments(**_common_args(config, out))
    kwargs = dict(model=model, args=args, train_dataset=train, eval_dataset=test, callbacks=[callback],
                  data_collator=lambda batch: collate(batch, tokenizer.pad_token_id))  # fmt: skip
    if config.method == "sft":
        from transformers import Trainer

        trainer = Trainer(**kwargs)  # the model's own loss on `labels` is the SFT loss
    else:
        trainer = _seq2seq_preference_trainer()(
            method=config.method, beta=config.beta, ref_model=ref, kto_weights=data.kto_weights, **kwargs
        )
    _quiet(trainer)
    trainer.train()
    return trainer, tokenizer


# --- seq2seq: tokenised rows, padding, and the DPO / KTO losses on decoder log-probabilities ----------


def tokenize_rows(rows: list[dict[str, Any]], tokenizer: Any, method: str, max_length: int) -> list[dict[str, Any]]:  # noqa: ANN401
    """Token ids for a seq2seq model: the prompt as encoder input, completions as decoder labels."""

    def ids(text: str) -> list[int]:
        return tokenizer(text, truncation=True, max_length=max_length)["input_ids"]

    out = []
    for r in rows:
        item: dict[str, Any] = {"input_ids": ids(r["prompt"])}
        if method == "dpo":
            item["chosen_labels"], item["rejected_labels"] = ids(r["chosen"]), ids(r["rejected"])
        else:
            item["labels"] = ids(r["completion"])
            if method == "kto":
                item["kto_label"] = bool(r["label"])
        out.append(item)
    return out


def collate(batch: list[dict[str, Any]], pad_id: int) -> dict[str, Any]:
    """Pad a batch: inputs with the pad id (and an attention mask), labels with -100 (ignored).
    KTO batches also get `kl_labels`: each prompt paired with the next row's completion, the
    mismatched pairs whose log-ratio estimates the KL term."""
    import torch

    def pad(seqs: list[list[int]], value: int) -> Any:  # noqa: ANN401
        width = max(len(x) for x in seqs)
        return torch.tensor([x + [value] * (width - len(x)) for x in seqs], dtype=torch.long)

    inputs = [b["input_ids"] for b in batch]
    out: dict[str, Any] = {
        "input_ids": pad(inputs, pad_id),
        "attention_mask": pad([[1] * len(x) for x in inputs], 0),
    }
    for key in ("labels", "chosen_labels", "rejected_labels"):
        if key in batch[0]:
            out[key] = pad([b[key] for b in batch], -100)
    if "kto_label" in batch[0]:
        out["kto_label"] = torch.tensor([b["kto_label"] for b in batch], dtype=torch.bool)
        labels = [b["labels"] for b in batch]
        out["kl_labels"] = pad(labels[1:] + labels[:1], -100)
    return out


def _seq2seq_preference_trainer() -> type:
    """A transformers Trainer computing TRL's sigmoid DPO loss or its KTO loss for an encoder-decoder model."""
    import torch
    import torch.nn.functional as F
    from transformers import Trainer

    class Seq2SeqPreferenceTrainer(Trainer):
        def __init__(
            self, *args: Any, method: str, beta: float, ref_model: Any = None,  # noqa: ANN401
            kto_weights: tuple[float, float] = (1.0, 1.0), **kwargs: Any,  # noqa: ANN401
        ) -> None:  # fmt: skip
            super().__init__(*args, **kwargs)
            self.method, self.beta, self.kto_weights = method, beta, kto_weights
            # As TRL does: no dropout, so at step 0 the policy equals the reference (loss log 2 for DPO).
            for module in self.model.modules():
                if isinstance(module, torch.nn.Dropout):
                    module.p = 0.0
                for attr in ("dropout", "dropout_rate", "attention_dropout"):  # functional dropout (T5 attention)
                    if isinstance(getattr(module, attr, None), float):
                        setattr(module, attr, 0.0)
            self.model_accepts_loss_kwargs = False  # our loss is a mean: let the Trainer scale it for accumulation
            self.ref_model = ref_model
            if ref_model is not None:
                ref_model.eval()
                ref_model.requires_grad_(False)
                self.ref_model = ref_model.to(self.args.device)

        @staticmethod
        def _logps(model: Any, inputs: dict[str, Any], labels: Any) -> Any:  # noqa: ANN401
            logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], labels=labels).logits
            mask = labels != -100
            picked = torch.log_softmax(logits.float(), dim=-1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            return (picked * mask).sum(-1)

        def _ref_logps(self, model: Any, inputs: dict[str, Any], labels: Any) -> Any:  # noqa: ANN401
            with torch.no_grad():
                if self.ref_model is not None:
                    return self._logps(self.ref_model, inputs, labels)
                base = self.accelerator.unwrap_model(model)
                with base.disable_adapter():  # LoRA: the base model is the reference
                    return self._logps(base, inputs, labels)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # noqa: ANN001, ANN201
            if self.method == "dpo":
                pc = self._logps(model, inputs, inputs["chosen_labels"])
                pr = self._logps(model, inputs, inputs["rejected_labels"])
                rc = self._ref_logps(model, inputs, inputs["chosen_labels"])
                rr = self._ref_logps(model, inputs, inputs["rejected_labels"])
                loss = -F.logsigmoid(self.beta * ((pc - rc) - (pr - rr))).mean()
            else:
                ratio = self._logps(model, inputs, inputs["labels"]) - self._ref_logps(model, inputs, inputs["labels"])
                with torch.no_grad():
                    kl = self._logps(model, inputs, inputs["kl_labels"]) - self._ref_logps(
                        model, inputs, inputs["kl_labels"]
                    )
                    z = kl.mean().clamp(min=0)
                good = inputs["kto_label"]
                losses = torch.where(
                    good, 1 - torch.sigmoid(self.beta * (ratio - z)), 1 - torch.sigmoid(self.beta * (z - ratio))
                )
                weights = torch.where(good, self.kto_weights[0], self.kto_weights[1])
                loss = (losses * weights).mean()
            return (loss, None) if return_outputs else loss

        def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):  # noqa: ANN001, ANN201
            inputs = self._prepare_inputs(inputs)
            with torch.no_grad():
                loss = self.compute_loss(model, inputs)
            return loss.detach(), None, None

    return Seq2SeqPreferenceTrainer


def _save(trainer: Any, tokenizer: Any, out: Path, lora: bool) -> None:  # noqa: ANN401
    model = trainer.model
    model = (
        getattr(trainer, "accelerator", None).unwrap_model(model) if getattr(trainer, "accelerator", None) else model
    )
    out.mkdir(parents=True, exist_ok=True)
    if lora:
        model.save_pretrained(str(out / "adapter"))
        model = model.merge_and_unload()
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))


def _metrics(history: list[dict[str, Any]], trainer: Any, started: float) -> dict[str, Any]:  # noqa: ANN401
    losses = [h["loss"] for h in history]
    metrics: dict[str, Any] = {
        "steps": int(trainer.state.global_step) if trainer is not None else 0,
        "loss_history": history[-500:],
        "first_loss": losses[0] if losses else None,
        "final_loss": losses[-1] if losses else None,
        "runtime_s": round(time.monotonic() - started, 2),
    }
    return metrics


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
        callback = _callback(progress, cancel, history)
        train = _train_seq2seq if spec.kind == "hf-seq2seq" else _train_causal
        trainer, tokenizer = train(spec.model, data, config, out, callback)
        if cancel is not None and cancel.is_set():
            raise _Cancelled()
        metrics = _metrics(history, trainer, started)
        if data.splits.test:
            metrics["eval_loss"] = trainer.evaluate().get("eval_loss")
        if state.is_main_process:
            _save(trainer, tokenizer, out, config.lora)
        state.wait_for_everyone()
    except (_Cancelled, KeyboardInterrupt):
        if state.is_main_process:
            return _finish_run(engine, run_id, "cancelled", _metrics(history, trainer, started))
        raise
    except Exception as exc:
        if state.is_main_process:
            _finish_run(
                engine, run_id, "failed", _metrics(history, trainer, started), error=f"{type(exc).__name__}: {exc}"
            )
        raise
    if not state.is_main_process:
        with session_scope(engine) as s:
            return s.get(TrainingRun, run_id)
    return _finish_run(engine, run_id, "done", metrics, spec=spec, config=config, out=out)


# --- a run in the background (the Models page) ---------------------------------------------------


class FinetuneJob:
    """A fine-tune in a background thread: progress and loss to poll, cancel, result or error."""

    def __init__(self) -> None:
        self.cancel_event = threading.Event()
        self.latest: FinetuneProgress | None = None
        self.losses: list[tuple[int, float]] = []
        self.run: TrainingRun | None = None
        self.error: str | None = None
        self._thread: threading.Thread | None = None

    def _progress(self, p: FinetuneProgress) -> None:
        self.latest = p
        if p.loss is not None:
            self.losses.append((p.step, p.loss))

    def start(self, engine: Engine, base_spec_id: int, config: FinetuneConfig, **kwargs: Any) -> FinetuneJob:  # noqa: ANN401
        if self.running:
            raise ConflictError("A fine-tune is already running; wait for it or cancel it.")

        def work() -> None:
            try:
                self.run = finetune(
                    engine, base_spec_id, config, progress=self._progress, cancel=self.cancel_event, **kwargs
                )
            except Exception as exc:  # noqa: BLE001 - shown to the person; also recorded on the run
                self.error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, InputError) else str(exc)

        self._thread = threading.Thread(target=work, name="redraft-finetune", daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


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


def lineage(session: Any) -> list[LineageNode]:  # noqa: ANN401 - a Session
    """Every spec, depth first: each root (no parent) followed by what was trained from it."""
    from sqlmodel import select

    specs = list(session.exec(select(ProposerSpec).order_by(ProposerSpec.id)).all())
    runs = {r.result_spec_id: r for r in session.exec(select(TrainingRun)).all() if r.result_spec_id is not None}
    known = {s.id for s in specs}
    children: dict[int | None, list[ProposerSpec]] = {}
    for s in specs:
        children.setdefault(s.parent_id if s.parent_id in known else None, []).append(s)
    out: list[LineageNode] = []

    def walk(parent: int | None, level: int) -> None:
        for s in children.get(parent, []):
            out.append(LineageNode(spec=s, level=level, run=runs.get(s.id)))
            walk(s.id, level + 1)

    walk(None, 0)
    return out


def training_runs(session: Any, limit: int = 100) -> list[TrainingRun]:  # noqa: ANN401 - a Session
    from sqlmodel import select

    return list(session.exec(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(limit)).all())


def trace_edit(session: Any, edit_id: int) -> dict[str, Any]:  # noqa: ANN401 - a Session
    """Where an edit came from: its round's spec, the training run that made that spec, and the chain of
    parent specs back to the root."""
    from sqlmodel import select

    from core.models import Edit, Round

    edit = session.get(Edit, edit_id)
    if edit is None:
        raise NotFoundError(f"No edit with id {edit_id}.")
    rnd = session.get(Round, edit.round_id)
    spec = session.get(ProposerSpec, rnd.spec_id) if rnd.spec_id else None
    run = (
        session.exec(select(TrainingRun).where(TrainingRun.result_spec_id == spec.id)).first()
        if spec is not None
        else None
    )
    chain = []
    seen: set[int] = set()
    while spec is not None and spec.id not in seen:
        seen.add(spec.id)
        chain.append(spec.id)
        spec = session.get(ProposerSpec, spec.parent_id) if spec.parent_id else None
    return {
        "edit_id": edit.id,
        "round_id": rnd.id,
        "spec_id": rnd.spec_id,
        "training_run_id": run.id if run else None,
        "base_spec_id": run.base_spec_id if run else None,
        "spec_chain": chain,
    }
