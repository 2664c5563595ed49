"""How far two texts are apart, in word and punctuation tokens (for simulated users and analytics)."""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein

from core.text.segment import token_strings


def words(text: str) -> list[str]:
    """Tokens that count for the distance: words and punctuation, not whitespace."""
    return [t for t in token_strings(text) if not t.isspace()]


def token_distance(a: str | Sequence[str], b: str | Sequence[str]) -> int:
    """Levenshtein distance between the token sequences of two texts."""
    ta = words(a) if isinstance(a, str) else a
    tb = words(b) if isinstance(b, str) else b
    return Levenshtein.distance(ta, tb)
