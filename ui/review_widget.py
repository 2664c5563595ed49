"""The review component: the whole document with every edit inline, decided in the browser.

The component (ui/review_component/) shows a decision at once and queues it in an outbox it sends
as component state; `show_round` hands that outbox to core.services.review (which stores it and
answers) and mounts the component with the round as it stands now. The component also sends a
`sync` value when its tab is shown or focused, and every 15 s, so a tab learns what another tab
or process changed. Payloads are built in core.services.review_payload.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st
from sqlalchemy.engine import Engine

from core.access import Actor
from core.errors import RedraftError
from core.revision.review import RoundView
from core.services import protected, review
from ui.text import md_escape

_DIR = Path(__file__).parent / "review_component"
_COMPONENT = st.components.v2.component(
    "redraft_review",
    html=(_DIR / "review.html").read_text(encoding="utf-8"),
    css=(_DIR / "review.css").read_text(encoding="utf-8"),
    # one ES module: text and state helpers (review_text.js, review_state.js: named exports) in front of
    # the view (review.js, the default export); Streamlit imports the js string as one module from a Blob URL
    js="\n".join(
        (_DIR / name).read_text(encoding="utf-8") for name in ("review_text.js", "review_state.js", "review.js")
    ),
)
_RELAY = st.components.v2.component(
    "redraft_rerun_relay", html="<span></span>", js=(_DIR / "rerun_relay.js").read_text(encoding="utf-8")
)
RESULTS_STATE = "_review_results"  # session_state: idempotency key -> None (stored) or error


def review_key(round_id: int) -> str:
    return f"review_{round_id}"


def sync_decisions(engine: Engine, actor: Actor, round_id: int) -> dict[str, str | None]:
    """Store what the mounted component for this round has queued; its results for `data`."""
    state = st.session_state.get(review_key(round_id))
    outbox = state.get("outbox") if state is not None and hasattr(state, "get") else None
    memo = st.session_state.setdefault(RESULTS_STATE, {})
    return review.sync_outbox(engine, actor, round_id, outbox, memo)


def _noop() -> None:
    return None


def mount(data: dict[str, Any], *, key: str) -> object:
    """Mount the component with `data` (review_payload or diff_payload); its state as mounted."""
    # sync: the component asks for fresh data (tab shown or focused, every 15 s while visible)
    return _COMPONENT(key=key, data=data, on_outbox_change=_noop, on_sync_change=_noop, on_protect_change=_noop)


def mount_rerun_relay() -> None:
    """Mount, OUTSIDE the review's fragment, what reruns the whole page when the review asks: after a
    server restart its fragment is unknown to the new session, and only a full rerun brings it back."""
    _RELAY(key="review_rerun_relay", width=1, on_rerun_change=_noop)


PROTECT_PROJECT_STATE = "_review_protect_project"  # session_state: (person, round) -> may protect project-wide


def _protect_request(value: object) -> tuple[int, str] | None:
    """The component's `protect` trigger: an edit id (this document), or {"id": …, "scope": "project"}."""
    if isinstance(value, dict):
        scope = "project" if value.get("scope") == "project" else "document"
        value = value.get("id")
    else:
        scope = "document"
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value, scope


def _protect_asked(engine: Engine, actor: Actor, round_id: int) -> None:
    """Never change "X" pressed on an edit, for its document or its whole project."""
    state = st.session_state.get(review_key(round_id))
    asked = _protect_request(state.get("protect") if state is not None and hasattr(state, "get") else None)
    if asked is None:
        return
    edit_id, scope = asked
    try:
        done = protected.protect_edit_term(engine, actor, edit_id, scope=scope)
    except RedraftError as exc:
        st.toast(md_escape(str(exc)), icon=":material/error:")
        return
    hidden = len(done.hidden_edit_ids)
    where = "every document of this project" if scope == "project" else "this document"
    st.toast(
        f"“{md_escape(done.term.term)}” is protected in {where}"
        + (f"; {hidden} pending edit(s) that change it are hidden." if hidden else "."),
        icon=":material/shield:",
    )


def _may_protect_project(engine: Engine, actor: Actor, round_id: int) -> bool:
    """Asked once per round and session (a decision reruns the fragment; the action itself is checked
    in core whatever the page offered)."""
    known = st.session_state.setdefault(PROTECT_PROJECT_STATE, {})
    key = (actor.user_id, round_id)
    if key not in known:
        known[key] = protected.may_protect_in_project(engine, actor, round_id)
    return bool(known[key])


def show_round(engine: Engine, actor: Actor, round_id: int, *, likely_first: bool = False) -> RoundView:
    """Store queued decisions, then show the round as this person sees it now."""
    results = sync_decisions(engine, actor, round_id)
    _protect_asked(engine, actor, round_id)
    data = review.review_data(
        engine,
        actor,
        round_id,
        results=results,
        likely_first=likely_first,
        protect_project=_may_protect_project(engine, actor, round_id),
    )
    mounted = mount(data.payload, key=review_key(round_id))
    # A new session (the server restarted) reads the component's state only once it is mounted: what
    # it queued is stored now, and a rerun answers it.
    outbox = getattr(mounted, "outbox", None)
    memo = st.session_state.setdefault(RESULTS_STATE, {})
    if review.unanswered(outbox, memo):
        known = len(memo)
        review.sync_outbox(engine, actor, round_id, outbox, memo)
        if len(memo) != known:  # answered now (a busy database answers nothing: the browser sends again)
            st.rerun()
    return data.view
