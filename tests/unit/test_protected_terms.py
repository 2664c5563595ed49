"""Protected terms in text (pure), in the built-in proposer and in prompted models' prompts."""

from __future__ import annotations

import pytest

from core.errors import InputError
from core.proposers import make_request, propose_edits
from core.proposers.base import ITERATER_INTENTS, SpecData
from core.proposers.builtin import BuiltinProposer
from core.proposers.feedback_use import FEEDBACK_USE, describe_feedback_use
from core.proposers.prompts import build_messages
from core.proposers.registry import KINDS
from core.text.segment import Sentence
from core.text.terms import clean_term, term_spans, terms_from_feedback, touched_term

# The example: the first build changed every one of these, every round.
FEEDBACK = "Don't change genQA, GigaBERT, mBERT, XLM-R"
TERMS = ["genQA", "GigaBERT", "mBERT", "XLM-R"]
TEXT = "We evaluate GigaBERT, mBERT and XLM-R on the genQA benchmark. Thses results is OK for us."


@pytest.mark.parametrize(
    ("feedback", "want"),
    [
        (FEEDBACK, TERMS),
        ('Please do not touch "New York Times" or the citations; never rename Smith.', ["New York Times", "Smith"]),
        ("Keep 'arXiv:2101.00001' as it is", ["arXiv:2101.00001"]),
        ("Leave the BERT-base results alone. Fix the rest.", ["BERT-base"]),
        ("keep it formal", []),
        ("Make it shorter. GigaBERT is fine to rephrase around.", []),  # no "don't change" before the name
        ("", []),
    ],
)
def test_terms_from_feedback(feedback, want):
    assert terms_from_feedback(feedback) == want


def test_clean_term_refuses_empty_multiline_and_long_terms():
    assert clean_term("  'Giga  BERT' ") == "Giga BERT"
    for bad in ("", "   ", "a\nb", "x" * 201):
        with pytest.raises(InputError):
            clean_term(bad)


def test_term_spans_are_whole_words_and_case_exact():
    text = "BERT, GigaBERT and bert; C++ code."
    spans = term_spans(text, ["BERT", "C++"])
    assert [(text[s.start : s.end], s.start) for s in spans] == [("BERT", 0), ("C++", 25)]


def test_touched_term_overlap_and_insertions():
    text = "We use GigaBERT here."
    spans = term_spans(text, ["GigaBERT"])
    start = text.index("GigaBERT")
    end = start + len("GigaBERT")
    assert touched_term(spans, start, end) == "GigaBERT"
    assert touched_term(spans, start + 2, start + 4) == "GigaBERT"
    assert touched_term(spans, start - 1, start + 1) == "GigaBERT"
    assert touched_term(spans, start + 3, start + 3) == "GigaBERT"  # an insertion inside it
    assert touched_term(spans, end, end) is None  # added right after: the term stays as it is
    assert touched_term(spans, start, start) is None
    assert touched_term(spans, 0, 2) is None


@pytest.fixture(scope="module")
def builtin() -> BuiltinProposer:
    return BuiltinProposer(SpecData(kind="builtin"))


def test_builtin_never_changes_protected_terms(builtin):
    request = make_request(TEXT, intents=ITERATER_INTENTS)
    before = {e.before for e in propose_edits(builtin, request)[0]}
    assert set(TERMS) <= before  # without protection the engines do change them (as the issue saw)
    protected = make_request(TEXT, intents=ITERATER_INTENTS, protected_terms=terms_from_feedback(FEEDBACK))
    edits, _ = propose_edits(builtin, protected)
    spans = term_spans(TEXT, TERMS)
    assert edits, "the other errors are still fixed"
    assert all(touched_term(spans, e.start, e.end) is None for e in edits)
    assert not {e.before for e in edits} & set(TERMS)


def test_chat_prompt_names_the_terms_in_its_sentence_only():
    first = TEXT.split(". ")[0] + "."
    request = make_request(TEXT, protected_terms=[*TERMS, "Elsewhere"])
    user = build_messages(Sentence(0, 0, len(first), first), request)[1]["content"]
    assert 'Never change these terms; keep each exactly as written: "GigaBERT", "mBERT", "XLM-R", "genQA"' in user
    assert "Elsewhere" not in user
    plain = build_messages(Sentence(0, 0, len(first), first), make_request(TEXT))[1]["content"]
    assert "Never change" not in plain


def test_every_kind_says_what_of_the_feedback_it_uses():
    assert set(FEEDBACK_USE) == set(KINDS)
    assert "do not read free-text feedback" in describe_feedback_use(SpecData(kind="builtin"))
    assert "feedback" in describe_feedback_use(SpecData(kind="hf-chat", model="m"))
    assert BuiltinProposer.describe_feedback_use() == FEEDBACK_USE["builtin"]
