"""Agreement figures on hand-made units: nominal alpha, kappa, percent agreement, undefined cases,
and the label that stands."""

from __future__ import annotations

import pytest

from core.campaigns.agreement import UNDEFINED_FEW, UNDEFINED_SAME, Unit, by_group, figures
from core.campaigns.labels import LabelSource, label_of


def _units(rows: list[tuple[str, ...]], intent: str = "fluency") -> list[Unit]:
    return [Unit(key=i, labels=dict(enumerate(r)), intent=intent) for i, r in enumerate(rows)]


def test_perfect_agreement_is_one_and_nominal() -> None:
    f = figures(_units([("accept", "accept"), ("reject", "reject"), ("modify", "modify")]))
    assert f.alpha == 1.0 and f.percent_agreement == 1.0 and f.pairs[0]["kappa"] == 1.0


def test_alpha_is_nominal_not_interval() -> None:
    # accept/modify disagreement costs as much as accept/reject under nominal
    a = figures(_units([("accept", "reject"), ("reject", "reject"), ("accept", "accept")])).alpha
    b = figures(_units([("accept", "modify"), ("modify", "modify"), ("accept", "accept")])).alpha
    assert a == b and a is not None and a < 1


def test_every_decision_the_same_is_undefined_with_the_reason() -> None:
    f = figures(_units([("accept", "accept")] * 4))
    assert f.alpha is None and f.alpha_undefined == UNDEFINED_SAME and f.percent_agreement == 1.0
    assert f.pairs[0]["kappa"] is None and f.pairs[0]["kappa_undefined"] == UNDEFINED_SAME
    assert figures(_units([("accept", "reject")])).alpha_undefined == UNDEFINED_FEW


def test_units_judged_by_one_person_count_nowhere_and_groups_split() -> None:
    units = [*_units([("accept", "reject"), ("reject", "reject")], "fluency"), Unit(key="x", labels={0: "accept"})]
    assert figures(units).units == 2
    rows = by_group([*units, *_units([("accept", "accept")], "clarity")], "intent")
    assert [r["intent"] for r in rows] == ["clarity", "fluency"]


@pytest.mark.parametrize(
    ("votes", "source", "label"),
    [
        (("accept", "accept"), LabelSource.UNANIMOUS, "accept"),
        (("accept", "accept", "reject"), LabelSource.MAJORITY, "accept"),
        (("accept", "reject"), LabelSource.UNRESOLVED, None),
        ((), LabelSource.UNRESOLVED, None),
    ],
)
def test_the_label_that_stands(votes: tuple[str, ...], source: LabelSource, label: str | None) -> None:
    lab = label_of(Unit(key=1, labels=dict(enumerate(votes))), None)
    assert lab.source == source and lab.label == label
