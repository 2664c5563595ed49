"""Choosing among a rule's alternatives (core/proposers/builtin_choice.py) with wordfreq's real data."""

from __future__ import annotations

import pytest

from core.proposers.builtin_choice import choose, dialect_variants, fit_case, spelling_candidates


def test_a_frequent_near_word_beats_the_engines_first_guess():
    # lingotweaker offers theses, Thess, Thies, tases; "these" is two edits away but far more common
    got = choose("thses", ("theses", "Thess", "Thies", "tases"), spelling=True, vocabulary=True)
    assert got[0] == "these"
    assert got[1:] == ("theses", "Thess", "Thies", "tases")  # the engine's guesses follow, ranked


def test_a_british_spelling_gets_its_american_spelling_not_a_vocabulary_word():
    # "socialists" is one edit from "socialises" and more frequent, but this is no typo
    assert choose("socialises", ("socializes",), spelling=True, vocabulary=True) == ("socializes",)
    assert choose("Colour", ("Color",), spelling=True, vocabulary=True) == ("Color",)


def test_without_the_vocabulary_only_the_engines_guesses_are_ranked():
    assert choose("thses", ("theses", "Thess"), spelling=True) == ("theses", "Thess")
    # "mediae" is the engine's first guess for "medias"; "media" is as close and far more common
    assert choose("medias", ("mediae", "media"), spelling=True) == ("media", "mediae")


def test_other_rules_keep_their_order():
    # a grammar rule's author ordered its fixes for the context it matched; frequency does not know it
    assert choose("go", ("went", "goes")) == ("went", "goes")
    assert choose("medias", ("mediae", "media")) == ("mediae", "media")


def test_transposition_counts_as_one_edit():
    assert choose("teh", ("ten", "tea", "the", "tech"), spelling=True)[0] == "the"
    assert choose("Teh", ("Ten", "The"), spelling=True)[0] == "The"


def test_the_engines_first_choice_wins_a_close_call():
    # "with" is more frequent than "which", both one edit from "wich": the engine's order breaks it
    assert choose("wich", ("which", "with", "wish"), spelling=True)[0] == "which"
    assert choose("thier", ("their", "tier"), spelling=True)[0] == "their"


def test_an_all_capital_word_is_not_replaced_by_another_all_capital_word():
    assert choose("OK", ("OKAY",)) == ()  # the match is dropped: "OK" stays
    assert choose("ok", ("okay",)) == ("okay",)
    assert choose("OK", ("OKAY",), about_case=True) == ("OKAY",)  # a case rule changes case on purpose
    assert choose("WOWII", ("WWII",), spelling=True) == ("WWII",)  # a misspelt capital word is fixed


def test_a_capitalised_first_word_keeps_its_capital():
    got = choose("Thses", ("theses", "thess"), spelling=True, vocabulary=True)
    assert got[0] == "These" and all(a[0].isupper() for a in got)
    assert fit_case("Teh", "the") == "The"
    assert fit_case("teh", "The") == "The"  # a proper noun offered for a lower-case word keeps its capital
    assert choose("Spring", ("spring",)) == ("spring",)  # a change of case only is the rule's point


def test_equal_scores_keep_the_engines_order():
    # unknown words: same frequency (0), same distance; the engine's order decides, run after run
    alts = ("zqxa", "zqxb", "zqxc")
    assert choose("zqxx", alts, spelling=True) == alts
    assert choose("zqxx", alts[::-1], spelling=True) == alts[::-1]


@pytest.mark.parametrize(
    ("original", "alternatives"),
    [
        ("could of", ("could have", "could've")),  # phrases: the rule's own order
        ("The the", ("The",)),
        (",", ("", ";")),
    ],
)
def test_phrases_deletions_and_punctuation_keep_the_engines_order(original, alternatives):
    assert choose(original, alternatives, spelling=True, vocabulary=True) == alternatives


def test_alternatives_equal_to_the_original_or_repeated_are_dropped():
    assert choose("Teh", ("the", "The", "Ten")) == ("The", "Ten")


def test_dialect_variants():
    assert dialect_variants("organisation", "organization") and dialect_variants("analysed", "analyzed")
    assert not dialect_variants("thses", "theses") and not dialect_variants("colour", "colour")


def test_spelling_candidates_are_same_length_words_within_two_edits():
    found = spelling_candidates("thses")
    assert "these" in found and "those" in found
    assert all(len(w) == 5 for w in found) and "theses" not in found
