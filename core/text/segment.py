"""Tokens and sentences with character offsets (Python str indices) into the original text.

Tokens cover every character of a text, so any span built from token boundaries is word-aligned.
Sentences cover every non-space character exactly once; the whitespace between them belongs to none.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import pysbd
import regex

from core.errors import InputError

TokenKind = Literal["word", "space", "punct"]

# A word: letters/digits/marks (combining accents stay on their letter; ZWJ/ZWNJ stay inside
# scripts that need them), with inner apostrophes and hyphens ("don't", "state-of-the-art")
# and inner separators between digits ("3.50", "1,000", "10:30"). Han, Hiragana and Katakana are
# written without spaces: each character is a word of its own, as in Unicode word segmentation.
_IDEO = r"[\p{Han}\p{Hiragana}\p{Katakana}]"
_WORD_CHARS = rf"[[\w\p{{M}}\u200c\u200d]--{_IDEO}]"
_WORD = (
    rf"{_IDEO}\p{{M}}*"
    rf"|{_WORD_CHARS}+(?:(?:['\u2019\u2010-]|(?<=\d)[.,:](?=\d)){_WORD_CHARS}+)*"
)
# Anything else is one grapheme cluster (so an emoji ZWJ sequence or a flag is one token).
_TOKEN_RE = regex.compile(rf"({_WORD})|(\s+)|(\X)", regex.V1)
# Same alternation without groups: findall then returns plain strings (the fast path in diff).
TOKEN_PATTERN = regex.compile(rf"{_WORD}|\s+|\X", regex.V1)
_KINDS: dict[int, TokenKind] = {1: "word", 2: "space", 3: "punct"}


@dataclass(frozen=True)
class Sentence:
    """A sentence of the document with its character offsets and neighbourhood."""

    index: int
    start: int
    end: int
    text: str
    context_before: str = ""
    context_after: str = ""


@dataclass(frozen=True, slots=True)
class Token:
    start: int
    end: int
    text: str
    kind: TokenKind


def tokenize(text: str) -> list[Token]:
    """Split text into word, space and punct tokens that cover every character, in order."""
    return [Token(m.start(), m.end(), m.group(), _KINDS[m.lastindex or 3]) for m in _TOKEN_RE.finditer(text)]


def token_strings(text: str) -> list[str]:
    """The texts of tokenize(text), without building Token objects (fast path)."""
    return TOKEN_PATTERN.findall(text)


def token_kind(token_text: str) -> TokenKind:
    """Kind of a single token's text (as produced by tokenize / token_strings)."""
    m = _TOKEN_RE.match(token_text)
    return _KINDS[(m.lastindex if m else None) or 3]


# --- sentences --------------------------------------------------------------------------------

_LINE_BREAK = regex.compile(r"\r\n|[\n\r\u2028\u2029\x0b\x0c\x85]")
# Lines that start a new block even inside a paragraph: markdown headings, list items,
# block quotes, tables, fences, horizontal rules.
_BLOCK_START = regex.compile(r"\s*(?:#{1,6}\s|[-*+•]\s|\d{1,3}[.)]\s|>|\||```|~~~|---|\*\*\*)")
_ENDS_SENTENCE = regex.compile(r"[.!?:;\u2026][\"'\u201d\u2019)\]]*\s*$")
_local = threading.local()


def _segmenter() -> pysbd.Segmenter:
    # pysbd keeps per-call state on the segmenter object: one per thread.
    seg = getattr(_local, "segmenter", None)
    if seg is None:
        seg = _local.segmenter = pysbd.Segmenter(language="en", clean=False)
    return seg


def _blocks(text: str) -> list[tuple[int, int]]:
    """Line-based blocks: a line break ends a sentence, except a soft wrap inside a paragraph
    (the line does not end a sentence and the next line starts in lower case)."""
    lines: list[tuple[int, int]] = []
    pos = 0
    for m in _LINE_BREAK.finditer(text):
        lines.append((pos, m.start()))
        pos = m.end()
    lines.append((pos, len(text)))

    blocks: list[tuple[int, int]] = []
    prev_blank = True
    for start, end in lines:
        line = text[start:end]
        if not line.strip():
            prev_blank = True
            continue
        if blocks and not prev_blank and _is_soft_wrap(text[blocks[-1][0] : blocks[-1][1]], line):
            blocks[-1] = (blocks[-1][0], end)
        else:
            blocks.append((start, end))
        prev_blank = False
    return blocks


