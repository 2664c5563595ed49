"""The proposer interface: what a proposer is asked and what it answers.

Every kind (builtin rules, transformers seq2seq, transformers chat, an
OpenAI-compatible server) takes a ProposalRequest and returns a ProposalResult
of Suggestions; `core.proposers.to_edits` turns suggestions into `Edit`s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from core.text.segment import Sentence

# The IteraTeR taxonomy (edits are classified into these) ...
ITERATER_INTENTS = ("clarity", "fluency", "coherence", "style", "meaning-changed")
# ... plus instructions a person can ask a model for.
INSTRUCTION_INTENTS = ("simplify", "formal", "neutral", "paraphrase")
ALL_INTENTS = ITERATER_INTENTS + INSTRUCTION_INTENTS
DEFAULT_INTENTS = ("fluency", "clarity", "coherence")

ProgressCallback = Callable[[int, int], None]  # (sentences done, total)


@dataclass(frozen=True)
class Example:
    """An edit the person accepted or rewrote: shown to prompted models as an in-context example."""

    before: str
    after: str
    intent: str | None = None


@dataclass(frozen=True)
class Avoid:
    """A change the person rejected: must not be proposed again."""

    before: str
    after: str
    context: str = ""


@dataclass
class ProposalRequest:
    text: str
    sentences: list[Sentence]
    intents: tuple[str, ...] = DEFAULT_INTENTS
    feedback: tuple[str, ...] = ()  # free-text feedback so far, oldest first
    examples: tuple[Example, ...] = ()
    avoid: tuple[Avoid, ...] = ()
    disabled_rules: frozenset[str] = frozenset()
    # words no proposer may change (core.text.terms): the builtin skips them, prompted models are told
    protected_terms: tuple[str, ...] = ()
    progress: ProgressCallback | None = None
    cancel: threading.Event | None = None
    timeout_s: float | None = None

    def report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()


@dataclass(frozen=True)
class Suggestion:
    """A proposed change to text[start:end]. A model rewrite of a whole sentence is one suggestion;
    `to_edits` diffs it into word-level edits."""

    start: int
    end: int
    replacement: str
    alternatives: tuple[str, ...] = ()
    intent: str | None = None
    explanation: str = ""
    source: str = ""
    score: float | None = None


@dataclass(frozen=True)
class Dropped:
    """A model output that was not used, and why (empty, runaway, repetitive, too far, unparseable)."""

    sentence_index: int
    reason: str
    output: str = ""


@dataclass
class ProposalResult:
    suggestions: list[Suggestion] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    cancelled: bool = False


@dataclass(frozen=True)
class SpecData:
    """A proposer's identity, mirrored by the ProposerSpec table."""

    kind: str
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    name: str = ""


@runtime_checkable
class Proposer(Protocol):
    spec: SpecData

    def propose(self, request: ProposalRequest) -> ProposalResult: ...
