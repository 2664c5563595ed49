"""`python -m core finetune`: train a transformers proposer on decisions; `python -m core models`: the
proposer specs as a lineage tree with their training runs.

Runs unchanged under several GPUs: `accelerate launch -m core finetune --spec 3 --method dpo` (see
docs/finetune.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli._common import engine_for, print_json
from core.cli.export import add_filter_args, filters_from_args
from core.db import session_scope
from core.training.finetune import METHODS, FinetuneConfig, FinetuneProgress, finetune, lineage


def add_finetune_args(p: argparse.ArgumentParser) -> None:
    d = FinetuneConfig()
    p.add_argument("--spec", type=int, required=True, help="id of the base proposer spec (kind hf-seq2seq or hf-chat)")
    p.add_argument("--method", choices=METHODS, default=d.method)
    p.add_argument("--lora", action="store_true", help="train a LoRA adapter (peft), merged into the saved model")
    p.add_argument(
        "--from-export", type=Path, help="a decision-log export (.jsonl or .parquet) instead of live filters"
    )
    h = p.add_argument_group("hyperparameters")
    h.add_argument("--epochs", type=float, default=d.epochs)
    h.add_argument("--max-steps", type=int, default=d.max_steps, help="> 0 overrides --epochs")
    h.add_argument("--lr", type=float, default=None, help="learning rate (default depends on method and LoRA)")
    h.add_argument("--batch-size", type=int, default=d.batch_size, help="per device")
    h.add_argument("--grad-accum", type=int, default=d.gradient_accumulation_steps)
    h.add_argument("--warmup", type=float, default=d.warmup_ratio, help="warm-up as a fraction of the steps")
    h.add_argument("--weight-decay", type=float, default=d.weight_decay)
    h.add_argument("--max-length", type=int, default=d.max_length, help="tokens per example")
    h.add_argument("--beta", type=float, default=d.beta, help="dpo/kto: strength of the pull to the reference")
    h.add_argument("--lora-r", type=int, default=d.lora_r)
    h.add_argument("--lora-alpha", type=int, default=d.lora_alpha)
    h.add_argument("--lora-dropout", type=float, default=d.lora_dropout)
    h.add_argument("--test-fraction", type=float, default=d.test_fraction, help="documents held out for eval")
    h.add_argument("--seed", type=int, default=d.seed)
    h.add_argument("--logging-steps", type=int, default=d.logging_steps)
    h.add_argument("--cpu", action="store_true", help="train on the CPU even when a GPU is present")
    p.add_argument("--name", default="", help="name of the new proposer spec")


def config_from_args(args: argparse.Namespace) -> FinetuneConfig:
    return FinetuneConfig(
        method=args.method,
        lora=args.lora,
        epochs=args.epochs,
        max_steps=args.max_steps,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        gradient_accumulation_steps=args.grad_accum,
        warmup_ratio=args.warmup,
        weight_decay=args.weight_decay,
        max_length=args.max_length,
        beta=args.beta,
        lora_r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        test_fraction=args.test_fraction,
        seed=args.seed,
        logging_steps=args.logging_steps,
        use_cpu=args.cpu,
        name=args.name,
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "finetune",
        help="fine-tune a transformers proposer on decisions (SFT, DPO or KTO; full or LoRA)",
        description="Trains on the decisions the filters select (or an export), saves under data/models/ and "
        "registers the result as a new proposer spec whose parent is --spec.",
    )
    add_finetune_args(p)
    add_filter_args(p)
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("models", help="proposer specs as a lineage tree, with their training runs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)


def _is_main() -> bool:
    from accelerate import PartialState

    return PartialState().is_main_process


def cmd_finetune(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    config = config_from_args(args)
    with session_scope(engine) as s:
        filters = filters_from_args(args, s)
    main = _is_main()

    def show(p: FinetuneProgress) -> None:
        if main:
            loss = f"{p.loss:.4f}" if p.loss is not None else "-"
            print(f"step {p.step}/{p.total_steps}  loss {loss}", file=sys.stderr, flush=True)

    run = finetune(
        engine, args.spec, config, filters=None if args.from_export else filters, export_path=args.from_export,
        progress=show,
    )  # fmt: skip
    if main:
        print_json(
            {"run": run.id, "status": run.status, "result_spec": run.result_spec_id, "output_dir": run.output_dir,
             "metrics": {k: v for k, v in run.metrics.items() if k != "loss_history"},
             "data": run.data_snapshot.get("counts")}
        )  # fmt: skip
    return 0 if run.status == "done" else 1


def cmd_models(args: argparse.Namespace) -> int:
    with session_scope(engine_for(args)) as s:
        nodes = lineage(s)
    for node in nodes:
        if args.json:
            print_json(node.as_dict())
            continue
        run = node.run
        trained = f"  <- {run.method} run {run.id} ({run.status})" if run else ""
        print(f"{'  ' * node.level}{node.spec.id}\t{node.spec.kind}\t{node.spec.name}{trained}")
    return 0
