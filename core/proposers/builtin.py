"""The built-in offline proposer: LanguageTool's rules (`lingotweaker`, Rust) merged with Harper.

Both engines are pip wheels with their data inside: no Java, no downloads, so this
kind works on a fresh machine and is the default.

Merging (`merge_matches`): lingotweaker's matches are kept first and a Harper match is
used only where it overlaps none of them. lingotweaker is the more precise engine on
CoNLL-2014 (P .54 vs .27 for Harper here, bench/RESULTS.md), so where both flag the same
words its fix is the safer one; Harper adds fixes lingotweaker misses (recall). A Harper
fix that only inserts next to its words ("can" -> "can be") is also dropped when it
touches a lingotweaker match, and Harper's speller is not used next to lingotweaker's
(UNTRUSTED_HARPER_RULES): see those two for the measured reasons.

Spec params (all optional):
  engines: ["lingotweaker", "harper"]   which engines to run (either or both)
  language: "en-US"                     en-US | en-GB (spelling dialect of both engines)
  disabled_rules: [...] or "A,B"        rule ids, categories or engine names, as for the request
  harper_rules: "trusted" | "all"       "all" also runs UNTRUSTED_HARPER_RULES beside lingotweaker
  chunk_chars: 2000                     text checked per engine call (progress is reported per chunk)
  alternatives: "ranked+vocabulary"     order of a spelling rule's alternatives (core.proposers.builtin_choice):
                                        "engine" as the engine gave them, "ranked" by frequency and edit
                                        distance, "ranked+vocabulary" also near vocabulary words
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from core.errors import InputError, ProposerError
from core.proposers.base import ITERATER_INTENTS, ProposalRequest, ProposalResult, SpecData, Suggestion
from core.proposers.builtin_choice import choose
from core.proposers.feedback_use import FEEDBACK_USE
from core.proposers.rule_intents import rule_intent
from core.text.segment import Sentence
from core.text.terms import TermSpan, term_spans, touched_term

ENGINES = ("lingotweaker", "harper")
# lingotweaker 0.2.8 switches its speller for en-GB only (en-AU/en-CA silently check as en-US).
LANGUAGES = ("en-US", "en-GB")
DEFAULT_CHUNK_CHARS = 2000

# Instruction intents a rule engine can serve through the IteraTeR intents its rules carry.
INSTRUCTION_INTENT_MAP = {"simplify": ("clarity",), "formal": ("style",)}

# Harper rules not run beside lingotweaker unless params["harper_rules"] == "all".
# SpellCheck: lingotweaker's speller has the larger dictionary and goes first, so the words only
# Harper calls misspelled are mostly real words, and its guesses on learner English are often wrong
# ("cigarrets" -> "garrets"). On CoNLL-2014, merged F0.5 .2900 with it, .2940 without
# (bench/propose.py --section builtin). Harper alone keeps it: there it is the only speller.
UNTRUSTED_HARPER_RULES: frozenset[str] = frozenset({"SpellCheck"})

# Rules whose alternatives are dictionary guesses (more may be drawn from the vocabulary), and
# categories whose rules change case on purpose (their alternatives keep their case).
SPELLING_RULES = ("MORFOLOGIK_RULE", "HUNSPELL_RULE", "SpellCheck")
CASE_CATEGORIES = frozenset({"CASING", "Capitalization"})
ALTERNATIVE_ORDERS = ("engine", "ranked", "ranked+vocabulary")
DEFAULT_ALTERNATIVES = "ranked+vocabulary"

_SUGGESTION_TAG = re.compile(r"</?suggestion>")


@dataclass(frozen=True)
class Match:
    """One engine match in str character offsets of the checked text."""

    start: int
    end: int
    replacements: tuple[str, ...]
    message: str
    rule_id: str
    category: str  # engine category id (lingotweaker) or lint kind (Harper)
    category_name: str
    engine: str
    intent: str
    issue_type: str = ""  # lingotweaker's issue type (a fallback for an unknown category)

    @property
    def source(self) -> str:
        return f"{self.engine}:{self.rule_id}"

    def keys(self) -> frozenset[str]:
        """Names by which this match can be switched off (compared case-insensitively)."""
        names = {
            self.rule_id,
            self.source,
            self.category,
            self.category_name,
            f"{self.engine}:{self.category}",
            self.engine,
        }
        return frozenset(n.casefold() for n in names if n)


# --- offsets ---------------------------------------------------------------------------------


def byte_to_char_offsets(text: str) -> list[int]:
    """Cumulative UTF-8 byte offset of each character boundary: result[i] is the byte offset of text[i:].

    `char_offset(table, b)` inverts it. ASCII text needs no table (bytes == chars).
    """
    table = [0] * (len(text) + 1)
    total = 0
    for i, ch in enumerate(text):
        o = ord(ch)
        total += 1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4
        table[i + 1] = total
    return table


def char_offset(table: list[int], byte_offset: int) -> int:
    """The str index at a UTF-8 byte offset; a byte offset inside a character is an engine bug."""
    i = bisect_left(table, byte_offset)
    if i >= len(table) or table[i] != byte_offset:
        raise ProposerError(f"lingotweaker reported byte offset {byte_offset}, which is not a character boundary.")
    return i


# --- engines (one per process and language; each takes ~1-2 s to build) -----------------------

_build_lock = threading.Lock()
_lt_engines: dict[str, Any] = {}
_harper_pools: dict[str, _HarperPool] = {}


def _lingotweaker(language: str) -> Any:  # noqa: ANN401 - lt_py.Engine has no stubs
    # lt_py.Engine is immutable and thread-safe: one per language serves every thread.
    with _build_lock:
        engine = _lt_engines.get(language)
        if engine is None:
            import lingotweaker_data_en
            import lt_py

            # Name the data folder: without it lt_py looks in ./data first, and any data/ folder in the
            # working directory (this repo has one) makes it fail with "missing core/segment.srx".
            data = lingotweaker_data_en.data_dir()
            engine = _lt_engines[language] = lt_py.Engine("en", variant=language, data_dir=data)
        return engine


class _HarperPool:
    """harper.Linter is not thread-safe (a concurrent call raises RuntimeError) and costs ~1 s to
    build: linters are lent out one caller at a time and kept; a new one is built only when all
    are busy, so there are never more than the peak number of concurrent callers."""

    def __init__(self, dialect: int) -> None:
        self.dialect = dialect
        self._free: list[Any] = []
        self._lock = threading.Lock()
        self.size = 0

    @contextmanager
    def linter(self) -> Iterator[Any]:
        with self._lock:
            linter = self._free.pop() if self._free else None
        if linter is None:
            import harper

            linter = harper.Linter(harper.Dialect(self.dialect))
            with self._lock:
                self.size += 1
        try:
            yield linter
        finally:
            with self._lock:
                self._free.append(linter)


_HARPER_DIALECTS = {"en-US": 0, "en-GB": 1}  # harper.Dialect.AMERICAN, BRITISH


def _harper(language: str) -> _HarperPool:
    with _build_lock:
        pool = _harper_pools.get(language)
        if pool is None:
            pool = _harper_pools[language] = _HarperPool(_HARPER_DIALECTS[language])
        return pool


# --- matching --------------------------------------------------------------------------------


def _unique(values: Iterable[str], exclude: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for v in values:
        if v != exclude and v not in seen:
            seen[v] = None
    return tuple(seen)


def lingotweaker_matches(text: str, language: str = "en-US") -> list[Match]:
    """lingotweaker's matches on text, offsets converted from UTF-8 bytes to str indices."""
    raw = _lingotweaker(language).check(text)
    table = None if text.isascii() else byte_to_char_offsets(text)
    out: list[Match] = []
    for m in raw:
        b_start, b_end = m["offset"], m["offset"] + m["length"]
        start, end = (b_start, b_end) if table is None else (char_offset(table, b_start), char_offset(table, b_end))
        category = m.get("category_id") or ""
        issue_type = m.get("issue_type") or ""
        intent = rule_intent(m["rule_id"], category, issue_type)
        out.append(
            Match(
                start=start,
                end=end,
                replacements=_unique(m.get("suggestions") or (), text[start:end]),
                message=_SUGGESTION_TAG.sub('"', m.get("message") or ""),
                rule_id=m["rule_id"],
                category=category,
                category_name=m.get("category_name") or "",
                engine="lingotweaker",
                intent=intent,
                issue_type=issue_type,
            )
        )
    return out


