"""Atomic edits: diff two texts into word-aligned edits, apply any subset of them.

`diff(before, after)` returns edits that never cut a word (words as `core.text.segment.tokenize` sees
them), do not overlap, are sorted, and rebuild `after` exactly when all are applied. Cost grows
with the size of the change, not the square of the document: texts are aligned in coarse units
first (lines and sentences for long texts, then space-separated pieces) with rapidfuzz's
bit-parallel LCS, and only the changed regions are tokenised and diffed token by token.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import cast

import regex
from rapidfuzz.distance import Indel

from core.errors import ConflictError, InputError
from core.text.segment import TOKEN_PATTERN, token_kind


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


# Texts longer than this (before + after, in characters) are aligned by lines first, and lines
# longer than LONG_LINE_CHARS by sentences.
LONG_TEXT_CHARS = 20_000
LONG_LINE_CHARS = 2_000
# Largest len(a) * len(b) aligned in one piece (memory ~ cells / 8 bytes); see _groups.
MAX_ALIGN_CELLS = 200_000_000

# Inside a long line a chunk ends after sentence punctuation plus the whitespace that follows it,
# or after an ideographic full stop; chunks partition the text at token boundaries.
_CHUNK_END = regex.compile(
    r"[.!?\u2026][\"'\u201d\u2019)\]]*\s+"
    r"|[\u3002\uff01\uff1f][\"'\u201d\u2019)\]\u300d\u300f]*\s*(?=\P{M}|$)"
)
_findall = TOKEN_PATTERN.findall

# A raw change: before[a0:a1] -> after[b0:b1] as token/piece/chunk indices.
_Group = list[int]


def _groups(a: list[str], b: list[str]) -> list[_Group]:
    """Maximal runs of non-equal opcodes, as [i1, i2, j1, j2].

    The bit-parallel LCS needs len(a) * len(b) / 8 bytes; beyond MAX_ALIGN_CELLS (two unrelated
    long texts, or a document rewritten everywhere) both sides are cut into proportional slices
    aligned one to one. The edits stay exact, only the alignment near the cuts may be coarser.
    """
    na, nb = len(a), len(b)
    if na * nb <= MAX_ALIGN_CELLS:
        return _slice_groups(a, b, 0, 0)
    k = math.ceil(math.sqrt(na * nb / MAX_ALIGN_CELLS))
    out: list[_Group] = []
    for s in range(k):
        i0, i1, j0, j1 = na * s // k, na * (s + 1) // k, nb * s // k, nb * (s + 1) // k
        out.extend(_slice_groups(a[i0:i1], b[j0:j1], i0, j0))
    return out


def _slice_groups(a: list[str], b: list[str], di: int, dj: int) -> list[_Group]:
    out: list[_Group] = []
    last: _Group | None = None
    # as_list gives plain (tag, i1, i2, j1, j2) tuples, faster to unpack than Opcode objects (its stub says Opcode)
    ops = cast(list[tuple[str, int, int, int, int]], Indel.opcodes(a, b).as_list())
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            last = None
        elif last is None:
            last = [i1 + di, i2 + di, j1 + dj, j2 + dj]
            out.append(last)
        else:
            last[1], last[3] = i2 + di, j2 + dj
    return out


def diff(before: str, after: str) -> list[Edit]:
    """Word-aligned, non-overlapping, sorted edits that turn `before` into `after`.

    Changes separated only by whitespace are one edit; a change made only of punctuation is
    attached to the word it is glued to ("cat," -> "cat;"); a moved phrase is a delete plus an
    insert. `apply_edits(before, diff(before, after)) == after` always holds.
    """
    if before == after:
        return []
    raw: list[Edit] = []
    if len(before) + len(after) > LONG_TEXT_CHARS:
        _diff_chunks(before, after, raw)
    else:
        _diff_pieces(before, after, 0, raw)
    # a slice cut (see _groups) can split one change so that a merged part changes nothing
    return [e for e in _merge_whitespace_gaps(before, raw) if e.before != e.after]


def _chunks(text: str) -> list[str]:
    """Lines (C-fast), with long lines cut after sentence ends; the chunks concatenate to text."""
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        if len(line) <= LONG_LINE_CHARS:
            out.append(line)
            continue
        pos = 0
        for m in _CHUNK_END.finditer(line):
            if m.end() > pos:
                out.append(line[pos : m.end()])
                pos = m.end()
        if pos < len(line):
            out.append(line[pos:])
    return out


def _diff_chunks(before: str, after: str, out: list[Edit]) -> None:
    ca, cb = _chunks(before), _chunks(after)
    pa = [0, *accumulate(map(len, ca))]
    pb = [0, *accumulate(map(len, cb))]
    for i1, i2, j1, j2 in _groups(ca, cb):
        _diff_pieces(before[pa[i1] : pa[i2]], after[pb[j1] : pb[j2]], pa[i1], out)


def _diff_pieces(a: str, b: str, offset: int, out: list[Edit]) -> None:
    """Align space-separated pieces (str.split is C-fast), then diff tokens where they differ."""
    sa, sb = a.split(" "), b.split(" ")
    na, nb = len(sa), len(sb)
    if na < 4 or nb < 4:
        _diff_tokens(a, b, offset, out)
        return
    # cumulative piece lengths; piece k starts at la[k] + k (one separator space per piece)
    la = [0, *accumulate(map(len, sa))]
    lb = [0, *accumulate(map(len, sb))]
    for i1, i2, j1, j2 in _groups(sa, sb):
        a0, b0 = la[i1] + i1, lb[j1] + j1
        if i2 == na:  # ends the text: take the separator before the region instead of after it
            a0 -= 1 if i1 else 0
            b0 -= 1 if j1 else 0
            _diff_tokens(a[a0:], b[b0:], offset + a0, out)
        else:
            _diff_tokens(a[a0 : la[i2] + i2], b[b0 : lb[j2] + j2], offset + a0, out)


def _diff_tokens(a: str, b: str, offset: int, out: list[Edit]) -> None:
    ta, tb = _findall(a), _findall(b)
    groups = _groups(ta, tb)
    if not groups:
        return
    groups = _attach_punctuation(groups, ta, tb)
    pa = [0, *accumulate(map(len, ta))]
    pb = [0, *accumulate(map(len, tb))]
    for i1, i2, j1, j2 in groups:
        out.append(Edit(offset + pa[i1], offset + pa[i2], a[pa[i1] : pa[i2]], b[pb[j1] : pb[j2]]))


_kind_cache: dict[str, str] = {}


def _kind(token: str) -> str:
    kind = _kind_cache.get(token)
    if kind is None:
        if len(_kind_cache) > 100_000:  # bound the memo on very varied input
            _kind_cache.clear()
        kind = _kind_cache[token] = token_kind(token)
    return kind


def _attach_punctuation(groups: list[_Group], ta: list[str], tb: list[str]) -> list[_Group]:
    """Grow a punctuation-only change onto the word it is glued to, then merge groups that now
    touch or are separated only by whitespace (their gap is equal text, so merging is exact)."""
    na, nb = len(ta), len(tb)
    for g in groups:
        i1, i2, j1, j2 = g
        if i2 - i1 + j2 - j1 > 4:  # punctuation-only changes are short; skip the kind checks
            continue
        changed = ta[i1:i2] + tb[j1:j2]
        kinds = [_kind(t) for t in changed]
        if "word" in kinds or "punct" not in kinds:
            continue
        # first / last changed token on either side, to see what touches the neighbours
        first_glued = (i1 < i2 and kinds[0] != "space") or (j1 < j2 and kinds[i2 - i1] != "space")
        last_glued = (i1 < i2 and kinds[i2 - i1 - 1] != "space") or (j1 < j2 and kinds[-1] != "space")
        if first_glued and i1 > 0 and j1 > 0 and _kind(ta[i1 - 1]) == "word":
            g[0], g[2] = i1 - 1, j1 - 1
        elif last_glued and i2 < na and j2 < nb and _kind(ta[i2]) == "word":
            g[1], g[3] = i2 + 1, j2 + 1
    if len(groups) == 1:
        return groups
    merged: list[_Group] = [groups[0]]
    for g in groups[1:]:
        last = merged[-1]
        if g[0] <= last[1] or all(_kind(t) == "space" for t in ta[last[1] : g[0]]):
            last[1], last[3] = max(last[1], g[1]), max(last[3], g[3])
        else:
            merged.append(g)
    return merged


def _merge_whitespace_gaps(before: str, edits: list[Edit]) -> list[Edit]:
    if len(edits) < 2:
        return edits
    out = [edits[0]]
    for e in edits[1:]:
        last = out[-1]
        gap = before[last.end : e.start]
        if not gap or gap.isspace():
            out[-1] = Edit(last.start, e.end, last.before + gap + e.before, last.after + gap + e.after)
        else:
            out.append(e)
    return out


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Apply any subset of edits made on `text` and return the new text.

    A modified edit is the same edit with the person's replacement: pass
    `dataclasses.replace(edit, after=new_text)`. Edits are applied by position whatever their
    order, except that pure insertions at the same offset keep the order given (all are
    inserted, first given first), and an insertion at the start of a replaced span goes before
    the replacement. Raises ConflictError if an edit is out of range, its `before` no longer
    matches the text, or two edits overlap.
    """
    ordered = sorted(edits, key=lambda e: (e.start, e.end))  # stable: same-offset order kept
    parts: list[str] = []
    pos = 0
    n = len(text)
    prev: Edit | None = None
    for e in ordered:
        if not 0 <= e.start <= e.end <= n:
            raise ConflictError(
                f"edit {e.start}-{e.end} ({e.before!r} -> {e.after!r}) is outside the text "
                f"(length {n}); was it made on another version?"
            )
        if text[e.start : e.end] != e.before:
            raise ConflictError(
                f"edit {e.start}-{e.end} expects {e.before!r} but the text there is "
                f"{text[e.start : e.end]!r}; was it made on another version?"
            )
        if prev is not None and e.start < pos:  # pos only moves past 0 once an edit is applied
            raise ConflictError(
                f"edit {e.start}-{e.end} ({e.before!r} -> {e.after!r}) overlaps edit "
                f"{prev.start}-{prev.end} ({prev.before!r} -> {prev.after!r}); apply only one of them"
            )
        parts.append(text[pos : e.start])
        parts.append(e.after)
        pos = e.end
        prev = e
    parts.append(text[pos:])
    return "".join(parts)


