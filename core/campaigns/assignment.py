"""Who judges which item: "Next", manual assignment, finishing, sending back, reclaiming.

The database decides, across processes, never a check in memory:
- a person holds an item once (unique item, user): never given an item twice;
- an item has at most `overlap` holders: each holder takes a slot 0..overlap-1 (unique item, slot),
  so two people taking the last slot at once get one row and one IntegrityError, and the loser
  tries the next candidate (gold items have no slot: everyone may judge them);
- one reservation from "Next" per person and campaign (a partial unique index): two tabs get one;
- a reservation past its expiry is deleted by a conditional DELETE and its slot is free again;
  finishing is a conditional UPDATE that also requires the reservation not to have expired, so a
  finished item is never taken away and an expired one is never finished.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import decisions
from core.errors import ConflictError, InputError
from core.models import (
    AssignmentStatus,
    Campaign,
    CampaignAssignment,
    CampaignItem,
    CampaignStatus,
    Edit,
    ItemStatus,
    id_of,
    utcnow,
)

ATTEMPTS = 30  # candidates tried before "Next" gives up for now (only under heavy contention)
CANDIDATES = 8  # least-judged items fetched per attempt; one is picked at random among the least


class ItemExpired(ConflictError):
    """The reservation expired (the item went back to the pool): it can no longer be finished."""


@dataclass(frozen=True)
class Hold:
    assignment: CampaignAssignment
    item: CampaignItem


def _active(now: datetime) -> ColumnElement[bool]:
    """A hold that still counts: assigned, or reserved and not expired (done ones are finished)."""
    return or_(
        col(CampaignAssignment.status) == AssignmentStatus.ASSIGNED,
        and_(col(CampaignAssignment.status) == AssignmentStatus.RESERVED, col(CampaignAssignment.expires_at) >= now),
    )


def reclaim_expired(session: Session, campaign_id: int | None = None, now: datetime | None = None) -> int:
    """Return expired reservations to the pool (their rows go; decisions made stay in the log but
    count only for people who finish the item); how many."""
    query = delete(CampaignAssignment).where(
        col(CampaignAssignment.status) == AssignmentStatus.RESERVED,
        col(CampaignAssignment.expires_at) < (now or utcnow()),
    )
    if campaign_id is not None:
        query = query.where(col(CampaignAssignment.campaign_id) == campaign_id)
    return int(session.execute(query).rowcount)  # type: ignore[attr-defined]


def open_holds(session: Session, campaign_id: int, user_id: int, now: datetime | None = None) -> list[Hold]:
    """This person's items in progress (reserved and not expired, or assigned), oldest first."""
    query = (
        select(CampaignAssignment, CampaignItem)
        .join(CampaignItem, col(CampaignItem.id) == col(CampaignAssignment.item_id))
        .where(CampaignAssignment.campaign_id == campaign_id, CampaignAssignment.user_id == user_id)
        .where(_active(now or utcnow()))
        .order_by(col(CampaignAssignment.id))
    )
    return [Hold(a, i) for a, i in session.exec(query)]


def hold_for_round(session: Session, round_id: int, user_id: int, now: datetime | None = None) -> Hold | None:
    """This person's active hold on the campaign item whose shared round this is, if any."""
    query = (
        select(CampaignAssignment, CampaignItem)
        .join(CampaignItem, col(CampaignItem.id) == col(CampaignAssignment.item_id))
        .where(CampaignItem.round_id == round_id, CampaignAssignment.user_id == user_id)
        .where(_active(now or utcnow()))
    )
    row = session.exec(query).first()
    return Hold(*row) if row else None


def runs_low(held: CampaignAssignment, minutes: int, now: datetime | None = None) -> bool:
    """A reservation with under half its time left: worth extending (one write, not one per decision)."""
    expires = held.expires_at
    return expires is not None and expires - (now or utcnow()) < timedelta(minutes=minutes) / 2


