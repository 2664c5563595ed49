"""Annotate (annotators): take the next document of a campaign, judge its frozen edits in the same
review component writers use, with the campaign's guidelines beside it, and finish it.

Blind: the review shows only this person's decisions. The database decides who gets what ("Next"
reserves an item with an expiry); a decision on an item whose reservation expired is refused by the
service and the component shows it as failed, and this page says why.
"""

from __future__ import annotations

import streamlit as st

from core.campaigns.assignment import ItemExpired
from core.errors import RedraftError
from core.models import CampaignStatus
from core.services import campaign_views, campaigns
from core.services.campaigns import WorkItem
from ui import review_widget
from ui.state import actor, engine, flash, show_flashes
from ui.text import md_escape, safe_markdown

WORKING = "_an_working"  # (campaign id, round id, title) of the document this session is judging

st.title("Annotate")
show_flashes()
eng = engine()
me = actor()

mine = {c.campaign_id: c for c in campaign_views.my_campaigns(eng, me)}
if not mine:
    st.info("You are not invited to any campaign yet. A researcher adds you on the Campaigns page.")
    st.stop()
cid = st.selectbox("Campaign", list(mine), format_func=lambda i: mine[i].name, key="an_campaign")
mine_here = mine[cid]
if mine_here.gold_accuracy is not None:
    st.caption(f"Your accuracy on gold edits so far: {mine_here.gold_accuracy:.0%}.")
if mine_here.paused:
    reason = f" ({mine_here.paused_reason})" if mine_here.paused_reason else ""
    st.warning(
        f"You are paused in this campaign{md_escape(reason)}: you get no more documents. Ask its researcher.",
        icon=":material/pause_circle:",
    )
    st.stop()
if mine_here.status == CampaignStatus.CLOSED:
    st.info("This campaign is closed: no more decisions are taken. Thank you!")
    st.stop()

working = st.session_state.get(WORKING)
if working is not None and working[0] == cid:
    review_widget.sync_decisions(eng, me, working[1])  # what the browser queued goes in first
held = campaigns.current_items(eng, me, cid)


def on_next() -> None:
    try:
        work = campaigns.next_item(eng, me, cid)
    except RedraftError as exc:
        flash(md_escape(str(exc)), "error")
        return
    if work is None:
        flash("Nothing left for you in this campaign: every document has its judges, or you judged it.", "info")
    else:
        st.session_state[WORKING] = (cid, work.round_id, work.title)


def on_finish(work: WorkItem) -> None:
    review_widget.sync_decisions(eng, me, work.round_id)
    try:
        done = campaigns.finish_item(eng, me, cid, work.item_id)
    except ItemExpired as exc:
        st.session_state.pop(WORKING, None)
        flash(md_escape(str(exc)), "warning")
        return
    except RedraftError as exc:
        flash(md_escape(str(exc)), "error")
        return
    st.session_state.pop(WORKING, None)
    message = f"Finished “{md_escape(work.title)}”. Click Next for another document."
    if done.get("gold") and done.get("gold_accuracy") is not None:
        message += f" Your gold accuracy: {done['gold_accuracy']:.0%}."
    flash(message)
    if done.get("paused"):
        flash("Your gold accuracy fell below this campaign's threshold: you are paused.", "warning")


if not held:
    if working is not None and working[0] == cid:
        st.session_state.pop(WORKING, None)
        st.warning(
            f"Your reservation of “{md_escape(working[2])}” expired and it went back to the pool; "
            "decisions on it after that were not counted. Click Next for a document.",
            icon=":material/timer_off:",
        )
    st.button("Next", type="primary", icon=":material/skip_next:", key="an_next", on_click=on_next, shortcut="N")
    st.stop()

work = held[0]
st.session_state[WORKING] = (cid, work.round_id, work.title)
expiry = f" · reserved until {work.expires_at:%H:%M} UTC" if work.expires_at is not None else ""
st.caption(
    f"{md_escape(work.title)}{' · gold' if work.gold else ''}{expiry} · "
    "click an edit, or use the keys j / k, a, r, e, u · decide every edit, then Finish"
)


@st.fragment
def review_panel(round_id: int) -> None:
    # each decision in the browser reruns only this fragment, which stores it and answers
    review_widget.show_round(eng, me, round_id)


left, right = st.columns([3, 1])
with left:
    review_panel(work.round_id)
with right, st.container(border=True, height=520, key="an_guidelines"):
    st.markdown("**Guidelines**")
    st.markdown(safe_markdown(work.guidelines) if work.guidelines else "_No guidelines for this campaign._")
st.button(
    "Finish document", type="primary", icon=":material/task_alt:", key="an_finish", on_click=on_finish, args=(work,)
)
