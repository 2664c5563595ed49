"""`accelerate launch` entry for fine-tuning: the same as `python -m core finetune ...`.

    accelerate launch --num_processes 4 -m core.cli._finetune_entry --spec 3 --method dpo --lora
    accelerate launch --num_processes 4 core/finetune_entry.py --spec 3 --method sft   # as a script path

`--database-url URL` may be given anywhere on the line. Every process reads the same decisions; the main
process records the TrainingRun, saves the model and registers the new proposer (see core.training.finetune).
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    front: list[str] = []
    if "--database-url" in args:  # a top-level option of `python -m core`: it goes before the command
        i = args.index("--database-url")
        front = args[i : i + 2]
        del args[i : i + 2]
    from core.cli import main as cli_main

    return cli_main([*front, "finetune", *args])


if __name__ == "__main__":
    if not __package__:  # run as a file path: make the repository importable
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    raise SystemExit(main())
