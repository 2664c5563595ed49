"""Reviewing a round: the decisions a person makes, from the browser's outbox or one by one.

The review component shows a decision at once and queues it in an outbox it sends as
`{"seq": n, "items": [...]}`; each item carries an idempotency key made in the browser per user
action, and may carry the person's comment ("c"; a comment added later re-states the decision with
it). `sync_outbox` stores every item not yet answered, each in its own transaction (a bulk item
all-or-nothing), and returns the results for the component's next data: None for stored, or why it
was refused, which the component shows as failed. A decision on a round that is no longer under
review (applied in another tab or process) is refused, never stored and lost.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from core import access
from core.access import Actor
from core.db import is_transient, read_scope, session_scope
from core.decisions import ACTIONS, BULK_ACTIONS, MAX_COMMENT_CHARS, MAX_REWRITE_CHARS, MAX_TIME_TAKEN_MS, Action
from core.errors import RedraftError
from core.models import RoundStatus
from core.revision import review
from core.revision.review import RoundView
from core.services import campaigns
from core.services.review_payload import review_payload, review_scope

log = logging.getLogger(__name__)

MAX_ITEMS = 5000  # per outbox; a bulk action is one item
MAX_KEY_CHARS = 100
RESULTS_KEPT = 20_000


def _check_round(session: Any, actor: Actor, round_id: int, *, write: bool = False, extend: bool = True) -> None:  # noqa: ANN401
    """May this person see (or, `write`, decide on) this round: their own thread's, or a campaign's
    shared round they hold (core.services.campaigns; blind: they still see only their decisions).
    `extend` False keeps a campaign check read-only (the decisions' own checks extend the reservation)."""
    shared = campaigns.check_campaign_round(session, actor, round_id, write=write, extend=extend)
    if shared is None:
        action = access.Action.THREAD_DECIDE if write else access.Action.THREAD_READ
        access.authorize_round(session, actor, action, round_id)
    elif not shared:
        raise access.deny(
            actor,
            "decide on this campaign document: you do not hold it now (your reservation may have expired; click Next)"
            if write
            else "see a campaign document you were not given",
        )


def decide(
    engine: Engine,
    actor: Actor,
    round_id: int,
    edit_id: int,
    action: str,
    *,
    modified_text: str | None = None,
    comment: str | None = None,
    time_taken_ms: int | None = None,
    key: str | None = None,
) -> None:
    """One decision on an edit of the round the person sees."""
    with session_scope(engine) as s:
        _check_round(s, actor, round_id, write=True)
        review.decide(
            s,
            edit_id,
            actor.user_id,
            action,
            round_id=round_id,
            modified_text=modified_text,
            comment=comment,
            time_taken_ms=time_taken_ms,
            idempotency_key=key,
        )


def bulk_decide(
    engine: Engine, actor: Actor, round_id: int, action: str, *, intent: str | None = None, include_hidden: bool = False
) -> int:
    """Accept or reject every pending edit of a round (of one intent), all or nothing; how many."""
    with session_scope(engine) as s:
        _check_round(s, actor, round_id, write=True)
        return review.decide_many(s, round_id, actor.user_id, action, intent=intent, include_hidden=include_hidden)


def round_view(engine: Engine, actor: Actor, round_id: int) -> RoundView:
    with read_scope(engine) as s:
        _check_round(s, actor, round_id)
        return review.round_view(s, round_id, actor.user_id)


# --- the browser's outbox ---------------------------------------------------------------------------


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _time_taken(item: Mapping[str, Any]) -> int | None:
    ms = item.get("ms")
    if isinstance(ms, (int, float)) and not isinstance(ms, bool) and ms >= 0:
        return int(min(ms, MAX_TIME_TAKEN_MS))
    return None


def check_item(item: object) -> tuple[str | None, str | None]:
    """(key, error) for one outbox item; key None: not an item at all (ignored); error None: well-formed."""
    if not isinstance(item, dict):
        return None, None
    key = item.get("k")
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
        return None, None
    if "bulk" in item:
        ids = item.get("ids")
        if item.get("bulk") not in BULK_ACTIONS or not isinstance(ids, list) or len(ids) > MAX_ITEMS:
            return key, "This bulk action is not understood."
        if not all(_int(i) is not None for i in ids):
            return key, "Some of these edits are not in this round."
        return key, None
    if item.get("a") not in ACTIONS:
        return key, f"Unknown action {item.get('a')!r}."
    if _int(item.get("id")) is None:
        return key, "This edit is not in this round."
    comment = item.get("c")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT_CHARS):
        return key, f"A comment is text of at most {MAX_COMMENT_CHARS:,} characters."
    if item.get("a") == Action.MODIFY:
        text = item.get("t")
        if not isinstance(text, str):
            return key, "A rewrite needs the replacement text."
        if len(text) > MAX_REWRITE_CHARS:
            return key, f"The rewrite is longer than {MAX_REWRITE_CHARS:,} characters."
    return key, None


