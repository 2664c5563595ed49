"""Which of a rule's alternatives the built-in proposer offers first.

Spelling rules list dictionary guesses in the engine's own order, blind to how common a word is
("thses": lingotweaker offers "theses" first). For a misspelt word, each single-word alternative is
scored

    zipf frequency (wordfreq, data shipped in the wheel)  -  DISTANCE_WEIGHT x OSA edit distance
    + ENGINE_FIRST_BONUS for the engine's own first guess

and the alternatives are ordered by score (equal scores keep the engine's order). With `vocabulary`
the most frequent English words of the same length within two edits compete too (less
GENERATED_PENALTY): that is how "thses" gets "these", which neither engine offers; not when the
engine's first guess is the same word in American spelling ("socialises": "socializes", never
"socialists"). Other rules keep their order (their authors wrote the fix for the context they matched).

Case follows the original for every rule: a lower-case alternative of a capitalised word is
capitalised, and a correctly spelt all-capital word ("OK", an acronym) is not replaced by another
all-capital word ("OKAY"), unless the rule is about case. Effect on CoNLL-2014 ERRANT F0.5 and
GLEU: bench/propose.py --section choice (bench/RESULTS.md).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

DISTANCE_WEIGHT = 1.0  # one edit costs a factor of 10 in frequency (zipf is log10 per billion words)
ENGINE_FIRST_BONUS = 0.75  # the engine's first guess breaks near ties ("wich": which, not with)
GENERATED_PENALTY = 0.5
VOCABULARY_SIZE = 50_000  # most frequent English words searched for spelling candidates
MAX_GENERATED_DISTANCE = 2

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# British -> American spelling patterns, to tell a dialect variant from a typo
_DIALECT = (
    (re.compile(r"is(e[sd]?|ing|ation)"), r"iz\1"),
    (re.compile(r"ys(e[sd]?|ing)"), r"yz\1"),
    (re.compile(r"our"), "or"),
)
_lock = threading.Lock()


def _is_word(text: str) -> bool:
    return _WORD.fullmatch(text) is not None


def _all_caps(word: str) -> bool:
    return len(word) >= 2 and word.isupper()


def fit_case(original: str, alternative: str, *, misspelt: bool = False) -> str | None:
    """The alternative in the original's case, or None where a correctly spelt all-capital word
    would become another all-capital word ("OK" -> "OKAY"; a misspelt one, "WOWII" -> "WWII", may)."""
    if alternative.lower() == original.lower():
        return alternative  # a change of case only: the rule is about case
    if not misspelt and _all_caps(original) and _all_caps(alternative):
        return None
    if original[:1].isupper() and alternative[:1].islower() and not _all_caps(original):
        return alternative[:1].upper() + alternative[1:]
    return alternative


@lru_cache(maxsize=8192)
def frequency(word: str) -> float:
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")


@lru_cache(maxsize=1)
def _cached_vocabulary() -> list[str]:
    from wordfreq import top_n_list

    return [w for w in top_n_list("en", VOCABULARY_SIZE) if w.isalpha()]


def _vocabulary() -> list[str]:
    with _lock:  # built once (~1 s): concurrent first callers wait instead of building it twice
        return _cached_vocabulary()


def dialect_variants(a: str, b: str) -> bool:
    """The same word in British and American spelling ("socialises", "socializes")."""

    def american(w: str) -> str:
        for pattern, repl in _DIALECT:
            w = pattern.sub(repl, w.lower())
        return w

    return a.lower() != b.lower() and american(a) == american(b)


def spelling_candidates(word: str) -> list[str]:
    """Vocabulary words of the same length within MAX_GENERATED_DISTANCE edits of `word` (lower-case)."""
    low = word.lower()
    found = process.extract(low, _vocabulary(), scorer=OSA.distance, score_cutoff=MAX_GENERATED_DISTANCE, limit=None)
    return [w for w, _d, _i in found if len(w) == len(low) and w != low]


def score(original: str, alternative: str, *, engine_first: bool = False, generated: bool = False) -> float:
    low, alt = original.lower(), alternative.lower()
    s = frequency(alt) - DISTANCE_WEIGHT * OSA.distance(low, alt)
    return s + (ENGINE_FIRST_BONUS if engine_first else 0.0) - (GENERATED_PENALTY if generated else 0.0)


def choose(
    original: str,
    alternatives: Sequence[str],
    *,
    spelling: bool = False,
    vocabulary: bool = False,
    about_case: bool = False,
) -> tuple[str, ...]:
    """`alternatives` best first, in the original's case; empty when none fits (the match is dropped).

    `spelling`: the rule guesses words for a misspelt one; a single word's single-word guesses are
    ranked, and with `vocabulary` the best near vocabulary word goes first if it outscores them all.
    `about_case`: the rule changes case on purpose; its alternatives are kept as they are.
    """
    if about_case:
        return tuple(alternatives)
    word = _is_word(original)
    fitted: dict[str, None] = {}  # insertion order is the engine's
    for alt in alternatives:
        fit = fit_case(original, alt, misspelt=spelling) if word and _is_word(alt) else alt
        if fit is not None and fit != original:
            fitted.setdefault(fit)
    out = list(fitted)
    if not (spelling and word and out and all(_is_word(a) for a in out)):
        return tuple(out)
    first = out[0]
    out = [
        a
        for _k, a in sorted(
            enumerate(out), key=lambda ka: (-score(original, ka[1], engine_first=ka[1] == first), ka[0])
        )
    ]
    # A word spelt for another dialect is no typo: only the engine's own spelling of it fits.
    if vocabulary and not dialect_variants(original, first):
        best = _best_generated(original, {a.lower() for a in out})
        if best is not None and best[1] > score(original, out[0], engine_first=out[0] == first):
            out.insert(0, best[0])
    return tuple(out)


def _best_generated(original: str, offered: set[str]) -> tuple[str, float] | None:
    best: tuple[str, float] | None = None
    for cand in spelling_candidates(original):
        fit = fit_case(original, cand, misspelt=True)
        if fit is None or cand in offered:
            continue
        s = score(original, fit, generated=True)
        if best is None or s > best[1]:
            best = (fit, s)
    return best
