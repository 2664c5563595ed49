"""`python -m core stats`: acceptance rates and the other Analytics views, as a table or JSON.

python -m core stats --by depth                    acceptance by revision depth (R3's view)
python -m core stats --by source --user alice      by rule or model, for one person
python -m core stats --view rounds --json          edits proposed, shown, hidden per round
python -m core stats --view preference             the preference model's accuracy and calibration
python -m core stats --view distance --project "Simulation ..."   distance to the reference by depth
python -m core stats --view agreement --by user --json   agreement between people on shared edits
                                                   (a --campaign's, or matched edits of imported R3 logs)
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import TypeVar

from sqlmodel import Session, col, select

from core.cli._common import actor_for_args, engine_for, parse_when
from core.db import session_scope
from core.errors import InputError
from core.learning import analytics
from core.models import Project, User, id_of
from core.services import campaigns

VIEWS = ("acceptance", "rounds", "depths", "time", "hidden", "preference", "distance", "agreement")
AGREEMENT_BY = ("depth", "intent", "source", "user")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stats",
        help="acceptance by depth, intent, rule, person ...; rounds, decision times, hidden edits, preference model",
        description="Statistics over the decision log, the same figures as the Analytics page.",
    )
    p.add_argument(
        "--by",
        choices=analytics.GROUP_KEYS,
        default="depth",
        help="group for --view acceptance/time/agreement (default depth; agreement: depth, intent, source, user)",
    )
    p.add_argument("--view", choices=VIEWS, default="acceptance", help="what to show (default acceptance)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    g = p.add_argument_group("filters")
    g.add_argument("--project", help="project id or name")
    g.add_argument("--document", type=int, help="document id")
    g.add_argument("--user", help="person (user id or name) whose threads to count")
    g.add_argument(
        "--proposer", help="proposer label, or the start of a rule/model source (e.g. harper, lingotweaker:X)"
    )
    g.add_argument("--since", help="rounds proposed at or after (ISO date or datetime, UTC unless an offset is given)")
    g.add_argument("--until", help="rounds proposed before (a bare date includes that whole day)")
    g.add_argument("--simulated", choices=["yes", "no", "any"], default="any", help="simulated runs or people")
    g.add_argument("--campaign", help="campaign id or name (--view agreement)")
    p.set_defaults(func=cmd_stats)


Named = TypeVar("Named", Project, User)


def resolve(session: Session, value: str | None, model: type[Named], what: str) -> int | None:
    """An id from an id or a name."""
    if value is None:
        return None
    if value.isdigit():
        if session.get(model, int(value)) is None:
            raise InputError(f"No {what} with id {value}.")
        return int(value)
    row = session.exec(select(model).where(col(model.name) == value)).first()
    if row is None:
        raise InputError(f"No {what} named {value!r}.")
    return id_of(row)


def filters_from(session: Session, args: argparse.Namespace) -> analytics.Filters:
    return analytics.Filters(
        project_id=resolve(session, args.project, Project, "project"),
        document_id=args.document,
        user_id=resolve(session, args.user, User, "user"),
        proposer=args.proposer,
        since=parse_when(args.since),
        until=parse_when(args.until, end_of_day=True),
        simulated={"yes": True, "no": False, "any": None}[args.simulated],
    )


def compute(session: Session, view: str, by: str, filters: analytics.Filters) -> object:
    """The rows (or, for preference, the summary) of one view."""
    if view == "distance":
        if filters.project_id is None:
            raise InputError("--view distance needs --project (a simulated run's project).")
        texts, refs = analytics.load_round_texts(session, filters.project_id)
        if not refs:
            raise InputError("This project has no simulation references; run `python -m core simulate` first.")
        return analytics.distance_by_round(texts, refs)
    records = analytics.load_records(session, filters)
    if view == "acceptance":
        return analytics.acceptance_by(records, by)
    if view == "rounds":
        return analytics.edits_per_round(records)
    if view == "depths":
        return analytics.per_depth_summary(records)
    if view == "time":
        return analytics.decision_times(records, by)
    if view == "hidden":
        return analytics.hidden_summary(records)
    return analytics.preference_quality(records)


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def format_table(rows: list[dict[str, object]]) -> str:
    if not rows:
        return "(nothing matches)"
    cols = list(dict.fromkeys(k for r in rows for k in r))
    cells = [[_fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines += [
        "  ".join(v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells
    ]
    return "\n".join(lines)


def _numeric(text: str) -> bool:
    return text.replace(".", "", 1).replace("-", "", 1).isdigit()


def agreement_view(args: argparse.Namespace) -> dict[str, object]:
    """Agreement on a campaign's shared edits, or on the matched edits of people's own threads."""
    if args.by not in AGREEMENT_BY:
        raise InputError(f"--view agreement groups by one of {', '.join(AGREEMENT_BY)}.")
    engine = engine_for(args)
    actor = actor_for_args(args, engine)
    if args.campaign:
        campaign = campaigns.get(engine, actor, args.campaign)
        return campaigns.agreement_figures(engine, actor, id_of(campaign), by=args.by)
    with session_scope(engine) as s:
        project_id = resolve(s, args.project, Project, "project")
    return campaigns.log_agreement(engine, actor, project_id=project_id, document_id=args.document, by=args.by)


def print_agreement(result: dict[str, object]) -> None:
    overall = result["overall"]
    assert isinstance(overall, dict)
    alpha = _fmt(overall["alpha"]) if overall["alpha"] is not None else f"undefined ({overall['alpha_undefined']})"
    print(
        f"shared edits judged by two or more: {overall['units']}   people: {overall['people']}\n"
        f"Krippendorff's alpha (nominal): {alpha}   percent agreement: {_fmt(overall['percent_agreement'])}   "
        f"mean pairwise Cohen's kappa: {_fmt(overall['kappa_mean'])}\n"
    )
    rows = result.get("rows")
    print(format_table(rows if isinstance(rows, list) else []))


def cmd_stats(args: argparse.Namespace) -> int:
    if args.view == "agreement":
        figures = agreement_view(args)
        if args.json:
            sys.stdout.write(json.dumps(figures, ensure_ascii=False, default=_json_default) + "\n")
        else:
            print_agreement(figures)
        return 0
    with session_scope(engine_for(args)) as s:
        result = compute(s, args.view, args.by, filters_from(s, args))
    if args.json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, default=_json_default) + "\n")
        return 0
    if isinstance(result, dict):  # the preference summary
        if not result.get("n"):
            print("No predictions with decisions yet: the model predicts once a person has decided enough edits.")
            return 0
        print(
            f"predictions with a decision: {result['n']}\n"
            f"accuracy (at 50%): {result['accuracy']:.1%}  "
            f"(always guessing the majority: {result['majority_accuracy']:.1%})\n"
            f"Brier score: {result['brier']:.3f}   expected calibration error: {result['ece']:.3f}\n"
        )
        print(format_table(result["calibration"]))
        return 0
    print(format_table(result if isinstance(result, list) else []))
    return 0


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