def extend(session: Session, assignment_id: int, minutes: int, now: datetime | None = None) -> bool:
    """Push a live reservation's expiry on (someone is working on it); False if it has expired."""
    now = now or utcnow()
    done = session.execute(
        update(CampaignAssignment)
        .where(
            col(CampaignAssignment.id) == assignment_id,
            col(CampaignAssignment.status) == AssignmentStatus.RESERVED,
            col(CampaignAssignment.expires_at) >= now,
        )
        .values(expires_at=now + timedelta(minutes=minutes))
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def _holders(session: Session, campaign_id: int) -> dict[int, list[int | None]]:
    """item id -> the slots its current holders take (done, assigned, live reservations)."""
    query = select(CampaignAssignment.item_id, CampaignAssignment.slot).where(
        CampaignAssignment.campaign_id == campaign_id
    )
    out: dict[int, list[int | None]] = {}
    for item_id, slot in session.exec(query):
        out.setdefault(item_id, []).append(slot)
    return out


def _candidates(session: Session, campaign: Campaign, user_id: int, gold: bool) -> list[CampaignItem]:
    """Ready items this person never held, with a free slot (gold: any), least-held first."""
    mine = select(CampaignAssignment.item_id).where(CampaignAssignment.user_id == user_id)
    holders = (
        select(func.count(col(CampaignAssignment.id)))
        .where(CampaignAssignment.item_id == CampaignItem.id)
        .scalar_subquery()
    )
    query = select(CampaignItem).where(
        CampaignItem.campaign_id == campaign.id,
        CampaignItem.status == ItemStatus.READY,
        CampaignItem.is_gold == gold,
        col(CampaignItem.id).not_in(mine),
    )
    if not gold:
        query = query.where(holders < campaign.overlap)
    rows = list(session.exec(query.order_by(holders, col(CampaignItem.id)).limit(CANDIDATES)))
    if not rows:
        return []
    # Spread people who click at once over the equally least-held items instead of one slot fight.
    held = _holders(session, id_of(campaign))
    least = min(len(held.get(id_of(r), [])) for r in rows)
    first = [r for r in rows if len(held.get(id_of(r), [])) == least]
    random.shuffle(first)
    return first + [r for r in rows if r not in first]


def _free_slot(session: Session, item: CampaignItem, overlap: int) -> int | None:
    used = set(session.exec(select(CampaignAssignment.slot).where(CampaignAssignment.item_id == item.id)))
    return next((s for s in range(overlap) if s not in used), None)


def _insert(session: Session, row: CampaignAssignment) -> bool:
    """Insert a hold; False when a unique constraint refused it (someone took the slot or item)."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
        return True
    except IntegrityError:
        return False


def _due_gold(session: Session, campaign: Campaign, user_id: int) -> bool:
    """Every `gold_every`-th item a person takes is a gold item (while there are gold items left)."""
    if campaign.gold_every <= 0:
        return False
    taken = session.exec(
        select(func.count(col(CampaignAssignment.id))).where(
            CampaignAssignment.campaign_id == campaign.id, CampaignAssignment.user_id == user_id
        )
    ).one()
    return (int(taken) + 1) % campaign.gold_every == 0


def next_item(session: Session, campaign: Campaign, user_id: int, now: datetime | None = None) -> Hold | None:
    """The item this person should judge now: the one they hold, else a new reservation on the
    least-judged ready item they never held, never beyond the overlap. None when nothing is left."""
    now = now or utcnow()
    if campaign.status != CampaignStatus.OPEN:
        raise ConflictError(f"The campaign is {campaign.status}: no items are handed out.")
    campaign_id = id_of(campaign)
    held = open_holds(session, campaign_id, user_id, now)
    if held:
        return held[0]
    reclaim_expired(session, campaign_id, now)
    # A gold item when one is due (and left), else the regular items.
    for gold in (True, False) if _due_gold(session, campaign, user_id) else (False,):
        for _attempt in range(ATTEMPTS):
            candidates = _candidates(session, campaign, user_id, gold)
            if not candidates:
                break
            for item in candidates:
                slot = None if gold else _free_slot(session, item, campaign.overlap)
                if slot is None and not gold:
                    continue
                row = CampaignAssignment(
                    campaign_id=campaign_id,
                    item_id=id_of(item),
                    user_id=user_id,
                    slot=slot,
                    status=AssignmentStatus.RESERVED,
                    reserved_at=now,
                    expires_at=now + timedelta(minutes=campaign.reservation_minutes),
                )
                if _insert(session, row):
                    return Hold(row, item)
                held = open_holds(session, campaign_id, user_id, now)
                if held:  # the same person's other tab reserved one at this moment
                    return held[0]
    return None


def assign(session: Session, campaign: Campaign, item: CampaignItem, user_id: int) -> CampaignAssignment:
    """A researcher gives an item to a person by hand (no expiry), within the overlap."""
    if item.campaign_id != campaign.id:
        raise InputError("This item is not in this campaign.")
    if item.status != ItemStatus.READY:
        raise ConflictError(f"This item is {item.status}: it has no edits to judge.")
    reclaim_expired(session, id_of(campaign))
    existing = session.exec(
        select(CampaignAssignment).where(CampaignAssignment.item_id == item.id, CampaignAssignment.user_id == user_id)
    ).first()
    if existing is not None:
        if existing.status == AssignmentStatus.RESERVED:  # keep it past its expiry
            existing.status, existing.manual, existing.expires_at = AssignmentStatus.ASSIGNED, True, None
            session.add(existing)
            session.flush()
        return existing
    for _attempt in range(ATTEMPTS):
        slot = None if item.is_gold else _free_slot(session, item, campaign.overlap)
        if slot is None and not item.is_gold:
            raise ConflictError(f"This item already has {campaign.overlap} people (the overlap).")
        row = CampaignAssignment(
            campaign_id=id_of(campaign),
            item_id=id_of(item),
            user_id=user_id,
            slot=slot,
            status=AssignmentStatus.ASSIGNED,
            manual=True,
        )
        if _insert(session, row):
            return row
    raise ConflictError("Others are taking this item right now; try again.")


def pending_edits(session: Session, round_id: int, user_id: int) -> int:
    """How many of a shared round's edits this person has not decided."""
    ids = [i for i in session.exec(select(Edit.id).where(Edit.round_id == round_id)) if i is not None]
    standing = decisions.for_round(session, round_id, user_id)
    return sum(1 for i in ids if not standing.get(i, decisions.PENDING).decided)


def finish(session: Session, hold: Hold, now: datetime | None = None) -> CampaignAssignment:
    """Mark an item done once every edit is decided; an expired reservation cannot be finished."""
    now = now or utcnow()
    assignment, item = hold.assignment, hold.item
    if item.round_id is None:
        raise ConflictError("This item has no edits to judge.")
    left = pending_edits(session, item.round_id, assignment.user_id)
    if left:
        raise InputError(f"{left} edit(s) of this document are still undecided: decide every edit, then finish.")
    done = session.execute(
        update(CampaignAssignment)
        .where(col(CampaignAssignment.id) == assignment.id)
        .where(_active(now))
        .values(status=AssignmentStatus.DONE, done_at=now, expires_at=None)
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        raise ItemExpired("Your reservation of this document expired and it went back to the pool; click Next.")
    session.refresh(assignment)
    return assignment


def reopen(session: Session, item_id: int, user_id: int) -> CampaignAssignment:
    """Send a finished item back to its person for correction: assigned again, no expiry."""
    done = session.execute(
        update(CampaignAssignment)
        .where(
            col(CampaignAssignment.item_id) == item_id,
            col(CampaignAssignment.user_id) == user_id,
            col(CampaignAssignment.status) == AssignmentStatus.DONE,
        )
        .values(status=AssignmentStatus.ASSIGNED, done_at=None, manual=True)
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        raise ConflictError("This person has not finished this item; nothing to send back.")
    row = session.exec(
        select(CampaignAssignment).where(CampaignAssignment.item_id == item_id, CampaignAssignment.user_id == user_id)
    ).one()
    return row


def assignments(session: Session, campaign_id: int) -> list[CampaignAssignment]:
    query = select(CampaignAssignment).where(CampaignAssignment.campaign_id == campaign_id)
    return list(session.exec(query.order_by(col(CampaignAssignment.id))))


def done_by_item(session: Session, campaign_id: int) -> dict[int, set[int]]:
    """item id -> the people who finished it (only their decisions count for agreement and labels)."""
    query = select(CampaignAssignment.item_id, CampaignAssignment.user_id).where(
        CampaignAssignment.campaign_id == campaign_id, CampaignAssignment.status == AssignmentStatus.DONE
    )
    out: dict[int, set[int]] = {}
    for item_id, user_id in session.exec(query):
        out.setdefault(item_id, set()).add(user_id)
    return out
