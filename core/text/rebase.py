"""Re-basing edits over a change made by hand: pure.

A writer edits the text while a round's edits wait for review. Each pending edit either lies clear of
every changed span (it moves by the length the changes before it added or removed, and still applies
to the new text) or is touched by one (it is dropped: what it would change is no longer there as it
was). Changes are the word-aligned diff of the old and new text (core.text.edits.diff).

Touching: the spans overlap; or an insertion lands strictly inside the other span; or both are
insertions at one offset (their order would be a guess). Text added right before or after an edit,
or an edit right next to a changed span, leaves it alone.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from core.text.edits import Edit, diff


@dataclass(frozen=True)
class Rebased:
    """Where each edit (in the order given) lies in the new text: (start, end), or None if dropped."""

    text: str
    spans: tuple[tuple[int, int] | None, ...]
    changes: tuple[Edit, ...]  # old -> new text, on the old text

    @property
    def dropped(self) -> list[int]:
        return [i for i, s in enumerate(self.spans) if s is None]


def touches(change: Edit, start: int, end: int) -> bool:
    """Whether `change` (on the old text) touches the span [start, end) of the old text."""
    cs, ce = change.start, change.end
    if cs == ce and start == end:
        return cs == start
    if cs == ce:
        return start < cs < end
    if start == end:
        return cs < start < ce
    return cs < end and start < ce


def rebase(old_text: str, new_text: str, spans: Sequence[tuple[int, int]]) -> Rebased:
    """Each span of `old_text` moved onto `new_text`, or None where the change from old to new
    touches it."""
    changes = diff(old_text, new_text)
    starts = [c.start for c in changes]
    # shift[i]: what changes[:i] added (or removed) in length
    shift = [0]
    for c in changes:
        shift.append(shift[-1] + len(c.after) - (c.end - c.start))
    out: list[tuple[int, int] | None] = []
    for start, end in spans:
        # changes starting at or before `end` may touch; only those within reach are looked at
        hi = bisect_right(starts, end)
        lo = hi
        while lo > 0 and changes[lo - 1].end >= start:
            lo -= 1
        if any(touches(changes[i], start, end) for i in range(lo, hi)):
            out.append(None)
            continue
        # changes wholly before the span move it (an insertion at its start included)
        before = sum(1 for i in range(lo, hi) if changes[i].end <= start)
        delta = shift[lo + before]
        out.append((start + delta, end + delta))
    return Rebased(new_text, tuple(out), tuple(changes))
