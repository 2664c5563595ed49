"""What the Campaigns, Annotate and Analytics pages show of campaigns, shaped as tables.

The pages only render: every figure comes from core.services.campaigns (which asks the policy),
and the rows here add what a person reads (names, titles, the edit's text) to it.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core import access, documents, jobs
from core.access import Action, Actor, ProjectRef
from core.campaigns import model
from core.campaigns.agreement import GROUPS
from core.campaigns.labels import StandingLabel
from core.campaigns.progress import Progress
from core.data.downloads import safe_filename
from core.data.export_formats import csv_value, json_default
from core.data.trl_data import KINDS as TRL_KINDS
from core.db import read_scope
from core.errors import InputError
from core.models import (
    AssignmentStatus,
    Campaign,
    CampaignAssignment,
    CampaignMember,
    Edit,
    Job,
    Membership,
    Role,
    User,
    id_of,
)
from core.proposers.base import SpecData
from core.services import campaigns, revision

BUILTIN = SpecData(kind="builtin")
LOG_EXPORTS = ("decisions", "labels")


# --- who sees which page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageAccess:
    runs: bool  # the Campaigns page: runs campaigns in a project
    annotates: bool  # the Annotate page: invited to a campaign (or an annotator, to be told they are not yet)


def page_access(engine: Engine, actor: Actor) -> PageAccess:
    runs = actor.is_admin or any(access.allowed(actor, Action.CAMPAIGN_RUN, ProjectRef(p)) for p in actor.project_ids)
    with read_scope(engine) as s:
        invited = s.exec(select(CampaignMember.id).where(CampaignMember.user_id == actor.user_id)).first()
    return PageAccess(runs=runs, annotates=actor.is_admin or invited is not None or actor.role == Role.ANNOTATOR)


def run_campaigns(engine: Engine, actor: Actor) -> dict[int, str]:
    """id -> name of the campaigns this person runs (not the ones they are only invited to)."""
    found = campaigns.list_campaigns(engine, actor)
    return {id_of(c): c.name for c in found if access.allowed(actor, Action.CAMPAIGN_RUN, ProjectRef(c.project_id))}


# --- creating -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateChoices:
    documents: dict[int, str]  # id -> title
    people: dict[int, str]  # the project's members: id -> "name (role)"
    proposers: dict[str, tuple[SpecData, str]]  # choice -> (spec, label)


def create_choices(engine: Engine, actor: Actor, project_id: int) -> CreateChoices:
    access.authorize(actor, Action.CAMPAIGN_RUN, ProjectRef(project_id))
    with read_scope(engine) as s:
        docs = {d.id: d.title for d in documents.list_documents(s, project_id)}
        query = (
            select(User, Membership.role)
            .join(Membership, col(Membership.user_id) == col(User.id))
            .where(Membership.project_id == project_id, col(User.simulated).is_(False))
            .order_by(col(User.name))
        )
        people = {id_of(u): f"{u.name} ({role})" for u, role in s.exec(query)}
    proposers = {"builtin": (BUILTIN, "Built-in rules (offline)")}
    for spec_id, spec, name in revision.proposer_choices(engine):
        if spec.kind != "builtin":
            proposers[f"spec:{spec_id}"] = (spec, f"{name or spec.kind} (#{spec_id}, {spec.kind})")
    return CreateChoices(docs, people, proposers)


# --- a campaign at a glance ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    campaign: Campaign
    job: Job | None
    progress: Progress
    items: dict[int, str]  # item id -> "title" (ready ones first)
    members: dict[int, str]  # user id -> name
    finished: list[tuple[int, int]] = field(default_factory=list)  # (item id, user id) done: can be sent back


def overview(engine: Engine, actor: Actor, campaign_id: int) -> Overview:
    prog = campaigns.status(engine, actor, campaign_id)
    with read_scope(engine) as s:
        campaign = campaigns.authorized(s, actor, campaign_id)
        job = jobs.get(s, campaign.job_id) if campaign.job_id is not None else None
        done = s.exec(
            select(CampaignAssignment.item_id, CampaignAssignment.user_id)
            .where(CampaignAssignment.campaign_id == campaign_id, CampaignAssignment.status == AssignmentStatus.DONE)
            .order_by(col(CampaignAssignment.id))
        )
        finished = [(int(i), int(u)) for i, u in done]
    items = {int(d["item_id"]): str(d["document"]) for d in prog.documents}
    members = {int(p["user_id"]): str(p["person"]) for p in prog.people}
    return Overview(campaign, job, prog, items, members, finished)


# --- agreement (campaigns and imported logs) ------------------------------------------------------------


@dataclass(frozen=True)
class AgreementReport:
    overall: dict[str, Any]
    by: dict[str, list[dict[str, Any]]]  # depth | intent | source | user -> rows


def agreement_report(
    engine: Engine,
    actor: Actor,
    *,
    campaign_id: int | None = None,
    project_id: int | None = None,
    document_id: int | None = None,
) -> AgreementReport:
    """Agreement of a campaign, or across people's own threads (imported R3 logs) in a project."""
    # one read of the log for every grouping: each read folds every shared edit's decisions
    if campaign_id is not None:
        out = campaigns.agreement_figures(engine, actor, campaign_id, groups=GROUPS)
    else:
        out = campaigns.log_agreement(engine, actor, project_id=project_id, document_id=document_id, groups=GROUPS)
    return AgreementReport(out["overall"], out["groups"])


