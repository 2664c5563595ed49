"""Agreement figures as the Campaigns and Analytics pages show them (one renderer for both)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.services.campaign_views import AgreementReport

GROUP_LABELS = {"intent": "By intent", "depth": "By depth", "source": "By rule or model", "user": "By pair of people"}


def _figure(value: float | None, why: str | None, fmt: str = "{:.3f}") -> str:
    return fmt.format(value) if value is not None else "undefined"


def show(report: AgreementReport, key: str) -> None:
    """Headline figures, then a table (and chart) per grouping; 'undefined' always with its reason."""
    o = report.overall
    if not o["units"]:
        st.info("No edit has been judged by two people yet: agreement needs shared edits with two finishers or more.")
        return
    m = st.columns(4)
    m[0].metric("Edits judged by 2+ people", f"{o['units']:,}", help=f"{o['people']} people")
    m[1].metric("Krippendorff's alpha (nominal)", _figure(o["alpha"], o["alpha_undefined"]))
    m[2].metric("Full agreement", _figure(o["percent_agreement"], None, "{:.0%}"))
    m[3].metric("Mean pairwise Cohen's kappa", _figure(o["kappa_mean"], None))
    if o["alpha_undefined"]:
        st.caption(f"Alpha is undefined: {o['alpha_undefined']}.")
    for tab, group in zip(st.tabs(list(GROUP_LABELS.values())), GROUP_LABELS, strict=True):
        with tab:
            rows = report.by.get(group, [])
            if not rows:
                st.caption("Nothing to group yet.")
                continue
            df = pd.DataFrame(rows)
            st.dataframe(df, hide_index=True, key=f"{key}_{group}_table")
            if group != "user" and df["alpha"].notna().any():
                fig = px.bar(df, x=df[group].astype(str), y="alpha", hover_data=["units", "percent_agreement"])
                fig.update_layout(xaxis_title=group, yaxis_title="alpha", margin=dict(t=20, b=10), height=280)
                st.plotly_chart(fig, key=f"{key}_{group}_chart")
