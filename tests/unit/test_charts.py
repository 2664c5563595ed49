"""The Analytics charts: a rate always carries its count, 0% bars are seen, depth ticks are whole rounds."""

from __future__ import annotations

from ui import charts


def _row(by: str, group: object, decided: int, accepted: int, proposed: int | None = None) -> dict[str, object]:
    return {
        by: group,
        "proposed": proposed if proposed is not None else decided,
        "decided": decided,
        "acceptance": accepted / decided if decided else None,
    }


def test_a_full_bar_on_one_decision_says_n_1_and_a_zero_bar_is_visible() -> None:
    rows = [_row("depth", 1, 40, 30), _row("depth", 2, 1, 1), _row("depth", 3, 5, 0), _row("depth", 4, 0, 0, 3)]
    fig = charts.acceptance_figure(rows, "depth", "by depth").to_plotly_json()
    (bar,) = fig["data"]
    assert list(bar["text"]) == ["75% (n=40)", "100% (n=1)", "0% (n=5)", "no decisions (n=0)"]
    assert "n=1" in bar["hovertext"][1] and "proposed: 1" in bar["hovertext"][1]
    heights = list(bar["y"])
    assert heights[:2] == [75.0, 100.0]
    assert heights[2] > 0 and heights[3] > 0  # drawn, not zero-height
    assert [c[0] for c in bar["customdata"]] == [75.0, 100.0, 0.0, None]  # the true values
    assert bar["marker"]["color"][3] != bar["marker"]["color"][2]  # no decisions is not 0%
    layout = fig["layout"]
    assert layout["xaxis"]["dtick"] == 1 and layout["xaxis"]["tickformat"] == "d"
    assert layout["yaxis"]["ticksuffix"] == "%"


def test_horizontal_chart_puts_percent_on_x_and_groups_as_categories() -> None:
    rows = [_row("source", "test:sunny", 9, 0), _row("source", "test:Teh", 3, 3)]
    fig = charts.acceptance_figure(rows, "source", "by rule", horizontal=True).to_plotly_json()
    (bar,) = fig["data"]
    assert bar["orientation"] == "h"
    assert list(bar["y"]) == ["test:sunny", "test:Teh"]
    assert bar["x"][0] > 0 and list(bar["text"]) == ["0% (n=9)", "100% (n=3)"]
    assert fig["layout"]["xaxis"]["ticksuffix"] == "%"
    assert fig["layout"]["yaxis"]["type"] == "category"
