"""The openai kind against real HTTP servers on 127.0.0.1 speaking the chat-completions protocol:
one answering from a tiny transformers model, and ones that error, stall and return garbage."""

import json
import socket
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from core.errors import InputError, ProposerError
from core.proposers import make_request
from core.proposers.base import SpecData
from core.proposers.hf import ChatProposer
from core.proposers.openai_compat import OpenAIProposer
from core.proposers.prompts import build_messages
from tests.tinymodels import (  # noqa: F401 (fixtures, applied by pytestmark)
    CHAT_END,
    build_tiny_gpt2,
    empty_cache,
    one_torch_thread,
    train_tiny_causal,
)

SENTENCE = "He go home."
FIXED = "He goes home."
TEXT = f"{SENTENCE} The weather was very nice all day long and we stayed outside."
FEEDBACK = "keep it short"
KEY_ENV = "REDRAFT_TEST_OPENAI_KEY"


pytestmark = pytest.mark.usefixtures("one_torch_thread", "empty_cache")


def request(**kwargs):
    return make_request(TEXT, intents=("fluency",), feedback=FEEDBACK, **kwargs)


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory):
    """(model, tokenizer, path) of a tiny GPT-2 taught to answer the prompt for SENTENCE with a fix."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = build_tiny_gpt2(tmp_path_factory.mktemp("models") / "gpt2-chat")
    tokenizer = AutoTokenizer.from_pretrained(path)
    req = request()
    prompt = tokenizer.apply_chat_template(
        build_messages(req.sentences[0], req), tokenize=False, add_generation_prompt=True
    )
    train_tiny_causal(path, [(prompt, f"{FIXED}{CHAT_END}")])
    return AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path), str(path)


class Server:
    """A chat-completions endpoint on 127.0.0.1; `behave(server, body) -> (status, headers, bytes)` answers."""

    def __init__(self, behave):
        self.behave = behave
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.release = threading.Event()  # lets stalling handlers finish at teardown
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(body)
                    server.headers.append(dict(self.headers))
                    attempt = len(server.requests)
                status, headers, payload = server.behave(server, body, attempt, self.path)
                try:
                    self.send_response(status)
                    for name, value in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(behave):
        servers.append(Server(behave))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def completion(content, finish_reason="stop"):
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
    }
    return 200, {}, json.dumps(body).encode()


def model_server(chat_model):
    """Answers each chat completion from the tiny model (greedy, up to max_tokens)."""
    model, tokenizer, _ = chat_model
    lock = threading.Lock()

    def behave(server, body, attempt, path):
        assert path == "/v1/chat/completions"
        prompt = tokenizer.apply_chat_template(body["messages"], tokenize=False, add_generation_prompt=True)
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        with lock, torch.inference_mode():
            out = model.generate(
                **ids,
                max_new_tokens=body["max_tokens"],
                do_sample=False,
                return_dict_in_generate=True,
                output_scores=True,
            )
        new = out.sequences[0, ids["input_ids"].shape[1] :]
        finished = tokenizer.eos_token_id in new.tolist()
        answer = completion(tokenizer.decode(new, skip_special_tokens=True), "stop" if finished else "length")
        if body.get("logprobs"):
            chosen = [
                torch.log_softmax(s[0].float(), -1)[t].item() for s, t in zip(out.scores, new.tolist(), strict=True)
            ]
            data = json.loads(answer[2])
            data["choices"][0]["logprobs"] = {"content": [{"token": "", "logprob": v} for v in chosen]}
            answer = (200, {}, json.dumps(data).encode())
        return answer

    return behave


def proposer(url, **params):
    params = {"base_url": url, "backoff_s": 0.01, "api_key_env": KEY_ENV, **params}
    return OpenAIProposer(SpecData(kind="openai", model="tiny-chat", params=params))


def test_server_answers_become_suggestions_like_hf_chat(serve, chat_model, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    server = serve(model_server(chat_model))
    result = proposer(server.url, logprobs=True).propose(request())
    [suggestion] = result.suggestions
    assert (suggestion.start, suggestion.end, suggestion.replacement) == (0, len(SENTENCE), FIXED)
    assert suggestion.source == "tiny-chat" and suggestion.intent == "fluency"
    assert [d.sentence_index for d in result.dropped] == [1]  # the untaught sentence's reply fails the guards
    # What the server saw: the model name, the hf-chat prompt, a bounded max_tokens, the key from the env var.
    assert len(server.requests) == 2
    first = next(r for r in server.requests if r["messages"][1]["content"].endswith(SENTENCE))
    assert first["model"] == "tiny-chat" and first["temperature"] == 0.0 and 0 < first["max_tokens"] <= 256
    req = request()
    assert first["messages"] == build_messages(req.sentences[0], req)
    assert {h["Authorization"] for h in server.headers} == {"Bearer sk-test"}
    # The same model through the hf-chat kind proposes the same.
    _, _, path = chat_model
    hf = ChatProposer(SpecData(kind="hf-chat", model=path, params={"cache": False}, name="tiny-chat"))
    [same] = hf.propose(request()).suggestions
    assert replace(same, score=None) == replace(suggestion, score=None)
    assert same.score == pytest.approx(suggestion.score, abs=1e-3)  # both exp(mean log-prob of the reply)


def test_repeated_request_is_served_from_the_cache(serve, chat_model, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    server = serve(model_server(chat_model))
    first = proposer(server.url).propose(request())
    assert all("Authorization" not in h for h in server.headers)  # no key: no header
    again = proposer(server.url).propose(request())
    assert len(server.requests) == 2
    assert again.suggestions == first.suggestions


def test_server_error_then_success_is_retried(serve, chat_model):
    answer = model_server(chat_model)

    def flaky(server, body, attempt, path):
        if attempt <= 2:
            return 500, {}, b'{"error": "overloaded"}'
        if attempt == 3:
            return 429, {"Retry-After": "0"}, b'{"error": "slow down"}'
        return answer(server, body, attempt, path)

    server = serve(flaky)
    # One request at a time: sentence 0 gets the 500, 500, 429 and then its answer; sentence 1 one try.
    result = proposer(server.url, concurrency=1).propose(request())
    assert len(server.requests) == 5
    assert [s.replacement for s in result.suggestions] == [FIXED]


def test_server_that_keeps_failing_raises_a_clear_error(serve):
    server = serve(lambda *_: (503, {}, b"upstream unavailable"))
    with pytest.raises(ProposerError, match=r"failed 3 times: HTTP 503: upstream unavailable\. Check that the server"):
        proposer(server.url, max_retries=2).propose(make_request(SENTENCE))
    assert len(server.requests) == 3


def test_client_errors_are_not_retried(serve):
    server = serve(lambda *_: (401, {}, b'{"error": {"message": "invalid api key"}}'))
    with pytest.raises(ProposerError, match=f"HTTP 401.*invalid api key.*{KEY_ENV}"):
        proposer(server.url).propose(make_request(SENTENCE))
    assert len(server.requests) == 1
    missing = serve(lambda *_: (404, {}, b"not found"))
    with pytest.raises(ProposerError, match="check base_url"):
        proposer(missing.url).propose(make_request(SENTENCE))


def test_stalled_server_times_out_each_attempt(serve):
    def stall(server, body, attempt, path):
        server.release.wait(10)
        return completion(FIXED)

    server = serve(stall)
    with pytest.raises(ProposerError, match=r"failed 2 times: no answer within 0\.2 s"):
        proposer(server.url, timeout_s=0.2, max_retries=1).propose(make_request(SENTENCE))
    assert len(server.requests) == 2


def test_request_deadline_drops_unanswered_sentences(serve):
    def stall(server, body, attempt, path):
        server.release.wait(10)
        return completion(FIXED)

    server = serve(stall)
    result = proposer(server.url, timeout_s=30).propose(make_request(SENTENCE, timeout_s=0.3))
    assert result.suggestions == []
    assert [d.reason for d in result.dropped] == ["timeout: the server did not answer before the request's deadline"]
    assert len(server.requests) == 1


def test_unreachable_server_raises_after_retries():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ProposerError, match="failed 2 times: connection error"):
        proposer(f"http://127.0.0.1:{port}/v1", max_retries=1).propose(make_request(SENTENCE))


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((200, {}, b"<html>Bad Gateway</html>"), "unparseable server reply (not JSON)"),
        ((200, {}, b'{"object": "chat.completion"}'), "unparseable server reply (no choices)"),
        ((200, {}, b'{"choices": []}'), "unparseable server reply (no choices)"),
        (
            (200, {}, b'{"choices": [{"message": {"role": "assistant"}}]}'),
            "unparseable server reply (no message content)",
        ),
        (completion("He goes home home home home home home home home home", "length"), "runaway: generation hit"),
        (completion("He goes " + "very " * 40 + "home."), "runaway: 213 characters"),
        (completion("Sure! Here is the revised sentence:"), "unparseable reply"),
        (completion(""), "unparseable reply"),
    ],
)
def test_garbage_answers_are_dropped_with_a_reason(serve, answer, reason):
    server = serve(lambda *_: answer)
    result = proposer(server.url).propose(make_request(SENTENCE))
    assert result.suggestions == []
    [dropped] = result.dropped
    assert dropped.sentence_index == 0 and dropped.reason.startswith(reason), dropped.reason
    assert len(server.requests) == 1  # a 200 is the server's answer: not retried
    # A broken server reply is not cached (asking again asks the server again); a model output is, and
    # the guards run on every use, so it is dropped again without another request.
    again = proposer(server.url).propose(make_request(SENTENCE))
    assert again.dropped == result.dropped
    assert len(server.requests) == (2 if reason.startswith("unparseable server reply") else 1)


def test_reply_parsing_and_content_parts(serve):
    server = serve(lambda *_: completion('```json\n{"revised": "He goes home."}\n```'))
    [s] = proposer(server.url).propose(make_request(SENTENCE)).suggestions
    assert s.replacement == FIXED
    parts = {"choices": [{"message": {"content": [{"type": "text", "text": "He goes home."}]}}]}
    server = serve(lambda *_: (200, {}, json.dumps(parts).encode()))
    [s] = proposer(server.url).propose(make_request(SENTENCE)).suggestions
    assert s.replacement == FIXED


def test_cancel_sends_nothing_more(serve):
    cancel = threading.Event()
    seen = []

    def answer(server, body, attempt, path):
        return completion(body["messages"][1]["content"].rsplit("Sentence: ", 1)[1].replace("go", "goes"))

    server = serve(answer)

    def progress(done, total):
        seen.append((done, total))
        if done:
            cancel.set()

    text = "He go home. We go out. They go away. I go there."
    result = proposer(server.url, concurrency=1).propose(make_request(text, progress=progress, cancel=cancel))
    assert result.cancelled
    assert seen[0] == (0, 4) and seen[-1][0] < 4
    assert len(server.requests) < 4
    assert len(result.suggestions) == seen[-1][0]

    cancel_first = threading.Event()
    cancel_first.set()
    early = proposer(server.url).propose(make_request("He go home.", cancel=cancel_first))
    assert early.cancelled and early.suggestions == []


def test_concurrent_requests_keep_sentence_order(serve):
    def answer(server, body, attempt, path):
        return completion(body["messages"][1]["content"].rsplit("Sentence: ", 1)[1].replace(" go ", " goes "))

    server = serve(answer)
    text = " ".join(f"Sentence {i} go fine." for i in range(12))
    result = proposer(server.url, concurrency=4).propose(make_request(text))
    assert [s.replacement for s in result.suggestions] == [f"Sentence {i} goes fine." for i in range(12)]
    assert [text[s.start : s.end] for s in result.suggestions] == [f"Sentence {i} go fine." for i in range(12)]


def test_spec_errors_are_clear():
    with pytest.raises(ProposerError, match="needs a model"):
        OpenAIProposer(SpecData(kind="openai", params={"base_url": "http://127.0.0.1:1/v1"}))
    with pytest.raises(InputError, match="base_url"):
        OpenAIProposer(SpecData(kind="openai", model="m", params={"base_url": "127.0.0.1:8000"}))
    with pytest.raises(InputError, match="max_retries"):
        OpenAIProposer(SpecData(kind="openai", model="m", params={"base_url": "http://x/v1", "max_retries": -1}))
