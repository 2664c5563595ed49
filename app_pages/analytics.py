"""Analytics: acceptance by depth, intent, rule and person; rounds; decision times; hidden edits; the
preference model's accuracy and calibration; distance to the reference for simulated runs.

Every figure comes from `core.learning.analytics` (the same functions as `python -m core stats`), and every
chart's data can be downloaded as CSV."""

from datetime import UTC, datetime, time

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.errors import RedraftError
from core.learning import analytics
from core.services import analytics as analytics_service
from core.services import campaign_views
from ui import agreement, cached, charts
from ui.pickers import recent_first
from ui.state import actor, engine, show_flashes
from ui.text import md_escape

TOP_RULES = 25

# One breakdown drawn at a time: five Plotly charts made the page slow to open (each costs the browser
# about as much as an empty page); the chosen one is remembered for the session.
BREAKDOWNS = {
    "depth": ("revision depth", {}),
    "intent": ("intent", {}),
    "source": (f"rule or model (top {TOP_RULES} by edits proposed)", {"horizontal": True, "top": TOP_RULES}),
    "user": ("person", {}),
    "proposer": ("proposer", {}),
}

st.title("Analytics")
show_flashes()
eng = engine()
me = actor()

options = analytics_service.choices(eng, me)
projects, people = options.projects, options.people
if not options.everyone:
    st.caption("You see the edits proposed in your own revisions; researchers and admins see everyone's.")

# --- filters -------------------------------------------------------------------------------------

# Drawn only while their box is open (the page opens at once); their values stay in the session meanwhile
# (persist_state), so a closed box still filters. A stale value (a project or document gone) is dropped.
KEEP = {"persist_state": "session"}
box = st.expander("Filters", key="an_filters_open", on_change="rerun", icon=":material/filter_alt:")
c2 = None
docs: dict[int, str] | None = None  # read once the document filter needs it


def drop_stale(key: str, offered: object) -> None:
    """A kept value no longer offered (a project left, a document deleted) would make its widget fail."""
    if st.session_state.get(key) is not None and st.session_state[key] not in offered:  # type: ignore[operator]
        st.session_state[key] = None


if box.open:
    drop_stale("an_project", projects)
    drop_stale("an_user", people)
    with box:
        c1, c2, c3 = st.columns(3)
        with c1:
            project_id = st.selectbox(
                "Project",
                [None, *projects],
                format_func=lambda i: "All projects" if i is None else projects[i],
                key="an_project",
                **KEEP,
            )
            docs = analytics_service.document_titles(eng, me, project_id)
            drop_stale("an_document", docs)
            st.selectbox(
                "Document",
                [None, *recent_first(list(docs), st.session_state.get("an_document"))],
                format_func=lambda i: "All documents" if i is None else f"#{i} {docs[i]}",
                key="an_document",
                **KEEP,
            )
        with c2:
            st.selectbox(
                "Person",
                [None, *people] if options.everyone else list(people),
                format_func=lambda i: "Everyone" if i is None else people[i],
                key="an_user",
                **KEEP,
            )
            st.radio("Sessions", ["all", "people only", "simulated only"], horizontal=True, key="an_sessions", **KEEP)
        with c3:
            if st.checkbox("Only a date range", key="an_use_dates", **KEEP):
                d0, d1 = st.columns(2)
                d0.date_input("From", key="an_since", **KEEP)
                d1.date_input("To", key="an_until", **KEEP)

project_id = st.session_state.get("an_project")
project_id = project_id if project_id in projects else None
document_id = st.session_state.get("an_document")
if document_id is not None and document_id not in (docs or analytics_service.document_titles(eng, me, project_id)):
    document_id = None
user_id = st.session_state.get("an_user")
user_id = user_id if user_id in people else None
since = until = None
if st.session_state.get("an_use_dates") and "an_since" in st.session_state and "an_until" in st.session_state:
    since = datetime.combine(st.session_state.an_since, time.min, tzinfo=UTC)
    until = datetime.combine(st.session_state.an_until, time.max, tzinfo=UTC)
sessions = st.session_state.get("an_sessions", "all")

