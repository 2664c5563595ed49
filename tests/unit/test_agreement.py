"""Agreement figures on hand-made units: nominal alpha, kappa, percent agreement, undefined cases,
and the label that stands."""

from __future__ import annotations

import pytest

from core.campaigns.agreement import UNDEFINED_FEW, UNDEFINED_SAME, Unit, by_group, figures, pairwise
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


def test_pairwise_kappa_and_agreement_match_their_definitions_on_random_units():
    """Codes as arrays, in any order of the shared edits: the same figures as sklearn on the labels."""
    import random

    from sklearn.metrics import cohen_kappa_score

    rng = random.Random(7)
    units = []
    for n in range(400):
        people = rng.sample(range(5), rng.randint(1, 4))
        key = n if n % 2 else (n, "base", 3, 9)  # campaign edit ids and matched-edit tuples alike
        units.append(Unit(key=key, labels={p: rng.choice(["accept", "accept", "reject", "modify"]) for p in people}))
    for row in pairwise(units):
        a, b = int(row["a"]), int(row["b"])
        shared = [u for u in units if a in u.labels and b in u.labels]
        ya, yb = [u.labels[a] for u in shared], [u.labels[b] for u in shared]
        assert row["shared"] == len(shared) > 0
        assert row["percent_agreement"] == round(sum(x == y for x, y in zip(ya, yb, strict=True)) / len(shared), 4)
        expected = cohen_kappa_score(ya, yb, labels=["accept", "reject", "modify"])
        assert row["kappa"] == pytest.approx(round(float(expected), 4), abs=1e-12)
