"""The edit engine: diff into word-aligned atomic edits, apply any subset, span suggestions to edits."""

from __future__ import annotations

import json
import random
import re
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ConflictError, InputError
from core.text import edits as edits_mod
from core.text.edits import Edit, apply_edits, diff, span_to_edits
from core.text.segment import tokenize
from tests.conftest import shared_data
from tests.unit.test_text import FRAGMENTS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "iterater"

# Words from a small vocabulary so that before and after share tokens (realistic alignments),
# mixed with every kind of awkward fragment.
PIECES = st.one_of(
    st.sampled_from(["the", "cat", "sat", "on", "a", "mat", "dog", "big", "don't", "3.50", "état", "漢", "字"]),
    st.sampled_from([" ", " ", "  ", "\t", "\n", "\r\n", "\n\n", ". ", ", ", "!", "(", ")", '"']),
    FRAGMENTS,
)
TEXTS = st.lists(PIECES, max_size=40)


@st.composite
def pairs(draw: st.DrawFn) -> tuple[str, str]:
    """A before text and an after text that is mostly a mutation of it (sometimes unrelated)."""
    before = draw(TEXTS)
    if draw(st.integers(0, 9)) == 0:
        return "".join(before), "".join(draw(TEXTS))
    after = list(before)
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["insert", "delete", "replace", "move"]))
        i = draw(st.integers(0, len(after)))
        if op == "insert":
            after.insert(i, draw(PIECES))
        elif after and i < len(after):
            if op == "delete":
                del after[i]
            elif op == "replace":
                after[i] = draw(PIECES)
            else:
                after.insert(draw(st.integers(0, len(after) - 1)), after.pop(i))
    return "".join(before), "".join(after)


def _check_invariants(before: str, after: str, found: list[Edit]) -> None:
    assert apply_edits(before, found) == after
    assert apply_edits(before, []) == before
    cuts = {p for t in tokenize(before) if t.kind != "space" for p in range(t.start + 1, t.end)}
    for e in found:
        assert before[e.start : e.end] == e.before and e.before != e.after
        assert e.start not in cuts and e.end not in cuts, f"{e} cuts a word of {before!r}"
    for e1, e2 in pairwise(found):
        # sorted, non-overlapping, and separated by more than whitespace (else they would be merged)
        assert e1.end < e2.start and before[e1.end : e2.start].strip()


def _check_subset(before: str, found: list[Edit], keep: list[bool], modified: str) -> None:
    chosen = [e for e, k in zip(found, keep, strict=True) if k]
    if chosen:
        chosen[0] = replace(chosen[0], after=modified)  # the person's own replacement text
    result = apply_edits(before, reversed(chosen))  # order given does not matter
    # the result is `before` with exactly the chosen spans replaced
    pos = 0
    for e in chosen:
        assert result.startswith(before[pos : e.start], 0)
        result = result[e.start - pos :]
        assert result.startswith(e.after)
        result = result[len(e.after) :]
        pos = e.end
    assert result == before[pos:]


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs(), st.lists(st.booleans(), max_size=40), st.sampled_from(["", "X", "new words", "\u05e9 👍"]))
def test_diff_invariants(pair: tuple[str, str], keep: list[bool], modified: str) -> None:
    before, after = pair
    found = diff(before, after)
    _check_invariants(before, after, found)
    keep = (keep + [True] * len(found))[: len(found)]
    _check_subset(before, found, keep, modified)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs(), st.sampled_from([0, 10]), st.sampled_from([edits_mod.MAX_ALIGN_CELLS, 30]))
