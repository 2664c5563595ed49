"""A reservation is extended while its person decides, once it runs low: one write per half
reservation, not one per decision (a decision checks the hold in the same transaction)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.db import session_scope
from core.models import CampaignAssignment, utcnow
from core.services import campaigns
from core.services import review as review_service
from tests.campaign_helpers import make_campaign


def _expiry(engine: Engine) -> object:
    with session_scope(engine) as s:
        (row,) = s.exec(select(CampaignAssignment)).all()
        return row.expires_at


def _decide(engine: Engine, actor: object, round_id: int, edit_id: int, key: str) -> None:
    outbox = {"seq": 1, "items": [{"k": key, "id": edit_id, "a": "accept"}]}
    assert review_service.sync_outbox(engine, actor, round_id, outbox, {}) == {key: None}  # type: ignore[arg-type]


def test_a_reservation_is_extended_only_when_it_runs_low(engine: Engine) -> None:
    setup = make_campaign(engine, docs=1, annotators=1, overlap=1, prefix="rx", reservation_minutes=30)
    (ann,) = setup.annotators
    work = campaigns.next_item(engine, ann, setup.campaign_id)
    assert work is not None
    edits = [e.row.id for e in review_service.round_view(engine, ann, work.round_id).edits]
    first = _expiry(engine)
    _decide(engine, ann, work.round_id, edits[0], "rx-1")
    assert _expiry(engine) == first  # most of its 30 minutes left: not touched

    soon = utcnow() + timedelta(minutes=5)
    with session_scope(engine) as s:
        s.execute(
            update(CampaignAssignment).where(col(CampaignAssignment.id) == work.assignment_id).values(expires_at=soon)
        )
    _decide(engine, ann, work.round_id, edits[1], "rx-2")
    extended = _expiry(engine)
    assert extended is not None and extended > utcnow() + timedelta(minutes=29)  # type: ignore[operator]
