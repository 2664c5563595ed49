"""`python -m core campaign …`: annotation campaigns from the command line, through the same services
as the Campaign page (acting as --as USER).

python -m core --as rita campaign create "Spring batch" --documents 1,2,3 --overlap 3 --annotators ann1,ann2,ann3
python -m core --as ann1 campaign next "Spring batch"           reserve (or show) my item
python -m core --as ann1 round decide ROUND accept               decide its edits (as any round)
python -m core --as ann1 campaign finish "Spring batch" ITEM
python -m core --as rita campaign status "Spring batch" --json
python -m core --as rita campaign assign|reopen "Spring batch" ITEM USER
python -m core --as rita campaign adjudicate "Spring batch" [EDIT ACTION [--text T]]
python -m core --as rita campaign export "Spring batch" --out DIR [--trl dpo --unresolved drop]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from core import jobs, users
from core.access import Actor
from core.campaigns.model import CampaignSettings
from core.cli._common import actor_for_args, engine_for, print_json
from core.cli.stats import format_table
from core.data import trl_data
from core.data.export_formats import write_jsonl
from core.db import read_scope
from core.documents import default_project, list_documents
from core.errors import InputError
from core.models import id_of
from core.proposers.base import DEFAULT_INTENTS
from core.proposers.registry import parse_spec
from core.services import campaigns
from core.services.worker import start_threads


def _ids(text: str | None) -> list[int]:
    try:
        return [int(x) for x in (text or "").split(",") if x.strip()]
    except ValueError:
        raise InputError(f"Give ids separated by commas, not {text!r}.") from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "campaign", help="annotation campaigns: create, next, finish, status, assign, reopen, adjudicate"
    )
    acts = p.add_subparsers(dest="campaign_command", required=True)

    c = acts.add_parser("create", help="create a campaign and make its proposals (a job)")
    c.add_argument("name")
    c.add_argument("--documents", help="document ids, comma-separated (default: every document of the project)")
    c.add_argument("--gold", help="gold document ids (known answers set later with `campaign gold`)")
    c.add_argument("--proposer", default="builtin", help="a proposer spec (default: builtin)")
    c.add_argument("--intents", default=",".join(DEFAULT_INTENTS))
    c.add_argument("--overlap", type=int, default=2, help="people per item (default 2)")
    c.add_argument("--guidelines", type=Path, help="a Markdown file shown beside the review")
    c.add_argument("--gold-every", type=int, default=0, help="every k-th item a person takes is gold (0: none)")
    c.add_argument("--gold-min-accuracy", type=float, help="pause a person below this gold accuracy (0-1)")
    c.add_argument("--reservation-minutes", type=int, default=30)
    c.add_argument("--min-agreement", type=float, default=1.0, help="adjudicate edits whose top label share is below")
    c.add_argument("--annotators", default="", help="user names, comma-separated")
    c.add_argument("--no-wait", action="store_true", help="queue the proposals job and return")
    c.set_defaults(func=cmd_create)

    for name, helptext, fn in (
        ("next", "reserve (or show) the item to judge now", cmd_next),
        ("status", "progress per person and document", cmd_status),
        ("agreement", "agreement on the shared edits", cmd_agreement),
    ):
        a = acts.add_parser(name, help=helptext)
        a.add_argument("campaign", help="campaign id or name")
        a.add_argument("--json", action="store_true")
        a.set_defaults(func=fn)

    f = acts.add_parser("finish", help="mark my item done (every edit decided)")
    f.add_argument("campaign")
    f.add_argument("item", type=int)
    f.set_defaults(func=cmd_finish)

    for name, helptext, fn in (
        ("assign", "give an item to a person by hand", cmd_assign),
        ("reopen", "send a finished item back to its person", cmd_reopen),
    ):
        a = acts.add_parser(name, help=helptext)
        a.add_argument("campaign")
        a.add_argument("item", type=int)
        a.add_argument("user", help="user name")
        a.set_defaults(func=fn)

    j = acts.add_parser("adjudicate", help="list the adjudication queue, or label one edit")
    j.add_argument("campaign")
    j.add_argument("edit", type=int, nargs="?")
    j.add_argument("action", nargs="?", choices=["accept", "reject", "modify"])
    j.add_argument("--text", help="the rewrite, for modify")
    j.add_argument("--json", action="store_true")
    j.set_defaults(func=cmd_adjudicate)

    g = acts.add_parser("gold", help="known answers of a gold item: EDIT=accept|reject|modify ...")
    g.add_argument("item", type=int)
    g.add_argument("answers", nargs="+")
    g.set_defaults(func=cmd_gold)

    e = acts.add_parser("export", help="decisions, labels that stand, agreement; TRL data from the labels")
    e.add_argument("campaign")
    e.add_argument("--out", type=Path, required=True, help="a folder")
    e.add_argument("--trl", choices=trl_data.KINDS, help="also build this TRL dataset from the labels that stand")
    e.add_argument("--unresolved", choices=["drop", "chosen"], default="drop", help="ties: left out or kept as chosen")
    e.set_defaults(func=cmd_export)


def _campaign(args: argparse.Namespace) -> tuple[Any, Actor, int]:
    engine = engine_for(args)
    actor = actor_for_args(args, engine)
    return engine, actor, id_of(campaigns.get(engine, actor, args.campaign))


def cmd_create(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    actor = actor_for_args(args, engine)
    with read_scope(engine) as s:
        project_id = id_of(default_project(s))
        docs = _ids(args.documents) or [d.id for d in list_documents(s, project_id)]
        annotators = [id_of(users.get_by_name(s, n.strip())) for n in args.annotators.split(",") if n.strip()]
    gold = _ids(args.gold)
    settings = CampaignSettings(
        name=args.name,
        project_id=project_id,
        document_ids=[d for d in docs if d not in gold],
        gold_document_ids=gold,
        spec=parse_spec(args.proposer),
        intents=tuple(i.strip() for i in args.intents.split(",") if i.strip()),
        overlap=args.overlap,
        guidelines=args.guidelines.read_text(encoding="utf-8") if args.guidelines else "",
        gold_every=args.gold_every,
        gold_min_accuracy=args.gold_min_accuracy,
        reservation_minutes=args.reservation_minutes,
        min_agreement=args.min_agreement,
        annotator_ids=annotators,
    )
    campaign, job = campaigns.create(engine, actor, settings)
    if not args.no_wait:
        stop = start_threads(engine, 1)
        try:
            job = jobs.wait_for(engine, id_of(job))
        finally:
            stop.set()
    print_json({"campaign_id": campaign.id, "name": campaign.name, "job_id": job.id, "job_status": job.status})
    return 0


def cmd_next(args: argparse.Namespace) -> int:
    engine, actor, cid = _campaign(args)
    work = campaigns.next_item(engine, actor, cid)
    if work is None:
        print_json(None) if args.json else print("Nothing left for you in this campaign.")
        return 0
    data = {k: v for k, v in vars(work).items() if k != "guidelines"}
    if args.json:
        print_json(data)
    else:
        print(f"item {work.item_id}: {work.title!r}, round {work.round_id}, {work.pending} edit(s) to decide")
    return 0


def cmd_finish(args: argparse.Namespace) -> int:
    engine, actor, cid = _campaign(args)
    print_json(campaigns.finish_item(engine, actor, cid, args.item))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    engine, actor, cid = _campaign(args)
    progress = campaigns.status(engine, actor, cid)
    if args.json:
        print_json({"campaign": progress.campaign, "people": progress.people, "documents": progress.documents})
        return 0
    c = progress.campaign
    print(
        f"{c['name']} ({c['status']}): {c['done']} of {c['judgements_needed']} judgements done, "
        f"{c['reserved']} reserved"
    )
    print(format_table(progress.people))
    print()
    print(format_table(progress.documents))
    return 0


def cmd_agreement(args: argparse.Namespace) -> int:
    engine, actor, cid = _campaign(args)
    result = campaigns.agreement_figures(engine, actor, cid, by="user")
    if args.json:
        print_json(result)
        return 0
    from core.cli.stats import print_agreement

    print_agreement(result)
    return 0


def _user_id(engine: Any, name: str) -> int:  # noqa: ANN401 - Engine
    with read_scope(engine) as s:
        return id_of(users.get_by_name(s, name))


def cmd_assign(args: argparse.Namespace) -> int:
    engine, actor, cid = _campaign(args)
    campaigns.assign(engine, actor, cid, args.item, _user_id(engine, args.user))
    print(f"item {args.item} assigned to {args.user}")
    return 0


def cmd_reopen(args: argparse.Namespace) -> int:
    engine, actor, cid = _campaign(args)
    campaigns.reopen(engine, actor, cid, args.item, _user_id(engine, args.user))
    print(f"item {args.item} sent back to {args.user}")
    return 0


def cmd_adjudicate(args: argparse.Namespace) -> int:
    engine, actor, cid = _campaign(args)
    if args.edit is not None:
        if args.action is None:
            raise InputError("Give the label: accept, reject or modify (with --text).")
        campaigns.adjudicate(engine, actor, cid, args.edit, args.action, modified_text=args.text)
        print(f"edit {args.edit}: {args.action} (adjudicated)")
        return 0
    queue = campaigns.adjudication_queue(engine, actor, cid)
    rows: list[dict[str, object]] = [
        {"edit": q.edit_id, "item": q.item_id, "votes": dict(Counter(q.votes.values())), "agreement": q.agreement}
        for q in queue
    ]
    print_json(rows) if args.json else print(format_table(rows))
    return 0


def cmd_gold(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    actor = actor_for_args(args, engine)
    answers: dict[int, str] = {}
    for pair in args.answers:
        edit, _, label = pair.partition("=")
        if not edit.isdigit() or not label:
            raise InputError(f"Write each answer as EDIT=accept|reject|modify, not {pair!r}.")
        answers[int(edit)] = label
    campaigns.set_gold_answers(engine, actor, args.item, answers)
    print(f"{len(answers)} known answer(s) set")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    engine, actor, cid = _campaign(args)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {}
    for what in ("decisions", "labels"):
        summary[what] = write_jsonl(campaigns.export_rows(engine, actor, cid, what), out / f"{what}.jsonl")
    agreement = campaigns.export_agreement(engine, actor, cid)
    (out / "agreement.json").write_text(json.dumps(agreement, indent=1, default=str), encoding="utf-8")
    if args.trl:
        splits = campaigns.trl_dataset(engine, actor, cid, args.trl, unresolved=args.unresolved)
        trl_data.save_splits(splits, out / args.trl, "jsonl")
        summary[args.trl] = splits.counts()
    print_json({"out": str(out), **summary})
    return 0
