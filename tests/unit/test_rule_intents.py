"""Rule ids and engine categories mapped to IteraTeR intents (core/proposers/rule_intents.py)."""

from __future__ import annotations

import pytest

from core.proposers.base import ITERATER_INTENTS
from core.proposers.builtin import harper_matches, lingotweaker_matches
from core.proposers.rule_intents import CATEGORY_INTENTS, RULE_INTENTS, category_intent, rule_intent


@pytest.mark.parametrize(
    ("category", "intent"),
    [
        ("TYPOS", "fluency"),
        ("Spelling", "fluency"),
        ("GRAMMAR", "fluency"),
        ("punctuation", "fluency"),
        ("CONFUSED_WORDS", "fluency"),
        ("REDUNDANCY", "clarity"),
        ("PLAIN_ENGLISH", "clarity"),
        ("Readability", "clarity"),
        ("WordChoice", "fluency"),  # Harper's: mostly confused or malformed words
        ("STYLE", "style"),
        ("Regionalism", "style"),
        ("meaning-changed", "meaning-changed"),
        ("something new", "fluency"),  # unknown: rule engines mostly fix errors
    ],
)
def test_categories(category, intent):
    assert category_intent(category) == intent


def test_an_unknown_category_falls_back_to_the_issue_type():
    assert category_intent("NEW_CATEGORY", "style") == "style"
    assert category_intent("", "") == "fluency"


def test_a_rule_id_wins_over_its_category_in_any_case():
    # filed under STYLE, but "e mail" -> "email" fixes an error (CoNLL-2014 gold corrections)
    assert category_intent("STYLE") == "style"
    assert rule_intent("RECOMMENDED_COMPOUNDS", "STYLE") == "fluency"
    assert rule_intent("recommended_compounds", "STYLE") == "fluency"
    assert rule_intent("EN_WORD_COHERENCY", "MISC") == "coherence"
    assert rule_intent("NOT_A_RULE", "REDUNDANCY") == "clarity"
    assert rule_intent("NounVerbConfusion", "WordChoice") == "fluency"  # "effect" -> "affect"
    assert rule_intent("FindOut", "WordChoice") == "clarity"  # "find out" -> "find"


def test_the_tables_name_only_iterater_intents():
    assert set(CATEGORY_INTENTS.values()) <= set(ITERATER_INTENTS)
    assert set(RULE_INTENTS.values()) <= set(ITERATER_INTENTS)


def test_real_matches_get_their_rules_intent():
    text = "He is a very unique person. It is OK. We ran thses tests. The data is very good."
    got = {(m.engine, text[m.start : m.end]): m.intent for m in lingotweaker_matches(text) + harper_matches(text)}
    assert got[("lingotweaker", "very unique")] == "clarity"  # REDUNDANCY
    assert got[("harper", "very unique")] == "clarity"  # VeryUnique, a WordChoice rule that makes text concise
    assert got[("lingotweaker", "thses")] == "fluency"
    assert got[("harper", "OK")] == "style"  # OkToOkay: "OK" is no error, "okay" a preference
