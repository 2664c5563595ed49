"""How far a campaign is: items done / reserved / left, per person and per document; decisions per
hour and time per decision per person (from the decision log, through core.campaigns.units)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Any

from sqlmodel import Session, col, select

from core.campaigns import assignment, model
from core.campaigns.units import finished_stands
from core.models import AssignmentStatus, Campaign, CampaignItem, Document, ItemStatus, id_of, utcnow


@dataclass(frozen=True)
class Progress:
    campaign: dict[str, Any]
    people: list[dict[str, Any]]
    documents: list[dict[str, Any]]


def _rate(times: list[datetime]) -> float | None:
    """Decisions per hour over the span a person worked (None under two decisions)."""
    if len(times) < 2:
        return None
    hours = (max(times) - min(times)).total_seconds() / 3600
    return round(len(times) / hours, 1) if hours > 0 else None


def progress(session: Session, campaign: Campaign, now: datetime | None = None) -> Progress:
    now = now or utcnow()
    cid = id_of(campaign)
    items = model.items(session, cid)
    ready = [i for i in items if i.status == ItemStatus.READY and not i.is_gold]
    rows = assignment.assignments(session, cid)
    live = [
        a for a in rows if a.status != AssignmentStatus.RESERVED or (a.expires_at is not None and a.expires_at >= now)
    ]
    per_item: dict[int, dict[str, int]] = defaultdict(lambda: {"done": 0, "reserved": 0})
    per_user: dict[int, dict[str, int]] = defaultdict(lambda: {"done": 0, "reserved": 0})
    for a in live:
        key = "done" if a.status == AssignmentStatus.DONE else "reserved"
        per_item[a.item_id][key] += 1
        per_user[a.user_id][key] += 1
    regular_ids = {id_of(i) for i in ready}
    times: dict[int, list[int]] = defaultdict(list)
    stamps: dict[int, list[datetime]] = defaultdict(list)
    for _, st in finished_stands(session, cid):
        if st.time_taken_ms is not None:
            times[st.user_id].append(st.time_taken_ms)
        if st.decided_at is not None:
            stamps[st.user_id].append(st.decided_at)
    people = []
    for member, user in model.members(session, cid):
        uid = id_of(user)
        counts = per_user.get(uid, {"done": 0, "reserved": 0})
        taken = {a.item_id for a in rows if a.user_id == uid}
        open_to_them = sum(
            1
            for i in ready
            if id_of(i) not in taken and per_item[id_of(i)]["done"] + per_item[id_of(i)]["reserved"] < campaign.overlap
        )
        people.append(
            {
                "user_id": uid,
                "person": user.name,
                "paused": member.paused,
                "paused_reason": member.paused_reason,
                "done": counts["done"],
                "reserved": counts["reserved"],
                "left": open_to_them,
                "decisions": len(stamps.get(uid, [])),
                "decisions_per_hour": _rate(stamps.get(uid, [])),
                "median_ms_per_decision": int(median(times[uid])) if times.get(uid) else None,
            }
        )
    titles = dict(
        session.exec(
            select(Document.id, Document.title)
            .join(CampaignItem, col(CampaignItem.document_id) == col(Document.id))
            .where(CampaignItem.campaign_id == cid)
        ).all()
    )
    documents = []
    for item in items:
        title = titles.get(item.document_id)
        counts = per_item.get(id_of(item), {"done": 0, "reserved": 0})
        documents.append(
            {
                "item_id": item.id,
                "document": title if title is not None else str(item.document_id),
                "status": item.status,
                "gold": item.is_gold,
                "done": counts["done"],
                "reserved": counts["reserved"],
                "left": 0 if item.is_gold else max(0, campaign.overlap - counts["done"] - counts["reserved"]),
            }
        )
    needed = len(ready) * campaign.overlap
    done = sum(per_item[i]["done"] for i in regular_ids)
    reserved = sum(per_item[i]["reserved"] for i in regular_ids)
    summary = {
        "campaign_id": cid,
        "name": campaign.name,
        "status": campaign.status,
        "items": len(items),
        "ready_items": len(ready),
        "overlap": campaign.overlap,
        "judgements_needed": needed,
        "done": done,
        "reserved": reserved,
        "left": max(0, needed - done - reserved),
        "items_complete": sum(1 for i in regular_ids if per_item[i]["done"] >= campaign.overlap),
    }
    return Progress(summary, people, documents)