filters = analytics.Filters(
    project_id=project_id,
    document_id=document_id,
    user_id=user_id,
    since=since,
    until=until,
    simulated={"all": None, "people only": False, "simulated only": True}[sessions],
)
# the proposer filter's choices come from the records it filters: ask with the last choice, and again if
# the widget no longer offers it
asked = st.session_state.get("an_proposer")
found = cached.analytics_summary(eng, me, filters, asked)
proposer = asked if asked in found.proposers else None
if c2 is not None:
    drop_stale("an_proposer", found.proposers)
    with c2:
        proposer = st.selectbox(
            "Proposer",
            [None, *found.proposers],
            format_func=lambda p: p or "All proposers",
            key="an_proposer",
            **KEEP,
        )
if proposer != asked:
    found = cached.analytics_summary(eng, me, filters, proposer)

if found.empty:
    st.info("No proposed edits match these filters yet. Revise a document, or run `python -m core simulate`.")
    st.stop()

total = found.total
m = st.columns(5)
m[0].metric("Edits proposed", f"{total['proposed']:,}")
m[1].metric("Shown", f"{total['shown']:,}")
m[2].metric("Hidden", f"{total['hidden']:,}")
m[3].metric("Decided", f"{total['decided']:,}")
m[4].metric("Acceptance", "–" if total["acceptance"] is None else f"{total['acceptance']:.0%}")


def download(rows: list[dict], name: str) -> None:
    st.download_button(
        "Download data (CSV)",
        analytics.Report(name, rows).as_csv(),
        file_name=f"redraft-{name}.csv",
        mime="text/csv",
        key=f"an_dl_{name}",
        icon=":material/download:",
    )


def acceptance_chart(by: str, title: str, *, horizontal: bool = False, top: int | None = None) -> None:
    rows = found.acceptance[by]
    if top is not None:
        rows = sorted(rows, key=lambda r: -int(r["proposed"]))[:top]
    fig = charts.acceptance_figure(rows, by, title, horizontal=horizontal)
    st.plotly_chart(fig, key=f"an_chart_{by}")
    download(rows, f"acceptance-by-{by}")


# only the open tab is computed and drawn (a closed tab still runs its body unless told)
tab_acc, tab_rounds, tab_hidden, tab_pref, tab_sim, tab_agree = st.tabs(
    ["Acceptance", "Rounds and time", "Hidden and muted", "Preference model", "Simulated runs", "Agreement"],
    key="an_tab",
    on_change="rerun",
)

with tab_acc:
    if tab_acc.open:
        by = st.segmented_control(
            "Acceptance by",
            list(BREAKDOWNS),
            default="depth",
            required=True,
            format_func=lambda b: BREAKDOWNS[b][0].split(" (")[0],
            key="an_by",
        )
        label, options = BREAKDOWNS[by]
        acceptance_chart(by, f"Acceptance by {label}", **options)

with tab_rounds:
    if tab_rounds.open:
        per_depth = found.per_depth
        df = pd.DataFrame(per_depth)
        fig = go.Figure()
        fig.add_bar(x=df["depth"], y=df["shown_per_round"], name="shown")
        fig.add_bar(x=df["depth"], y=df["proposed_per_round"] - df["shown_per_round"], name="hidden")
        fig.add_scatter(x=df["depth"], y=df["accepted_per_round"], name="accepted", mode="lines+markers")
        fig.update_layout(barmode="stack", title="Edits per round, by depth (mean)", margin=dict(t=40))
        fig.update_xaxes(title_text="depth", **charts.integer_axis())
        fig.update_yaxes(title_text="edits per round")
        st.plotly_chart(fig, key="an_chart_rounds")
        download(per_depth, "edits-per-depth")
        # thousands of rows: built only while the expander is open (a closed one still runs its body)
        every_round = st.expander("Every round", key="an_every_round", on_change="rerun")
        if every_round.open:
            with every_round:
                st.dataframe(pd.DataFrame(found.per_round), hide_index=True)
                download(found.per_round, "edits-per-round")
        times = found.times
        st.subheader("Time to decide")
        if times:
            bins = found.seconds
            fig = go.Figure(
                go.Bar(
                    x=[(b["start"] + b["end"]) / 2 for b in bins],
                    y=[b["count"] for b in bins],
                    width=[b["end"] - b["start"] for b in bins],
                    customdata=[[b["start"], b["end"]] for b in bins],
                    hovertemplate="%{customdata[0]:.1f}–%{customdata[1]:.1f} s: %{y:,} decisions<extra></extra>",
                )
            )
            fig.update_layout(title="Seconds per decision", xaxis_title="seconds per decision", yaxis_title="decisions")
            st.plotly_chart(fig, key="an_chart_time")
            st.dataframe(pd.DataFrame(times), hide_index=True)
            download(times, "decision-times")
        else:
            st.caption("No decision times recorded (simulated runs and imported logs have none).")