# --- gold, labels, adjudication ---------------------------------------------------------------------------


def gold_rows(engine: Engine, actor: Actor, view: Overview) -> list[dict[str, Any]]:
    """Each annotator's accuracy on gold edits, with whether they are paused."""
    scores = campaigns.gold_scores(engine, actor, id_of(view.campaign))
    rows = []
    for p in view.progress.people:
        score = scores.get(int(p["user_id"]))
        rows.append(
            {
                "user_id": p["user_id"],
                "person": p["person"],
                "gold_correct": score.correct if score else 0,
                "gold_judged": score.total if score else 0,
                "accuracy": score.accuracy if score else None,
                "paused": p["paused"],
                "why": p["paused_reason"] or "",
            }
        )
    return rows


def gold_edits(engine: Engine, actor: Actor, campaign_id: int) -> list[dict[str, Any]]:
    """Every gold document's edits with the known answer set so far ("" where none)."""
    with read_scope(engine) as s:
        campaigns.authorized(s, actor, campaign_id)
        rows = []
        for item in model.items(s, campaign_id):
            if not item.is_gold or item.round_id is None:
                continue
            for e in s.exec(select(Edit).where(Edit.round_id == item.round_id).order_by(col(Edit.position))):
                ans = item.gold_answers.get(str(e.id), "")
                rows.append({"item_id": item.id, "edit_id": e.id, "before": e.before, "after": e.after, "answer": ans})
    return rows


def save_gold_answers(engine: Engine, actor: Actor, rows: list[dict[str, Any]]) -> int:
    """Store the known answers of edited gold rows (blank ones are left unset); how many."""
    by_item: dict[int, dict[int, str]] = {}
    for row in rows:
        if row.get("answer"):
            by_item.setdefault(int(row["item_id"]), {})[int(row["edit_id"])] = str(row["answer"])
    for item_id, answers in by_item.items():
        campaigns.set_gold_answers(engine, actor, item_id, answers)
    return sum(len(a) for a in by_item.values())


def _edits(engine: Engine, ids: list[int]) -> dict[int, Edit]:
    if not ids:
        return {}
    with read_scope(engine) as s:
        return {id_of(e): e for e in s.exec(select(Edit).where(col(Edit.id).in_(ids)))}


def _label_rows(engine: Engine, found: list[StandingLabel], items: dict[int, str]) -> list[dict[str, Any]]:
    edits = _edits(engine, [lab.edit_id for lab in found])
    with read_scope(engine) as s:
        names = {id_of(u): u.name for u in s.exec(select(User))}
    rows = []
    for lab in found:
        edit = edits.get(lab.edit_id)
        votes = ", ".join(
            f"{names.get(u, u)}: {v}" + (f" → {lab.texts[u]!r}" if u in lab.texts else "")
            for u, v in sorted(lab.votes.items())
        )
        rows.append(
            {
                "edit_id": lab.edit_id,
                "document": items.get(lab.item_id, str(lab.item_id)),
                "before": edit.before if edit else "",
                "after": edit.after if edit else "",
                "context": (edit.context or "") if edit else "",
                "intent": edit.intent if edit else None,
                "votes": votes,
                "label": lab.label or "",
                "label_text": lab.modified_text or "",
                "source": lab.source.value,
                "judges": lab.judges,
                "agreement": lab.agreement,
            }
        )
    return rows


