"""Re-basing a round's edits over a change made by hand (core.text.rebase)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.text.edits import Edit, apply_edits
from core.text.rebase import rebase, touches

TEXT = "We recieve teh report untill noon. It is teh one."


def _span(word: str, text: str = TEXT, nth: int = 0) -> tuple[int, int]:
    at = -1
    for _ in range(nth + 1):
        at = text.index(word, at + 1)
    return at, at + len(word)


def test_edits_clear_of_the_change_move_and_touched_ones_are_dropped():
    new = TEXT.replace("report", "memo")
    spans = [_span("recieve"), _span("teh"), _span("report"), _span("untill"), _span("teh", nth=1)]
    moved = rebase(TEXT, new, spans)
    assert moved.dropped == [2]  # "report" was changed by hand
    kept = [moved.spans[i] for i in (0, 1, 3, 4)]
    for (start, end), word in zip(kept, ["recieve", "teh", "untill", "teh"], strict=True):
        assert new[start:end] == word
    assert moved.spans[0] == spans[0]  # before the change: where it was
    assert moved.spans[3] == (spans[3][0] - 2, spans[3][1] - 2)  # after it: moved by the length change
    # text added right before an edit leaves it alone, and moves it
    moved = rebase(TEXT, TEXT.replace("report", "whole report"), [_span("report")])
    assert moved.spans == ((_span("report")[0] + 6, _span("report")[1] + 6),)


def test_a_deletion_moves_what_follows_back_and_an_edit_inside_it_goes():
    new = TEXT.replace(" It is teh one.", "")
    moved = rebase(TEXT, new, [_span("untill"), _span("teh", nth=1)])
    assert moved.spans[0] == _span("untill") and moved.dropped == [1]


def test_touching_rules():
    change = Edit(5, 8, "abc", "x")
    assert touches(change, 6, 7) and touches(change, 0, 6) and touches(change, 7, 12)
    assert not touches(change, 0, 5) and not touches(change, 8, 10)  # next to it
    insertion = Edit(5, 5, "", "x")
    assert touches(insertion, 3, 7) and touches(insertion, 5, 5)  # inside; two insertions at one offset
    assert not touches(insertion, 5, 9) and not touches(insertion, 1, 5)  # right before or after
    assert touches(change, 6, 6) and not touches(change, 5, 5) and not touches(change, 8, 8)


def test_no_change_moves_nothing():
    spans = [_span("teh"), (3, 3)]
    assert rebase(TEXT, TEXT, spans).spans == tuple(spans)


ALPHABET = "ab c.\n"


@st.composite
def case(draw):
    text = draw(st.text(alphabet=ALPHABET, max_size=40))
    # the hand edit: one or two slices of the text replaced
    new = text
    for _ in range(draw(st.integers(1, 2))):
        i = draw(st.integers(0, len(new)))
        j = draw(st.integers(i, len(new)))
        new = new[:i] + draw(st.text(alphabet=ALPHABET, max_size=6)) + new[j:]
    # a round's edits: non-overlapping spans of the old text, each with a replacement
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8)))
    pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
    edits = [Edit(s, e, text[s:e], draw(st.text(alphabet=ALPHABET, max_size=4))) for s, e in pairs]
    return text, new, edits


@settings(max_examples=400, deadline=None)
@given(case())
def test_untouched_edits_still_apply_to_the_new_text_and_give_the_same_result(c):
    text, new, edits = c
    moved = rebase(text, new, [(e.start, e.end) for e in edits])
    kept = [(e, span) for e, span in zip(edits, moved.spans, strict=True) if span is not None]
    for e, (start, end) in kept:
        assert new[start:end] == e.before  # each still finds its text
    on_new = apply_edits(new, [Edit(s, t, e.before, e.after) for e, (s, t) in kept])
    # the same as making the hand change and the kept edits together on the old text
    together = apply_edits(text, [e for e, _ in kept] + list(moved.changes))
    assert on_new == together
    assert apply_edits(text, list(moved.changes)) == new
