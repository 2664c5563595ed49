"""`python -m core revise FILE`: propose edits for a text file without the app or the database.

python -m core revise essay.txt                         edits as JSON Lines
python -m core revise essay.txt --accept-all            the text with every edit applied
python -m core revise corpus.txt --lines --accept-all   one document per line, line count kept
cat essay.txt | python -m core revise - --proposer hf-seq2seq:grammarly/coedit-large --intents fluency
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from core.errors import InputError
from core.files import decode_bytes
from core.proposers import check_intents, make_request, propose_edits
from core.proposers.base import ALL_INTENTS, DEFAULT_INTENTS, Proposer
from core.proposers.registry import build_proposer, parse_spec
from core.text.edits import Edit, apply_edits


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "revise",
        help="propose edits for a text file (JSON Lines, or the revised text with --accept-all)",
        description="Propose edits for FILE ('-' reads stdin) and print them as JSON Lines, one edit a line "
        "(start, end, before, after, intent, explanation, source, score, alternatives), or with --accept-all "
        "the text with every edit applied.",
    )
    p.add_argument("file", help="UTF-8 (or UTF-16 with BOM) text file; '-' for stdin")
    p.add_argument(
        "--proposer",
        default="builtin",
        metavar="SPEC",
        help="builtin (default), hf-seq2seq:MODEL, hf-chat:MODEL, openai:URL#MODEL; "
        "parameters as KIND:MODEL?key=value&key=value",
    )
    p.add_argument(
        "--intents",
        nargs="+",
        metavar="INTENT",
        help=f"intents to ask for (space- or comma-separated): {', '.join(ALL_INTENTS)} "
        f"(default: {' '.join(DEFAULT_INTENTS)})",
    )
    p.add_argument("--disable", action="append", default=[], metavar="RULE", help="switch off a rule or category")
    p.add_argument("--feedback", default="", help="free-text guidance for prompted models")
    p.add_argument("--accept-all", action="store_true", help="print the revised text instead of the edits")
    p.add_argument(
        "--lines",
        action="store_true",
        help="each line is its own document (sentence-per-line corpora); the output keeps the line count",
    )
    p.add_argument("--encoding", help="text encoding of FILE (default: UTF-8, or UTF-16 with a BOM)")
    p.set_defaults(func=cmd_revise)


def read_text(path: str, encoding: str | None = None) -> str:
    """The text of a file ('-' for stdin), decoded; InputError if it is missing, binary or not decodable."""
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise InputError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    if not data:
        return ""
    try:
        return decode_bytes(data, encoding)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from exc


def _intents(values: list[str] | None) -> tuple[str, ...]:
    if not values:
        return DEFAULT_INTENTS
    return tuple(i.strip() for v in values for i in v.split(",") if i.strip())


def edit_record(edit: Edit) -> dict[str, object]:
    return {
        "start": edit.start,
        "end": edit.end,
        "before": edit.before,
        "after": edit.after,
        "intent": edit.intent,
        "explanation": edit.explanation,
        "source": edit.source,
        "score": edit.score,
        "alternatives": list(edit.alternatives),
    }


def _revise(proposer: Proposer, text: str, args: argparse.Namespace) -> tuple[list[Edit], int]:
    """Edits for one document and how many model outputs were dropped."""
    if not text.strip():
        return [], 0
    request = make_request(
        text,
        intents=_intents(args.intents),
        feedback=args.feedback,
        disabled_rules=[r.strip() for v in args.disable for r in v.split(",") if r.strip()],
    )
    edits, result = propose_edits(proposer, request)
    return edits, len(result.dropped)


def _lines(text: str) -> Iterator[tuple[str, str]]:
    """(line without its end, the line's CR if it had one); joining with LF rebuilds the text exactly."""
    for line in text.split("\n"):
        if line.endswith("\r"):
            yield line[:-1], "\r"
        else:
            yield line, ""


def cmd_revise(args: argparse.Namespace) -> int:
    check_intents(_intents(args.intents))  # a typo fails now, not after a model has loaded
    spec = parse_spec(args.proposer)
    text = read_text(args.file, args.encoding)
    proposer = build_proposer(spec)
    out = sys.stdout
    dropped = 0
    if not args.lines:
        edits, dropped = _revise(proposer, text, args)
        if args.accept_all:
            out.write(apply_edits(text, edits))
        else:
            for e in edits:
                out.write(json.dumps(edit_record(e), ensure_ascii=False) + "\n")
    else:
        revised: list[str] = []
        for number, (line, cr) in enumerate(_lines(text), start=1):
            edits, n = _revise(proposer, line, args)
            dropped += n
            # A replacement with a line break would change the line count: never apply one here.
            edits = [e for e in edits if "\n" not in e.after and "\r" not in e.after]
            if args.accept_all:
                revised.append(apply_edits(line, edits) + cr)
            else:
                for e in edits:
                    out.write(json.dumps({"line": number, **edit_record(e)}, ensure_ascii=False) + "\n")
        if args.accept_all:
            out.write("\n".join(revised))
    out.flush()
    if dropped:
        print(
            f"note: {dropped} model output(s) were dropped (empty, runaway, repetitive or off-topic).", file=sys.stderr
        )
    return 0