def test_long_text_paths_keep_the_invariants(pair: tuple[str, str], long_line: int, cells: int) -> None:
    before, after = pair
    saved = edits_mod.LONG_TEXT_CHARS, edits_mod.LONG_LINE_CHARS, edits_mod.MAX_ALIGN_CELLS
    # force the paths used for long documents: align lines, and sentences inside long lines,
    # first; and cut alignments that would need too much memory into slices
    edits_mod.LONG_TEXT_CHARS, edits_mod.LONG_LINE_CHARS, edits_mod.MAX_ALIGN_CELLS = 0, long_line, cells
    try:
        found = diff(before, after)
    finally:
        edits_mod.LONG_TEXT_CHARS, edits_mod.LONG_LINE_CHARS, edits_mod.MAX_ALIGN_CELLS = saved
    _check_invariants(before, after, found)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("the cat sat.", "the dog sat.", [(4, 7, "cat", "dog")]),
        # neighbouring changes separated only by whitespace are one replace
        ("the cat sat here", "the dog ran here", [(4, 11, "cat sat", "dog ran")]),
        # a deleted word takes one of its spaces with it
        ("the big cat", "the cat", [(4, 8, "big ", "")]),
        # punctuation attaches to the word it is glued to
        ("cat, dog", "cat dog", [(0, 4, "cat,", "cat")]),
        ("cat dog", "cat; dog", [(0, 3, "cat", "cat;")]),
        ("say (hi) now", "say [hi] now", [(4, 8, "(hi)", "[hi]")]),
        # words are never cut: a one-letter change replaces the whole word
        ("the cats sat", "the cat sat", [(4, 8, "cats", "cat")]),
        ("", "new", [(0, 0, "", "new")]),
        ("old", "", [(0, 3, "old", "")]),
        ("same", "same", []),
        ("a b c d e f", "a x c d e y", [(2, 3, "b", "x"), (10, 11, "f", "y")]),
    ],
)
def test_diff_examples(before: str, after: str, expected: list[tuple[int, int, str, str]]) -> None:
    assert [(e.start, e.end, e.before, e.after) for e in diff(before, after)] == expected


def test_moved_phrase_is_delete_plus_insert() -> None:
    before = "First we cook. Then we eat the dinner together. Finally we sleep."
    after = "Then we eat the dinner together. First we cook. Finally we sleep."
    found = diff(before, after)
    assert apply_edits(before, found) == after
    assert len(found) == 2
    assert {(e.before == "", e.after == "") for e in found} == {(True, False), (False, True)}


def test_content_hash_is_stable_and_depends_on_the_change() -> None:
    e = diff("a cat", "a dog")[0]
    assert e.content_hash == diff("a cat", "a dog")[0].content_hash
    assert e.content_hash != diff("a cat", "a cow")[0].content_hash
    assert e.content_hash == replace(e, intent="fluency", score=0.5).content_hash


# --- apply_edits ---------------------------------------------------------------------------------


def test_apply_rejects_overlap_out_of_range_and_stale_edits() -> None:
    text = "the cat sat"
    with pytest.raises(ConflictError, match="overlaps"):
        apply_edits(text, [Edit(0, 7, "the cat", "a dog"), Edit(4, 11, "cat sat", "cow")])
    with pytest.raises(ConflictError, match="overlaps"):
        apply_edits(text, [Edit(4, 7, "cat", "dog"), Edit(5, 5, "", "x")])  # insertion inside a replace
    with pytest.raises(ConflictError, match="outside the text"):
        apply_edits(text, [Edit(8, 20, "sat", "stood")])
    with pytest.raises(ConflictError, match="outside the text"):
        apply_edits(text, [Edit(-1, 2, "th", "")])
    with pytest.raises(ConflictError, match="expects 'dog'"):
        apply_edits(text, [Edit(4, 7, "dog", "cow")])


def test_insertions_at_one_offset_keep_their_order_and_go_before_a_replace_there() -> None:
    text = "cat sat"
    ins1, ins2 = Edit(4, 4, "", "then "), Edit(4, 4, "", "quickly ")
    rep = Edit(4, 7, "sat", "ran")
    assert apply_edits(text, [ins1, ins2]) == "cat then quickly sat"
    assert apply_edits(text, [ins2, ins1]) == "cat quickly then sat"
    assert apply_edits(text, [rep, ins1]) == "cat then ran"
    assert apply_edits(text, [Edit(7, 7, "", "!"), rep]) == "cat ran!"


# --- span_to_edits -------------------------------------------------------------------------------


def test_sentence_rewrite_becomes_word_edits_with_metadata() -> None:
    text = "Intro. He go to scool yesterday. Outro."
    s = text.index("He")
    e = text.index(" Outro")
    found = span_to_edits(text, s, e, "He goes to school yesterday.", intent="fluency", source="m", score=0.9)
    assert [(x.before, x.after) for x in found] == [("go", "goes"), ("scool", "school")]
    assert all((x.intent, x.source, x.score) == ("fluency", "m", 0.9) for x in found)
    assert apply_edits(text, found) == "Intro. He goes to school yesterday. Outro."


