"""Tokens and sentences: offsets cover the text exactly, boundaries where a reader expects them."""

from __future__ import annotations

import json
from pathlib import Path

import pysbd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InputError
from core.text.segment import Token, split_sentences, token_kind, token_strings, tokenize

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "iterater"

# Fragments that exercise tokenisation: ASCII and arbitrary code points, combining marks, zero-width
# characters, CRLF and other line breaks, CJK, right-to-left scripts, emoji sequences and flags.
FRAGMENTS = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.characters(),
    st.sampled_from(
        [*"\n\r\t\u00a0.,;!?\"'()-", "e\u0301", "\u200b", "\u200d", "\u200c", "\ufeff", "\r\n", "\u2028", "\x85"]
        + [*"漢字かなカナ한국어שלוםمرحبا", "👍", "👍🏽", "👨\u200d👩\u200d👧", "🇫🇷", "word", "3.50", "don't"]
    ),
)
UNICODE_TEXT = st.lists(FRAGMENTS, max_size=60).map("".join)


def test_tokens_cover_text_and_keep_words_whole() -> None:
    text = "Don't split state-of-the-art, 3.50 or café\u0301 — or 👨\u200d👩\u200d👧!\r\n漢字"
    toks = tokenize(text)
    assert "".join(t.text for t in toks) == text
    words = [t.text for t in toks if t.kind == "word"]
    assert words == ["Don't", "split", "state-of-the-art", "3.50", "or", "café\u0301", "or", "漢", "字"]
    assert [t.text for t in toks if t.kind == "punct"] == [",", "—", "👨\u200d👩\u200d👧", "!"]
    assert Token(len(text) - 4, len(text) - 2, "\r\n", "space") in toks


def test_combining_mark_stays_on_its_letter() -> None:
    assert token_strings("nai\u0308ve re\u0301sume\u0301") == ["nai\u0308ve", " ", "re\u0301sume\u0301"]


def test_token_kind_matches_tokenize() -> None:
    for tok in tokenize("Hello, wörld  漢 👍 \u200b"):
        assert token_kind(tok.text) == tok.kind


@settings(max_examples=400, deadline=None)
@given(UNICODE_TEXT)
def test_tokens_partition_any_text(text: str) -> None:
    toks = tokenize(text)
    pos = 0
    for t in toks:
        assert t.start == pos and t.end > t.start and text[t.start : t.end] == t.text
        pos = t.end
    assert pos == len(text)
    assert token_strings(text) == [t.text for t in toks]


def test_sentences_handle_abbreviations_numbers_quotes() -> None:
    text = 'Dr. Smith went to Washington D.C. on Jan. 3. He paid $3.50 for it!  "Why?" she asked. Fine.'
    got = [s.text for s in split_sentences(text)]
    assert got == [
        "Dr. Smith went to Washington D.C. on Jan. 3.",
        "He paid $3.50 for it!",
        '"Why?" she asked.',
        "Fine.",
    ]


def test_sentences_split_on_markdown_blocks_and_line_breaks_but_not_soft_wraps() -> None:
    text = (
        "# A heading\n"
        "Intro line without a stop\n"
        "- item one\n"
        "- item two is\n  wrapped here\n\n"
        "1. numbered\n"
        "A paragraph that is\nwrapped by an editor. Then more.\r\n\r\nLast"
    )
    got = [s.text for s in split_sentences(text)]
    assert got == [
        "# A heading",
        "Intro line without a stop",
        "- item one",
        "- item two is\n  wrapped here",
        "1. numbered",
        "A paragraph that is\nwrapped by an editor.",
        "Then more.",
        "Last",
    ]


def test_sentence_offsets_and_context() -> None:
    text = "  One. Two is here.\n\nThree!  "
    sents = split_sentences(text, context=1)
    assert [(s.start, s.end) for s in sents] == [(2, 6), (7, 19), (21, 27)]
    assert all(text[s.start : s.end] == s.text for s in sents)
    assert [s.index for s in sents] == [0, 1, 2]
    assert (sents[0].context_before, sents[0].context_after) == ("", "Two is here.")
    assert (sents[1].context_before, sents[1].context_after) == ("One.", "Three!")
    wide = split_sentences(text, context=2)
    assert wide[2].context_before == "One. Two is here."
    assert split_sentences(text, context=0)[1].context_before == ""


def test_empty_and_blank_text_have_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\t\r\n ") == []


def test_negative_context_is_an_input_error() -> None:
    with pytest.raises(InputError, match="context"):
        split_sentences("One. Two.", context=-1)


def _check_partition(text: str) -> None:
    sents = split_sentences(text)
    covered = [0] * len(text)
    for s in sents:
        assert s.text == text[s.start : s.end] and s.text == s.text.strip() and s.text
        for i in range(s.start, s.end):
            covered[i] += 1
    assert [s.start for s in sents] == sorted(s.start for s in sents)
    for i, ch in enumerate(text):
        # every non-space character is in exactly one sentence; whitespace between sentences in none
        assert covered[i] == (1 if not ch.isspace() else covered[i]) and covered[i] <= 1


@settings(max_examples=200, deadline=None)
@given(UNICODE_TEXT)
def test_sentences_cover_every_non_space_character_once(text: str) -> None:
    _check_partition(text)


def test_sentences_cover_real_documents() -> None:
    rows = [json.loads(line) for line in (FIXTURES / "human_doc_level_dev_sample.jsonl").open()]
    for row in rows:
        for text in (row["before_revision"], row["after_revision"]):
            _check_partition(text)
            assert len(split_sentences(text)) >= 2


def test_long_paragraph_is_cut_only_where_pysbd_also_ends_a_sentence() -> None:
    # long blocks are pre-cut for speed; the sentences must be those pysbd finds on the whole block
    rows = [json.loads(line) for line in (FIXTURES / "human_doc_level_dev_sample.jsonl").open()]
    one = " ".join(r["before_revision"] for r in rows)
    assert len(one) > 10_000
    reference = [s.strip() for s in pysbd.Segmenter(language="en", clean=False).segment(one) if s.strip()]
    assert [s.text for s in split_sentences(one)] == reference
