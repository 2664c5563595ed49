"""`python -m core simulate`: revise a corpus with a simulated user, stored like a person's work.

python -m core simulate --corpus conll14 --user reference --documents 20
python -m core simulate --corpus conll14 --user reference --documents 20 --no-learning
python -m core simulate --corpus conll14 --user biased --reject-rules lingotweaker:MORFOLOGIK_RULE_EN_US
python -m core simulate --corpus pairs.jsonl --user reference --noise 0.1 --json

Each run gets its own project (or --project NAME) and simulated user; compare runs afterwards with
`python -m core stats --project NAME --by depth` or the Analytics page.
"""

from __future__ import annotations

import argparse
import sys

from core.cli._common import engine_for, print_json
from core.errors import InputError
from core.proposers import check_intents
from core.proposers.base import ALL_INTENTS, DEFAULT_INTENTS
from core.proposers.registry import build_proposer, parse_spec
from core.revision import rounds
from core.training import simulate


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="revise a corpus with a simulated user (reference or biased), with or without learning",
        description="A simulated person revises each document of a corpus through the ordinary round engine: "
        "it accepts an edit when the edit alone brings the text closer to the reference revision (token edit "
        "distance), rejects it otherwise; a biased user also rejects chosen rules or intents.",
    )
    p.add_argument(
        "--corpus",
        required=True,
        help="conll14 (../shared/data/conll14), iterater[:train|dev|test] (../shared/data/iterater), "
        'or a JSON Lines file of {"source": ..., "target": ...}',
    )
    p.add_argument(
        "--user", choices=simulate.USER_KINDS, default="reference", help="the simulated person (default reference)"
    )
    p.add_argument(
        "--reject-rules",
        default="",
        metavar="RULES",
        help="biased user: comma-separated rules (lingotweaker:ID, an id, or an engine)",
    )
    p.add_argument("--reject-intents", default="", metavar="INTENTS", help="biased user: comma-separated intents")
    p.add_argument(
        "--no-learning", action="store_true", help="switch learning off: no suppression, automatic muting or preference"
    )
    p.add_argument("--documents", type=int, help="how many documents (default: all)")
    p.add_argument("--skip", type=int, default=0, help="skip this many documents first")
    p.add_argument(
        "--sentences-per-document",
        type=int,
        default=simulate.DEFAULT_SENTENCES_PER_DOCUMENT,
        help="conll14: consecutive sentences per document (default %(default)s)",
    )
    p.add_argument("--noise", type=float, default=0.0, help="probability of flipping each decision (default 0)")
    p.add_argument("--seed", type=int, default=0, help="random seed for the noise")
    p.add_argument("--proposer", default="builtin", metavar="SPEC", help="proposer spec (default builtin)")
    p.add_argument(
        "--intents", default=",".join(DEFAULT_INTENTS), help=f"comma-separated, from {', '.join(ALL_INTENTS)}"
    )
    p.add_argument(
        "--max-depth", type=int, default=rounds.DEFAULT_MAX_DEPTH, help="rounds per document (default %(default)s)"
    )
    p.add_argument("--project", help="store the run in this project (created if missing) instead of a new one")
    p.add_argument(
        "--threshold", type=float, help="hide edits predicted below this acceptance (default: the product default)"
    )
    p.add_argument("--auto-mute-after", type=int, help="rejections that mute a rule (0: never; default 3)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_simulate)


def _names(text: str) -> frozenset[str]:
    return frozenset(x.strip() for x in text.split(",") if x.strip())


def cmd_simulate(args: argparse.Namespace) -> int:
    if args.documents is not None and args.documents < 1:
        raise InputError("--documents must be at least 1.")
    if args.max_depth < 1:
        raise InputError("--max-depth must be at least 1.")
    user = simulate.SimulatedUser(
        kind=args.user,
        reject_rules=_names(args.reject_rules),
        reject_intents=_names(args.reject_intents),
        noise=args.noise,
        seed=args.seed,
    )
    options = {"sentences_per_document": args.sentences_per_document} if args.corpus == "conll14" else {}
    pairs = simulate.load_corpus(args.corpus, documents=args.documents, skip=args.skip, **options)
    if not pairs:
        raise InputError(f"The corpus {args.corpus!r} has no documents in that range.")
    intents = check_intents(args.intents.split(","))
    spec = parse_spec(args.proposer)
    settings = rounds.RoundSettings(spec=spec, intents=intents, max_depth=args.max_depth)
    engine = engine_for(args)
    proposer = build_proposer(spec)

    def progress(done: int, summary: simulate.RunSummary) -> None:
        print(
            f"\r{done}/{len(pairs)} documents, {summary.shown} edits shown, "
            f"{summary.acceptance_shown:.0%} accepted, {summary.hidden} hidden",
            end="",
            file=sys.stderr,
            flush=True,
        )

    summary = simulate.run_simulation(
        engine,
        pairs,
        user,
        learning=not args.no_learning,
        settings=settings,
        proposer=proposer,
        project_name=args.project,
        corpus=args.corpus,
        threshold=args.threshold,
        auto_mute_after=args.auto_mute_after,
        progress=progress,
    )
    print(file=sys.stderr)
    if args.json:
        print_json(summary.as_dict())
        return 0
    d = summary.as_dict()
    print(
        f"project {d['project_id']}, simulated user {d['user_id']}, learning {'on' if summary.learning else 'off'}\n"
        f"{d['documents']} documents, {d['rounds']} rounds; {d['proposed']} edits proposed, {d['shown']} shown, "
        f"{d['hidden']} hidden\n"
        f"accepted {d['accepted']} of {d['shown']} shown ({summary.acceptance_shown:.1%})\n"
        f"token distance to the references: {d['distance_before']} -> {d['distance_after']}\n"
        f"see: python -m core stats --project {d['project_id']} --by depth"
    )
    return 0
