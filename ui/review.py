"""The review component: the whole document with every edit inline, decided in the browser.

The component (ui/review_component/) shows a decision at once and queues it in an outbox that it
sends as component state `{"seq": n, "items": [...]}`. Each item carries an idempotency key made
in the browser per user action. `process_outbox` stores every item not yet answered (through
core.revision.rounds.decide, so a repeat is a no-op) and the next `data` carries `results`: None for
stored, or the reason it was refused, which the component shows as failed.

Payloads are plain JSON; document text is split into the gaps between edits here, so the browser
never slices by Python offsets (JavaScript strings count UTF-16 units, Python code points).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import streamlit as st
from sqlalchemy.engine import Engine

from core.db import session_scope
from core.errors import RedraftError
from core.models import ACTIONS
from core.revision import rounds
from core.revision.feedback import most_likely_first
from core.revision.rounds import PENDING, RoundView
from core.text.edits import Edit

log = logging.getLogger(__name__)

_DIR = Path(__file__).parent / "review_component"
_COMPONENT = st.components.v2.component(
    "redraft_review",
    html=(_DIR / "review.html").read_text(encoding="utf-8"),
    css=(_DIR / "review.css").read_text(encoding="utf-8"),
    js=(_DIR / "review.js").read_text(encoding="utf-8"),
)

MAX_ITEMS = 5000  # per outbox; a bulk action is one item
MAX_KEY_CHARS = 100
MAX_TEXT_CHARS = 100_000
MAX_MS = 24 * 3600 * 1000
RESULTS_STATE = "_review_results"  # session_state: idempotency key -> None (stored) or error
RESULTS_KEPT = 20_000


def review_key(round_id: int) -> str:
    return f"review_{round_id}"


def review_scope(round_id: int, user_id: int) -> str:
    """Names this review in the browser's localStorage (outbox, focused edit)."""
    return f"r{round_id}-u{user_id}"


# --- payloads (pure) ----------------------------------------------------------------------------


def _segments(text: str, spans: list[tuple[int, int]]) -> list[str]:
    """The text between sorted, non-overlapping spans: len(spans) + 1 strings."""
    out, cursor = [], 0
    for start, end in spans:
        out.append(text[cursor:start])
        cursor = end
    out.append(text[cursor:])
    return out


def review_payload(
    view: RoundView,
    *,
    scope: str,
    results: Mapping[str, str | None] | None = None,
    locked: str | None = None,
    likely_first: bool = False,
) -> dict[str, Any]:
    """The component's data for a round: text gaps, edits in document order, this person's state.

    With `likely_first`, next/previous visit edits by predicted acceptance, highest first."""
    states = sorted(view.edits + view.hidden, key=lambda s: (s.row.start, s.row.end, s.row.position, s.row.id))
    kept, spans, cursor, skipped = [], [], 0, 0
    for s in states:
        r = s.row
        # Stored edits never overlap and match their base text; anything else cannot be shown inline.
        if r.start < cursor or r.end > len(view.base_text) or view.base_text[r.start : r.end] != r.before:
            skipped += 1
            continue
        kept.append(s)
        spans.append((r.start, r.end))
        cursor = r.end
    if skipped:
        log.warning("round %s: %d edit(s) overlap or do not match the base text; not shown", view.round.id, skipped)
    edits = []
    for s in kept:
        r = s.row
        alts = [a for a in dict.fromkeys(r.alternatives or []) if isinstance(a, str) and a != r.after]
        edits.append(
            {
                "id": r.id,
                "b": r.before,
                "a": r.after,
                "i": r.intent or "",
                "x": r.explanation or "",
                "src": r.source or "",
                "alt": alts,
                "sc": r.score,
                "p": r.predicted_accept,
                "h": r.hidden_reason,
            }
        )
    state = {str(s.row.id): [s.status, s.modified_text] for s in kept if s.status != PENDING}
    ids = ",".join(str(s.row.id) for s in kept)
    sig = hashlib.sha1(f"review:{view.round.id}:{view.round.base_version_id}:{ids}".encode()).hexdigest()[:16]
    return {
        "mode": "review",
        "sig": sig,
        "scope": scope,
        "segs": _segments(view.base_text, spans),
        "edits": edits,
        "state": state,
        "results": dict(results or {}),
        "locked": locked,
        "skipped": skipped,
        "order": most_likely_first(list(range(len(kept))), [s.row.predicted_accept for s in kept])
        if likely_first
        else None,
    }


