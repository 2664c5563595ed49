"""Making a campaign's proposals once, as a durable job: one shared round per item, frozen.

Each item gets a round in a thread of the campaign's creator that is finished from the start (so
the creator's own revision of the document is not blocked, and nobody applies it). The job works
item by item in short transactions (create the round, propose outside any transaction, store the
edits unscreened), reports progress and honours cancel between and within items. An interrupted
job leaves its round failed (core.jobs' reaper); running the job again makes only the items not
ready yet (core.services.campaigns runs it as a job). The campaign opens when every item is made.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import documents, projects
from core.db import session_scope
from core.errors import RedraftError
from core.models import (
    Campaign,
    CampaignItem,
    CampaignStatus,
    ItemStatus,
    Round,
    RoundStatus,
    Thread,
    ThreadStatus,
    id_of,
    utcnow,
)
from core.proposers import make_request, propose_edits
from core.proposers.registry import build_proposer
from core.revision import rounds

STOP_CAMPAIGN = "campaign item (shared round)"


def _todo(session: Session, campaign_id: int) -> list[int]:
    query = select(CampaignItem.id).where(
        CampaignItem.campaign_id == campaign_id,
        col(CampaignItem.status).in_([ItemStatus.PENDING, ItemStatus.FAILED]),
    )
    return [i for i in session.exec(query.order_by(col(CampaignItem.id))) if i is not None]


def _begin(session: Session, campaign: Campaign, item: CampaignItem, job_id: int | None) -> tuple[Round, str]:
    """The item's round (proposing) in a finished thread of the creator; the base text."""
    base = documents.head_version(session, item.document_id)
    thread = Thread(
        document_id=item.document_id,
        user_id=campaign.created_by_id or 0,
        status=ThreadStatus.FINISHED,
        stop_reason=f"{STOP_CAMPAIGN}: {campaign.name}",
        finished_at=utcnow(),
    )
    session.add(thread)
    session.flush()
    rnd = Round(
        thread_id=id_of(thread),
        depth=1,
        base_version_id=id_of(base),
        spec_id=campaign.spec_id,
        request={
            "intents": list(campaign.intents),
            "campaign_id": campaign.id,
            "disabled_rules": sorted(projects.disabled_rules(session, campaign.project_id)),
        },
        status=RoundStatus.PROPOSING,
        job_id=job_id,
    )
    session.add(rnd)
    session.flush()
    item.round_id = rnd.id
    session.add(item)
    return rnd, base.text


def _set_item(engine: Engine, item_id: int, status: ItemStatus, error: str | None = None) -> None:
    with session_scope(engine) as s:
        s.execute(update(CampaignItem).where(col(CampaignItem.id) == item_id).values(status=status, error=error))


def propose_item(
    engine: Engine,
    item_id: int,
    *,
    job_id: int | None = None,
    cancel: threading.Event | None = None,
    timeout_s: float | None = None,
) -> ItemStatus:
    """Make one item's shared round: READY (edits under review), EMPTY, or FAILED."""
    with session_scope(engine) as s:
        item = s.get(CampaignItem, item_id)
        assert item is not None
        campaign = s.get(Campaign, item.campaign_id)
        assert campaign is not None
        rnd, base_text = _begin(s, campaign, item, job_id)
        round_id = id_of(rnd)
        spec = rounds.retry_spec(s, rnd)
        intents, disabled = tuple(campaign.intents), rnd.request["disabled_rules"]
    try:
        request = make_request(
            base_text,
            intents=intents,
            disabled_rules=disabled,
            cancel=cancel,
            timeout_s=timeout_s,
        )
        edits, _result = propose_edits(build_proposer(spec), request)
    except Exception as exc:  # noqa: BLE001 - one failing document must not stop the campaign
        message = str(exc) if isinstance(exc, RedraftError) else f"{exc.__class__.__name__}: {exc}"
        rounds.fail_round(engine, round_id, message)
        _set_item(engine, item_id, ItemStatus.FAILED, message[:2000])
        return ItemStatus.FAILED
    with session_scope(engine) as s:
        rows = rounds.store_edits(s, round_id, base_text, edits, screen=False) if edits else []
        status = RoundStatus.REVIEWING if rows else RoundStatus.FINISHED
        moved = s.execute(
            update(Round)
            .where(col(Round.id) == round_id, col(Round.status) == RoundStatus.PROPOSING)
            .values(status=status, finished_at=None if rows else utcnow())
        )
        if not moved.rowcount:  # type: ignore[attr-defined]  # cancelled or interrupted meanwhile
            s.rollback()
            _set_item(engine, item_id, ItemStatus.PENDING)
            return ItemStatus.PENDING
        result = ItemStatus.READY if rows else ItemStatus.EMPTY
        s.execute(update(CampaignItem).where(col(CampaignItem.id) == item_id).values(status=result, error=None))
    return result


def propose_all(
    engine: Engine,
    campaign_id: int,
    *,
    job_id: int | None = None,
    cancel: threading.Event | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    seconds_left: Callable[[], float | None] = lambda: None,
) -> dict[str, Any]:
    """Every item not ready yet, then open the campaign; counts per item status."""
    with session_scope(engine) as s:
        todo = _todo(s, campaign_id)
    counts: dict[str, Any] = {}
    for n, item_id in enumerate(todo):
        if cancel is not None and cancel.is_set():
            return {"error": "cancelled", **counts}
        if progress:
            progress(n, len(todo), f"proposing item {n + 1} of {len(todo)}")
        status = propose_item(engine, item_id, job_id=job_id, cancel=cancel, timeout_s=seconds_left())
        counts[status.value] = counts.get(status.value, 0) + 1
    if progress:
        progress(len(todo), len(todo), "done")
    with session_scope(engine) as s:
        s.execute(
            update(Campaign)
            .where(col(Campaign.id) == campaign_id, col(Campaign.status) == CampaignStatus.PREPARING)
            .values(status=CampaignStatus.OPEN)
        )
    return counts


def close_rounds(session: Session, campaign_id: int) -> int:
    """Finish a campaign's shared rounds (no more decisions; they stay stored); how many."""
    round_ids = select(CampaignItem.round_id).where(CampaignItem.campaign_id == campaign_id)
    done = session.execute(
        update(Round)
        .where(col(Round.id).in_(round_ids), col(Round.status) == RoundStatus.REVIEWING)
        .values(status=RoundStatus.FINISHED, stop_reason="campaign closed", finished_at=utcnow())
    )
    return int(done.rowcount)  # type: ignore[attr-defined]
