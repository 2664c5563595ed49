"""Import IteraTeR / R3 `edit_actions` as `Edit`s.

An action is a dict `{type: "A"|"D"|"R", before, after, start_char_pos, end_char_pos,
major_intent, ...}` on the document's `before_revision` (IteraTeR human_doc_level rows and
R3 `rev_depth_k["doc"]` both use this shape; `before` is null for additions and `after` for
deletions in IteraTeR, empty strings in R3).

R3 model actions are character-level and may cut words ("This pap" -> "W"); by default they are
kept exactly, one Edit per action, so decisions recorded on actions map one to one. With
`word_aligned=True` each action is widened to whole words and actions that then touch the same
words become one edit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import Any

from core.errors import InputError
from core.text.edits import Edit, apply_edits, span_to_edits, widen_to_whitespace


def _text(value: Any, where: str) -> str:  # noqa: ANN401
    """An action's text: a number or an object where text belongs is refused, never stringified."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"{where} must be text, not {type(value).__name__} ({str(value)[:40]!r})")
    return value


def _intent(action: Mapping[str, Any]) -> str | None:
    intent = action.get("major_intent")
    if intent is None:
        return None
    if not isinstance(intent, str):
        raise InputError(f"major_intent must be text, not {type(intent).__name__}")
    intent = intent.strip().lower()
    return intent or None


def edits_from_actions(
    before_text: str,
    actions: Iterable[Mapping[str, Any]],
    *,
    source: str = "iterater",
    word_aligned: bool = False,
) -> list[Edit]:
    """Edits (sorted by position) for IteraTeR/R3 edit actions made on `before_text`.

    Intent comes from `major_intent` (lower-cased, kept even outside the taxonomy, e.g.
    "others"). Raises InputError when an action's span is outside the text, its `before` does
    not match the text there, or two actions overlap.
    """
    edits: list[tuple[Edit, int]] = []
    n = len(before_text)
    for k, action in enumerate(actions):
        if not isinstance(action, Mapping):
            raise InputError(f"edit action {k} is not an object")
        start, end = action.get("start_char_pos"), action.get("end_char_pos")
        if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool) or isinstance(end, bool):
            raise InputError(f"edit action {k} has no valid start_char_pos/end_char_pos (whole numbers)")
        before = _text(action.get("before"), f"edit action {k} before")
        after = _text(action.get("after"), f"edit action {k} after")
        if not 0 <= start <= end <= n:
            raise InputError(
                f"edit action {k} spans {start}-{end} but the text has {n} characters; "
                "is it paired with the right before_revision?"
            )
        if before_text[start:end] != before:
            raise InputError(
                f"edit action {k} expects {before!r} at {start}-{end} but the text has "
                f"{before_text[start:end]!r}; is it paired with the right before_revision?"
            )
        edits.append((Edit(start, end, before, after, intent=_intent(action), source=source), k))
    edits.sort(key=lambda pair: (pair[0].start, pair[0].end, pair[1]))
    for (a, ka), (b, kb) in pairwise(edits):
        if b.start < a.end:
            raise InputError(f"edit actions {ka} and {kb} overlap ({a.start}-{a.end}, {b.start}-{b.end})")
    result = [e for e, _ in edits]
    return _word_aligned(before_text, result) if word_aligned else result


def _word_aligned(text: str, edits: list[Edit]) -> list[Edit]:
    """Widen each edit to whitespace boundaries, group edits whose widened spans overlap, and
    re-diff each group into word-level edits that keep the group's first intent."""
    groups: list[tuple[int, int, list[Edit]]] = []
    for e in edits:
        s, t = widen_to_whitespace(text, e.start, e.end)
        if groups and s < groups[-1][1]:
            g0, g1, members = groups[-1]
            groups[-1] = (g0, max(g1, t), [*members, e])
        else:
            groups.append((s, t, [e]))
    out: list[Edit] = []
    for s, t, members in groups:
        shifted = [Edit(m.start - s, m.end - s, m.before, m.after) for m in members]
        replacement = apply_edits(text[s:t], shifted)
        first = members[0]
        out.extend(span_to_edits(text, s, t, replacement, intent=first.intent, source=first.source))
    return out