def test_span_cutting_a_word_is_widened_and_alternatives_follow_the_edit() -> None:
    text = "I like thier house."
    s = text.index("thier") + 2  # a rule that only points at "ier"
    found = span_to_edits(text, s, s + 3, "eir", alternatives=["ere", "eir"], explanation="spelling")
    assert [(x.start, x.end, x.before, x.after) for x in found] == [(7, 12, "thier", "their")]
    assert found[0].alternatives == ("there",)
    assert found[0].explanation == "spelling"


def test_span_with_alternatives_is_one_edit_from_first_to_last_change() -> None:
    text = "We seen it yesterday."
    found = span_to_edits(text, 0, 20, "We saw it today", alternatives=["We have seen it today"])
    assert [(x.before, x.after, x.alternatives) for x in found] == [
        ("seen it yesterday", "saw it today", ("have seen it today",))
    ]
    # an alternative that changes another word widens the edit; one that changes nothing is dropped
    wide = span_to_edits(text, 0, 20, "We saw it today", alternatives=["They saw it today", text[:20]])
    assert [(x.before, x.after, x.alternatives) for x in wide] == [
        ("We seen it yesterday", "We saw it today", ("They saw it today",))
    ]


def test_span_noop_and_out_of_range() -> None:
    assert span_to_edits("a cat", 2, 5, "cat") == []
    with pytest.raises(InputError, match="outside the text"):
        span_to_edits("a cat", 3, 9, "x")


# --- real human revisions ------------------------------------------------------------------------


def _overlaps(s1: int, e1: int, s2: int, e2: int) -> bool:
    if s1 < e1 and s2 < e2:
        return s1 < e2 and s2 < e1
    return s1 <= e2 and s2 <= e1  # an insertion overlaps the span it touches


def _agreement(rows: list[dict]) -> tuple[int, float, float, int, int]:
    exact = annotated_hit = produced_ok = n_ann = n_prod = 0
    for row in rows:
        before, after = row["before_revision"], row["after_revision"]
        found = diff(before, after)
        exact += apply_edits(before, found) == after
        spans = [(a["start_char_pos"], a["end_char_pos"]) for a in row["edit_actions"]]
        n_ann += len(spans)
        n_prod += len(found)
        annotated_hit += sum(any(_overlaps(s, t, e.start, e.end) for e in found) for s, t in spans)
        produced_ok += sum(
            any(_overlaps(s, t, e.start, e.end) for s, t in spans)
            or re.sub(r"\s", "", e.before) == re.sub(r"\s", "", e.after)
            for e in found
        )
    return exact, annotated_hit / n_ann, produced_ok / n_prod, n_ann, n_prod


def test_fixture_revisions_rebuild_exactly_and_match_annotations() -> None:
    rows = [json.loads(line) for line in (FIXTURES / "human_doc_level_dev_sample.jsonl").open()]
    exact, ann, prod, _, _ = _agreement(rows)
    assert exact == len(rows) == 12
    assert ann >= 0.99 and prod >= 0.95


def test_all_iterater_revisions_rebuild_exactly_and_match_annotations() -> None:
    folder = shared_data("iterater", "human_doc_level")
    rows = [json.loads(line) for split in ("train", "dev", "test") for line in (folder / f"{split}.json").open()]
    assert len(rows) == 559
    exact, ann, prod, n_ann, n_prod = _agreement(rows)
    assert exact == 559
    assert ann >= 0.99, f"only {ann:.2%} of {n_ann} annotated edits overlap a produced edit"
    assert prod >= 0.95, f"only {prod:.2%} of {n_prod} produced edits overlap an annotated one"


def test_long_document_edits_match_those_of_each_sentence_alone() -> None:
    rows = [json.loads(line) for line in (FIXTURES / "human_doc_level_dev_sample.jsonl").open()]
    before = "\n\n".join(r[k] for r in rows for k in ("before_revision", "after_revision"))
    assert len(before) > edits_mod.LONG_TEXT_CHARS
    sentences = [m.span() for m in re.finditer(r"[^.\n]+\.", before)]
    rng = random.Random(3)
    parts, pos, expected = [], 0, []
    for s, e in sorted(rng.sample(sentences, 12)):
        words = before[s:e].split(" ")
        k = rng.randrange(2, len(words) - 1)
        words[k] = "REPLACED"
        new = " ".join(words)
        expected += [(x.start + s, x.end + s, x.before, x.after) for x in diff(before[s:e], new)]
        parts += [before[pos:s], new]
        pos = e
    after = "".join(parts) + before[pos:]
    found = diff(before, after)
    assert apply_edits(before, found) == after
    assert [(x.start, x.end, x.before, x.after) for x in found] == expected
