"""Proposer commands: store a model or server as a proposer, list the stored ones."""

from __future__ import annotations

import argparse

from core.cli._common import engine_for
from core.db import session_scope
from core.proposers.registry import spec_label
from core.specs import list_specs, register_spec, spec_from_row


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("proposer", help="add or list proposers (models, servers) to choose for rounds")
    actions = p.add_subparsers(dest="proposer_command", required=True)
    add = actions.add_parser("add", help="store a proposer spec, e.g. hf-seq2seq:grammarly/coedit-large")
    add.add_argument("spec", help="builtin, hf-seq2seq:MODEL, hf-chat:MODEL or openai:URL#MODEL (?key=value…)")
    add.add_argument("--name", default="", help="a name to show in the proposer list")
    add.set_defaults(func=cmd_add)
    ls = actions.add_parser("list", help="list stored proposers")
    ls.set_defaults(func=cmd_list)


def cmd_add(args: argparse.Namespace) -> int:
    with session_scope(engine_for(args)) as s:
        row = register_spec(s, args.spec, args.name)
        print(f"{row.id}\t{row.name}\t{spec_label(spec_from_row(row))}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with session_scope(engine_for(args)) as s:
        for row in list_specs(s):
            print(f"{row.id}\t{row.name}\t{spec_label(spec_from_row(row))}")
    return 0
