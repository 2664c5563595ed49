"""Plotly figures for the Analytics page, built from `core.learning.analytics` rows.

A rate is never shown without the count behind it: every acceptance bar carries its number of
decisions (n) in its label and on hover, a 0% bar keeps a sliver of height so it is seen, and a group
with no decisions yet says so instead of looking like 0%. Depth axes step by whole rounds.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

# a 0% bar is drawn this tall (in percentage points) so it is visible; its label and hover say 0%
MIN_VISIBLE_PCT = 1.5
NO_DECISIONS = "no decisions"


def _label(pct: float | None, n: int) -> str:
    if pct is None:
        return f"{NO_DECISIONS} (n=0)"
    return f"{pct:.0f}% (n={n:,})"


def _heights(pcts: Sequence[float | None]) -> list[float]:
    return [MIN_VISIBLE_PCT if p is None or p < MIN_VISIBLE_PCT else p for p in pcts]


def integer_axis() -> dict[str, object]:
    """Axis settings for a count of rounds: one tick per whole number, no half steps."""
    return {"tickmode": "linear", "tick0": 0, "dtick": 1, "tickformat": "d"}


def acceptance_figure(rows: Sequence[dict[str, object]], by: str, title: str, *, horizontal: bool = False) -> go.Figure:
    """Acceptance rate per group of `analytics.acceptance_by` rows, in %, labelled with n decided."""
    groups = [r[by] if by == "depth" else str(r[by]) for r in rows]
    rates = [None if r["acceptance"] is None else float(r["acceptance"]) * 100 for r in rows]  # type: ignore[arg-type]
    decided = [int(r["decided"]) for r in rows]  # type: ignore[call-overload]
    labels = [_label(rate, n) for rate, n in zip(rates, decided, strict=True)]
    hover = [
        f"{by} {g}<br>accepted: {label}<br>proposed: {int(r['proposed']):,}"  # type: ignore[call-overload]
        for g, label, r in zip(groups, labels, rows, strict=True)
    ]
    bar = go.Bar(
        x=_heights(rates) if horizontal else groups,
        y=groups if horizontal else _heights(rates),
        orientation="h" if horizontal else "v",
        text=labels,
        textposition="outside",
        cliponaxis=False,
        customdata=[[rate, n] for rate, n in zip(rates, decided, strict=True)],
        hovertext=hover,
        hovertemplate="%{hovertext}<extra></extra>",
        marker_color=["#bbbbbb" if rate is None else "#1f77b4" for rate in rates],
    )
    fig = go.Figure(bar)
    pct_axis = {
        "range": [0, 115],
        "tickvals": [0, 25, 50, 75, 100],
        "ticksuffix": "%",
        "title": {"text": "accepted (% of decided)"},
    }
    cat_axis: dict[str, object] = {"title": {"text": by}}
    if by == "depth":
        cat_axis.update(integer_axis())
    else:
        cat_axis["type"] = "category"
    if horizontal:
        fig.update_layout(xaxis=pct_axis, yaxis=cat_axis, height=max(300, 24 * len(rows)))
        fig.update_yaxes(autorange="reversed")  # largest group first, as the rows come
    else:
        fig.update_layout(xaxis=cat_axis, yaxis=pct_axis)
    fig.update_layout(title=title, margin={"t": 40, "b": 10}, showlegend=False)
    return fig
