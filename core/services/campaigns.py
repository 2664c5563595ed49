"""Annotation campaigns as use cases, for the Campaign page, the annotator's work view and the CLI.

Researchers (and admins) create and run campaigns; invited annotators take items with "Next" and
judge the shared round in the same review component as writers (core.services.review lets them
decide on a campaign round only while they hold the item: see `check_campaign_round`). Each person
sees only their own decisions; agreement, labels and progress are for researchers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core import access, jobs
from core.access import Action, Actor, ProjectRef
from core.campaigns import agreement, assignment, labels, model, progress, proposing, units
from core.campaigns.model import CampaignSettings
from core.data import campaign_export
from core.data.trl_data import TrlSplits
from core.db import read_scope, session_scope
from core.errors import InputError, NotFoundError
from core.models import AssignmentStatus, Campaign, CampaignItem, Document, Job, User, id_of

JOB_KIND = "campaign-propose"
TARGET = "campaign"
DEADLINE_S = 6 * 3600.0


def authorized(session: Session, actor: Actor, campaign_id: int, action: Action = Action.CAMPAIGN_RUN) -> Campaign:
    """The campaign, once the policy allows `action` in its project (PermissionDenied otherwise)."""
    campaign = model.get_campaign(session, campaign_id)
    access.authorize(actor, action, ProjectRef(campaign.project_id))
    return campaign


def _runs(actor: Actor, campaign: Campaign) -> bool:
    return access.allowed(actor, Action.CAMPAIGN_RUN, ProjectRef(campaign.project_id))


# --- creating and configuring (researchers) ------------------------------------------------------------


def create(engine: Engine, actor: Actor, settings: CampaignSettings) -> tuple[Campaign, Job]:
    """Store the campaign and queue the job that makes its proposals once."""
    access.authorize(actor, Action.CAMPAIGN_RUN, ProjectRef(settings.project_id))
    with session_scope(engine) as s:
        campaign = model.create_campaign(s, settings, actor.user_id)
        job = jobs.submit(
            s, JOB_KIND, target_kind=TARGET, target_id=id_of(campaign), owner_id=actor.user_id, deadline_s=DEADLINE_S
        )
        campaign.job_id = job.id
        s.add(campaign)
        s.flush()
        return campaign, job


def propose_again(engine: Engine, actor: Actor, campaign_id: int) -> Job:
    """Queue the proposals job again for items not made yet (after a failure or an interruption)."""
    with session_scope(engine) as s:
        campaign = authorized(s, actor, campaign_id)
        job = jobs.submit(s, JOB_KIND, target_kind=TARGET, target_id=campaign_id, owner_id=actor.user_id)
        campaign.job_id = job.id
        s.add(campaign)
        return job


def run_proposals(engine: Engine, ctx: jobs.JobContext) -> dict[str, Any]:
    return proposing.propose_all(
        engine,
        ctx.target_id,
        job_id=ctx.job_id,
        cancel=ctx.cancel,
        progress=ctx.progress,
        seconds_left=ctx.seconds_left,
    )


def _free_rounds(session: Session, job: Job) -> None:
    from core.revision import rounds  # the rounds' owner frees what a dead job left proposing

    if job.id is not None:
        rounds.free_rounds_of_job(session, job.id)


jobs.register(jobs.JobKind(JOB_KIND, run_proposals, _free_rounds))


def add_annotators(engine: Engine, actor: Actor, campaign_id: int, user_ids: list[int]) -> int:
    with session_scope(engine) as s:
        authorized(s, actor, campaign_id)
        return model.add_members(s, campaign_id, user_ids)


def set_paused(engine: Engine, actor: Actor, campaign_id: int, user_id: int, paused: bool) -> None:
    with session_scope(engine) as s:
        authorized(s, actor, campaign_id)
        model.set_paused(s, campaign_id, user_id, paused, "paused by a researcher" if paused else None)


def set_gold_answers(engine: Engine, actor: Actor, item_id: int, answers: dict[int, str]) -> None:
    with session_scope(engine) as s:
        authorized(s, actor, model.get_item(s, item_id).campaign_id)
        model.set_gold_answers(s, item_id, answers)


def close(engine: Engine, actor: Actor, campaign_id: int) -> None:
    with session_scope(engine) as s:
        authorized(s, actor, campaign_id)
        model.close(s, campaign_id)


def assign(engine: Engine, actor: Actor, campaign_id: int, item_id: int, user_id: int) -> None:
    """Give an item to a person by hand (within the overlap; no expiry)."""
    with session_scope(engine) as s:
        campaign = authorized(s, actor, campaign_id)
        model.add_members(s, campaign_id, [user_id])
        assignment.assign(s, campaign, model.get_item(s, item_id), user_id)


def reopen(engine: Engine, actor: Actor, campaign_id: int, item_id: int, user_id: int) -> None:
    """Send a finished item back to its person for correction."""
    with session_scope(engine) as s:
        authorized(s, actor, campaign_id)
        if model.get_item(s, item_id).campaign_id != campaign_id:
            raise NotFoundError("This item is not in this campaign.")
        assignment.reopen(s, item_id, user_id)


# --- reading --------------------------------------------------------------------------------------------


def list_campaigns(engine: Engine, actor: Actor) -> list[Campaign]:
    """The campaigns of the projects a person runs campaigns in, and the ones they are invited to."""
    with read_scope(engine) as s:
        found = model.list_campaigns(s)
        return [c for c in found if _runs(actor, c) or model.membership(s, id_of(c), actor.user_id) is not None]


def get(engine: Engine, actor: Actor, campaign_id: int | str) -> Campaign:
    with read_scope(engine) as s:
        campaign = model.find_campaign(s, campaign_id)
        if not _runs(actor, campaign) and model.membership(s, id_of(campaign), actor.user_id) is None:
            raise access.deny(actor, "see a campaign you are not invited to")
        return campaign


def status(engine: Engine, actor: Actor, campaign_id: int) -> progress.Progress:
    with read_scope(engine) as s:
        return progress.progress(s, authorized(s, actor, campaign_id))


def _names(session: Session) -> dict[int, str]:
    return {id_of(u): u.name for u in session.exec(select(User))}


def _agreement_out(
    found: list[agreement.Unit], names: dict[int, str], by: str | None, groups: Sequence[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {"overall": agreement.figures(found, names).as_dict()}
    if by:
        out["by"] = by
        out["rows"] = agreement.by_group(found, by, names)
    if groups:
        out["groups"] = {g: agreement.by_group(found, g, names) for g in groups}
    return out


def agreement_figures(
    engine: Engine, actor: Actor, campaign_id: int, by: str | None = None, *, groups: Sequence[str] = ()
) -> dict[str, Any]:
    """Agreement on the campaign's shared edits: overall, and by depth/intent/source/user if asked
    (`by`: "rows"; several `groups` from the same read: "groups", group -> rows)."""
    with read_scope(engine) as s:
        authorized(s, actor, campaign_id, Action.DECISIONS_READ_ALL)
        names = _names(s)
        found = units.campaign_units(s, campaign_id)
    return _agreement_out(found, names, by, groups)


def log_agreement(
    engine: Engine,
    actor: Actor,
    *,
    project_id: int | None = None,
    document_id: int | None = None,
    by: str | None = None,
    groups: Sequence[str] = (),
) -> dict[str, Any]:
    """Agreement across people's own threads (imported R3 logs): matched shared edits (`by` and
    `groups` as in agreement_figures)."""
    with read_scope(engine) as s:
        if document_id is not None:
            project_id = access.authorize_document(s, actor, Action.DECISIONS_READ_ALL, document_id).project_id
        elif project_id is not None:
            access.authorize(actor, Action.DECISIONS_READ_ALL, ProjectRef(project_id))
        elif not actor.is_admin:
            raise access.deny(actor, "see agreement across every project (name a project)")
        names = _names(s)
        found = units.matched_units(s, project_id=project_id, document_id=document_id)
    return _agreement_out(found, names, by, groups)


def standing_labels(engine: Engine, actor: Actor, campaign_id: int) -> list[labels.StandingLabel]:
    with read_scope(engine) as s:
        return labels.standing_labels(s, authorized(s, actor, campaign_id, Action.DECISIONS_READ_ALL))


def adjudication_queue(engine: Engine, actor: Actor, campaign_id: int) -> list[labels.StandingLabel]:
    with read_scope(engine) as s:
        return labels.adjudication_queue(s, authorized(s, actor, campaign_id, Action.CAMPAIGN_ADJUDICATE))


def adjudicate(
    engine: Engine,
    actor: Actor,
    campaign_id: int,
    edit_id: int,
    action: str,
    *,
    modified_text: str | None = None,
    comment: str | None = None,
) -> None:
    with session_scope(engine) as s:
        campaign = authorized(s, actor, campaign_id, Action.CAMPAIGN_ADJUDICATE)
        labels.adjudicate(s, campaign, edit_id, action, actor.user_id, modified_text=modified_text, comment=comment)


def gold_scores(engine: Engine, actor: Actor, campaign_id: int) -> dict[int, labels.GoldScore]:
    """Everyone's gold accuracy (researchers); an annotator gets their own only."""
    with read_scope(engine) as s:
        campaign = model.get_campaign(s, campaign_id)
        scores = labels.gold_scores(s, campaign)
    if _runs(actor, campaign):
        return scores
    return {k: v for k, v in scores.items() if k == actor.user_id}


