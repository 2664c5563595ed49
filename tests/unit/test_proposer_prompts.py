"""Prompt building, reply parsing and output guards shared by the model proposers (pure functions)."""

import pytest

from core.errors import InputError
from core.proposers import make_request
from core.proposers.base import Avoid, Example
from core.proposers.guards import GuardSettings, change_ratio, check_output, repetition
from core.proposers.prompts import DEFAULT_PREFIXES, build_messages, parse_reply, seq2seq_prefixes
from core.proposers.rewrites import Generated, rewrite_suggestion
from core.text.segment import Sentence

# --- parse_reply -----------------------------------------------------------------------------

SOURCE = "She go home every days."
WANT = "She goes home every day."


@pytest.mark.parametrize(
    "reply",
    [
        WANT,
        f'"{WANT}"',
        f"\u201c{WANT}\u201d",
        f"Revised: {WANT}",
        f"Revised sentence: {WANT}",
        f"**Revised sentence:** {WANT}",
        f"Sure! Here is the revised sentence:\n\n{WANT}",
        f"Sure, here's the revision: {WANT}",
        f"```\n{WANT}\n```",
        f'```json\n{{"revised": "{WANT}"}}\n```',
        f'{{"revised_sentence": "{WANT}", "explanation": "agreement and plural"}}',
        f'{{"text": "{WANT}"}}',
        f'["{WANT}"]',
        f'{{"revised": "{WANT}", "note": "truncated',  # broken JSON: the field is still found
        f"{WANT}\n\nExplanation: 'go' agrees with 'She' as 'goes'.",
        f"{WANT} (Changed 'go' to 'goes'.)",
        f"- {WANT}",
        f"  {WANT}  \n",
    ],
)
def test_parse_reply_finds_the_sentence(reply):
    assert parse_reply(reply, SOURCE) == WANT


@pytest.mark.parametrize("reply", ["", "   \n ", "{}", '{"a": 1, "b": 2}', "Here is the revised sentence:", "```\n```"])
def test_parse_reply_without_a_sentence_is_none(reply):
    assert parse_reply(reply, SOURCE) is None


def test_parse_reply_keeps_what_belongs_to_the_sentence():
    # The sentence itself opens with "Sure" and has a parenthesis: neither is stripped.
    assert (
        parse_reply("Sure enough, it failed.\nNote: fixed tense.", "Sure enough, it fail.") == "Sure enough, it failed."
    )
    kept = "The model (a T5) works."
    assert parse_reply(kept, "The model (a T5) work.") == kept


# --- prompts ----------------------------------------------------------------------------------


def test_prefixes_are_coedit_style_and_overridable():
    assert DEFAULT_PREFIXES["fluency"] == "Fix the grammar: "
    prefixes = seq2seq_prefixes({"prefixes": {"fluency": "Correct this", "style": "", "meaning-changed": "Update: "}})
    assert prefixes["fluency"] == "Correct this "  # a separator is added
    assert "style" not in prefixes  # an empty prefix removes the intent
    assert prefixes["meaning-changed"] == "Update: "
    assert prefixes["paraphrase"] == DEFAULT_PREFIXES["paraphrase"]
    with pytest.raises(InputError, match="prefixes"):
        seq2seq_prefixes({"prefixes": ["Fix the grammar: "]})


def test_chat_prompt_carries_context_intents_feedback_examples_and_relevant_avoids():
    request = make_request(
        "The data was collected in 2020. He go home early. Then it rained.",
        intents=("fluency", "formal"),
        feedback=["keep it short", "British spelling"],
        examples=[Example("alot", "a lot", "fluency")],
        avoid=[Avoid("go home", "leave"), Avoid("rained", "poured")],
    )
    sentence = request.sentences[1]
    system, user = build_messages(sentence, request)
    assert system["role"] == "system" and "revised sentence only" in system["content"]
    text = user["content"]
    assert text.endswith("Sentence: He go home early.")
    assert "fluency (" in text and "formal (" in text
    assert '"The data was collected in 2020."' in text and '"Then it rained."' in text
    assert "- keep it short" in text and "- British spelling" in text
    assert '"alot" -> "a lot"' in text
    # Only rejected changes whose text is in this sentence: others would change the prompt for nothing.
    assert '"go home" -> "leave"' in text and "poured" not in text
    assert build_messages(sentence, request, system="Be brief.")[0]["content"] == "Be brief."
    assert "alot" not in build_messages(sentence, request, max_examples=0)[1]["content"]


# --- guards ---------------------------------------------------------------------------------


def test_guard_passes_a_plain_correction():
    assert check_output(SOURCE, WANT) is None
    assert check_output("Thanks", "Thank you") is None  # short sentences are compared by characters


