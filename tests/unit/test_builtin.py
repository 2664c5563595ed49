"""The builtin proposer with the real engines (lingotweaker + Harper) on texts whose errors they catch."""

from __future__ import annotations

import threading

import pytest

from core.errors import InputError, ProposerError
from core.proposers import make_request
from core.proposers.base import ITERATER_INTENTS, SpecData
from core.proposers.builtin import (
    BuiltinProposer,
    Match,
    byte_to_char_offsets,
    char_offset,
    harper_matches,
    lingotweaker_matches,
    merge_matches,
)

ERRORS = "He go to school everyday and their is a problm."


@pytest.fixture(scope="module")
def builtin() -> BuiltinProposer:
    return BuiltinProposer(SpecData(kind="builtin"))


def propose(proposer, text, **kw):
    kw.setdefault("intents", ITERATER_INTENTS)
    return proposer.propose(make_request(text, **kw)).suggestions


def by_source(suggestions):
    return {s.source: s for s in suggestions}


def test_real_errors_become_suggestions_with_rule_message_and_intent(builtin):
    got = by_source(propose(builtin, ERRORS))
    assert got["lingotweaker:HE_VERB_AGR"].replacement == "goes"
    assert got["lingotweaker:HE_VERB_AGR"].alternatives == ("went",)
    assert got["lingotweaker:EVERYDAY_EVERY_DAY"].replacement == "every day"
    assert got["lingotweaker:THEIR_IS"].replacement == "there"
    spelling = got["lingotweaker:MORFOLOGIK_RULE_EN_US"]
    assert ERRORS[spelling.start : spelling.end] == "problm" and spelling.replacement == "problem"
    assert spelling.explanation == "Possible spelling mistake found."
    # LanguageTool's <suggestion> markup is not left in the message shown to a person
    assert "<suggestion>" not in got["lingotweaker:THEIR_IS"].explanation
    assert '"there"' in got["lingotweaker:THEIR_IS"].explanation
    assert {s.intent for s in got.values()} == {"fluency"}


@pytest.mark.parametrize("prefix", ["Café au lait. ", "😀 🎉 ", "東京で会いましょう。 ", "naïve façade — ☕ "])
def test_byte_offsets_become_character_offsets_after_non_ascii_text(builtin, prefix):
    text = prefix + ERRORS
    got = propose(builtin, text)
    spans = {text[s.start : s.end] for s in got if s.source.startswith("lingotweaker:")}
    assert {"go", "everyday", "their", "problm"} <= spans
    # the same errors at the same distance from the end of the prefix as in the ASCII text
    plain = {(s.start, s.source) for s in propose(builtin, ERRORS)}
    shifted = {(s.start - len(prefix), s.source) for s in got}
    assert plain <= shifted


def test_byte_to_char_table():
    text = "aé😀b"  # 1 + 2 + 4 + 1 bytes
    table = byte_to_char_offsets(text)
    assert table == [0, 1, 3, 7, 8]
    assert [char_offset(table, b) for b in (0, 1, 3, 7, 8)] == [0, 1, 2, 3, 4]
    with pytest.raises(ProposerError, match="not a character boundary"):
        char_offset(table, 2)  # inside é


def test_engines_report_matching_spans_on_non_ascii_text():
    text = "Ça va 🙂. I has a apple."
    for m in lingotweaker_matches(text) + harper_matches(text):
        assert 0 <= m.start <= m.end <= len(text)
    assert "has" in {text[m.start : m.end] for m in harper_matches(text)}
    assert "a" in {text[m.start : m.end] for m in lingotweaker_matches(text)}