def harper_matches(text: str, language: str = "en-US") -> list[Match]:
    """Harper's lints on text (plain text, not markdown), keyed by the rule that produced each."""
    from harper import SuggestionKind

    with _harper(language).linter() as linter:
        organized = linter.organized_lints(text, language="plaintext")
    out: list[Match] = []
    for rule, lints in organized.items():
        for lint in lints:
            start, end = lint.span.start, lint.span.end
            problem = text[start:end]
            replacements = []
            for s in lint.suggestions:
                if s.kind == SuggestionKind.REMOVE:
                    replacements.append("")
                elif s.kind == SuggestionKind.INSERT_AFTER:
                    replacements.append(problem + s.replacement_text)
                else:
                    replacements.append(s.replacement_text)
            kind = lint.lint_kind
            out.append(
                Match(
                    start=start,
                    end=end,
                    replacements=_unique(replacements, problem),
                    message=lint.message,
                    rule_id=rule,
                    category=kind,
                    category_name=lint.lint_kind_pretty,
                    engine="harper",
                    intent=rule_intent(rule, kind),
                )
            )
    out.sort(key=lambda m: (m.start, m.end))
    return out


def _overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    # Two insertions (empty spans) at the same point conflict too: their order would be arbitrary.
    return (a_start < b_end and b_start < a_end) or a_start == b_start


