"""Suggestions -> edits (core.proposers.to_edits), requests, and the shared proposal cache."""

from __future__ import annotations

import threading

import pytest

from core.errors import InputError, ProposerError
from core.proposers import check_intents, make_request, propose_edits, to_edits
from core.proposers.base import DEFAULT_INTENTS, Suggestion
from core.proposers.builtin import BuiltinProposer
from core.proposers.cache import ProposalCache, cache_key
from core.proposers.registry import parse_spec
from core.text.edits import apply_edits

TEXT = "Intro. This is is a test , and i has a apple. The end."


def sentence_span(text, sentence):
    start = text.index(sentence)
    return start, start + len(sentence)


def test_sentence_rewrite_becomes_word_level_edits_carrying_its_metadata():
    start, end = sentence_span(TEXT, "This is is a test , and i has a apple.")
    rewrite = Suggestion(
        start,
        end,
        "This is a test, and I have an apple.",
        intent="fluency",
        explanation="Fix the grammar",
        source="hf-seq2seq:coedit",
        score=0.8,
    )
    edits = to_edits(TEXT, [rewrite])
    assert len(edits) >= 3
    assert all(e.start >= start and e.end <= end for e in edits)
    assert all(
        (e.intent, e.explanation, e.source, e.score) == ("fluency", "Fix the grammar", "hf-seq2seq:coedit", 0.8)
        for e in edits
    )
    assert [e.start for e in edits] == sorted(e.start for e in edits)
    assert all(TEXT[e.start : e.end] == e.before for e in edits)
    assert apply_edits(TEXT, edits) == "Intro. This is a test, and I have an apple. The end."
    # every subset applies: the edits are independent
    assert apply_edits(TEXT, edits[::2]).startswith("Intro. ")


def test_overlapping_edits_keep_higher_score_then_earlier_suggestion():
    i = TEXT.index("apple")
    low = Suggestion(i, i + 5, "pear", score=0.2, source="low")
    high = Suggestion(i, i + 5, "orange", score=0.9, source="high")
    unscored = Suggestion(i, i + 5, "plum", source="none")
    for order in ([low, high, unscored], [unscored, high, low], [high, unscored, low]):
        (edit,) = to_edits(TEXT, order)
        assert edit.source == "high"
    first = Suggestion(i, i + 5, "kiwi", source="first")
    second = Suggestion(i - 2, i + 5, "a kiwi", source="second")
    assert [e.source for e in to_edits(TEXT, [first, second])] == ["first"]
    assert [e.source for e in to_edits(TEXT, [second, first])] == ["second"]


def test_rewrite_and_rule_on_the_same_words():
    start, end = sentence_span(TEXT, "This is is a test , and i has a apple.")
    i = TEXT.index("apple") - 2  # the article "a"
    rule = Suggestion(i, i + 1, "an", source="rule")
    rewrite = Suggestion(start, end, "This is a test, and I have an orange.", source="model", score=0.5)
    edits = to_edits(TEXT, [rule, rewrite])
    # the scored rewrite goes first; its edit covering "a apple" wins over the rule's "a"
    assert "rule" not in {e.source for e in edits}
    spans = [(e.start, e.end) for e in edits]
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    apply_edits(TEXT, edits)  # no conflict


def test_noop_and_same_point_insertions():
    assert to_edits(TEXT, [Suggestion(0, 5, "Intro")]) == []
    i = TEXT.index("test")
    a = Suggestion(i, i, "good ", source="a")
    b = Suggestion(i, i, "nice ", source="b")
    (edit,) = to_edits(TEXT, [a, b])
    assert (edit.source, edit.start, edit.end, edit.after) == ("a", i, i, "good ")


def test_alternatives_travel_with_the_edit():
    i = TEXT.index("has")
    (edit,) = to_edits(TEXT, [Suggestion(i, i + 3, "have", alternatives=("had",), intent="fluency")])
    assert (edit.before, edit.after, edit.alternatives) == ("has", "have", ("had",))


def test_suggestion_outside_the_text_is_a_proposer_error():
    with pytest.raises(ProposerError, match="bad-model"):
        to_edits("short", [Suggestion(3, 50, "x", source="bad-model")])