def test_rules_can_be_switched_off_by_id_source_category_or_spec(builtin):
    everything = set(by_source(propose(builtin, ERRORS)))
    assert "lingotweaker:HE_VERB_AGR" in everything
    off = set(by_source(propose(builtin, ERRORS, disabled_rules={"he_verb_agr"})))  # case-insensitive id
    assert "lingotweaker:HE_VERB_AGR" not in off
    # with lingotweaker's rule off, Harper's fix for the same words is no longer hidden by it
    assert "harper:PronounVerbAgreement" in off and "harper:PronounVerbAgreement" not in everything
    off = set(by_source(propose(builtin, ERRORS, disabled_rules={"lingotweaker:THEIR_IS", "TYPOS"})))
    assert not {"lingotweaker:THEIR_IS", "lingotweaker:MORFOLOGIK_RULE_EN_US"} & off
    assert "lingotweaker:HE_VERB_AGR" in off
    spec_off = BuiltinProposer(SpecData(kind="builtin", params={"disabled_rules": "harper,EVERYDAY_EVERY_DAY"}))
    sources = set(by_source(propose(spec_off, ERRORS, disabled_rules={"he_verb_agr"})))
    assert not any(s.startswith("harper:") for s in sources)
    assert "lingotweaker:EVERYDAY_EVERY_DAY" not in sources and "lingotweaker:HE_VERB_AGR" not in sources
    assert "lingotweaker:THEIR_IS" in sources


def test_overlapping_matches_keep_lingotweaker_one():
    text = "This is is a test and i has a apple."
    hp = {text[m.start : m.end]: m.rule_id for m in harper_matches(text)}
    assert hp.get("is is") == "RepeatedWords" and hp.get("a") == "AnA"  # Harper flags them too ...
    merged = BuiltinProposer(SpecData(kind="builtin")).propose(make_request(text, intents=ITERATER_INTENTS))
    got = {(text[s.start : s.end], s.source) for s in merged.suggestions}
    # ... but where both engines flag the same words, only lingotweaker's match is kept
    assert ("is is", "lingotweaker:ENGLISH_WORD_REPEAT_RULE") in got
    assert ("a", "lingotweaker:EN_A_VS_AN") in got
    assert not any(src.startswith("harper:") and span in ("is is", "a") for span, src in got)
    assert ("has", "harper:PronounVerbAgreement") in got  # only Harper catches this one
    spans = sorted((s.start, s.end) for s in merged.suggestions)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def _m(text, start, end, engine, fix="x", rule="R"):
    fix = fix.replace("{}", text[start:end])
    return Match(start, end, (fix,), "", rule, "C", "C", engine, "fluency")


def test_merge_prefers_first_engine_and_drops_insertions_touching_it():
    text = "we can going home now ok"
    lt = [_m(text, 7, 12, "lingotweaker", "go"), _m(text, 7, 9, "lingotweaker", "gone", "INNER")]
    hp = [
        _m(text, 3, 6, "harper", "{} be"),  # "can" -> "can be": an insertion touching "going"
        _m(text, 13, 17, "harper", "house"),  # "home" -> "house": a replacement touching "going"
        _m(text, 18, 21, "harper", "{},"),  # "now" -> "now,": an insertion touching nothing kept
        _m(text, 22, 24, "harper", "okay"),
        _m(text, 22, 24, "harper", "OK", "DUP"),  # overlaps the Harper match before it
        _m(text, 8, 10, "harper", "oi"),  # inside lingotweaker's match
    ]
    kept = merge_matches(text, lt, hp)
    assert [(text[m.start : m.end], m.engine, m.replacements[0]) for m in kept] == [
        ("going", "lingotweaker", "go"),
        ("home", "harper", "house"),
        ("now", "harper", "now,"),
        ("ok", "harper", "OK"),  # same span: rule id decides
    ]
    assert merge_matches(text, lt, list(reversed(hp))) == kept  # deterministic, whatever the order


def test_engines_param_picks_one_engine():
    only_harper = BuiltinProposer(SpecData(kind="builtin", params={"engines": ["harper"]}))
    only_lt = BuiltinProposer(SpecData(kind="builtin", params={"engines": "lingotweaker"}))
    assert {s.source.split(":")[0] for s in propose(only_harper, ERRORS)} == {"harper"}
    assert {s.source.split(":")[0] for s in propose(only_lt, ERRORS)} == {"lingotweaker"}


def test_intents_select_rules_by_category(builtin):
    text = "We are very unique. He go home."
    clarity = propose(builtin, text, intents=("clarity",))
    assert [(s.source, s.replacement) for s in clarity] == [("lingotweaker:VERY_UNIQUE", "unique")]
    assert "lingotweaker:VERY_UNIQUE" not in by_source(propose(builtin, text, intents=("fluency",)))
    assert by_source(propose(builtin, text, intents=("simplify",))).keys() == {"lingotweaker:VERY_UNIQUE"}
    assert propose(builtin, text, intents=("meaning-changed",)) == []


