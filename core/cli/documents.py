"""Document commands: init-db, import, list, show."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core import documents
from core.cli._common import engine_for, print_json
from core.db import session_scope
from core.errors import InputError, RedraftError
from core.models import id_of
from core.text.clean import terminal_safe


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init-db", help="create or upgrade the database schema")
    p.set_defaults(func=cmd_init_db)

    p = sub.add_parser("import", help="import documents (.txt, .md, .docx) or R3/IteraTeR logs (--format r3)")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--format", choices=["document", "r3"], default="document")
    p.add_argument("--encoding", help="text encoding of the files (default: UTF-8)")
    p.add_argument("--title", help="title for a single imported document")
    p.add_argument(
        "--skip-bad", action="store_true", help="r3: import the good files even if some are refused (reported)"
    )
    p.add_argument(
        "--map-user",
        action="append",
        default=[],
        metavar="NAME=EXISTING",
        help="r3: file annotator NAME's decisions under the existing user EXISTING (default: a user of its own)",
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("list", help="list documents")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="show a document's current text and its versions")
    p.add_argument("document", type=int)
    p.add_argument("--versions", action="store_true", help="list versions instead of printing the text")
    p.add_argument(
        "--version", type=version_arg, help="print this version's text: its number in the document (2 or v2)"
    )
    p.add_argument("--raw", action="store_true", help="print control characters as they are (default: escaped)")
    p.set_defaults(func=cmd_show)


def cmd_init_db(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    print(f"database ready: {engine.url.render_as_string(hide_password=True)}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    if args.format == "r3":
        from core.data.r3 import import_r3_paths  # the R3 importer lives with the exports

        user_map = {}
        for item in args.map_user:
            name, sep, existing = item.partition("=")
            if not sep or not name or not existing:
                raise InputError(f"--map-user {item!r}: write NAME=EXISTING (a log's annotator = an existing user).")
            user_map[name] = existing
        engine = engine_for(args)
        summary = import_r3_paths(engine, args.files, skip_bad=args.skip_bad, user_map=user_map)
        print_json(summary)
        for problem in summary["refused"]:
            print(terminal_safe(f"refused: {problem}"), file=sys.stderr)
        return 1 if summary["refused"] and not args.skip_bad else 0
    if args.title and len(args.files) > 1:
        raise InputError("--title works with one file only.")
    engine = engine_for(args)
    failed = 0
    for path in args.files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            print(terminal_safe(f"{path}: cannot read ({exc.strerror})"), file=sys.stderr)
            failed += 1
            continue
        try:
            with session_scope(engine) as s:
                doc = documents.import_file(s, path.name, data, encoding=args.encoding)
                if args.title:
                    documents.rename_document(s, id_of(doc), args.title)
                print(f"{doc.id}\t{terminal_safe(doc.title, one_line=True)}")
        except RedraftError as exc:
            print(terminal_safe(f"{path}: {exc}"), file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def cmd_list(args: argparse.Namespace) -> int:
    with session_scope(engine_for(args)) as s:
        rows = documents.list_documents(s)
    if args.json:
        for r in rows:
            print_json(r.__dict__)
        return 0
    for r in rows:
        # Titles are clean when stored; older rows may not be: a terminal shows them, never obeys them.
        title = terminal_safe(r.title, one_line=True)
        print(f"{r.id}\t{title}\t{r.versions} version(s)\t{r.characters} chars\t{r.updated_at:%Y-%m-%d %H:%M}")
    return 0


def version_arg(value: str) -> int:
    """A version's number within its document, as people write it: "2" or "v2"."""
    digits = value.strip().lower().removeprefix("v")
    if not digits.isdigit() or int(digits) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a version number (1, 2, … or v1, v2, …)")
    return int(digits)


def cmd_show(args: argparse.Namespace) -> int:
    with session_scope(engine_for(args)) as s:
        numbers = documents.version_numbers(s, args.document)
        if args.versions:
            head = documents.get_document(s, args.document).head_version_id
            for v in documents.versions(s, args.document):
                name = documents.version_label(numbers[v.id or 0])
                current = "\tcurrent" if v.id == head else ""
                print(
                    f"{name}\t{v.created_at:%Y-%m-%d %H:%M:%S}\t{documents.describe_origin(v)}\t{len(v.text)} chars"
                    f"{current}"
                )
            return 0
        if args.version is not None:
            by_number = {n: i for i, n in numbers.items()}
            if args.version not in by_number:
                raise InputError(
                    f"Document {args.document} has no version v{args.version}: it has v1 to v{len(numbers)}."
                )
            version = documents.get_version(s, by_number[args.version])
        else:
            version = documents.head_version(s, args.document)
        text = version.text if args.raw else terminal_safe(version.text)
        sys.stdout.write(text)
        if not text.endswith("\n"):
            sys.stdout.write("\n")
    return 0
