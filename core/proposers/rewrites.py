"""What the model kinds (hf-seq2seq, hf-chat, openai) share: jobs, the output cache, progress, and
turning model rewrites into suggestions.

A job is one model input: a (sentence, intent) pair for seq2seq models, one prompt per sentence for
chat models. Each job's raw output (a `Generated`) is cached under (spec fingerprint, sentence, prompt),
so unchanged sentences are not generated again; guards run after the cache, on every use.

Several rewrites of one sentence (seq2seq, one per intent): intents are taken in the request's
order, and the first rewrite that passes the guards and changes the sentence becomes the suggestion
(with its intent); putting the intents a person cares about most first decides what is shown inline.
Later, different rewrites become its alternatives only where that keeps edits word-level (spec
param "alternatives"):
  "aligned" (default)  when the suggestion changes one stretch of the sentence and the other rewrite
                       changes only words inside it (then each is a whole replacement of that edit);
  "all"                always (a sentence with alternatives becomes one edit from its first to its last
                       changed word, as `core.text.edits.span_to_edits` must keep alternatives comparable);
  "none"               never.
Rewrites not kept are not shown (they are not bad outputs, so they are not recorded as dropped).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import InputError
from core.proposers.base import Dropped, ProposalRequest, ProposalResult, SpecData, Suggestion
from core.proposers.cache import ProposalCache
from core.proposers.guards import GuardSettings, check_output
from core.proposers.prompts import parse_reply
from core.text.clean import clean_text
from core.text.edits import diff
from core.text.segment import Sentence

# One cache per process, shared by every proposer instance (the registry keeps one per spec, but any
# caller may build more); the spec fingerprint in each key keeps different specs apart.
SHARED_CACHE = ProposalCache()


ALTERNATIVES = ("aligned", "all", "none")


def alternatives_param(params: dict[str, Any]) -> str:
    value = str(params.get("alternatives", "aligned"))
    if value not in ALTERNATIVES:
        raise InputError(f"Parameter alternatives must be one of {', '.join(ALTERNATIVES)}, not {value!r}.")
    return value


def model_label(spec: SpecData) -> str:
    return spec.name or spec.model or spec.kind


@dataclass(frozen=True)
class Generated:
    """A model's raw output for one job, as cached: text, whether it hit the token limit, and a score."""

    text: str
    hit_limit: bool = False
    score: float | None = None


@dataclass(frozen=True)
class Job:
    sentence: Sentence
    intent: str | None  # None: one prompt covering all the request's intents
    prompt: Any  # seq2seq: the input string; chat: the messages
    key: str
    size: int  # for sorting into batches of similar length

    @property
    def core(self) -> str:
        return self.sentence.text.strip()


def sentences_to_revise(request: ProposalRequest) -> list[Sentence]:
    return [s for s in request.sentences if s.text.strip()]


@dataclass(frozen=True)
class Budget:
    """Bounds on generated tokens: ratio * sentence tokens + extra, at most cap."""

    ratio: float
    extra: int
    cap: int

    @classmethod
    def from_params(cls, params: dict[str, Any], *, extra: int, cap: int = 256) -> Budget:
        try:
            budget = cls(
                ratio=float(params.get("new_tokens_ratio", 1.5)),
                extra=int(params.get("new_tokens_extra", extra)),
                cap=int(params.get("max_new_tokens", cap)),
            )
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"Bad token budget parameter: {exc}; new_tokens_ratio, new_tokens_extra and max_new_tokens are numbers."
            ) from exc
        if budget.ratio <= 0 or budget.extra < 0 or budget.cap < 1:
            raise InputError("new_tokens_ratio must be positive, new_tokens_extra >= 0 and max_new_tokens >= 1.")
        return budget

    def tokens(self, sentence_tokens: int) -> int:
        return max(1, min(self.cap, math.ceil(self.ratio * sentence_tokens) + self.extra))


def int_param(params: dict[str, Any], name: str, default: int, minimum: int = 1) -> int:
    try:
        value = int(params.get(name, default))
    except (TypeError, ValueError) as exc:
        raise InputError(f"Parameter {name} must be a whole number: {exc}.") from exc
    if value < minimum:
        raise InputError(f"Parameter {name} must be at least {minimum}.")
    return value


def float_param(params: dict[str, Any], name: str, default: float | None) -> float | None:
    value = params.get(name, default)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"Parameter {name} must be a number: {exc}.") from exc
    if number <= 0:
        raise InputError(f"Parameter {name} must be positive.")
    return number