# --- annotating -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkItem:
    """What an annotator judges now."""

    campaign_id: int
    item_id: int
    round_id: int
    document_id: int
    title: str
    assignment_id: int
    status: str
    expires_at: Any  # datetime | None
    guidelines: str
    pending: int
    gold: bool


def _work_item(session: Session, campaign: Campaign, hold: assignment.Hold) -> WorkItem:
    item, held = hold.item, hold.assignment
    doc = session.get(Document, item.document_id)
    return WorkItem(
        campaign_id=id_of(campaign),
        item_id=id_of(item),
        round_id=item.round_id or 0,
        document_id=item.document_id,
        title=doc.title if doc else "",
        assignment_id=id_of(held),
        status=held.status,
        expires_at=held.expires_at,
        guidelines=campaign.guidelines,
        pending=assignment.pending_edits(session, item.round_id or 0, held.user_id),
        gold=item.is_gold,
    )


def _annotator_campaign(session: Session, actor: Actor, campaign_id: int) -> Campaign:
    campaign = model.get_campaign(session, campaign_id)
    access.check_annotate(actor, model.membership(session, campaign_id, actor.user_id))
    return campaign


def next_item(engine: Engine, actor: Actor, campaign_id: int) -> WorkItem | None:
    """The item this person judges now (the one they hold, or a new reservation); None when the
    campaign has nothing left for them."""
    with session_scope(engine) as s:
        campaign = _annotator_campaign(s, actor, campaign_id)
        hold = assignment.next_item(s, campaign, actor.user_id)
        return None if hold is None else _work_item(s, campaign, hold)