def span_to_edits(
    text: str,
    start: int,
    end: int,
    replacement: str,
    *,
    intent: str | None = None,
    explanation: str = "",
    source: str = "",
    score: float | None = None,
    alternatives: Iterable[str] = (),
) -> list[Edit]:
    """Word-level edits for a suggestion "replace text[start:end] with replacement" (a rule's
    span or a model's whole-sentence rewrite), each carrying the suggestion's metadata.

    The span is first widened to whitespace boundaries so that a suggestion cutting a word still
    gives word-aligned edits. `alternatives` are other replacements for text[start:end]; when
    there are any, the change is kept as one edit (first to last changed word) so that each
    alternative is a complete replacement of that edit's `before`. Returns [] if nothing changes.
    """
    if not 0 <= start <= end <= len(text):
        raise InputError(f"suggestion span {start}-{end} is outside the text (length {len(text)})")
    s, e = widen_to_whitespace(text, start, end)
    head, tail = text[s:start], text[end:e]
    alts = tuple(alternatives)
    # s and e are at whitespace boundaries, so the substring tokenises as it does in the text
    found = [Edit(x.start + s, x.end + s, x.before, x.after) for x in diff(text[s:e], head + replacement + tail)]
    if not found:
        return []

    def make(start: int, end: int, before: str, after: str, alternatives: tuple[str, ...] = ()) -> Edit:
        return Edit(start, end, before, after, intent, explanation, source, score, alternatives)

    if not alts:
        return [make(x.start, x.end, x.before, x.after) for x in found]
    # One edit covering every word that the replacement or any alternative changes, so that each
    # is a complete replacement of the same `before`.
    a0, a1 = found[0].start, found[-1].end
    for alt in alts:
        for x in diff(text[s:e], head + alt + tail):
            a0, a1 = min(a0, x.start + s), max(a1, x.end + s)
    keep_tail = e - a1  # unchanged characters after the edit, the same in every version

    def on_span(new: str) -> str:
        full = head + new + tail  # replaces text[s:e]
        return full[a0 - s : len(full) - keep_tail]

    after = on_span(replacement)
    alt_afters = tuple(dict.fromkeys(x for x in map(on_span, alts) if x not in (after, text[a0:a1])))
    return [make(a0, a1, text[a0:a1], after, alt_afters)]


def widen_to_whitespace(text: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    return start, end