def _touches(text: str, a: Match, b: Match) -> bool:
    """Overlapping, or neighbours with only whitespace between them."""
    if _overlaps(a.start, a.end, b.start, b.end):
        return True
    gap = text[a.end : b.start] if a.end <= b.start else text[b.end : a.start]
    return not gap.strip()


def _inserts(text: str, m: Match) -> bool:
    """The fix keeps the flagged words and only adds text before or after them ("can" -> "can be")."""
    flagged, fix = text[m.start : m.end], m.replacements[0] if m.replacements else ""
    return fix != flagged and (fix.startswith(flagged) or fix.endswith(flagged))


def merge_matches(text: str, preferred: Sequence[Match], other: Sequence[Match]) -> list[Match]:
    """Non-overlapping matches on text, sorted by position; deterministic.

    All of `preferred` are kept except one that overlaps an earlier one of its own. A match of
    `other` is kept if it overlaps nothing kept, and, when its fix only inserts text, does not
    touch (only whitespace between) a match of `preferred` either: such an insertion usually
    repairs the same error another way ("can going": "can go" from lingotweaker, "can be going"
    from Harper; both give "can be go"). A replacement next to one is independent ("i has":
    "I" and "have") and kept. On CoNLL-2014 the plain overlap test let 193 more wrong edits
    through (P .353 vs .497, all Harper rules on), mostly such insertions.
    """
    kept: list[Match] = []
    # At one start the longer match wins (its rule saw more context); rule id breaks exact ties.
    order = lambda m: (m.start, -m.end, m.rule_id)  # noqa: E731
    for m in sorted(preferred, key=order):
        if not any(_overlaps(m.start, m.end, k.start, k.end) for k in kept):
            kept.append(m)
    first = list(kept)
    for m in sorted(other, key=order):
        if _inserts(text, m) and any(_touches(text, m, k) for k in first):
            continue
        if not any(_overlaps(m.start, m.end, k.start, k.end) for k in kept):
            kept.append(m)
    kept.sort(key=lambda m: (m.start, m.end))
    return kept


def ranked(text: str, m: Match, vocabulary: bool = False) -> Match:
    """The match with its alternatives best first (none left: the match is not proposed)."""
    spelling = m.rule_id.startswith(SPELLING_RULES)
    about_case = m.category in CASE_CATEGORIES
    order = choose(
        text[m.start : m.end], m.replacements, spelling=spelling, vocabulary=vocabulary, about_case=about_case
    )
    return replace(m, replacements=order)


# --- the proposer ----------------------------------------------------------------------------


def _name_set(value: object) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        items: Iterable[object] = value.split(",")
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = value
    else:
        raise InputError(f"disabled_rules must be a list of rule ids or a comma-separated string, not {value!r}.")
    return frozenset(str(v).strip().casefold() for v in items if str(v).strip())


def wanted_intents(intents: Iterable[str]) -> frozenset[str]:
    """IteraTeR intents a rule engine serves for the intents asked (instructions map onto them)."""
    out: set[str] = set()
    for intent in intents:
        if intent in ITERATER_INTENTS:
            out.add(intent)
        out.update(INSTRUCTION_INTENT_MAP.get(intent, ()))
    return frozenset(out)


def _chunks(sentences: Sequence[Sentence], max_chars: int) -> list[list[Sentence]]:
    """Consecutive sentences grouped so each group spans at most max_chars (a longer sentence is alone).

    Engines are called once per chunk: per-sentence calls cost ~1.5x the time on CoNLL-2014. Rules that
    look across sentences (three sentences starting alike) see only the sentences of their chunk."""
    chunks: list[list[Sentence]] = []
    for s in sentences:
        if chunks and s.end - chunks[-1][0].start <= max_chars:
            chunks[-1].append(s)
        else:
            chunks.append([s])
    return chunks


