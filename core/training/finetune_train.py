"""Training a transformers proposer: TRL's trainers for causal (chat) models, a transformers Trainer
with TRL's DPO and KTO losses for seq2seq models, progress and cancel through a callback, saving.

- Chat models (kind hf-chat) train with TRL: SFTTrainer, DPOTrainer, KTOTrainer, on conversational
  rows whose prompt is exactly what `ChatProposer` sends, so the model learns the format it is asked
  in. DPO and KTO get the reference model explicitly (TRL would otherwise try to load one by the
  policy's name); with LoRA the reference is the base with the adapter switched off.
- Seq2seq models (kind hf-seq2seq, CoEdIT style): TRL's trainers take causal models only, so the same
  rows train with a transformers Trainer: cross-entropy on the completion for SFT, and the DPO
  (sigmoid) and KTO losses as TRL defines them, computed on the decoder's log-probabilities.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.data.trl_data import TrlSplits
from core.training.finetune_data import FinetuneConfig, PreparedData


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


class Cancelled(Exception):
    pass


def progress_callback(
    progress: ProgressFn | None, cancel: threading.Event | None, history: list[dict[str, Any]]
) -> Any:  # noqa: ANN401 - a transformers TrainerCallback (imported lazily)
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


def train_causal(model_name: str, data: PreparedData, config: FinetuneConfig, out: Path, callback: Any) -> Any:  # noqa: ANN401
    """TRL trainers for a causal (chat) model; returns the trainer after training."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer
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
    trainer: Trainer
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


def train_seq2seq(model_name: str, data: PreparedData, config: FinetuneConfig, out: Path, callback: Any) -> Any:  # noqa: ANN401
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
            if self.model is None:
                raise ValueError("A preference trainer needs the model to train.")
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


def save_model(trainer: Any, tokenizer: Any, out: Path, lora: bool) -> None:  # noqa: ANN401
    accelerator = getattr(trainer, "accelerator", None)
    model = accelerator.unwrap_model(trainer.model) if accelerator is not None else trainer.model
    out.mkdir(parents=True, exist_ok=True)
    if lora:
        model.save_pretrained(str(out / "adapter"))
        model = model.merge_and_unload()
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))


def run_metrics(history: list[dict[str, Any]], trainer: Any, started: float) -> dict[str, Any]:  # noqa: ANN401
    losses = [h["loss"] for h in history]
    metrics: dict[str, Any] = {
        "steps": int(trainer.state.global_step) if trainer is not None else 0,
        "loss_history": history[-500:],
        "first_loss": losses[0] if losses else None,
        "final_loss": losses[-1] if losses else None,
        "runtime_s": round(time.monotonic() - started, 2),
    }
    return metrics
