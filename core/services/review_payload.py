"""What the review component is sent: plain JSON built from a round view or two texts (pure).

Document text is split into the gaps between edits here, so the browser never slices by Python
offsets (JavaScript strings count UTF-16 units, Python code points).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from core.decisions import EditStatus
from core.revision.feedback import most_likely_first
from core.revision.review import RoundView
from core.text.edits import Edit
from core.text.terms import term_of_change

log = logging.getLogger(__name__)


def review_scope(round_id: int, user_id: int) -> str:
    """Names this review in the browser's localStorage (outbox, focused edit)."""
    return f"r{round_id}-u{user_id}"


def _segments(text: str, spans: list[tuple[int, int]]) -> list[str]:
    """The text between sorted, non-overlapping spans: len(spans) + 1 strings."""
    out, cursor = [], 0
    for start, end in spans:
        out.append(text[cursor:start])
        cursor = end
    out.append(text[cursor:])
    return out


def _changed_term(text: str, start: int, end: int, before: str, after: str) -> str | None:
    """The word an edit really changes: its old and new text's shared ends left out first, so
    "However" -> "However," (a comma added) offers no word to protect, "GigaBERT" -> "Gilbert" does."""
    head = 0
    while head < min(len(before), len(after)) and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < min(len(before), len(after)) - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    return term_of_change(text, start + head, end - tail)


def review_payload(
    view: RoundView,
    *,
    scope: str,
    results: Mapping[str, str | None] | None = None,
    locked: str | None = None,
    likely_first: bool = False,
    protect_project: bool = False,
) -> dict[str, Any]:
    """The component's data for a round: text gaps, edits in document order, this person's state.

    With `likely_first`, next/previous visit edits by predicted acceptance, highest first. With
    `protect_project`, an edit's word can also be protected in every document of the project."""
    states = sorted(view.edits + view.hidden, key=lambda s: (s.row.start, s.row.end, s.row.position, s.row.id))
    kept, spans, cursor, skipped = [], [], 0, 0
    for s in states:
        r = s.row
        # Stored edits never overlap and match their base text; anything else cannot be shown inline.
        if r.start < cursor or r.end > len(view.base_text) or view.base_text[r.start : r.end] != r.before:
            skipped += 1
            continue
        kept.append(s)
        spans.append((r.start, r.end))
        cursor = r.end
    if skipped:
        log.warning("round %s: %d edit(s) overlap or do not match the base text; not shown", view.round.id, skipped)
    edits = []
    for s in kept:
        r = s.row
        alts = [a for a in dict.fromkeys(r.alternatives or []) if isinstance(a, str) and a != r.after]
        edits.append(
            {
                "id": r.id,
                "b": r.before,
                "a": r.after,
                "i": r.intent or "",
                "x": r.explanation or "",
                "src": r.source or "",
                "alt": alts,
                "sc": r.score,
                "p": r.predicted_accept,
                "h": r.hidden_reason,
                # the word a "Never change" button would protect (None: the edit alters no word)
                "nt": _changed_term(view.base_text, r.start, r.end, r.before, r.after),
            }
        )
    state = {
        str(s.row.id): [s.status, s.modified_text, s.comment] if s.comment else [s.status, s.modified_text]
        for s in kept
        if s.status != EditStatus.PENDING
    }
    # hidden-ness is in the signature: a term protected during the review rebuilds the view
    ids = ",".join(f"{s.row.id}{'h' if s.row.hidden_kind else ''}" for s in kept)
    sig = hashlib.sha1(f"review:{view.round.id}:{view.round.base_version_id}:{ids}".encode()).hexdigest()[:16]
    return {
        "mode": "review",
        "sig": sig,
        "scope": scope,
        "segs": _segments(view.base_text, spans),
        "edits": edits,
        "state": state,
        "results": dict(results or {}),
        "locked": locked,
        "skipped": skipped,
        "pp": protect_project,
        "order": most_likely_first(list(range(len(kept))), [s.row.predicted_accept for s in kept])
        if likely_first
        else None,
    }


def diff_payload(old_text: str, new_text: str, edits: Iterable[Edit], *, scope: str = "diff") -> dict[str, Any]:
    """Read-only data: `edits` turn old_text into new_text (as core.text.edits.diff gives them)."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    items = [
        {"id": n, "b": e.before, "a": e.after, "i": "", "x": "", "src": "", "alt": []} for n, e in enumerate(ordered)
    ]
    sig = hashlib.sha1(f"diff:{len(old_text)}:{len(new_text)}:{old_text}\x00{new_text}".encode()).hexdigest()[:16]
    return {
        "mode": "diff",
        "sig": sig,
        "scope": scope,
        "segs": _segments(old_text, [(e.start, e.end) for e in ordered]),
        "edits": items,
        "state": {},
        "results": {},
        "locked": None,
        "summary": {
            "inserted": sum(len(e.after) for e in ordered),
            "deleted": sum(len(e.before) for e in ordered),
        },
    }