class _Busy:
    """_store_item: not stored this time, and worth sending again (the item is left unanswered)."""


BUSY = _Busy()


def _store_item(engine: Engine, actor: Actor, round_id: int, item: Mapping[str, Any]) -> str | None | _Busy:
    """Store one item in its own transaction; the error text if it is refused, BUSY if the database
    was too busy (a transient failure: the item stays unanswered, so the browser sends it again)."""
    key = item["k"]
    try:
        with session_scope(engine) as s:
            _check_round(s, actor, round_id, write=True)  # in the same transaction as the decision
            if "bulk" in item:
                # one key per edit, derived from the action's key: a repeat stores nothing new
                review.decide_edits(
                    s, round_id, actor.user_id, item["bulk"], item["ids"], key=key, time_taken_ms=_time_taken(item)
                )
            else:
                review.decide(
                    s,
                    item["id"],
                    actor.user_id,
                    item["a"],
                    round_id=round_id,
                    modified_text=item.get("t") if item["a"] == Action.MODIFY else None,
                    comment=item.get("c") or None,
                    time_taken_ms=_time_taken(item),
                    idempotency_key=key,
                )
        return None
    except Exception as exc:  # noqa: BLE001 - the person must see it failed, whatever the cause
        if is_transient(exc):
            log.warning("decision %s not stored, the database is busy: it will come again", key)
            return BUSY
        if isinstance(exc, RedraftError):
            return str(exc)
        log.exception("storing decision %s failed", key)
        return f"The server could not store it ({exc.__class__.__name__})."


def unanswered(outbox: object, memo: Mapping[str, str | None]) -> bool:
    """Whether this outbox holds an item `memo` has no answer for yet."""
    items = outbox.get("items") if isinstance(outbox, dict) else None
    if not isinstance(items, list):
        return False
    keys = (check_item(it)[0] for it in items[:MAX_ITEMS])
    return any(key is not None and key not in memo for key in keys)


def sync_outbox(
    engine: Engine, actor: Actor, round_id: int, outbox: object, memo: MutableMapping[str, str | None]
) -> dict[str, str | None]:
    """Store the outbox items not yet in `memo` (key -> None or error; the caller keeps it per
    browser session) and return the results for every key in this outbox."""
    items = outbox.get("items") if isinstance(outbox, dict) else None
    if not isinstance(items, list) or not items:
        return {}
    items = items[:MAX_ITEMS]
    todo = [it for it in items if isinstance(it, dict) and it.get("k") not in memo]
    if todo:
        try:
            with read_scope(engine) as s:  # the items are decisions; each one's store extends a reservation
                _check_round(s, actor, round_id, write=True, extend=False)
        except RedraftError as exc:
            for item in todo:
                key, _ = check_item(item)
                if key is not None:
                    memo[key] = str(exc)
            todo = []
        for item in todo:
            key, error = check_item(item)
            if key is None or key in memo:
                continue
            if error is not None:
                memo[key] = error
                continue
            stored = _store_item(engine, actor, round_id, item)
            if isinstance(stored, _Busy):  # no answer: the component sends unanswered items again
                continue
            memo[key] = stored
    if len(memo) > RESULTS_KEPT:  # bounded: the oldest answers are long since read
        for old in list(memo)[: len(memo) - RESULTS_KEPT]:
            memo.pop(old, None)
    return {it["k"]: memo[it["k"]] for it in items if isinstance(it, dict) and it.get("k") in memo}


@dataclass(frozen=True)
class ReviewData:
    view: RoundView
    payload: dict[str, Any]


def review_data(
    engine: Engine,
    actor: Actor,
    round_id: int,
    *,
    results: Mapping[str, str | None] | None = None,
    likely_first: bool = False,
    protect_project: bool = False,
) -> ReviewData:
    """The round as this person sees it now, and the component's data for it (`protect_project`: the
    person may protect an edit's word project-wide, see core.services.protected)."""
    view = round_view(engine, actor, round_id)
    locked = None
    if view.round.status != RoundStatus.REVIEWING:
        locked = f"Round {view.round.depth} is {view.round.status}: its edits can no longer be decided."
    payload = review_payload(
        view,
        scope=review_scope(round_id, actor.user_id),
        results=results,
        locked=locked,
        likely_first=likely_first,
        protect_project=protect_project,
    )
    return ReviewData(view, payload)