def _is_soft_wrap(previous: str, line: str) -> bool:
    if _BLOCK_START.match(line):
        return False
    if _ENDS_SENTENCE.search(previous):
        return False
    first = line.lstrip()[:1]
    return first.islower()


def _nonspace_count(s: str) -> int:
    return len(s) - sum(1 for c in s if c.isspace())


# pysbd's cost grows faster than linearly with the length of what it is given (10k words in one
# paragraph: ~6x slower than the same words in 200-word paragraphs), so long blocks are cut first
# where a sentence surely ends: a lower-case word of 4+ letters (not an abbreviation), a stop,
# whitespace, then a capital. pysbd decides everywhere else.
_MAX_BLOCK = 1_500
_SURE_END = regex.compile(r"(?<=\b([a-z]{4,})[.!?][\"'\u201d\u2019)\]]*)\s+(?=[\"\u201c(\[]?[A-Z])")
_ABBREVIATIONS = frozenset({"approx", "figs", "resp", "incl", "dept", "univ", "corp", "misc", "prof", "govt", "sept"})


def _cut_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    if end - start <= _MAX_BLOCK:
        return [(start, end)]
    parts: list[tuple[int, int]] = []
    pos = start
    for m in _SURE_END.finditer(text, start, end):
        if m.start() - pos >= _MAX_BLOCK // 2 and m.group(1) not in _ABBREVIATIONS:
            parts.append((pos, m.start()))
            pos = m.end()
    parts.append((pos, end))
    return parts


@lru_cache(maxsize=4096)  # rounds re-split a document that changed in a few places
def _segment(block: str) -> tuple[tuple[int, int], ...]:
    """Sentence spans inside block: pysbd decides the boundaries, offsets are recomputed here by
    counting non-space characters (pysbd's own char spans are unreliable)."""
    try:
        # Soft-wrapped lines were joined into this block: pysbd must not split at their breaks.
        segments = _segmenter().segment(_LINE_BREAK.sub(" ", block))
    except Exception:  # pysbd has regex corner cases; one sentence is a safe answer
        segments = [block]
    spans: list[tuple[int, int]] = []
    pos, n = 0, len(block)
    for seg in segments:
        need = _nonspace_count(seg)
        if need == 0:
            continue
        while pos < n and block[pos].isspace():
            pos += 1
        s = pos
        while pos < n and need:
            if not block[pos].isspace():
                need -= 1
            pos += 1
        if s < pos:
            spans.append((s, pos))
    # If pysbd dropped characters, what it did not account for becomes one more sentence.
    while pos < n and block[pos].isspace():
        pos += 1
    if pos < n:
        spans.append((pos, len(block.rstrip())))
    return tuple(spans)


def _split_block(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return [(s0 + a, s0 + b) for s0, s1 in _cut_long(text, start, end) for a, b in _segment(text[s0:s1])]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, without surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    for b_start, b_end in _blocks(text):
        spans.extend(_split_block(text, b_start, b_end))
    return spans


def split_sentences(text: str, context: int = 1) -> list[Sentence]:
    """Sentences of text with offsets and `context` neighbouring sentences on each side.

    A line break ends a sentence (blank lines, markdown headings, list items), except a soft
    wrap: a line that does not end a sentence followed by one starting in lower case.
    Context is the original text between the neighbouring sentences (formatting kept).
    """
    if context < 0:
        raise InputError(f"context must be 0 or more sentences, not {context}")
    spans = sentence_spans(text)
    out: list[Sentence] = []
    for i, (s, e) in enumerate(spans):
        before = after = ""
        if context and i > 0:
            before = text[spans[max(0, i - context)][0] : spans[i - 1][1]]
        if context and i + 1 < len(spans):
            after = text[spans[i + 1][0] : spans[min(len(spans) - 1, i + context)][1]]
        out.append(Sentence(i, s, e, text[s:e], before, after))
    return out
