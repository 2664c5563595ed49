"""Why an edit is stored hidden: a kind (core.models.HiddenKind), the rule or intent it names, and
the text shown. Stored as columns, so nothing parses the reason back from its text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from core.models import HiddenKind

# Each kind's group label, in the order counts are shown ("12 hidden from muted rules").
GROUP_LABELS: dict[HiddenKind, str] = {
    HiddenKind.PROJECT_MUTED_RULE: "rules muted for the project",
    HiddenKind.PROJECT_MUTED_INTENT: "intents muted for the project",
    HiddenKind.MUTED_RULE: "muted rules",
    HiddenKind.MUTED_INTENT: "muted intents",
    HiddenKind.BELOW_THRESHOLD: "edits predicted unlikely to be accepted",
    HiddenKind.PROTECTED_TERM: "edits that would change a protected term",
    HiddenKind.MANUAL_EDIT: "edits dropped by a change made by hand",
}
# The reason's text starts with these (kept as the first build wrote them).
PREFIXES: dict[HiddenKind, str] = {
    HiddenKind.PROJECT_MUTED_RULE: "rule muted for the project",
    HiddenKind.PROJECT_MUTED_INTENT: "intent muted for the project",
    HiddenKind.MUTED_RULE: "muted rule",
    HiddenKind.MUTED_INTENT: "muted intent",
    HiddenKind.BELOW_THRESHOLD: "unlikely to be accepted",
    HiddenKind.PROTECTED_TERM: "changes a protected term",
    HiddenKind.MANUAL_EDIT: "dropped: the text there was changed by hand",
}
OTHER = "other"


@dataclass(frozen=True)
class Hidden:
    kind: HiddenKind
    value: str | None  # the muted rule or intent, or the protected term
    text: str  # as shown: "muted rule: lingotweaker:X"


def muted(kind: HiddenKind, value: str) -> Hidden:
    return Hidden(kind, value, f"{PREFIXES[kind]}: {value}")


def protected(term: str) -> Hidden:
    return Hidden(HiddenKind.PROTECTED_TERM, term, f"{PREFIXES[HiddenKind.PROTECTED_TERM]}: {term}")


def manual_edit(version_id: int) -> Hidden:
    """An edit a change made by hand touched (it became version `version_id`)."""
    kind = HiddenKind.MANUAL_EDIT
    return Hidden(kind, str(version_id), f"{PREFIXES[kind]} (version #{version_id})")


def group_label(kind: str | None) -> str:
    """The group a hidden kind falls in ("muted rules", ...)."""
    try:
        return GROUP_LABELS[HiddenKind(kind or "")]
    except ValueError:
        return OTHER


def counts(kinds: Iterable[str | None]) -> list[tuple[str, int]]:
    """(group, count) of hidden edits by kind, in GROUP_LABELS order."""
    tally = Counter(group_label(k) for k in kinds if k)
    order = [*GROUP_LABELS.values(), OTHER]
    return [(label, tally[label]) for label in order if tally[label]]