def current_items(engine: Engine, actor: Actor, campaign_id: int) -> list[WorkItem]:
    """This person's items in progress (without reserving anything)."""
    with read_scope(engine) as s:
        campaign = model.get_campaign(s, campaign_id)
        return [_work_item(s, campaign, h) for h in assignment.open_holds(s, campaign_id, actor.user_id)]


def finish_item(engine: Engine, actor: Actor, campaign_id: int, item_id: int) -> dict[str, Any]:
    """Mark the person's item done (every edit decided); on a gold item, their accuracy so far
    (and whether it paused them)."""
    with session_scope(engine) as s:
        campaign = model.get_campaign(s, campaign_id)
        item = model.get_item(s, item_id)
        hold = assignment.hold_for_round(s, item.round_id or 0, actor.user_id)
        if hold is None or hold.item.campaign_id != campaign_id:
            raise assignment.ItemExpired("You do not hold this document any more (it expired); click Next.")
        assignment.finish(s, hold)
        out: dict[str, Any] = {"item_id": item_id, "gold": item.is_gold}
        if item.is_gold:
            out["paused"] = labels.pause_if_below(s, campaign, actor.user_id)
            score = labels.gold_scores(s, campaign).get(actor.user_id)
            out["gold_accuracy"] = score.accuracy if score else None
        return out


def check_campaign_round(
    session: Session, actor: Actor, round_id: int, *, write: bool, extend: bool = True
) -> bool | None:
    """For core.services.review: None when the round is no campaign's shared round; else whether
    this person may see it (write False: they hold or finished it, or run campaigns) or decide on it
    (write True: they hold it now — an expired reservation is refused; a live one with under half its
    time left is extended, unless `extend` is False: a check in a read-only transaction)."""
    item = model.item_for_round(session, round_id)
    if item is None:
        return None
    hold = assignment.hold_for_round(session, round_id, actor.user_id)
    if write:
        if hold is None:
            return False
        campaign = model.get_campaign(session, item.campaign_id)
        member = model.membership(session, item.campaign_id, actor.user_id)
        if member is not None and member.paused:
            return False
        held = hold.assignment
        live = held.status == AssignmentStatus.RESERVED
        if extend and live and assignment.runs_low(held, campaign.reservation_minutes):
            assignment.extend(session, id_of(held), campaign.reservation_minutes)
        return True
    if hold is not None:
        return True
    return _runs(actor, model.get_campaign(session, item.campaign_id)) or _finished(session, item, actor.user_id)


def _finished(session: Session, item: CampaignItem, user_id: int) -> bool:
    return user_id in assignment.done_by_item(session, item.campaign_id).get(id_of(item), set())


# --- exports (researchers) --------------------------------------------------------------------------------


def export_rows(engine: Engine, actor: Actor, campaign_id: int, what: str) -> list[dict[str, Any]]:
    """ "decisions": each finisher's decision per shared edit with the label that stands; "labels": one
    row per shared edit with every vote and the label that stands with its source."""
    with read_scope(engine) as s:
        campaign = authorized(s, actor, campaign_id, Action.DECISIONS_READ_ALL)
        if what == "decisions":
            return list(campaign_export.decision_rows(s, campaign))
        if what == "labels":
            return list(campaign_export.label_rows(s, campaign))
    raise InputError(f"Export 'decisions' or 'labels', not {what!r}.")


def export_agreement(engine: Engine, actor: Actor, campaign_id: int) -> dict[str, Any]:
    with read_scope(engine) as s:
        return campaign_export.agreement_summary(s, authorized(s, actor, campaign_id, Action.DECISIONS_READ_ALL))


def trl_dataset(
    engine: Engine, actor: Actor, campaign_id: int, kind: str, *, unresolved: str = "drop", test_fraction: float = 0.1
) -> TrlSplits:
    """TRL rows (dpo, kto, reward, sft) from the labels that stand, split by document."""
    with read_scope(engine) as s:
        campaign = authorized(s, actor, campaign_id, Action.DECISIONS_READ_ALL)
        return campaign_export.trl_splits(s, campaign, kind, unresolved=unresolved, test_fraction=test_fraction)