def diff_payload(old_text: str, new_text: str, edits: Iterable[Edit], *, scope: str = "diff") -> dict[str, Any]:
    """Read-only data: `edits` turn old_text into new_text (as core.text.edits.diff gives them)."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    items = [
        {"id": n, "b": e.before, "a": e.after, "i": "", "x": "", "src": "", "alt": []} for n, e in enumerate(ordered)
    ]
    sig = hashlib.sha1(f"diff:{len(old_text)}:{len(new_text)}:{old_text}\x00{new_text}".encode()).hexdigest()[:16]
    return {
        "mode": "diff",
        "sig": sig,
        "scope": scope,
        "segs": _segments(old_text, [(e.start, e.end) for e in ordered]),
        "edits": items,
        "state": {},
        "results": {},
        "locked": None,
        "summary": {
            "inserted": sum(len(e.after) for e in ordered),
            "deleted": sum(len(e.before) for e in ordered),
        },
    }


# --- decisions from the browser -------------------------------------------------------------------


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _check_item(item: object, edit_ids: set[int]) -> tuple[str | None, str | None]:
    """(key, error) for one outbox item; error None means it is well-formed."""
    if not isinstance(item, dict):
        return None, None
    key = item.get("k")
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
        return None, None
    if "bulk" in item:
        ids = item.get("ids")
        if item.get("bulk") not in ("accept", "reject", "undo") or not isinstance(ids, list):
            return key, "This bulk action is not understood."
        if not all(_int(i) in edit_ids for i in ids):
            return key, "Some of these edits are not in this round."
        return key, None
    if item.get("a") not in ACTIONS:
        return key, f"Unknown action {item.get('a')!r}."
    if _int(item.get("id")) not in edit_ids:
        return key, "This edit is not in this round."
    if item.get("a") == "modify":
        text = item.get("t")
        if not isinstance(text, str):
            return key, "A rewrite needs the replacement text."
        if len(text) > MAX_TEXT_CHARS:
            return key, f"The rewrite is longer than {MAX_TEXT_CHARS:,} characters."
    return key, None


def _time_taken(item: dict[str, Any]) -> int | None:
    ms = item.get("ms")
    if isinstance(ms, (int, float)) and not isinstance(ms, bool) and ms >= 0:
        return int(min(ms, MAX_MS))
    return None


def _store_item(engine: Engine, item: dict[str, Any], user_id: int) -> str | None:
    """Store one item in its own transaction; the error text if it is refused."""
    key = item["k"]
    try:
        with session_scope(engine) as s:
            if "bulk" in item:
                ms = _time_taken(item)
                for edit_id in item["ids"]:
                    # one key per edit, derived from the action's key: a repeat stores nothing new
                    rounds.decide(
                        s, edit_id, user_id, item["bulk"], time_taken_ms=ms, idempotency_key=f"{key}:{edit_id}"
                    )
            else:
                rounds.decide(
                    s,
                    item["id"],
                    user_id,
                    item["a"],
                    modified_text=item.get("t") if item["a"] == "modify" else None,
                    time_taken_ms=_time_taken(item),
                    idempotency_key=key,
                )
        return None
    except RedraftError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - the person must see it failed, whatever the cause
        log.exception("storing decision %s failed", key)
        return f"The server could not store it ({exc.__class__.__name__})."


def process_outbox(
    engine: Engine,
    round_id: int,
    user_id: int,
    outbox: object,
    memo: MutableMapping[str, str | None],
) -> dict[str, str | None]:
    """Store the outbox items not yet in `memo` (key -> None or error) and return the results for
    every key in this outbox, which the component reads back."""
    items = outbox.get("items") if isinstance(outbox, dict) else None
    if not isinstance(items, list) or not items:
        return {}
    items = items[:MAX_ITEMS]
    todo = [it for it in items if isinstance(it, dict) and it.get("k") not in memo]
    if todo:
        with session_scope(engine) as s:
            edit_ids = {es.row.id for es in rounds.edit_states(s, round_id, user_id)}
        for item in todo:
            key, error = _check_item(item, edit_ids)
            if key is None or key in memo:
                continue
            memo[key] = error if error is not None else _store_item(engine, item, user_id)
    return {it["k"]: memo[it["k"]] for it in items if isinstance(it, dict) and it.get("k") in memo}


def sync_decisions(engine: Engine, round_id: int, user_id: int) -> dict[str, str | None]:
    """Store what the mounted component for this round has queued; its results for `data`."""
    key = review_key(round_id)
    state = st.session_state.get(key)
    outbox = state.get("outbox") if state is not None and hasattr(state, "get") else None
    memo = st.session_state.setdefault(RESULTS_STATE, {})
    results = process_outbox(engine, round_id, user_id, outbox, memo)
    if len(memo) > RESULTS_KEPT:  # bounded: the oldest answers are long since read
        for old in list(memo)[: len(memo) - RESULTS_KEPT]:
            memo.pop(old, None)
    return results


# --- mounting -------------------------------------------------------------------------------------


def _noop() -> None:
    return None


def mount(data: dict[str, Any], *, key: str) -> None:
    """Mount the component with `data` (review_payload or diff_payload)."""
    _COMPONENT(key=key, data=data, on_outbox_change=_noop)


def show_round(engine: Engine, round_id: int, user_id: int, *, likely_first: bool = False) -> RoundView:
    """Store queued decisions, then show the round as this person sees it now."""
    results = sync_decisions(engine, round_id, user_id)
    with session_scope(engine) as s:
        view = rounds.round_view(s, round_id, user_id)
    locked = None
    if view.round.status != "reviewing":
        locked = f"Round {view.round.depth} is {view.round.status}: its edits can no longer be decided."
    mount(
        review_payload(
            view, scope=review_scope(round_id, user_id), results=results, locked=locked, likely_first=likely_first
        ),
        key=review_key(round_id),
    )
    return view