class JobBoard:
    """Tracks a request's jobs: cached or generated outputs, failures, progress and cancellation."""

    def __init__(self, request: ProposalRequest, jobs: Sequence[Job], cache: ProposalCache | None) -> None:
        self.request = request
        self.jobs = list(jobs)
        self.cache = cache
        self.outputs: dict[int, Generated] = {}
        self.failures: dict[int, str] = {}
        self._left: dict[int, int] = {}
        for job in self.jobs:
            self._left[job.sentence.index] = self._left.get(job.sentence.index, 0) + 1
        self.total = len(self._left)
        self.done = 0
        self.cancelled = False
        self._reported = -1

    def serve_cached(self) -> list[int]:
        """Fill outputs from the cache; the indices of jobs still to generate."""
        pending = []
        for i, job in enumerate(self.jobs):
            hit = self.cache.get(job.key) if self.cache is not None else None
            if isinstance(hit, Generated):
                self._finish(i)
                self.outputs[i] = hit
            else:
                pending.append(i)
        self.report()
        return pending

    def complete(self, i: int, output: Generated, *, cache: bool = True) -> None:
        self.outputs[i] = output
        if cache and self.cache is not None:
            self.cache.put(self.jobs[i].key, output)
        self._finish(i)

    def fail(self, indices: Iterable[int], reason: str) -> None:
        for i in indices:
            self.failures[i] = reason
            self._finish(i)

    def _finish(self, i: int) -> None:
        index = self.jobs[i].sentence.index
        self._left[index] -= 1
        if self._left[index] == 0:
            self.done += 1

    def report(self) -> None:
        """Tell the request's progress callback, once per change (and once at the start)."""
        if self.done != self._reported:
            self._reported = self.done
            self.request.report(self.done, self.total)

    def result(self, *, label: str, guards: GuardSettings, chat: bool, alternatives: str = "aligned") -> ProposalResult:
        """Suggestions for every sentence whose jobs all finished (on cancel, partly done ones are left out)."""
        result = ProposalResult(cancelled=self.cancelled)
        by_sentence: dict[int, list[int]] = {}
        for i, job in enumerate(self.jobs):
            by_sentence.setdefault(job.sentence.index, []).append(i)
        for indices in by_sentence.values():
            if not all(i in self.outputs or i in self.failures for i in indices):
                continue
            sentence = self.jobs[indices[0]].sentence
            reasons = dict.fromkeys(self.failures[i] for i in indices if i in self.failures)
            result.dropped += [Dropped(sentence.index, reason) for reason in reasons]
            done = [(self.jobs[i].intent, self.outputs[i]) for i in indices if i in self.outputs]
            suggestion, dropped = rewrite_suggestion(
                sentence,
                done,
                label=label,
                guards=guards,
                chat=chat,
                intents=self.request.intents,
                alternatives=alternatives,
            )
            result.dropped += dropped
            if suggestion is not None:
                result.suggestions.append(suggestion)
        result.suggestions.sort(key=lambda s: s.start)
        return result


def rewrite_suggestion(
    sentence: Sentence,
    outputs: Sequence[tuple[str | None, Generated]],
    *,
    label: str,
    guards: GuardSettings,
    chat: bool,
    intents: Sequence[str] = (),
    alternatives: str = "aligned",
) -> tuple[Suggestion | None, list[Dropped]]:
    """One suggestion for a sentence from its rewrites (in intent order), and the rewrites dropped.

    Chat replies are parsed first (`parse_reply`); every rewrite then goes through the guards.
    """
    core = sentence.text.strip()
    lead = len(sentence.text) - len(sentence.text.lstrip())
    trail = len(sentence.text) - len(sentence.text.rstrip())
    dropped: list[Dropped] = []
    kept: list[tuple[str | None, str, float | None]] = []
    for intent, output in outputs:
        tag = f"{intent}: " if intent else ""
        cleaned = clean_text(output.text)
        if cleaned.removed:  # NUL and the like: a broken model or server, never prose (and never stored)
            why = f"{tag}control characters in the reply ({cleaned.removed}, such as NUL): not used"
            dropped.append(Dropped(sentence.index, why, cleaned.text))
            continue
        text = parse_reply(output.text, core) if chat else output.text.strip()
        if text is None:
            dropped.append(Dropped(sentence.index, f"{tag}unparseable reply", output.text))
            continue
        # A chat reply cut off at the limit after a complete first line lost only its trailing notes.
        runaway = output.hit_limit and not (chat and "\n" in output.text.strip())
        reason = check_output(core, text, guards, intent=intent, hit_token_limit=runaway)
        if reason is not None:
            dropped.append(Dropped(sentence.index, tag + reason, output.text))
        elif text != core and all(text != k[1] for k in kept):
            kept.append((intent, text, output.score))
    if not kept:
        return None, dropped
    intent, text, score = kept[0]
    others = [k[1] for k in kept[1:]]
    if alternatives == "none":
        others = []
    elif alternatives == "aligned":
        others = aligned_alternatives(core, text, others)
    about = intent or ", ".join(intents)
    suggestion = Suggestion(
        start=sentence.start + lead,
        end=sentence.end - trail,
        replacement=text,
        alternatives=tuple(others),
        intent=intent if intent else (intents[0] if len(intents) == 1 else None),
        explanation=f"{label} ({about})" if about else label,
        source=label,
        score=score,
    )
    return suggestion, dropped


def aligned_alternatives(source: str, rewrite: str, others: Sequence[str]) -> list[str]:
    """The other rewrites that change only words inside the one stretch `rewrite` changes in `source`."""
    changes = diff(source, rewrite)
    if len(changes) != 1:
        return []
    lo, hi = changes[0].start, changes[0].end
    return [o for o in others if all(lo <= c.start and c.end <= hi for c in diff(source, o))]
