"""`python -m core …`: everything a researcher scripts, sharing the functions the pages call.

Each module in this package defines `register(subparsers)`, adding its commands;
a command's handler is `func(args) -> int` set with `set_defaults(func=...)`.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from core.errors import RedraftError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Redraft: iterative text revision.")
    parser.add_argument("--database-url", help="override DATABASE_URL (default: SQLite under data/)")
    parser.add_argument("--as", dest="as_user", metavar="USER", help="act as this user (default: the local user)")
    sub = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # shared helpers, not commands
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RedraftError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
