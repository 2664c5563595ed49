"""GLEU as in Napoles et al. (bench/gleu.py), and references built from an M2 file."""

from __future__ import annotations

import pytest

from bench.gleu import gleu, m2_references, sentence_stats

SOURCE = "he go to school every days ."
REF = "he goes to school every day ."


def test_a_hypothesis_equal_to_the_reference_scores_one():
    assert gleu([SOURCE], [[REF]], [REF]) == pytest.approx(1.0)


def test_each_correction_made_raises_the_score_and_the_unchanged_source_is_lowest():
    # long enough that some 4-grams match (as in the authors' code, a zero n-gram count gives 0)
    source = "on most mornings after a long and quiet lunch with friends he go to the old school every days ."
    ref = source.replace("he go", "he goes").replace("every days", "every day")
    unchanged = gleu([source], [[ref]], [source])
    one_fix = gleu([source], [[ref]], [source.replace("he go", "he goes")])
    assert 0.0 < unchanged < one_fix < gleu([source], [[ref]], [ref]) == pytest.approx(1.0)


def test_source_ngrams_missing_from_the_reference_are_penalised():
    # "go" is in the source and not the reference: keeping it costs more than a word in neither
    kept = sentence_stats("he go to".split(), "he go to".split(), "he goes to".split())
    other = sentence_stats("he went to".split(), "he go to".split(), "he goes to".split())
    assert kept[2] < other[2]  # unigram matches less penalties: 2 - 1 against 2 - 0


def test_several_references_are_drawn_reproducibly():
    refs = [[REF, "he went to school every day ."]]
    assert gleu([SOURCE], refs, [REF], seed=1) == gleu([SOURCE], refs, [REF], seed=1)
    assert gleu([SOURCE], refs, [REF]) < 1.0  # half the draws score against the other reference


def test_m2_references_apply_each_annotators_edits(tmp_path):
    m2 = tmp_path / "t.m2"
    m2.write_text(
        "S he go to school every days .\n"
        "A 1 2|||R:VERB:SVA|||goes|||REQUIRED|||-NONE-|||0\n"
        "A 5 6|||R:NOUN:NUM|||day|||REQUIRED|||-NONE-|||0\n"
        "A 1 2|||R:VERB:TENSE|||went|||REQUIRED|||-NONE-|||1\n"
        "\n"
        "S all fine .\n"
        "A -1 -1|||noop|||-NONE-|||REQUIRED|||-NONE-|||0\n",
        encoding="utf-8",
    )
    sources, refs = m2_references(m2)
    assert sources == [SOURCE, "all fine ."]
    assert refs == [[REF, "he went to school every days ."], ["all fine ."]]
