"""Campaigns (researchers): create an annotation campaign, follow its proposals job and progress,
agreement, gold accuracy (pause / unpause), assign and send back by hand, adjudicate disputed
edits, and download its data.

A thin page: tables come from core.services.campaign_views, actions from core.services.campaigns,
and every one of them asks the policy (a person who may not run campaigns here is refused there too).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.express as px
import streamlit as st

from core.campaigns.model import CampaignSettings
from core.data.campaign_export import UNRESOLVED_POLICIES
from core.errors import RedraftError
from core.models import CampaignStatus, JobStatus
from core.proposers.base import ALL_INTENTS, DEFAULT_INTENTS
from core.services import campaign_views, campaigns
from ui import agreement
from ui.lazy import when_open
from ui.state import actor, current_project_id, engine, flash, show_flashes
from ui.text import md_escape, safe_markdown

ACTIONS = {"accept": "Accept", "reject": "Reject", "modify": "Rewrite"}
QUEUE_SHOWN = 30

st.title("Campaigns")
show_flashes()
eng = engine()
me = actor()

if not campaign_views.page_access(eng, me).runs:
    st.error("Only researchers and admins run annotation campaigns. Annotators work on the Annotate page.")
    st.stop()


def _do(call: Callable[[], object], done: str | None = None) -> None:
    """Run an action; its refusal is shown, never raised into the page."""
    try:
        call()
        if done:
            flash(done)
    except RedraftError as exc:
        flash(md_escape(str(exc)), "error")


# --- creating ---------------------------------------------------------------------------------------------

project_id = current_project_id()
try:
    choices = campaign_views.create_choices(eng, me, project_id)
except RedraftError:
    choices = None  # runs campaigns elsewhere, not in this project: theirs are listed below


def new_campaign_form(choices: campaign_views.CreateChoices) -> None:
    with st.form("cp_new", border=False):
        name = st.text_input("Name", max_chars=200)
        docs = st.multiselect("Documents", list(choices.documents), format_func=choices.documents.get)
        gold = st.multiselect(
            "Gold documents (their edits get known answers)", list(choices.documents), format_func=choices.documents.get
        )
        c1, c2, c3 = st.columns(3)
        spec_choice = c1.selectbox("Proposer", list(choices.proposers), format_func=lambda c: choices.proposers[c][1])
        intents = c1.multiselect("Intents", list(ALL_INTENTS), default=list(DEFAULT_INTENTS))
        overlap = c2.number_input("Overlap (people per document)", 1, 50, 2)
        reservation = c2.number_input("Reservation expires after (minutes)", 1, 24 * 60, 30)
        min_agreement = c2.slider(
            "Adjudicate edits with agreement below", 0.05, 1.0, 1.0, 0.05, help="1.0: any disagreement"
        )
        gold_every = c3.number_input("A gold document every … documents (0: none)", 0, 100, 0)
        gold_min = c3.number_input("Pause below this gold accuracy (0: never)", 0.0, 1.0, 0.0, 0.05)
        st.number_input("Rounds per document", 1, 1, 1, disabled=True, help="One shared round per document for now.")
        people = st.multiselect("Annotators (project members)", list(choices.people), format_func=choices.people.get)
        guidelines = st.text_area("Guidelines (Markdown, shown beside the review)", height=160, max_chars=50_000)
        if st.form_submit_button("Create and make the proposals", type="primary", icon=":material/rocket_launch:"):
            settings = CampaignSettings(
                name=name,
                project_id=project_id,
                document_ids=[d for d in docs if d not in gold],
                gold_document_ids=gold,
                spec=choices.proposers[spec_choice][0],
                intents=tuple(intents),
                overlap=int(overlap),
                guidelines=guidelines,
                gold_every=int(gold_every),
                gold_min_accuracy=float(gold_min) or None,
                reservation_minutes=int(reservation),
                min_agreement=float(min_agreement),
                annotator_ids=people,
            )
            try:
                made, _job = campaigns.create(eng, me, settings)
                st.session_state.cp_campaign = made.id
                flash(f"Campaign {md_escape(made.name)} created; its proposals are being made.")
                st.rerun()
            except RedraftError as exc:
                st.error(md_escape(str(exc)))  # the form keeps what was typed


with st.expander("New campaign", icon=":material/add:", expanded=False):
    if choices is None:
        st.caption("You do not run campaigns in this project.")
    else:
        new_campaign_form(choices)

# --- choosing one -----------------------------------------------------------------------------------------

mine = campaign_views.run_campaigns(eng, me)
if not mine:
    st.info("No campaigns yet: create one above.")
    st.stop()
if st.session_state.get("cp_campaign") not in mine:
    st.session_state.cp_campaign = next(iter(mine))
cid = st.selectbox("Campaign", list(mine), format_func=mine.get, key="cp_campaign")
try:
    view = campaign_views.overview(eng, me, cid)
except RedraftError as exc:
    st.error(md_escape(str(exc)))
    st.stop()
campaign, summary = view.campaign, view.progress.campaign


@st.fragment(run_every=1.0)
def job_progress() -> None:
    job = campaign_views.overview(eng, me, cid).job
    if job is None or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        st.rerun()
    done, total = job.progress_done, job.progress_total
    text = "waiting for a worker…" if job.status == JobStatus.QUEUED else f"{done} / {total or '?'} documents"
    st.progress(min(1.0, done / total) if total else 0.0, text=f"Making the proposals: {text}")


job = view.job
if job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
    job_progress()
elif job is not None and job.status in (JobStatus.FAILED, JobStatus.INTERRUPTED, JobStatus.CANCELLED):
    st.error(f"The proposals job {job.status}: {md_escape(job.error or '')}", icon=":material/error:")
    st.button(
        "Make the missing proposals again",
        key="cp_repropose",
        on_click=_do,
        args=(lambda: campaigns.propose_again(eng, me, cid), "Queued again."),
    )

m = st.columns(5)
m[0].metric("Status", str(summary["status"]))
m[1].metric("Documents ready", f"{summary['ready_items']} / {summary['items']}")
m[2].metric("Judgements done", f"{summary['done']} / {summary['judgements_needed']}")
m[3].metric("Reserved now", summary["reserved"])
m[4].metric("Documents complete", summary["items_complete"])


def progress_tab() -> None:
    people = pd.DataFrame(view.progress.people)
    documents = pd.DataFrame(view.progress.documents)
    if not people.empty:
        long = people.melt(id_vars=["person"], value_vars=["done", "reserved", "left"], var_name="state")
        fig = px.bar(long, x="person", y="value", color="state", title="Documents per person")
        st.plotly_chart(fig, key="cp_people_chart")
        rates = people.dropna(subset=["decisions_per_hour"])
        if not rates.empty:
            fig = px.bar(rates, x="person", y="decisions_per_hour", title="Decisions per hour")
            st.plotly_chart(fig, key="cp_rate_chart")
        st.dataframe(people.drop(columns=["user_id"]), hide_index=True, key="cp_people")
    else:
        st.caption("No annotators yet: add them on the Assign tab.")
    if not documents.empty:
        long = documents.melt(id_vars=["document"], value_vars=["done", "reserved", "left"], var_name="state")
        fig = px.bar(long, x="document", y="value", color="state", title="Judgements per document")
        st.plotly_chart(fig, key="cp_docs_chart")
        st.dataframe(documents, hide_index=True, key="cp_docs")
    if campaign.guidelines:
        with st.expander("Guidelines as annotators see them"):
            st.markdown(safe_markdown(campaign.guidelines))


def agreement_tab() -> None:
    agreement.show(campaign_views.agreement_report(eng, me, campaign_id=cid), key="cp_agree")


def quality_tab() -> None:
    rows = campaign_views.gold_rows(eng, me, view)
    if campaign.gold_min_accuracy is not None:
        st.caption(f"People are paused automatically below {campaign.gold_min_accuracy:.0%} gold accuracy.")
    for row in rows:
        with st.container(horizontal=True, vertical_alignment="center"):
            acc = "no gold judged yet" if row["accuracy"] is None else f"{row['accuracy']:.0%}"
            st.text(f"{row['person']}: gold {row['gold_correct']}/{row['gold_judged']} ({acc})")
            if row["paused"]:
                st.text(f"paused: {row['why']}")
            st.button(
                "Unpause" if row["paused"] else "Pause",
                key=f"cp_pause_{row['user_id']}",
                on_click=_do,
                args=(lambda uid=row["user_id"], p=not row["paused"]: campaigns.set_paused(eng, me, cid, uid, p),),
            )

    gold_rows = campaign_views.gold_edits(eng, me, cid)
    if gold_rows:
        st.subheader("Known answers for gold edits")
        edited = st.data_editor(
            pd.DataFrame(gold_rows),
            column_config={"answer": st.column_config.SelectboxColumn("answer", options=list(ACTIONS))},
            disabled=["item_id", "edit_id", "before", "after"],
            hide_index=True,
            key="cp_gold_editor",
        )
        if st.button("Save known answers", key="cp_gold_save"):
            rows_out = edited.to_dict("records")
            _do(lambda: campaign_views.save_gold_answers(eng, me, rows_out), "Known answers saved.")
            st.rerun()


def assign_tab() -> None:
    invitable = campaign_views.create_choices(eng, me, campaign.project_id).people
    with st.form("cp_add", border=False):
        add = st.multiselect("Add annotators", list(invitable), format_func=invitable.get)
        if st.form_submit_button("Add"):
            _do(lambda: campaigns.add_annotators(eng, me, cid, add), "Annotators added.")
            st.rerun()
    c1, c2 = st.columns(2)
    with c1:
        st.subheader("Assign by hand")
        item = st.selectbox("Document", list(view.items), format_func=view.items.get, key="cp_assign_item")
        person = st.selectbox("To", list(view.members), format_func=view.members.get, key="cp_assign_user")
        st.button(
            "Assign",
            key="cp_assign",
            disabled=item is None or person is None,
            on_click=_do,
            args=(lambda: campaigns.assign(eng, me, cid, item, person), "Assigned."),
        )
    with c2:
        st.subheader("Send back for correction")
        pairs = {f"{i}:{u}": f"{view.items.get(i, i)} — {view.members.get(u, u)}" for i, u in view.finished}
        pick = st.selectbox("Finished work", list(pairs), format_func=pairs.get, key="cp_reopen_pick")

        def _reopen() -> None:
            i, u = (int(x) for x in str(pick).split(":"))
            campaigns.reopen(eng, me, cid, i, u)

        st.button("Send back", key="cp_reopen", disabled=pick is None, on_click=_do, args=(_reopen, "Sent back."))
    if campaign.status != CampaignStatus.CLOSED:
        st.button(
            "Close the campaign",
            key="cp_close",
            icon=":material/lock:",
            on_click=_do,
            args=(lambda: campaigns.close(eng, me, cid), "Closed: no more decisions; labels and exports stay."),
        )


def _adjudicate(edit_id: int) -> None:
    act = st.session_state[f"cp_act_{edit_id}"]
    text = st.session_state.get(f"cp_txt_{edit_id}") if act == "modify" else None
    _do(lambda: campaigns.adjudicate(eng, me, cid, edit_id, act, modified_text=text), "Adjudicated.")


def adjudicate_tab() -> None:
    queue = campaign_views.queue_rows(eng, me, view)
    st.caption(f"{len(queue)} disputed edit(s) waiting. The label that stands for every edit is below.")
    for row in queue[:QUEUE_SHOWN]:
        eid = row["edit_id"]
        with st.container(border=True, key=f"cp_q_{eid}"):
            st.text(f"{row['document']} · edit {eid} · {row['intent'] or ''}")
            st.text(f"“{row['before']}” → “{row['after']}”")
            if row["context"]:
                st.caption(md_escape(row["context"]))
            st.text(f"Votes: {row['votes']}")
            st.radio("Label", list(ACTIONS), format_func=ACTIONS.get, horizontal=True, key=f"cp_act_{eid}")
            st.text_input("Rewrite (for Rewrite)", key=f"cp_txt_{eid}")
            st.button("Adjudicate", key=f"cp_adj_{eid}", on_click=_adjudicate, args=(eid,))
    labels = pd.DataFrame(campaign_views.label_rows(eng, me, view))
    if not labels.empty:
        st.dataframe(labels, hide_index=True, key="cp_labels")


def export_tab() -> None:
    unresolved = st.radio(
        "TRL data: unresolved edits",
        UNRESOLVED_POLICIES,
        format_func={"drop": "left out", "chosen": "kept, the proposed edit as chosen"}.get,
        horizontal=True,
        key="cp_unresolved",
    )
    for export, label in campaign_views.EXPORTS.items():

        def _bytes(export: str = export) -> bytes:
            return campaign_views.export_file(eng, me, cid, export, unresolved=unresolved)[0]

        st.download_button(
            label,
            data=_bytes,
            file_name=campaign_views.export_file_name(campaign.name, export),
            on_click="ignore",
            key=f"cp_dl_{export}",
            icon=":material/download:",
        )


# Only the open tab is drawn (and its figures read): agreement, labels and the adjudication queue each
# fold every shared edit's decisions, seconds for a campaign of 100,000 edits.
TABS = {
    "Progress": progress_tab,
    "Agreement": agreement_tab,
    "Quality": quality_tab,
    "Assign": assign_tab,
    "Adjudicate": adjudicate_tab,
    "Export": export_tab,
}
for tab, draw in zip(st.tabs(list(TABS), key="cp_tab", on_change="rerun"), TABS.values(), strict=True):
    when_open(tab, draw)
