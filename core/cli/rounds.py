"""Revision rounds in the database, beside the app: propose, decide, apply and continue, finish.

The same services as the Revise page (core.services), acting as --as USER; proposing and
continuing run as jobs, waited for here unless --no-wait (a worker runs them: this process's, or
`python -m core worker` when DATABASE_URL points at a shared server).
"""

from __future__ import annotations

import argparse

from core import jobs
from core.cli._common import actor_for_args, engine_for, print_json
from core.proposers.base import DEFAULT_INTENTS
from core.proposers.registry import parse_spec
from core.services import review, revision
from core.services.revision import RoundSettings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("round", help="propose, decide, apply and finish rounds of a stored document")
    actions = p.add_subparsers(dest="round_command", required=True)

    def settings_args(a: argparse.ArgumentParser) -> None:
        a.add_argument("--proposer", default="builtin", help="a proposer spec (default: builtin)")
        a.add_argument("--intents", default=",".join(DEFAULT_INTENTS))
        a.add_argument("--feedback", default="")
        a.add_argument("--max-depth", type=int, default=3)
        a.add_argument("--no-wait", action="store_true", help="queue the job and return")

    propose = actions.add_parser("propose", help="propose the next round of a document")
    propose.add_argument("document", type=int)
    settings_args(propose)
    propose.set_defaults(func=cmd_propose)

    status = actions.add_parser("status", help="the current round of a document, with its edits")
    status.add_argument("document", type=int)
    status.set_defaults(func=cmd_status)

    decide = actions.add_parser("decide", help="decide edits of a round")
    decide.add_argument("round", type=int)
    decide.add_argument("action", choices=["accept", "reject", "modify", "undo"])
    decide.add_argument("edits", nargs="*", type=int, help="edit ids (none: every pending edit, accept/reject)")
    decide.add_argument("--text", help="the rewrite, for modify")
    decide.add_argument("--key", help="idempotency key (a repeat stores nothing new)")
    decide.set_defaults(func=cmd_decide)

    cont = actions.add_parser("continue", help="apply a round and propose the next one")
    cont.add_argument("round", type=int)
    settings_args(cont)
    cont.set_defaults(func=cmd_continue)

    finish = actions.add_parser("finish", help="apply a round's decisions (if any) and finish the thread")
    finish.add_argument("thread", type=int)
    finish.add_argument("--round", type=int, help="the round under review you saw")
    finish.set_defaults(func=cmd_finish)


def _settings(args: argparse.Namespace) -> RoundSettings:
    intents = tuple(i.strip() for i in args.intents.split(",") if i.strip())
    return RoundSettings(
        spec=parse_spec(args.proposer), intents=intents, feedback=args.feedback, max_depth=args.max_depth
    )


def _run_job(args: argparse.Namespace, job_id: int) -> int:
    engine = engine_for(args)
    if args.no_wait:
        print_json({"job": job_id})
        return 0
    job = jobs.run_here(engine, job_id, timeout_s=revision.ROUND_DEADLINE_S + 60)
    print_json({"job": job.id, "status": job.status, "error": job.error, **(job.result or {})})
    return 0 if job.status == jobs.JobStatus.DONE else 1


def cmd_propose(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    job = revision.propose(engine, actor_for_args(args, engine), args.document, _settings(args))
    return _run_job(args, job.id or 0)


def cmd_continue(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    job = revision.apply_and_continue(engine, actor_for_args(args, engine), args.round, _settings(args))
    return _run_job(args, job.id or 0)


def cmd_status(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    actor = actor_for_args(args, engine)
    state = revision.revision_state(engine, actor, args.document)
    out: dict[str, object] = {
        "document": args.document,
        "head_version": state.head.id,
        "head_version_number": state.version_numbers.get(state.head.id or 0),
    }
    if state.round is not None:
        view = review.round_view(engine, actor, state.round.id or 0)
        out |= {
            "thread": state.thread.id if state.thread else None,
            "round": state.round.id,
            "depth": state.round.depth,
            "status": state.round.status,
            "edits": [
                {"id": e.row.id, "before": e.row.before, "after": e.row.after, "status": e.status}
                for e in view.edits + view.hidden
            ],
        }
    print_json(out)
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    actor = actor_for_args(args, engine)
    if not args.edits:
        n = review.bulk_decide(engine, actor, args.round, args.action)
        print_json({"decided": n})
        return 0
    for edit_id in args.edits:
        key = f"{args.key}:{edit_id}" if args.key and len(args.edits) > 1 else args.key
        review.decide(engine, actor, args.round, edit_id, args.action, modified_text=args.text, key=key)
    print_json({"decided": len(args.edits)})
    return 0


def cmd_finish(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    done = revision.finish(engine, actor_for_args(args, engine), args.thread, args.round)
    print_json(
        {
            "applied_round": done.applied_round_depth,
            "version": done.applied_version_id,
            "version_number": done.applied_version_number,
        }
    )
    return 0