def test_make_request_fills_sentences_and_checks_intents():
    request = make_request(TEXT, intents=["Fluency", "clarity", "fluency"], feedback="keep it formal")
    assert [s.text for s in request.sentences] == ["Intro.", "This is is a test , and i has a apple.", "The end."]
    assert all(TEXT[s.start : s.end] == s.text for s in request.sentences)
    assert request.sentences[1].context_before == "Intro." and request.sentences[1].context_after == "The end."
    assert request.intents == ("fluency", "clarity")
    assert request.feedback == ("keep it formal",)
    assert make_request(TEXT).intents == DEFAULT_INTENTS
    assert make_request(TEXT, disabled_rules="A_RULE, harper").disabled_rules == {"A_RULE", "harper"}
    with pytest.raises(InputError, match="polite"):
        make_request(TEXT, intents=["polite"])
    with pytest.raises(InputError, match="at least one"):
        check_intents([" "])


def test_propose_edits_with_the_builtin_proposer():
    proposer = BuiltinProposer(parse_spec("builtin"))
    edits, result = propose_edits(proposer, make_request(TEXT))
    assert len(result.suggestions) >= 3
    revised = apply_edits(TEXT, edits)
    assert "I have an apple" in revised or "I has an apple" in revised
    assert revised.startswith("Intro. This is a test, and I ") and revised.endswith("an apple. The end.")


# --- cache ---------------------------------------------------------------------------------------


def test_cache_key_covers_spec_input_and_fields():
    k = cache_key("fp", "He go.", intent="fluency", messages=[{"role": "user", "content": "x"}])
    assert k == cache_key("fp", "He go.", messages=[{"role": "user", "content": "x"}], intent="fluency")
    assert k != cache_key("fp2", "He go.", intent="fluency", messages=[{"role": "user", "content": "x"}])
    assert k != cache_key("fp", "He goes.", intent="fluency", messages=[{"role": "user", "content": "x"}])
    assert k != cache_key("fp", "He go.", intent="clarity", messages=[{"role": "user", "content": "x"}])
    assert cache_key("fp", "t", rules=frozenset({"b", "a"})) == cache_key("fp", "t", rules=["a", "b"])
    with pytest.raises(TypeError):
        cache_key("fp", "t", thing=object())


def test_cache_is_lru_and_bounded():
    cache = ProposalCache(max_entries=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)  # evicts b
    assert "b" not in cache and cache.get("b") is None and cache.get("b", "miss") == "miss"
    assert cache.get("a") == 1 and cache.get("c") == 3 and len(cache) == 2
    assert (cache.hits, cache.misses) == (3, 2)
    with pytest.raises(ValueError):
        ProposalCache(max_entries=0)


def test_cache_under_concurrent_use_stays_bounded_and_consistent():
    cache = ProposalCache(max_entries=50)
    errors: list[BaseException] = []

    def work(t):
        try:
            for i in range(500):
                key = f"{t}:{i % 80}"
                cache.put(key, key)
                value = cache.get(key)
                assert value is None or value == key
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(cache) == 50


class _RewriteProposer:
    """A model-like proposer: rewrites whole sentences (as an hf or openai kind would)."""

    def __init__(self, kind: str, rewrites: dict[str, str]) -> None:
        from core.proposers.base import SpecData

        self.spec = SpecData(kind=kind, model="test-model")
        self.rewrites = rewrites

    def propose(self, request):
        from core.proposers.base import ProposalResult, Suggestion

        out = [
            Suggestion(s.start, s.end, self.rewrites[s.text], intent="paraphrase", source="test-model")
            for s in request.sentences
            if s.text in self.rewrites
        ]
        return ProposalResult(suggestions=out)


def test_model_edits_get_their_intent_from_the_classifier_and_rules_keep_theirs():
    from core.proposers import make_request, propose_edits

    text = "She go to school every day. The results was shown in the table below."
    rewrites = {
        "She go to school every day.": "She goes to school every day.",
        "The results was shown in the table below.": "The results were shown in the table below.",
    }
    request = make_request(text, intents=("paraphrase",))
    edits, _ = propose_edits(_RewriteProposer("openai", rewrites), request)
    assert [(e.before, e.after) for e in edits] == [("go", "goes"), ("was", "were")]
    assert {e.intent for e in edits} == {"fluency"}  # classified, not the instruction "paraphrase"
    edits, _ = propose_edits(_RewriteProposer("builtin", rewrites), request)
    assert {e.intent for e in edits} == {"paraphrase"}  # a rule engine's own intent is kept
