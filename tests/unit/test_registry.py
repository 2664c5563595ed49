"""Spec strings, fingerprints and building proposers once per spec."""

from __future__ import annotations

import threading
import time

import pytest

from core.errors import InputError, ProposerError
from core.proposers import registry
from core.proposers.base import ProposalRequest, ProposalResult, SpecData
from core.proposers.builtin import BuiltinProposer
from core.proposers.registry import (
    KINDS,
    build_proposer,
    parse_spec,
    proposer_class,
    spec_fingerprint,
    spec_label,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("builtin", SpecData("builtin")),
        ("  BUILTIN  ", SpecData("builtin")),
        ("builtin?engines=lingotweaker", SpecData("builtin", params={"engines": "lingotweaker"})),
        ("hf-seq2seq:grammarly/coedit-large", SpecData("hf-seq2seq", "grammarly/coedit-large")),
        (
            'hf-chat:/path/to/model?max_new_tokens=64&temperature=0.5&sample=true&stop=["a","b"]',
            SpecData(
                "hf-chat",
                "/path/to/model",
                {"max_new_tokens": 64, "temperature": 0.5, "sample": True, "stop": ["a", "b"]},
            ),
        ),
        (
            "openai:http://127.0.0.1:8000/v1#model-name",
            SpecData("openai", "model-name", {"base_url": "http://127.0.0.1:8000/v1"}),
        ),
        (
            "openai:https://host/v1?timeout_s=30#llama3:8b",
            SpecData("openai", "llama3:8b", {"base_url": "https://host/v1", "timeout_s": 30}),
        ),
        ("openai#gpt-4o-mini", SpecData("openai", "gpt-4o-mini")),
        ("hf-chat:C:\\models\\tiny", SpecData("hf-chat", "C:\\models\\tiny")),
        (
            "builtin?disabled_rules=A,B&note=%2264%22",
            SpecData("builtin", params={"disabled_rules": "A,B", "note": "64"}),
        ),
        ('{"kind": "hf-chat", "model": "/odd?name#1", "name": "mine"}', SpecData("hf-chat", "/odd?name#1", {}, "mine")),
    ],
)
def test_parse_spec_and_label_round_trip(text, expected):
    spec = parse_spec(text)
    assert spec == expected
    again = parse_spec(spec_label(spec))
    assert (again.kind, again.model, again.params) == (spec.kind, spec.model, spec.params)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Empty proposer spec"),
        ("gpt", "Unknown proposer kind 'gpt'; the kinds are: builtin, hf-seq2seq, hf-chat, openai"),
        ("hf-chat", "needs a model"),
        ("hf-seq2seq:", "needs a model"),
        ("builtin:fast", "takes no model"),
        ("hf-chat:/m#x", "only fits the openai kind"),
        ("openai:localhost:8000/v1#m", "server URL"),
        ("builtin?a=1&a=2", "given twice"),
        ("{not json", "not valid JSON"),
        ('{"model": "x"}', '"kind"'),
        ('{"kind": "builtin", "extra": 1}', "Unknown key"),
        ('{"kind": "hf-chat"}', "needs a"),
    ],
)
def test_bad_specs_say_what_is_wrong(text, message):
    with pytest.raises(InputError) as info:
        parse_spec(text)
    assert message in str(info.value)


def test_fingerprint_is_canonical_and_ignores_the_display_name():
    a = SpecData("hf-chat", "m", {"a": 1, "b": [1, 2]}, name="one")
    b = SpecData("hf-chat", "m", {"b": (1, 2), "a": 1}, name="two")
    assert spec_fingerprint(a) == spec_fingerprint(b)
    assert len(spec_fingerprint(a)) == 64
    assert spec_fingerprint(a) != spec_fingerprint(SpecData("hf-chat", "m", {"a": 2, "b": [1, 2]}))
    assert spec_fingerprint(a) != spec_fingerprint(SpecData("hf-seq2seq", "m", {"a": 1, "b": [1, 2]}))
    assert spec_fingerprint(SpecData("builtin", "")) == spec_fingerprint(SpecData("builtin", None))
    with pytest.raises(InputError, match="JSON"):
        spec_fingerprint(SpecData("builtin", params={"x": object()}))


def test_kinds_are_imported_lazily():
    assert set(KINDS) == {"builtin", "hf-seq2seq", "hf-chat", "openai"}
    assert proposer_class("builtin") is BuiltinProposer
    with pytest.raises(InputError, match="the kinds are"):
        proposer_class("nope")


class CountingProposer:
    """A real (if trivial) proposer kind whose construction is slow and counted."""

    built = 0

    def __init__(self, spec: SpecData) -> None:
        time.sleep(0.2)
        type(self).built += 1
        self.spec = spec

    def propose(self, request: ProposalRequest) -> ProposalResult:
        return ProposalResult()


class BrokenProposer:
    def __init__(self, spec: SpecData) -> None:
        raise OSError("weights not found at /nowhere")


@pytest.fixture
def test_kinds(monkeypatch):
    monkeypatch.setitem(KINDS, "counting", f"{__name__}:CountingProposer")
    monkeypatch.setitem(KINDS, "broken", f"{__name__}:BrokenProposer")
    monkeypatch.setitem(KINDS, "missing", "core.proposers.no_such_module:X")
    CountingProposer.built = 0
    yield
    registry.release_proposers()


def test_build_proposer_builds_once_per_spec_even_when_called_concurrently(test_kinds):
    spec = SpecData("counting", params={"n": 1})
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(build_proposer(spec))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert CountingProposer.built == 1 and len(got) == 8 and all(p is got[0] for p in got)
    assert build_proposer(SpecData("counting", params={"n": 1}, name="other name")) is got[0]
    other = build_proposer(SpecData("counting", params={"n": 2}))
    assert other is not got[0] and CountingProposer.built == 2


def test_build_failures_are_proposer_errors_and_not_cached(test_kinds):
    with pytest.raises(ProposerError, match="weights not found"):
        build_proposer(SpecData("broken"))
    with pytest.raises(ProposerError, match="not available"):
        build_proposer(SpecData("missing"))
    with pytest.raises(InputError, match="Unknown builtin parameter"):
        build_proposer(SpecData("builtin", params={"bogus": 1}))


def test_build_builtin_from_a_spec_string():
    proposer = build_proposer(parse_spec("builtin?engines=lingotweaker"))
    assert isinstance(proposer, BuiltinProposer) and proposer.engines == ("lingotweaker",)
    assert build_proposer(parse_spec("builtin?engines=lingotweaker")) is proposer
