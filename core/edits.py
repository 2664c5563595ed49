"""Atomic edits: diff two texts into word-aligned edits, apply any subset of them.

(Interface pinned by the foundation; the edit engine fills in diff/apply.)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] (== before) with after. Offsets are str indices into the base text."""

    start: int
    end: int
    before: str
    after: str
    intent: str | None = None
    explanation: str = ""
    source: str = ""
    score: float | None = None
    alternatives: tuple[str, ...] = field(default=())

    @property
    def content_hash(self) -> str:
        """Stable id of what the edit does and where: same span and same change give the same hash."""
        key = f"{self.start}\x1f{self.end}\x1f{self.before}\x1f{self.after}"
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