def test_matches_without_replacement_are_skipped(builtin):
    text = 'This is (a test. He said "hello.'
    assert any(not m.replacements for m in lingotweaker_matches(text))  # unpaired bracket/quote: no fix
    assert propose(builtin, text) == []


def test_progress_per_chunk_and_cancel():
    text = "He go home. She go home. They goes home."
    proposer = BuiltinProposer(SpecData(kind="builtin", params={"chunk_chars": 1}))  # one sentence per chunk
    seen: list[tuple[int, int]] = []
    result = proposer.propose(make_request(text, progress=lambda d, t: seen.append((d, t))))
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert len(result.suggestions) == 3 and not result.cancelled

    cancel = threading.Event()

    def stop_after_first(done, total):
        if done == 1:
            cancel.set()

    result = proposer.propose(make_request(text, progress=stop_after_first, cancel=cancel))
    assert result.cancelled
    assert [text[s.start : s.end] for s in result.suggestions] == ["go"]


def test_chunks_see_the_same_matches_as_one_call():
    # (no three sentences in a row start alike: that rule looks across sentences, so across chunks)
    text = "He go home. She go out. It go up. " * 10 + "Their is a problm."
    small = BuiltinProposer(SpecData(kind="builtin", params={"chunk_chars": 40}))
    big = BuiltinProposer(SpecData(kind="builtin", params={"chunk_chars": 100_000}))
    a = propose(small, text)
    assert len(a) == 32
    assert a == propose(big, text)


def test_concurrent_requests_share_the_engines_safely(builtin):
    texts = [f"Sentence {i}: he go to school and i has a apple." for i in range(8)]
    expected = [propose(builtin, t) for t in texts]
    results: dict[int, object] = {}
    errors: list[BaseException] = []

    def work(i):
        try:
            for _ in range(3):
                results[i] = propose(builtin, texts[i])
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [results[i] for i in range(8)] == expected


def test_british_spelling():
    gb = BuiltinProposer(SpecData(kind="builtin", params={"language": "en-GB"}))
    us = BuiltinProposer(SpecData(kind="builtin"))
    text = "The colour of the center."
    assert [s.replacement for s in propose(us, text)] == ["color"]
    assert [s.replacement for s in propose(gb, text)] == ["centre"]


def test_alternatives_param_orders_a_spelling_rules_guesses(builtin):
    text = "We ran thses tests. It is OK."
    engine = BuiltinProposer(SpecData(kind="builtin", params={"alternatives": "engine"}))
    ranked = BuiltinProposer(SpecData(kind="builtin", params={"alternatives": "ranked"}))
    first = {
        name: {text[s.start : s.end]: s.replacement for s in propose(p, text)}
        for name, p in (("engine", engine), ("ranked", ranked), ("default", builtin))
    }
    assert first["engine"] == {"thses": "theses", "OK": "OKAY"}  # the engines' own order
    assert first["ranked"] == {"thses": "theses"}  # "OK" stays; "these" is no engine's guess
    assert first["default"] == {"thses": "these"}  # ranked+vocabulary


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"engine": "harper"}, "Unknown builtin parameter"),
        ({"engines": ["languagetool"]}, "engines must be"),
        ({"engines": []}, "engines must be"),
        ({"language": "fr"}, "language must be"),
        ({"harper_rules": "some"}, "harper_rules"),
        ({"chunk_chars": 0}, "chunk_chars"),
        ({"disabled_rules": 5}, "disabled_rules"),
        ({"alternatives": "frequency"}, "alternatives must be one of engine, ranked, ranked\\+vocabulary"),
    ],
)
def test_bad_params_are_refused_with_a_reason(params, message):
    with pytest.raises(InputError, match=message):
        BuiltinProposer(SpecData(kind="builtin", params=params))


def test_builtin_takes_no_model():
    with pytest.raises(InputError, match="no model"):
        BuiltinProposer(SpecData(kind="builtin", model="x"))


def test_empty_and_blank_text(builtin):
    assert propose(builtin, "") == []
    assert propose(builtin, "  \n\n ") == []