def label_rows(engine: Engine, actor: Actor, view: Overview) -> list[dict[str, Any]]:
    """The label that stands for every shared edit, and how it was reached."""
    return _label_rows(engine, campaigns.standing_labels(engine, actor, id_of(view.campaign)), view.items)


def queue_rows(engine: Engine, actor: Actor, view: Overview) -> list[dict[str, Any]]:
    """The disputed edits waiting for an adjudicator, with everyone's vote."""
    return _label_rows(engine, campaigns.adjudication_queue(engine, actor, id_of(view.campaign)), view.items)


# --- exports --------------------------------------------------------------------------------------------

EXPORTS = {
    "decisions.jsonl": "Every person's decision per shared edit (.jsonl)",
    "decisions.csv": "Every person's decision per shared edit (.csv)",
    "labels.jsonl": "The label that stands per edit, with its source (.jsonl)",
    "labels.csv": "The label that stands per edit, with its source (.csv)",
    "agreement.json": "Agreement figures (.json)",
    **{f"{k}.zip": f"TRL {k.upper()} dataset from the labels that stand (train/test .jsonl)" for k in TRL_KINDS},
}


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    dumps = json.JSONEncoder(ensure_ascii=False, default=json_default).encode
    return "".join(dumps(r) + "\n" for r in rows).encode("utf-8")


def _csv(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: csv_value(v) for k, v in r.items()})
    return buf.getvalue().encode("utf-8")


def export_file_name(campaign_name: str, export: str) -> str:
    stem, ext = export.rsplit(".", 1)
    return safe_filename(f"{campaign_name} {stem}", ext, fallback="campaign")


def export_file(
    engine: Engine, actor: Actor, campaign_id: int, name: str, *, unresolved: str = "drop"
) -> tuple[bytes, str]:
    """(bytes, file name) of one of EXPORTS for a download button."""
    if name not in EXPORTS:
        raise InputError(f"Unknown export {name!r}; choose one of {', '.join(EXPORTS)}.")
    stem, ext = name.rsplit(".", 1)
    file_name = export_file_name(campaigns.get(engine, actor, campaign_id).name, name)
    if stem in LOG_EXPORTS:
        rows = campaigns.export_rows(engine, actor, campaign_id, stem)
        return (_jsonl(rows) if ext == "jsonl" else _csv(rows)), file_name
    if stem == "agreement":
        summary = campaigns.export_agreement(engine, actor, campaign_id)
        return json.dumps(summary, ensure_ascii=False, indent=2, default=json_default).encode("utf-8"), file_name
    splits = campaigns.trl_dataset(engine, actor, campaign_id, stem, unresolved=unresolved)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("train.jsonl", _jsonl(splits.train))
        if splits.test:
            zf.writestr("test.jsonl", _jsonl(splits.test))
    return buf.getvalue(), file_name


# --- the annotator's side ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MyCampaign:
    campaign_id: int
    name: str
    status: str
    paused: bool
    paused_reason: str | None
    gold_accuracy: float | None


def my_campaigns(engine: Engine, actor: Actor) -> list[MyCampaign]:
    """The campaigns this person is invited to, with whether they are paused and why."""
    out = []
    for c in campaigns.list_campaigns(engine, actor):
        with read_scope(engine) as s:
            member = model.membership(s, id_of(c), actor.user_id)
        if member is None:
            continue
        score = campaigns.gold_scores(engine, actor, id_of(c)).get(actor.user_id)
        out.append(
            MyCampaign(
                id_of(c), c.name, c.status, member.paused, member.paused_reason, score.accuracy if score else None
            )
        )
    return out
