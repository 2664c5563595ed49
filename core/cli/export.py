"""`python -m core export`: the decision log (jsonl, csv, parquet, hf), TRL datasets (sft, dpo, kto,
reward) and R3 session files (r3), with the same filters as the Export page."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TypeVar

from sqlmodel import Session, col, select

from core.cli._common import engine_for, parse_when, print_json
from core.data.export import LOG_FORMATS, ExportFilters, export_log, iter_decision_rows, preview, summarize
from core.db import session_scope
from core.errors import InputError
from core.models import Project, User, id_of

TRL_FORMATS = ("sft", "dpo", "kto", "reward")
FORMATS = (*LOG_FORMATS, *TRL_FORMATS, "r3")


def add_filter_args(p: argparse.ArgumentParser) -> None:
    """The export filters, shared by `export` and `finetune`."""
    g = p.add_argument_group("filters (each narrows; repeat an option for several values)")
    g.add_argument("--project", action="append", default=[], help="project id or name")
    g.add_argument("--user", action="append", default=[], help="person (user id or name)")
    g.add_argument("--document", action="append", type=int, default=[], help="document id")
    g.add_argument("--thread", action="append", type=int, default=[], help="thread id")
    g.add_argument("--since", help="decided at or after (ISO date or datetime; UTC unless an offset is given)")
    g.add_argument("--until", help="decided at or before (a bare date includes that whole day)")
    g.add_argument("--intent", action="append", default=[], help="edit intent (fluency, clarity, ...)")
    g.add_argument("--depth", action="append", type=int, default=[], help="round depth")
    g.add_argument(
        "--proposer",
        dest="spec_filter",
        action="append",
        type=int,
        default=[],
        help="id of the proposer spec that made the edits",
    )
    g.add_argument("--action", action="append", default=[], help="accept, reject, modify, undo")
    g.add_argument("--simulated", choices=["yes", "no", "any"], default="any", help="simulated sessions or people")
    g.add_argument("--latest", action="store_true", help="one row per edit and person: the decision that stands")
    g.add_argument("--dedupe", action="store_true", help="drop rows repeating an identical pair")


Named = TypeVar("Named", Project, User)


def _ids(session: Session, values: list[str], model: type[Named], what: str) -> tuple[int, ...]:
    out = []
    for v in values:
        if str(v).isdigit():
            out.append(int(v))
            continue
        row = session.exec(select(model).where(col(model.name) == v)).first()
        if row is None:
            raise InputError(f"No {what} named {v!r}.")
        out.append(id_of(row))
    return tuple(out)


def filters_from_args(args: argparse.Namespace, session: Session) -> ExportFilters:
    return ExportFilters(
        project_ids=_ids(session, args.project, Project, "project"),
        user_ids=_ids(session, args.user, User, "user"),
        document_ids=tuple(args.document),
        thread_ids=tuple(args.thread),
        since=parse_when(args.since),
        until=parse_when(args.until, end_of_day=True),
        intents=tuple(args.intent),
        depths=tuple(args.depth),
        spec_ids=tuple(args.spec_filter),
        actions=tuple(args.action),
        simulated=None if args.simulated == "any" else args.simulated == "yes",
        latest_only=args.latest,
        dedupe=args.dedupe,
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export decisions: log (jsonl/csv/parquet/hf), TRL datasets (sft/dpo/kto/reward) or R3 files",
        description=(
            "Formats: jsonl, csv, parquet (one row per decision); hf (a datasets.DatasetDict folder); "
            "sft, dpo, kto, reward (TRL datasets, split by document); r3 (one R3 session file per thread)."
        ),
    )
    p.add_argument("--format", choices=FORMATS, default="jsonl")
    p.add_argument("-o", "--output", type=Path, help="file (jsonl/csv/parquet) or folder (hf, TRL formats, r3)")
    p.add_argument("--summary", action="store_true", help="print counts (and --preview rows) and write nothing")
    p.add_argument("--preview", type=int, default=0, metavar="N", help="print the first N rows")
    p.add_argument("--test-fraction", type=float, default=None, help="documents held out as test (TRL: 0.1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--prompt-style",
        choices=["auto", "seq2seq", "chat"],
        default="auto",
        help="TRL prompts: auto = the format of the proposer that made each edit",
    )
    p.add_argument("--messages", action="store_true", help="sft: the `messages` form instead of prompt/completion")
    p.add_argument("--file-format", choices=["hf", "jsonl", "parquet"], default="hf", help="TRL output files")
    p.add_argument("--no-dedupe", action="store_true", help="TRL: keep identical rows")
    p.add_argument("--push-to-hub", metavar="REPO", help="also upload (hf and TRL formats) to this Hub dataset repo")
    add_filter_args(p)
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    with session_scope(engine) as s:
        filters = filters_from_args(args, s)
        if args.summary or args.preview:
            print_json({"summary": summarize(s, filters).__dict__})
            for row in preview(s, filters, args.preview):
                print_json(row)
            if args.summary:
                return 0
    if args.output is None:
        raise InputError("Give an output path with -o (or use --summary to only count).")
    if args.format in LOG_FORMATS:
        result = export_log(
            engine, filters, args.format, args.output, test_fraction=args.test_fraction or 0.0, seed=args.seed,
            push_to_hub=args.push_to_hub,
        )  # fmt: skip
        print_json({"format": result.format, "path": str(result.path), "rows": result.rows, "splits": result.splits})
        return 0
    if args.format == "r3":
        from core.data.export import thread_ids
        from core.data.r3 import export_threads

        with session_scope(engine) as s:
            ids = thread_ids(s, filters)
        paths = export_threads(engine, ids, args.output)
        print_json({"format": "r3", "threads": len(paths), "files": [str(p) for p in paths]})
        return 0
    from core.data.trl_data import PromptFormat, make_splits, save_splits

    fmt = None if args.prompt_style == "auto" else PromptFormat.parse(args.prompt_style)
    with session_scope(engine) as s:
        rows = list(iter_decision_rows(s, ExportFilters(**{**filters.__dict__, "latest_only": True})))
    splits = make_splits(
        args.format, rows, fmt, messages=args.messages,
        test_fraction=0.1 if args.test_fraction is None else args.test_fraction, seed=args.seed,
        dedupe=not args.no_dedupe,
    )  # fmt: skip
    save_splits(splits, args.output, args.file_format, push_to_hub=args.push_to_hub)
    print_json(
        {"format": args.format, "path": str(args.output), **splits.counts(), "stats": splits.stats.as_dict(),
         "test_documents": splits.test_documents}
    )  # fmt: skip
    if not splits.train and not splits.test:
        print(json.dumps({"warning": "no rows: widen the filters or decide more edits"}), file=sys.stderr)
    return 0
