"""The openai kind against a misbehaving server (tests/fault_server.py): every request bounded as a whole,
cancel honoured while a request waits, every reply validated before use, every failure a clear message."""

import threading

import pytest

from core.errors import ProposerError
from core.proposers import make_request
from core.proposers.base import SpecData
from core.proposers.openai_compat import OpenAIProposer
from tests.fault_server import FaultServer, answer, delayed, drip, raw, reset, stream_events, wait_then

SENTENCE = "He go home."
FIXED = "He goes home."


def proposer(url, **params):
    params = {"base_url": url, "backoff_s": 0.01, "max_retries": 0, "api_key_env": "REDRAFT_NO_KEY", **params}
    return OpenAIProposer(SpecData(kind="openai", model="faulty", params=params))


def test_slow_drip_is_bounded_by_the_request_deadline_not_per_byte():
    # One byte every 0.1 s: httpx's read timeout (restarting with every byte) never fires; the whole
    # reply would take ~14 s and then be a valid fix. The request's own 1 s deadline ends it.
    with FaultServer(drip(FIXED, every_s=0.1)) as server:
        with pytest.raises(ProposerError, match=r"failed 1 time: no answer within 1 s"):
            proposer(server.url, timeout_s=1).propose(make_request(SENTENCE))
        total = len(server.requests)
        assert server.dripped < 100  # the client hung up long before the ~140 bytes were sent
    assert total == 1


def test_slow_drip_is_bounded_by_the_round_deadline():
    with FaultServer(drip(FIXED, every_s=0.1)) as server:
        result = proposer(server.url, timeout_s=60).propose(make_request(SENTENCE, timeout_s=1))
    assert result.suggestions == []
    assert [d.reason for d in result.dropped] == ["timeout: the server did not answer before the request's deadline"]


@pytest.mark.parametrize("fault", [drip(FIXED, every_s=0.2), delayed(FIXED, delay_s=30)], ids=["drip", "delay"])
def test_cancel_stops_a_request_in_flight(fault):
    cancel = threading.Event()
    with FaultServer(fault) as server:
        wait_then(server.received, cancel.set, after_s=0.3)
        result = proposer(server.url, timeout_s=120).propose(make_request(SENTENCE, cancel=cancel))
        dripped = server.dripped
    assert result.cancelled and result.suggestions == []
    assert dripped < 40


def test_reply_after_a_long_delay_is_a_clear_timeout():
    with FaultServer(delayed(FIXED, delay_s=30)) as server:
        with pytest.raises(ProposerError, match=r"failed 2 times: no answer within 0\.5 s"):
            proposer(server.url, timeout_s=0.5, max_retries=1).propose(make_request(SENTENCE))
        assert len(server.requests) == 2


def test_nul_in_a_reply_is_dropped_with_its_reason():
    with FaultServer(answer("He goes\x00 home.")) as server:
        result = proposer(server.url).propose(make_request(SENTENCE))
    assert result.suggestions == []
    [dropped] = result.dropped
    assert dropped.reason == "control characters in the reply (1, such as NUL): not used"
    assert "\x00" not in dropped.output


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ([{"type": "text", "text": 12345}], "choices.0.message.content"),
        ([12345], "choices.0.message.content"),
        ({"a": 1}, "choices.0.message.content"),
        (12345, "choices.0.message.content"),
    ],
)
def test_numbers_and_objects_for_text_are_refused_not_stringified(content, where):
    with FaultServer(answer(content)) as server:
        result = proposer(server.url).propose(make_request(SENTENCE))
    assert result.suggestions == []
    [dropped] = result.dropped
    assert dropped.reason.startswith(f"unparseable server reply (wrong schema at {where}"), dropped.reason


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"choices": [{"message": {"content": "x"}', "unparseable server reply (not JSON)"),
        (b"\xff\xfe garbage", "unparseable server reply (not UTF-8)"),
        (b'{"choices": "all of them"}', "unparseable server reply (no choices)"),
        (b'{"choices": [{"text": "He goes home."}]}', "unparseable server reply (wrong schema at choices.0.message"),
        (b"[" * 100_000 + b"]" * 100_000, "unparseable server reply (JSON nested deeper than 32 levels)"),
        (b'{"pad": "' + b"x" * 1_200_000 + b'"}', "unparseable server reply (more than 1 MiB"),
    ],
    ids=["cut-json", "not-utf8", "choices-string", "completions-shape", "deep", "huge"],
)
def test_garbage_and_wrong_schema_are_dropped_with_a_reason(payload, reason):
    with FaultServer(raw(payload)) as server:
        result = proposer(server.url).propose(make_request(SENTENCE))
    assert result.suggestions == []
    [dropped] = result.dropped
    assert dropped.reason.startswith(reason), dropped.reason


def test_429_with_a_long_retry_after_fails_at_once_saying_what_was_asked():
    with FaultServer(raw(b'{"error": "slow down"}', status=429, headers={"Retry-After": "3600"})) as server:
        with pytest.raises(ProposerError, match=r"HTTP 429.*asked to retry after 3600 s \(Retry-After\)"):
            proposer(server.url, max_retries=3).propose(make_request(SENTENCE))
        assert len(server.requests) == 1


def test_429_on_the_last_attempt_says_what_was_asked():
    with FaultServer(raw(b"busy", status=429, headers={"Retry-After": "7"})) as server:
        with pytest.raises(ProposerError, match=r"HTTP 429: busy \(it asked to retry after 7 s\)"):
            proposer(server.url, max_retries=0).propose(make_request(SENTENCE))


def test_500_is_retried_then_a_clear_error():
    with FaultServer(raw(b"internal error", status=500)) as server:
        with pytest.raises(ProposerError, match=r"failed 2 times: HTTP 500: internal error"):
            proposer(server.url, max_retries=1).propose(make_request(SENTENCE))
        assert len(server.requests) == 2


def test_connection_reset_is_a_clear_error():
    with FaultServer(reset) as server:
        with pytest.raises(ProposerError, match=r"failed 2 times: connection error"):
            proposer(server.url, max_retries=1).propose(make_request(SENTENCE))


def test_streamed_replies_are_read_and_bounded():
    with FaultServer(stream_events(["He ", "goes ", "home."])) as server:
        [s] = proposer(server.url, stream=True).propose(make_request(SENTENCE)).suggestions
        assert server.requests[0]["stream"] is True
    assert s.replacement == FIXED
    with FaultServer(stream_events(["He ", "goes"] * 100, every_s=0.1)) as server:
        with pytest.raises(ProposerError, match=r"no answer within 1 s"):
            proposer(server.url, stream=True, timeout_s=1).propose(make_request(SENTENCE))