@pytest.mark.parametrize(
    ("output", "kwargs", "reason"),
    [
        ("   ", {}, "empty output"),
        (WANT, {"hit_token_limit": True}, "runaway: generation hit the max_new_tokens limit"),
        (WANT + " And then something else happened, and more, and more, and more.", {}, "runaway: 88 characters"),
        ("She goes goes goes goes goes home.", {}, 'repetitive: repeats "goes goes goes" 3 times'),
        ("She goes hoooooooome.", {}, 'repetitive: repeats "o" 8 times in a row'),
        ("She goes home home home every day.", {}, 'repetitive: repeats "home" 3 times in a row'),
        ("Cats are nice animals to keep.", {}, "too far from the sentence"),
    ],
)
def test_guard_drops_bad_outputs_with_a_reason(output, kwargs, reason):
    assert check_output(SOURCE, output, **kwargs).startswith(reason)


def test_repetition_already_in_the_sentence_is_allowed():
    source = "Go go go go go!"
    assert repetition(source, "Go, go, go go go!") is None
    assert repetition("Wait....... what?", "Wait....... what!") is None


def test_change_limits_per_intent_and_from_params():
    rewrite = "Every day, she walks back to her house."
    ratio = change_ratio(SOURCE, rewrite)
    assert 0.7 < ratio < 0.9
    assert check_output(SOURCE, rewrite, intent="fluency") is not None
    assert check_output(SOURCE, rewrite, intent="paraphrase") is None
    strict = GuardSettings.from_params({"max_change": {"default": 0.5, "paraphrase": 0.5}})
    assert check_output(SOURCE, rewrite, strict, intent="paraphrase") is not None
    with pytest.raises(InputError, match="max_change"):
        GuardSettings.from_params({"max_change": 1.5})
    with pytest.raises(InputError, match="guard"):
        GuardSettings.from_params({"max_repeats": "many"})


# --- rewrites -> suggestion -------------------------------------------------------------------


def _rewrites(*pairs):
    return [(intent, Generated(text)) for intent, text in pairs]


def test_first_changed_rewrite_wins_and_aligned_ones_become_alternatives():
    sentence = Sentence(0, 10, 37, "She go to school yesterday.")
    outputs = _rewrites(
        ("fluency", "She go to school yesterday."),  # unchanged: nothing to propose
        ("clarity", "She went to school yesterday."),
        ("coherence", "She went to school yesterday."),  # same rewrite: merged
        ("paraphrase", "She walked to school yesterday."),  # changes the same word: an alternative
        ("formal", "She went to the school yesterday."),  # changes another stretch too: not aligned
    )
    suggestion, dropped = rewrite_suggestion(sentence, outputs, label="m", guards=GuardSettings(), chat=False)
    assert dropped == []
    assert (suggestion.start, suggestion.end) == (10, 37)
    assert (suggestion.replacement, suggestion.intent, suggestion.explanation) == (
        "She went to school yesterday.",
        "clarity",
        "m (clarity)",
    )
    assert suggestion.alternatives == ("She walked to school yesterday.",)
    everything, _ = rewrite_suggestion(
        sentence, outputs, label="m", guards=GuardSettings(), chat=False, alternatives="all"
    )
    assert everything.alternatives == ("She walked to school yesterday.", "She went to the school yesterday.")
    bare, _ = rewrite_suggestion(sentence, outputs, label="m", guards=GuardSettings(), chat=False, alternatives="none")
    assert bare.alternatives == ()


def test_rewrite_keeps_the_sentence_surroundings_and_records_drops():
    # The sentence's own leading/trailing whitespace stays out of the suggested span.
    sentence = Sentence(2, 5, 19, " He go home.  ")
    outputs = _rewrites(("fluency", "He go go go go home."), ("clarity", "  He goes home. "))
    suggestion, dropped = rewrite_suggestion(sentence, outputs, label="m", guards=GuardSettings(), chat=False)
    assert (suggestion.start, suggestion.end, suggestion.replacement) == (6, 17, "He goes home.")
    assert [(d.sentence_index, d.reason.split(":")[:2]) for d in dropped] == [(2, ["fluency", " repetitive"])]
    # A chat reply is parsed first; one that says nothing usable is dropped as unparseable.
    chat_outputs = [(None, Generated("Revised: He goes home.")), (None, Generated("```\n```"))]
    suggestion, dropped = rewrite_suggestion(
        sentence, chat_outputs, label="m", guards=GuardSettings(), chat=True, intents=("fluency", "clarity")
    )
    assert suggestion.replacement == "He goes home." and suggestion.intent is None
    assert suggestion.explanation == "m (fluency, clarity)"
    assert [d.reason for d in dropped] == ["unparseable reply"]
