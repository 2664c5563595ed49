"""Checks on a model's rewrite of a sentence: an output that fails one is dropped with its reason, never applied.

A rewrite fails when it is empty, runaway (stopped at the token limit, or far longer than the sentence),
repetitive (a word n-gram or a character run repeated more than the sentence repeats it), or changes far
more than a revision should (normalised edit distance to the sentence, in words; characters for short ones).

Spec params (all optional) tune the thresholds:
  max_change: 0.7 or {"paraphrase": 0.9, ...}   largest allowed change, 0..1 (per intent if a dict)
  max_length_ratio: 2.0                          output chars <= ratio * sentence chars + length_slack
  length_slack: 20
  max_repeats: 2                                 same word 3-gram at most this many times (beyond the sentence's)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz.distance import Indel

from core.errors import InputError

DEFAULT_MAX_CHANGE = 0.7
# Instructions that ask for a different wording may legitimately change most words.
INTENT_MAX_CHANGE: dict[str, float] = {"paraphrase": 0.9, "simplify": 0.85}
NGRAM = 3
SHORT_WORDS = 4

_WORDS = re.compile(r"\w+")  # punctuation left out: a shared full stop says nothing about closeness
# A unit of 1-12 characters repeated 5+ times in a row ("oooooo", "abcabcabcabcabc").
_RUN = re.compile(r"(.{1,12}?)\1{4,}", re.DOTALL)
# A word three or more times in a row ("go go go").
_WORD_RUN = re.compile(r"\b(\w+)(?:\s+\1\b){2,}", re.IGNORECASE)


@dataclass(frozen=True)
class GuardSettings:
    max_change: float = DEFAULT_MAX_CHANGE
    intent_max_change: Mapping[str, float] = field(default_factory=lambda: dict(INTENT_MAX_CHANGE))
    max_length_ratio: float = 2.0
    length_slack: int = 20
    max_repeats: int = 2

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> GuardSettings:
        """Thresholds from spec params; a bad value raises InputError naming the param."""
        try:
            change = params.get("max_change", DEFAULT_MAX_CHANGE)
            per_intent = dict(INTENT_MAX_CHANGE)
            if isinstance(change, Mapping):
                per_intent.update({str(k): float(v) for k, v in change.items() if k != "default"})
                change = change.get("default", DEFAULT_MAX_CHANGE)
            settings = cls(
                max_change=float(change),
                intent_max_change=per_intent,
                max_length_ratio=float(params.get("max_length_ratio", 2.0)),
                length_slack=int(params.get("length_slack", 20)),
                max_repeats=int(params.get("max_repeats", 2)),
            )
        except (TypeError, ValueError) as exc:
            raise InputError(f"Bad output-guard parameter: {exc}. Use numbers (max_change between 0 and 1).") from exc
        if not 0 < settings.max_change <= 1 or any(not 0 < v <= 1 for v in settings.intent_max_change.values()):
            raise InputError(
                "max_change must be between 0 and 1 (the largest share of the sentence a rewrite may change)."
            )
        return settings

    def change_limit(self, intent: str | None) -> float:
        return self.intent_max_change.get(intent, self.max_change) if intent else self.max_change


def change_ratio(source: str, output: str) -> float:
    """How much of the sentence a rewrite changes, 0..1: normalised Indel distance over words (case-folded),
    or over characters for sentences of fewer than SHORT_WORDS words, where one changed word is already a lot."""
    words = [w.casefold() for w in _WORDS.findall(source)]
    if len(words) < SHORT_WORDS:
        return Indel.normalized_distance(source, output)
    return Indel.normalized_distance(words, [w.casefold() for w in _WORDS.findall(output)])


def _ngram_counts(text: str, n: int) -> Counter[tuple[str, ...]]:
    words = [w.casefold() for w in text.split()]
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def repetition(source: str, output: str, max_repeats: int = 2, n: int = NGRAM) -> str | None:
    """Why `output` is repetitive beyond what `source` already repeats, or None."""
    source_counts = _ngram_counts(source, n)
    for gram, count in _ngram_counts(output, n).most_common(1):
        if count > max_repeats and count > source_counts.get(gram, 0):
            return f'repeats "{" ".join(gram)}" {count} times'
    for match in _WORD_RUN.finditer(output):
        if match.group(0).casefold() not in source.casefold():
            return f'repeats "{match.group(1)}" {len(match.group(0).split())} times in a row'
    for match in _RUN.finditer(output):
        run = match.group(0)
        if run.strip() and run not in source:
            unit = match.group(1)
            return f'repeats "{unit}" {len(run) // len(unit)} times in a row'
    return None


def check_output(
    source: str,
    output: str,
    settings: GuardSettings | None = None,
    *,
    intent: str | None = None,
    hit_token_limit: bool = False,
) -> str | None:
    """The reason to drop a rewrite `output` of the sentence `source`, or None if it may be proposed."""
    settings = settings or GuardSettings()
    source, output = source.strip(), output.strip()
    if hit_token_limit:  # first: tokens that decode to nothing (stray bytes, special tokens) still ran away
        return "runaway: generation hit the max_new_tokens limit"
    if not output:
        return "empty output"
    limit = settings.max_length_ratio * len(source) + settings.length_slack
    if len(output) > limit:
        return f"runaway: {len(output)} characters for a {len(source)}-character sentence"
    repeated = repetition(source, output, settings.max_repeats)
    if repeated:
        return f"repetitive: {repeated}"
    change = change_ratio(source, output)
    if change > settings.change_limit(intent):
        return f"too far from the sentence: changes {change:.0%} (limit {settings.change_limit(intent):.0%})"
    return None
