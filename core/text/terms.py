"""Protected terms in text: where they occur, whether an edit touches one, and which terms a writer's
"don't change ..." feedback names. Pure: the stored lists live in core.revision.protected.

A term matches exactly (case included: "GigaBERT" protects "GigaBERT", not "gigabert", which a writer
may well want corrected) and as a whole word where it starts or ends with a letter or digit, so "BERT"
does not protect the inside of "GigaBERT".
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

from core.errors import InputError

MAX_TERM_CHARS = 200


@dataclass(frozen=True)
class TermSpan:
    start: int
    end: int
    term: str


def clean_term(term: str) -> str:
    """The term as stored: surrounding space and quotes removed, inner runs of space made one.
    InputError for an empty, multi-line or over-long term."""
    if not isinstance(term, str):
        raise InputError("A protected term must be text.")
    if "\n" in term.strip() or "\r" in term.strip():
        raise InputError("A protected term is one word or phrase on one line; add several terms one by one.")
    cleaned = " ".join(term.split()).strip("'\"`\u2018\u2019\u201c\u201d")
    cleaned = cleaned.strip()
    if not cleaned:
        raise InputError("Give the word or phrase to protect (it is empty).")
    if len(cleaned) > MAX_TERM_CHARS:
        raise InputError(f"A protected term is at most {MAX_TERM_CHARS} characters; this one has {len(cleaned)}.")
    return cleaned


def _pattern(term: str) -> re.Pattern[str]:
    head = r"(?<!\w)" if term[0].isalnum() or term[0] == "_" else ""
    tail = r"(?!\w)" if term[-1].isalnum() or term[-1] == "_" else ""
    return re.compile(head + re.escape(term) + tail)


_EDGE_PUNCT = ".,;:!?()[]{}<>\"'`«»“”‘’"


def term_of_change(text: str, start: int, end: int) -> str | None:
    """The word or phrase a change of text[start:end] alters, to protect from it ("Never change
    'GigaBERT'"): the change widened to whole words (runs of non-space), surrounding punctuation
    removed ("(XLM-R)," gives "XLM-R"). None when it alters no word: an insertion, or a change of
    spaces or punctuation only."""
    if not 0 <= start < end <= len(text) or not text[start:end].strip(_EDGE_PUNCT + " \t\r\n"):
        return None
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    term = " ".join(text[start:end].split()).strip(_EDGE_PUNCT)
    return term if term and len(term) <= MAX_TERM_CHARS and "\n" not in term else None


def term_spans(text: str, terms: Iterable[str]) -> list[TermSpan]:
    """Every occurrence of the terms in text, sorted by position (overlapping occurrences all kept)."""
    spans = [TermSpan(m.start(), m.end(), t) for t in dict.fromkeys(terms) if t for m in _pattern(t).finditer(text)]
    spans.sort(key=lambda s: (s.start, s.end))
    return spans


def touched_term(spans: list[TermSpan], start: int, end: int) -> str | None:
    """The protected term a change of text[start:end] would alter, or None. An insertion touches a
    term only strictly inside it; text added right before or after a term leaves it as it is.
    `spans` sorted by start, as term_spans gives them."""
    # A term is at most MAX_TERM_CHARS long: only spans starting that far before can reach the change.
    i = bisect_left(spans, start - MAX_TERM_CHARS, key=lambda s: s.start)
    for s in spans[i:]:
        if start == end:
            if s.start >= start:
                break
            if start < s.end:
                return s.term
        else:
            if s.start >= end:
                break
            if start < s.end:
                return s.term
    return None


# --- terms named in feedback ------------------------------------------------------------------

# "don't change", "do not touch", "never correct", "keep ... as is", "leave ... alone", "protect"
_TRIGGER = re.compile(
    r"\b(?:(?:don'?t|do\s+not|never|please\s+don'?t|no)\s+(?:\w+\s+)?"
    r"(?:change|changes|touch|alter|edit|modify|correct|fix|rewrite|rename|respell|spell-?check|translate)"
    r"|keep|leave|preserve|protect)\b",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[;\n!?]|\.(?=\s|$)")
_QUOTED = re.compile(
    r"\"([^\"\n]+)\"|\u201c([^\u201d\n]+)\u201d|\u2018([^\u2019\n]+)\u2019|`([^`\n]+)`|(?<!\w)'([^'\n]+)'(?!\w)"
)
_TOKEN = re.compile(r"[A-Za-z0-9][\w+#./-]*[\w+#]|[A-Za-z0-9]")
# Capitalised words that are instructions, not names.
_NOT_NAMES = frozenset(
    "i a an the and or but any all my our your these those this that it its please as is are alone intact "
    "unchanged names name terms term words word citations citation".split()
)


def _special(token: str) -> bool:
    """A name-like token: capitalised, camelCase, an acronym, or with digits among letters."""
    if token.lower() in _NOT_NAMES or token.isdigit():
        return False
    letters = [c for c in token if c.isalpha()]
    if not letters:
        return False
    inner_upper = any(c.isupper() for c in token[1:])
    has_digit_and_letter = any(c.isdigit() for c in token)
    return token[0].isupper() or inner_upper or has_digit_and_letter


def terms_from_feedback(feedback: str) -> list[str]:
    """Terms a "don't change ..." instruction in feedback names: quoted words or phrases, and
    capitalised, camelCase, acronym or letter-and-digit words after the instruction, in order, once.

    "Don't change genQA, GigaBERT, mBERT, XLM-R" -> ["genQA", "GigaBERT", "mBERT", "XLM-R"]. Only
    suggestions: the writer confirms them before they are stored."""
    found: dict[str, None] = {}
    pos = 0
    text = feedback or ""
    while True:
        trigger = _TRIGGER.search(text, pos)
        if trigger is None:
            break
        end_match = _CLAUSE_END.search(text, trigger.end())
        end = end_match.start() if end_match else len(text)
        clause = text[trigger.end() : end]
        pos = max(end, trigger.end() + 1)
        for m in _QUOTED.finditer(clause):
            quoted = next(g for g in m.groups() if g is not None)
            if quoted.strip():
                found.setdefault(" ".join(quoted.split()), None)
        rest = _QUOTED.sub(" ", clause)
        for token in _TOKEN.findall(rest):
            if _special(token):
                found.setdefault(token, None)
    out = []
    for term in found:
        try:
            out.append(clean_term(term))
        except InputError:
            continue
    return list(dict.fromkeys(out))
