"""A read-only diff of two versions, drawn by the review component (the same look as reviewing)."""

from __future__ import annotations

from dataclasses import dataclass

from core.services import review_payload
from core.text.edits import diff
from ui import review_widget


@dataclass(frozen=True)
class DiffSummary:
    changes: int
    inserted: int
    deleted: int


def diff_view(old_text: str, new_text: str, *, key: str) -> DiffSummary:
    """Show how `old_text` became `new_text`: deletions struck through, insertions marked."""
    edits = diff(old_text, new_text)
    data = review_payload.diff_payload(old_text, new_text, edits, scope=key)
    review_widget.mount(data, key=key)
    return DiffSummary(len(edits), data["summary"]["inserted"], data["summary"]["deleted"])
