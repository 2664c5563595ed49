"""core.learning.analytics on known records: every figure checked against a hand count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.learning import analytics
from core.learning.analytics import EditRecord, Filters, RoundText

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MUTED_LT_D = {"hidden_reason": "muted rule: lt:D", "hidden_kind": "muted-rule", "hidden_value": "lt:D"}


def rec(edit_id: int, status: str, **kw: object) -> EditRecord:
    base = dict(
        edit_id=edit_id,
        round_id=kw.pop("round_id", 1),
        depth=kw.pop("depth", 1),
        thread_id=kw.pop("thread_id", 1),
        document_id=kw.pop("document_id", 1),
        project_id=kw.pop("project_id", 1),
        user_id=kw.pop("user_id", 1),
        status=status,
    )
    base.update(kw)
    return EditRecord(**base)  # type: ignore[arg-type]


RECORDS = [
    # round 1 (depth 1): 2 accepted, 1 rewritten, 2 rejected, 1 pending, 1 hidden (muted), user alice
    rec(1, "accept", intent="fluency", source="lt:A", user="alice", time_taken_ms=1000, proposed_at=T0),
    rec(2, "accept", intent="fluency", source="lt:A", user="alice", time_taken_ms=3000, proposed_at=T0),
    rec(3, "modify", intent="clarity", source="lt:B", user="alice", time_taken_ms=2000, proposed_at=T0),
    rec(4, "reject", intent="fluency", source="harper:C", user="alice", time_taken_ms=4000, proposed_at=T0),
    rec(5, "reject", intent="clarity", source="harper:C", user="alice", proposed_at=T0),
    rec(6, "pending", intent="fluency", source="lt:A", user="alice", proposed_at=T0),
    rec(
        7,
        "pending",
        intent="style",
        source="lt:D",
        user="alice",
        hidden_reason="muted rule: lt:D",
        hidden_kind="muted-rule",
        hidden_value="lt:D",
        proposed_at=T0,
    ),
    # round 2 (depth 2): a hidden edit the person looked at and accepted anyway; one below threshold
    rec(
        8,
        "accept",
        round_id=2,
        depth=2,
        intent="style",
        source="lt:D",
        user="alice",
        hidden_reason="muted rule: lt:D",
        hidden_kind="muted-rule",
        hidden_value="lt:D",
        proposed_at=T0 + timedelta(days=1),
    ),
    rec(
        9,
        "pending",
        round_id=2,
        depth=2,
        intent="fluency",
        source="lt:A",
        user="alice",
        hidden_reason="unlikely to be accepted: predicted 5% < 10%",
        hidden_kind="below-threshold",
        proposed_at=T0 + timedelta(days=1),
    ),
    rec(
        10,
        "reject",
        round_id=2,
        depth=2,
        intent="fluency",
        source="lt:A",
        user="alice",
        proposed_at=T0 + timedelta(days=1),
    ),
    # another person, another document and project
    rec(
        11,
        "accept",
        round_id=3,
        thread_id=2,
        document_id=2,
        project_id=2,
        user_id=2,
        user="bob",
        intent="fluency",
        source="lt:A",
        simulated=True,
        proposed_at=T0 + timedelta(days=2),
    ),
]


def test_tally_counts_shown_hidden_and_rates() -> None:
    t = analytics.tally(RECORDS)
    assert t["proposed"] == 11
    assert t["hidden"] == 2  # 7 and 9; 8 was hidden but decided, so it was shown
    assert t["shown"] == 9
    assert (t["accepted"], t["modified"], t["rejected"], t["pending"]) == (4, 1, 3, 1)
    assert t["decided"] == 8
    assert t["acceptance"] == pytest.approx(5 / 8)
    assert t["acceptance_of_shown"] == pytest.approx(5 / 9)
    assert analytics.tally([])["acceptance"] is None


def test_acceptance_by_depth_intent_source_user() -> None:
    by_depth = {r["depth"]: r for r in analytics.acceptance_by(RECORDS, "depth")}
    assert set(by_depth) == {1, 2}
    assert (by_depth[1]["decided"], by_depth[1]["accepted"] + by_depth[1]["modified"]) == (6, 4)
    assert by_depth[2]["acceptance"] == pytest.approx(1 / 2)  # 8 accepted (shown anyway), 10 rejected
    by_intent = {r["intent"]: r["acceptance"] for r in analytics.acceptance_by(RECORDS, "intent")}
    assert by_intent == {"clarity": pytest.approx(0.5), "fluency": pytest.approx(3 / 5), "style": 1.0}
    by_source = {r["source"]: r for r in analytics.acceptance_by(RECORDS, "source")}
    assert by_source["harper:C"]["acceptance"] == 0.0
    assert by_source["lt:D"]["hidden"] == 1 and by_source["lt:D"]["shown"] == 1
    by_engine = {r["engine"]: r["proposed"] for r in analytics.acceptance_by(RECORDS, "engine")}
    assert by_engine == {"harper": 2, "lt": 9}
    by_user = {r["user"]: r["acceptance"] for r in analytics.acceptance_by(RECORDS, "user")}
    assert by_user == {"alice": pytest.approx(4 / 7), "bob": 1.0}
    with pytest.raises(ValueError, match="group by one of"):
        analytics.acceptance_by(RECORDS, "colour")


def test_edits_per_round_and_depth_summary() -> None:
    rows = analytics.edits_per_round(RECORDS)
    assert [(r["round"], r["proposed"], r["shown"], r["hidden"], r["decided"]) for r in rows] == [
        (1, 7, 6, 1, 5),
        (2, 3, 2, 1, 2),
        (3, 1, 1, 0, 1),
    ]
    depth = {r["depth"]: r for r in analytics.per_depth_summary(RECORDS)}
    assert depth[1]["rounds"] == 2 and depth[1]["proposed_per_round"] == pytest.approx(4.0)  # (7 + 1) / 2
    assert depth[2]["shown_per_round"] == pytest.approx(2.0)


def test_decision_times() -> None:
    (row,) = analytics.decision_times(RECORDS)
    assert row["decisions"] == 4  # only decisions with a recorded time
    assert row["median_s"] == pytest.approx(2.5) and row["mean_s"] == pytest.approx(2.5)
    by_intent = {r["intent"]: r["decisions"] for r in analytics.decision_times(RECORDS, "intent")}
    assert by_intent == {"clarity": 1, "fluency": 3}


def test_hidden_summary_groups_reasons_and_counts_looked_at() -> None:
    rows = {(r["reason"], r["value"]): r for r in analytics.hidden_summary(RECORDS)}
    muted = rows[("muted rules", "lt:D")]
    assert (muted["hidden"], muted["shown_anyway"], muted["accepted_anyway"]) == (1, 1, 1)
    below = rows[("edits predicted unlikely to be accepted", "")]
    assert below["hidden"] == 1 and below["shown_anyway"] == 0


def test_preference_quality_accuracy_brier_and_calibration() -> None:
    records = [
        rec(1, "accept", predicted_accept=0.9),
        rec(2, "accept", predicted_accept=0.8),
        rec(3, "reject", predicted_accept=0.7),  # wrong at 0.5
        rec(4, "reject", predicted_accept=0.1),
        rec(5, "modify", predicted_accept=0.3),  # wrong at 0.5
        rec(6, "pending", predicted_accept=0.95),  # not decided: not counted
        rec(7, "reject"),  # no prediction: not counted
    ]
    q = analytics.preference_quality(records, bins=2)
    assert q["n"] == 5
    assert q["accuracy"] == pytest.approx(3 / 5)
    assert q["base_rate"] == pytest.approx(3 / 5) and q["majority_accuracy"] == pytest.approx(3 / 5)
    assert q["brier"] == pytest.approx((0.01 + 0.04 + 0.49 + 0.01 + 0.49) / 5)
    low, high = q["calibration"]
    assert (low["count"], low["observed"]) == (2, 0.5) and low["predicted"] == pytest.approx(0.2)
    assert (high["count"], high["observed"]) == (3, pytest.approx(2 / 3)) and high["predicted"] == pytest.approx(0.8)
    # ECE: weighted gap between predicted and observed per bin
    assert q["ece"] == pytest.approx((2 * 0.3 + 3 * abs(0.8 - 2 / 3)) / 5)
    assert analytics.preference_quality([rec(1, "accept")]) == {"n": 0, "calibration": []}


def test_distance_by_round_carries_stopped_threads_forward() -> None:
    refs = {1: "the cat sat on the mat", 2: "a dog ran"}
    texts = [
        RoundText(1, 0, "teh cat sat in teh mat"),  # 3 token substitutions
        RoundText(1, 1, "the cat sat in the mat"),  # 1
        RoundText(1, 2, "the cat sat on the mat"),  # 0
        RoundText(2, 0, "a dog run"),  # 1
        RoundText(2, 1, "a dog ran"),  # 0, and no depth-2 round: stays 0
        RoundText(3, 0, "no reference"),  # ignored
    ]
    rows = analytics.distance_by_round(texts, refs)
    assert [(r["depth"], r["documents"], r["mean_distance"]) for r in rows] == [(0, 2, 2.0), (1, 2, 0.5), (2, 2, 0.0)]
    assert rows[1]["share_of_start"] == pytest.approx(0.25)
    assert analytics.distance_by_round(texts, {}) == []


def test_filter_records() -> None:
    assert {r.edit_id for r in analytics.filter_records(RECORDS, Filters(project_id=2))} == {11}
    assert len(analytics.filter_records(RECORDS, Filters(user_id=1, document_id=1))) == 10
    assert {r.edit_id for r in analytics.filter_records(RECORDS, Filters(proposer="harper"))} == {4, 5}
    assert {r.edit_id for r in analytics.filter_records(RECORDS, Filters(simulated=True))} == {11}
    later = analytics.filter_records(
        RECORDS, Filters(since=T0 + timedelta(hours=1), until=T0 + timedelta(days=1, hours=1))
    )
    assert {r.edit_id for r in later} == {8, 9, 10}


def test_report_csv() -> None:
    csv = analytics.Report("x", [{"a": 1, "b": 0.1234567891}, {"a": 2, "c": T0}]).as_csv()
    lines = csv.strip().splitlines()
    assert lines[0] == "a,b,c"
    assert lines[1] == "1,0.123457,"
    assert lines[2] == "2,,2026-03-01T12:00:00+00:00"


def test_histogram_counts_every_value_once_in_equal_bins() -> None:
    values = [0.5, 1.0, 1.2, 9.9, 10.0]
    bins = analytics.histogram(values, bins=4)
    assert [b["count"] for b in bins] == [3, 0, 0, 2]  # the largest value falls in the last bin
    assert bins[0]["start"] == 0.5 and bins[-1]["end"] == pytest.approx(10.0)
    assert analytics.histogram([]) == []
    assert [b["count"] for b in analytics.histogram([2.0, 2.0], bins=3)] == [2, 0, 0]  # one value: no division by 0