class BuiltinProposer:
    """LanguageTool rules (lingotweaker) merged with Harper; see the module docstring for params."""

    def __init__(self, spec: SpecData) -> None:
        if spec.kind != "builtin":
            raise InputError(f"BuiltinProposer needs a spec of kind 'builtin', not {spec.kind!r}.")
        if spec.model:
            raise InputError(f"The builtin proposer takes no model (got {spec.model!r}); use params instead.")
        params = dict(spec.params)
        known = ("engines", "language", "disabled_rules", "harper_rules", "chunk_chars", "alternatives")
        unknown = set(params) - set(known)
        if unknown:
            raise InputError(f"Unknown builtin parameter(s) {sorted(unknown)}; known: {', '.join(known)}.")
        engines = params.get("engines", list(ENGINES))
        if isinstance(engines, str):
            engines = [e.strip() for e in engines.split(",") if e.strip()]
        if not engines or any(e not in ENGINES for e in engines):
            raise InputError(f"engines must be one or more of {', '.join(ENGINES)}; got {engines!r}.")
        language = params.get("language", "en-US")
        if language not in LANGUAGES:
            raise InputError(f"language must be one of {', '.join(LANGUAGES)}; got {language!r}.")
        harper_rules = params.get("harper_rules", "trusted")
        if harper_rules not in ("trusted", "all"):
            raise InputError(f"harper_rules must be 'trusted' or 'all'; got {harper_rules!r}.")
        chunk_chars = params.get("chunk_chars", DEFAULT_CHUNK_CHARS)
        if not isinstance(chunk_chars, int) or chunk_chars < 1:
            raise InputError(f"chunk_chars must be a positive integer; got {chunk_chars!r}.")
        alternatives = params.get("alternatives", DEFAULT_ALTERNATIVES)
        if alternatives not in ALTERNATIVE_ORDERS:
            raise InputError(f"alternatives must be one of {', '.join(ALTERNATIVE_ORDERS)}; got {alternatives!r}.")
        self.spec = spec
        self.alternatives = alternatives
        self.engines = tuple(e for e in ENGINES if e in engines)  # lingotweaker first: it is preferred
        self.language = language
        self.disabled = _name_set(params.get("disabled_rules"))
        if harper_rules == "trusted" and "lingotweaker" in self.engines:
            self.disabled |= frozenset(f"harper:{r}".casefold() for r in UNTRUSTED_HARPER_RULES)
        self.chunk_chars = chunk_chars
        # Build the engines now (once per process), so the first request is not the slow one.
        try:
            if "lingotweaker" in self.engines:
                _lingotweaker(language)
            if "harper" in self.engines:
                with _harper(language).linter():
                    pass
        except ImportError as exc:
            raise ProposerError(
                f"The builtin proposer needs {exc.name}: pip install -r requirements.txt "
                "(lingotweaker, lingotweaker-data-en, harper-py)."
            ) from exc

    def propose(self, request: ProposalRequest) -> ProposalResult:
        sentences = request.sentences
        if not sentences and request.text.strip():
            sentences = [Sentence(0, 0, len(request.text), request.text)]
        disabled = self.disabled | _name_set(request.disabled_rules)
        intents = wanted_intents(request.intents)
        result = ProposalResult()
        total, done = len(sentences), 0
        request.report(0, total)
        for chunk in _chunks(sentences, self.chunk_chars):
            if request.cancelled:
                result.cancelled = True
                break
            base = chunk[0].start
            text = request.text[base : chunk[-1].end]
            for m in self.matches(text, intents, disabled, request.protected_terms):
                result.suggestions.append(
                    Suggestion(
                        start=base + m.start,
                        end=base + m.end,
                        replacement=m.replacements[0],
                        alternatives=m.replacements[1:],
                        intent=m.intent,
                        explanation=m.message,
                        source=m.source,
                    )
                )
            done += len(chunk)
            request.report(done, total)
        return result

    def matches(
        self, text: str, intents: frozenset[str], disabled: frozenset[str], protected_terms: Sequence[str] = ()
    ) -> list[Match]:
        """The merged, wanted matches of both engines on one chunk of text (offsets in `text`)."""
        # Filter before merging, so a disabled lingotweaker rule does not hide Harper's fix there.
        lt = lingotweaker_matches(text, self.language) if "lingotweaker" in self.engines else []
        hp = harper_matches(text, self.language) if "harper" in self.engines else []
        # A protected term is left alone: a rule on it is dropped before merging, as a disabled one.
        terms = term_spans(text, protected_terms) if protected_terms else []
        if self.alternatives != "engine":
            vocabulary = self.alternatives == "ranked+vocabulary"
            lt, hp = [ranked(text, m, vocabulary) for m in lt], [ranked(text, m, vocabulary) for m in hp]
        lt = [m for m in lt if self._wanted(m, disabled, intents, terms)]
        hp = [m for m in hp if self._wanted(m, disabled, intents, terms)]
        return merge_matches(text, lt, hp)

    @staticmethod
    def describe_feedback_use() -> str:
        return FEEDBACK_USE["builtin"]

    @staticmethod
    def _wanted(m: Match, disabled: frozenset[str], intents: frozenset[str], terms: list[TermSpan]) -> bool:
        if not m.replacements or m.intent not in intents or (m.keys() & disabled):
            return False
        return not terms or touched_term(terms, m.start, m.end) is None