with tab_hidden:
    if tab_hidden.open:
        hidden = found.hidden
        if not hidden:
            st.info("Nothing was hidden: no muted rules or intents, and no edits below a person's threshold.")
        else:
            df = pd.DataFrame(hidden)
            df["what"] = df["reason"] + df["value"].map(lambda v: f": {v}" if v else "")
            fig = px.bar(
                df.iloc[::-1],
                x="hidden",
                y="what",
                orientation="h",
                hover_data=["shown_anyway", "accepted_anyway"],
                title="Hidden edits by reason",
            )
            fig.update_layout(height=max(300, 24 * len(df)), yaxis_title=None, margin=dict(t=40))
            st.plotly_chart(fig, key="an_chart_hidden")
            st.caption("Shown anyway: hidden edits a person chose to look at and decided. Unmute on the Learning page.")
            download(hidden, "hidden")

with tab_pref:
    if tab_pref.open:
        q = found.preference
        if not q["n"]:
            st.info(
                "No predictions yet: the preference model predicts once enough edits have been decided in a project."
            )
        else:
            c = st.columns(4)
            c[0].metric("Predictions with a decision", f"{q['n']:,}")
            c[1].metric(
                "Accuracy", f"{q['accuracy']:.0%}", help=f"Always guessing the majority: {q['majority_accuracy']:.0%}"
            )
            c[2].metric(
                "Brier score",
                f"{q['brier']:.3f}",
                help="Mean squared error of the predicted acceptance (lower is better)",
            )
            c[3].metric("Calibration error", f"{q['ece']:.3f}", help="Expected calibration error over 10 bins")
            st.caption(
                "Each prediction was made when its edit was proposed, before the person decided: these are held-out "
                "figures. Hidden edits nobody looked at are not counted."
            )
            cal = pd.DataFrame(q["calibration"])
            fig = go.Figure()
            fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line=dict(dash="dot", color="gray"))
            fig.add_scatter(
                x=cal["predicted"],
                y=cal["observed"],
                mode="lines+markers",
                name="model",
                text=cal["count"],
                hovertemplate="predicted %{x:.0%}<br>accepted %{y:.0%}<br>n=%{text} edits",
            )
            fig.update_layout(
                title="Calibration: predicted vs actual acceptance",
                xaxis_title="predicted",
                yaxis_title="accepted",
                xaxis_range=[0, 1],
                yaxis_range=[0, 1],
                xaxis_tickformat=".0%",
                yaxis_tickformat=".0%",
                margin=dict(t=40),
            )
            st.plotly_chart(fig, key="an_chart_calibration")
            download(q["calibration"], "calibration")

with tab_sim:
    if tab_sim.open:
        rows = analytics_service.distance_rows(eng, me, found.simulated_projects)
        if not rows:
            st.info(
                "No simulated runs with references here. Try `python -m core simulate --corpus conll14 --documents 10`."
            )
        else:
            df = pd.DataFrame(rows)
            fig = px.line(
                df,
                x="depth",
                y="mean_distance",
                color="project",
                markers=True,
                title="Token edit distance to the reference, by depth (mean per document)",
            )
            fig.update_xaxes(**charts.integer_axis())
            fig.update_layout(legend=dict(orientation="h", y=-0.3), margin=dict(t=40))
            st.plotly_chart(fig, key="an_chart_distance")
            download(rows, "distance-to-reference")

with tab_agree:
    if tab_agree.open:
        # Several people on the same edits: a campaign's shared rounds, or the edits people's own threads have
        # in common (imported R3 logs: depth-1 edits are the same for every annotator of a document).
        if not options.everyone:
            st.info("Agreement compares several people's decisions: researchers and admins see it.")
        else:
            runs = campaign_views.run_campaigns(eng, me)
            source = st.selectbox(
                "Edits",
                [None, *runs],
                format_func=lambda c: (
                    "Matched edits in people's own threads (imported logs)" if c is None else f"Campaign: {runs[c]}"
                ),
                key="an_agree_source",
            )
            try:
                report = campaign_views.agreement_report(
                    eng, me, campaign_id=source, project_id=project_id, document_id=document_id
                )
                agreement.show(report, key="an_agree")
            except RedraftError as exc:
                st.info(md_escape(str(exc)))
