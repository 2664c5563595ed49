"""Agreement between people on shared edits: Krippendorff's alpha (nominal), pairwise Cohen's kappa
and percent agreement, overall and by depth, intent, rule or model, or pair of people.

A unit is one shared edit: in a campaign, one edit row of an item's shared round; in imported R3
logs, the edits of several people's threads that are the same change on the same base version
(R3's depth-1 edits are the same for everyone). Labels are nominal (accept, reject, modify).
The libraries do the sums (`krippendorff`, scikit-learn); a figure that cannot be computed is
None with the reason, never a number that looks meaningful.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

# krippendorff and scikit-learn are imported where they are used: this module is on every page's import
# path (through the campaign services), and scikit-learn alone takes over a second to import.

LABELS = ("accept", "reject", "modify")
_CODE = {label: i for i, label in enumerate(LABELS)}
GROUPS = ("depth", "intent", "source", "user")

UNDEFINED_SAME = "every decision is the same, so chance agreement is total"
UNDEFINED_FEW = "fewer than two edits judged by two people or more"


@dataclass(frozen=True)
class Unit:
    """One shared edit and each person's standing label on it (pending people left out)."""

    key: Any  # the edit id, or (base version, start, end, before, after) for matched edits
    labels: dict[int, str]  # user id -> accept | reject | modify
    depth: int = 1
    intent: str | None = None
    source: str | None = None
    edit_ids: tuple[int, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def judged(self) -> bool:
        """Judged by two people or more: it can show agreement."""
        return len(self.labels) >= 2

    @property
    def unanimous(self) -> bool:
        return len(set(self.labels.values())) == 1


@dataclass(frozen=True)
class Figures:
    """Agreement on a set of units."""

    units: int  # judged by two or more
    people: int
    alpha: float | None
    alpha_undefined: str | None
    percent_agreement: float | None  # share of units on which everyone agreed
    kappa_mean: float | None
    pairs: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "people": self.people,
            "alpha": self.alpha,
            "alpha_undefined": self.alpha_undefined,
            "percent_agreement": self.percent_agreement,
            "kappa_mean": self.kappa_mean,
            "pairs": self.pairs,
        }


def _round(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), 4)


def alpha(units: Sequence[Unit]) -> tuple[float | None, str | None]:
    """Krippendorff's alpha, nominal (the package's default is interval: never for these labels)."""
    judged = [u for u in units if u.judged]
    if len(judged) < 2:
        return None, UNDEFINED_FEW
    people = sorted({p for u in judged for p in u.labels})
    matrix = np.full((len(people), len(judged)), np.nan)
    row = {p: i for i, p in enumerate(people)}
    for j, unit in enumerate(judged):
        for person, label in unit.labels.items():
            matrix[row[person], j] = _CODE[label]
    if len({label for u in judged for label in u.labels.values()}) < 2:
        return None, UNDEFINED_SAME
    import krippendorff

    try:
        value = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    except ValueError as exc:  # the package refuses a single value domain
        return None, f"undefined: {exc}"
    return _round(value), None


def pairwise(units: Sequence[Unit], names: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """Cohen's kappa and percent agreement for each pair of people on the units both judged."""
    from sklearn.metrics import cohen_kappa_score

    # labels as codes, compared as arrays: sklearn sorting 50,000 strings per pair took most of the time
    by_person: dict[int, dict[Any, int]] = defaultdict(dict)
    for unit in units:
        for person, label in unit.labels.items():
            by_person[person][unit.key] = _CODE[label]
    out = []
    for a, b in combinations(sorted(by_person), 2):
        mine, theirs = by_person[a], by_person[b]
        shared = mine.keys() & theirs.keys()  # the order is immaterial: both lists follow it
        if not shared:
            continue
        ya = np.fromiter((mine[k] for k in shared), dtype=np.int8, count=len(shared))
        yb = np.fromiter((theirs[k] for k in shared), dtype=np.int8, count=len(shared))
        same = int(np.count_nonzero(ya == yb))
        kappa: float | None = None
        reason = None
        if len(shared) < 2:
            reason = UNDEFINED_FEW
        elif len(np.union1d(ya, yb)) < 2:
            reason = UNDEFINED_SAME
        else:
            kappa = _round(float(cohen_kappa_score(ya, yb, labels=list(range(len(LABELS))))))
            if kappa is None:
                reason = "undefined: one person gave the same label throughout"
        out.append(
            {
                "a": (names or {}).get(a, str(a)),
                "b": (names or {}).get(b, str(b)),
                "shared": len(shared),
                "percent_agreement": round(same / len(shared), 4),
                "kappa": kappa,
                "kappa_undefined": reason,
            }
        )
    return out


def figures(units: Iterable[Unit], names: dict[int, str] | None = None) -> Figures:
    """Every figure for these units; only units judged by two or more people count."""
    judged = [u for u in units if u.judged]
    value, reason = alpha(judged)
    pairs = pairwise(judged, names)
    kappas = [p["kappa"] for p in pairs if p["kappa"] is not None]
    return Figures(
        units=len(judged),
        people=len({p for u in judged for p in u.labels}),
        alpha=value,
        alpha_undefined=reason,
        percent_agreement=round(sum(u.unanimous for u in judged) / len(judged), 4) if judged else None,
        kappa_mean=round(sum(kappas) / len(kappas), 4) if kappas else None,
        pairs=pairs,
    )


_GROUP_KEY: dict[str, Callable[[Unit], object]] = {
    "depth": lambda u: u.depth,
    "intent": lambda u: u.intent or "(none)",
    "source": lambda u: u.source or "(none)",
}


def by_group(units: Iterable[Unit], by: str, names: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """One row of figures per depth, intent or source; per pair of people for "user"."""
    if by not in GROUPS:
        raise ValueError(f"Group agreement by one of {', '.join(GROUPS)}.")
    judged = [u for u in units if u.judged]
    if by == "user":
        return pairwise(judged, names)
    groups: dict[object, list[Unit]] = defaultdict(list)
    for unit in judged:
        groups[_GROUP_KEY[by](unit)].append(unit)
    rows = []
    for key in sorted(groups, key=str):
        f = figures(groups[key], names)
        rows.append(
            {
                by: key,
                "units": f.units,
                "people": f.people,
                "alpha": f.alpha,
                "alpha_undefined": f.alpha_undefined,
                "percent_agreement": f.percent_agreement,
                "kappa_mean": f.kappa_mean,
            }
        )
    return rows
