"""Proposers and what is shared by all kinds: building a request, and turning suggestions into edits.

    request = make_request(text, intents=("fluency",))
    edits, result = propose_edits(build_proposer(parse_spec("builtin")), request)

Kinds live in their own modules (builtin, hf, openai_compat) and are built through
`core.proposers.registry`, which imports each only when it is used.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable
from dataclasses import replace

from core.errors import InputError, ProposerError
from core.proposers.base import (
    ALL_INTENTS,
    DEFAULT_INTENTS,
    Avoid,
    Example,
    ProgressCallback,
    ProposalRequest,
    ProposalResult,
    Proposer,
    Suggestion,
)
from core.text.edits import Edit, span_to_edits
from core.text.segment import split_sentences

__all__ = ["check_intents", "make_request", "propose_edits", "to_edits"]


def check_intents(intents: Iterable[str]) -> tuple[str, ...]:
    """The intents asked for, lower-cased and deduplicated; InputError naming any unknown one."""
    wanted = tuple(dict.fromkeys(i.strip().lower() for i in intents if i.strip()))
    unknown = [i for i in wanted if i not in ALL_INTENTS]
    if unknown:
        raise InputError(f"Unknown intent(s) {', '.join(unknown)}; choose from {', '.join(ALL_INTENTS)}.")
    if not wanted:
        raise InputError(f"Ask for at least one intent: {', '.join(ALL_INTENTS)}.")
    return wanted


def make_request(
    text: str,
    *,
    intents: Iterable[str] = DEFAULT_INTENTS,
    feedback: str | Iterable[str] = (),
    examples: Iterable[Example] = (),
    avoid: Iterable[Avoid] = (),
    disabled_rules: str | Iterable[str] = (),
    protected_terms: Iterable[str] = (),
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    timeout_s: float | None = None,
    context: int = 1,
) -> ProposalRequest:
    """A request for `text` with its sentences (and `context` neighbouring sentences each side) filled in."""
    if not isinstance(text, str):
        raise InputError("The text to revise must be a string.")
    wanted = check_intents(intents)
    notes = (feedback,) if isinstance(feedback, str) else tuple(feedback)
    if isinstance(disabled_rules, str):  # "A,B" from a form or a setting, not the letters of one name
        disabled_rules = disabled_rules.split(",")
    return ProposalRequest(
        text=text,
        sentences=split_sentences(text, context=context),
        intents=wanted,
        feedback=tuple(n for n in notes if n.strip()),
        examples=tuple(examples),
        avoid=tuple(avoid),
        disabled_rules=frozenset(r.strip() for r in disabled_rules if r.strip()),
        protected_terms=tuple(dict.fromkeys(t for t in protected_terms if t)),
        progress=progress,
        cancel=cancel,
        timeout_s=timeout_s,
    )


def _priority(indexed: tuple[int, Suggestion]) -> tuple[int, float, int]:
    i, s = indexed
    # Scored suggestions first, higher score first; equal or no score: the order the proposer gave.
    return (0, -s.score, i) if s.score is not None else (1, 0.0, i)


class _Kept:
    """Non-overlapping spans kept so far, sorted, with an O(log n) overlap test."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []

    def overlaps(self, start: int, end: int) -> bool:
        spans = self.spans
        # Kept spans are disjoint, so their ends grow with their starts: only the last span starting
        # before `start` and those starting in [start, end] can overlap [start, end).
        lo = max(bisect_left(spans, (start, start)) - 1, 0)
        for s, e in spans[lo:]:
            if s > end:
                break
            # Two insertions at the same point overlap too: their order would be arbitrary.
            if (s < end and start < e) or s == e == start == end:
                return True
        return False

    def add(self, start: int, end: int) -> None:
        insort(self.spans, (start, end))


def to_edits(text: str, suggestions: Iterable[Suggestion]) -> list[Edit]:
    """Word-level, non-overlapping edits on `text` from suggestions, sorted by position.

    Each suggestion is diffed into word-aligned edits (a model's sentence rewrite becomes several),
    each carrying the suggestion's intent, explanation, source, score and alternatives. Where edits
    of different suggestions overlap, the edit of the higher-scored (or, on a tie, earlier)
    suggestion is kept and the other dropped; two insertions at the same point overlap. No-op
    edits are dropped. The result can be applied in any subset with `core.text.edits.apply_edits`.
    """
    kept = _Kept()
    out: list[Edit] = []
    for _, s in sorted(enumerate(suggestions), key=_priority):
        try:
            edits = span_to_edits(
                text,
                s.start,
                s.end,
                s.replacement,
                intent=s.intent,
                explanation=s.explanation,
                source=s.source,
                score=s.score,
                alternatives=s.alternatives,
            )
        except InputError as exc:
            who = s.source or "The proposer"
            raise ProposerError(f"{who} made a suggestion that does not fit the text: {exc}") from exc
        for e in edits:
            if e.before == e.after or kept.overlaps(e.start, e.end):
                continue
            kept.add(e.start, e.end)
            out.append(e)
    out.sort(key=lambda e: (e.start, e.end))
    return out


def propose_edits(proposer: Proposer, request: ProposalRequest) -> tuple[list[Edit], ProposalResult]:
    """Run a proposer and turn its suggestions into edits on request.text.

    A model's edits get their intent from the intent classifier: the instruction asked for
    ("Fix the grammar", "Paraphrase this") says what was wanted, not what each edit does.
    Rule engines' edits keep the intent of their rule's category.
    """
    result = proposer.propose(request)
    edits = to_edits(request.text, result.suggestions)
    if proposer.spec.kind != "builtin" and edits:
        edits = classify_intents(request, edits)
    return edits, result


def classify_intents(request: ProposalRequest, edits: list[Edit]) -> list[Edit]:
    """Edits with the intent the classifier gives each, judged within its sentence."""
    from core.proposers.intents import classify_edits  # loads scikit-learn: only when a model proposed

    starts = [s.start for s in request.sentences]

    def sentence_of(e: Edit) -> str:
        i = bisect_right(starts, e.start) - 1
        return request.sentences[i].text if i >= 0 else ""

    labels = classify_edits([(e.before, e.after, sentence_of(e)) for e in edits])
    return [replace(e, intent=intent) for e, (intent, _p) in zip(edits, labels, strict=True)]
