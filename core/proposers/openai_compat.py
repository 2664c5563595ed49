"""Kind openai: any server speaking the OpenAI chat-completions API (vLLM, TGI, Ollama, llama.cpp server,
OpenAI itself): `POST {base_url}/chat/completions`, one prompt per sentence (the same prompt as hf-chat).

Requests run concurrently (the server batches them, as vLLM and TGI do); each is bounded as a whole
(timeout_s, and the round's deadline: not per byte, so a server dripping one byte at a time cannot
hold a round) and stops within a fraction of a second of Cancel (core.proposers.bounded); and
429 / 5xx / connection errors / timeouts are retried with exponential backoff (honouring Retry-After)
a bounded number of times, after which the request fails with a ProposerError that says what to check.
A Retry-After longer than max_backoff_s or than the time left fails at once, saying what the server asked.
Other 4xx answers fail at once (a wrong key or model does not get better by retrying). A 200 answer
is validated against the chat-completions schema (core.proposers.replies); one that is not a chat
completion (not JSON, wrong schema, numbers for text, over 1 MiB) is dropped with its reason; a reply
that is, goes through the same parsing and guards as hf-chat, and is cached the same way.

Spec: model = the server's model name. Params (all optional):
  base_url: $OPENAI_BASE_URL or "https://api.openai.com/v1"   e.g. "http://localhost:8000/v1" for vLLM
  api_key_env: "OPENAI_API_KEY"   name of the environment variable holding the key (no key: no header)
  timeout_s: 60                   per HTTP request, first to last byte; the round's deadline bounds all
  stream: false                   ask for server-sent events (the reply is read and validated the same way)
  max_retries: 3                  retries after the first attempt
  backoff_s: 0.5, max_backoff_s: 8   wait backoff_s * 2**attempt between attempts, at most max_backoff_s
  concurrency: 4                  requests in flight at once
  temperature: 0.0
  max_tokens_field: "max_tokens"  ("max_completion_tokens" for OpenAI's reasoning models)
  logprobs: false                 ask for token log-probs (vLLM, llama.cpp, OpenAI): score = exp(mean log-prob)
  extra_body: {}                  merged into every request body (e.g. {"top_p": 1})
  cache, system_prompt, max_examples, max_avoid, new_tokens_*, max_new_tokens and guard thresholds as for hf-chat
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from core.errors import InputError, ProposerError
from core.proposers.base import ProposalRequest, ProposalResult, SpecData
from core.proposers.bounded import RequestStopped, bounded
from core.proposers.cache import cache_key
from core.proposers.endpoints import EndpointGuard, guarded_client
from core.proposers.feedback_use import FEEDBACK_USE
from core.proposers.guards import GuardSettings
from core.proposers.prompts import DEFAULT_MAX_AVOID, DEFAULT_MAX_EXAMPLES, build_messages
from core.proposers.registry import spec_fingerprint
from core.proposers.replies import MAX_REPLY_BYTES, BadReply, Reply, read_completion, read_stream, snippet
from core.proposers.rewrites import (
    SHARED_CACHE,
    Budget,
    Generated,
    Job,
    JobBoard,
    alternatives_param,
    float_param,
    int_param,
    model_label,
    sentences_to_revise,
)
from core.text.sizes import format_size

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRY_STATUS = frozenset({408, 409, 425, 429}) | frozenset(range(500, 600))
CHARS_PER_TOKEN = 3  # a generous guess (English is ~4): the token budget is computed without a tokenizer


@dataclass(frozen=True)
class _Failed:
    reason: str


@dataclass(frozen=True)
class _Skipped:
    """Not asked: the request was cancelled or another sentence's request failed."""


class OpenAIProposer:
    def __init__(self, spec: SpecData) -> None:
        if not spec.model:
            raise ProposerError("Kind openai needs a model: the name the server knows it by (e.g. 'gpt-4o-mini').")
        params = dict(spec.params)
        self.spec = spec
        self.label = model_label(spec)
        self.fingerprint = spec_fingerprint(spec)
        base = params.get("base_url") or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        if not str(base).startswith(("http://", "https://")):
            raise InputError(f"base_url {base!r} must start with http:// or https:// (e.g. http://localhost:8000/v1).")
        self.url = str(base).rstrip("/") + "/chat/completions"
        self.guard = EndpointGuard()  # every request and redirect hop is judged (core.proposers.endpoints)
        self.api_key_env = str(params.get("api_key_env") or "OPENAI_API_KEY")
        self.timeout_s = float_param(params, "timeout_s", 60.0) or 60.0
        self.max_retries = int_param(params, "max_retries", 3, minimum=0)
        self.backoff_s = float_param(params, "backoff_s", 0.5) or 0.5
        self.max_backoff_s = float_param(params, "max_backoff_s", 8.0) or 8.0
        self.concurrency = int_param(params, "concurrency", 4)
        self.temperature = float(params.get("temperature", 0.0))
        self.max_tokens_field = str(params.get("max_tokens_field", "max_tokens"))
        self.logprobs = bool(params.get("logprobs", False))
        self.stream = bool(params.get("stream", False))
        extra = params.get("extra_body") or {}
        if not isinstance(extra, Mapping):
            raise InputError('params["extra_body"] must be an object of extra request fields, e.g. {"top_p": 1}.')
        self.extra_body = dict(extra)
        self.budget = Budget.from_params(params, extra=48)
        self.guards = GuardSettings.from_params(params)
        self.alternatives = alternatives_param(params)
        self.cache = SHARED_CACHE if params.get("cache", True) else None
        self.system_prompt = params.get("system_prompt")
        self.max_examples = int_param(params, "max_examples", DEFAULT_MAX_EXAMPLES, minimum=0)
        self.max_avoid = int_param(params, "max_avoid", DEFAULT_MAX_AVOID, minimum=0)

    @staticmethod
    def describe_feedback_use() -> str:
        return FEEDBACK_USE["openai"]

    def jobs(self, request: ProposalRequest) -> list[Job]:
        jobs = []
        for sentence in sentences_to_revise(request):
            messages = build_messages(
                sentence, request, system=self.system_prompt, max_examples=self.max_examples, max_avoid=self.max_avoid
            )
            key = cache_key(self.fingerprint, sentence.text.strip(), messages=messages)
            jobs.append(Job(sentence, None, messages, key, len(sentence.text)))
        return jobs

    def propose(self, request: ProposalRequest) -> ProposalResult:
        board = JobBoard(request, self.jobs(request), self.cache)
        pending = board.serve_cached()
        timeout = request.timeout_s
        deadline = time.monotonic() + timeout if timeout is not None else None
        stop = threading.Event()  # set on cancel or on a failure: requests not yet sent are skipped
        if pending:
            with (
                guarded_client(self.guard, headers=self._headers()) as client,
                ThreadPoolExecutor(self.concurrency) as pool,
            ):
                futures = {
                    pool.submit(self._ask, client, board.jobs[i], deadline, request.cancel, stop): i for i in pending
                }
                try:
                    for future in as_completed(futures):
                        i = futures[future]
                        outcome = future.result()
                        if isinstance(outcome, Generated):
                            board.complete(i, outcome)
                        elif isinstance(outcome, _Failed):
                            board.fail([i], outcome.reason)
                        board.report()
                        if request.cancelled:
                            break
                finally:
                    stop.set()
                    for future in futures:
                        future.cancel()
        board.cancelled = request.cancelled and len(board.outputs) + len(board.failures) < len(board.jobs)
        board.report()
        return board.result(label=self.label, guards=self.guards, chat=True, alternatives=self.alternatives)

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.api_key_env, "").strip()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _body(self, job: Job) -> dict[str, Any]:
        sentence_tokens = math.ceil(len(job.core) / CHARS_PER_TOKEN)
        return {
            "model": self.spec.model,
            "messages": job.prompt,
            "temperature": self.temperature,
            self.max_tokens_field: self.budget.tokens(sentence_tokens),
            "stream": self.stream,
            **({"logprobs": True} if self.logprobs else {}),
            **self.extra_body,
        }

    def _ask(
        self,
        client: httpx.Client,
        job: Job,
        deadline: float | None,
        cancel: threading.Event | None,
        stop: threading.Event,
    ) -> Generated | _Failed | _Skipped:
        """One sentence's chat completion, with retries; raises ProposerError once retries are spent.

        Each attempt is bounded as a whole (timeout_s, and the round's deadline), not per byte, and
        stops within POLL_S of cancel or of another request's failure (core.proposers.bounded)."""
        body = self._body(job)
        last = ""
        for attempt in range(self.max_retries + 1):
            if stop.is_set() or (cancel is not None and cancel.is_set()):
                return _Skipped()
            timeout = self.timeout_s
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return _Failed("timeout: no answer before the request's deadline")
                timeout = min(timeout, left)
            retry_after = None
            try:
                with bounded(time.monotonic() + timeout, (stop, cancel)):
                    answer = self._post(client, body, timeout)
            except RequestStopped:
                return _Skipped()
            except httpx.TimeoutException:
                if deadline is not None and deadline - time.monotonic() <= 0:
                    return _Failed("timeout: the server did not answer before the request's deadline")
                last = f"no answer within {timeout:.3g} s"
            except httpx.TransportError as exc:
                last = f"connection error: {type(exc).__name__}: {exc}"
            except _TooLong as exc:
                return _Failed(str(exc))
            else:
                if answer.status < 400:
                    return _generated(read_stream(answer.raw) if self.stream else read_completion(answer.raw))
                if answer.status not in RETRY_STATUS:
                    raise ProposerError(self._client_error(answer.status, answer.text))
                last = f"HTTP {answer.status}: {snippet(answer.text)}"
                retry_after = retry_after_s(answer.headers)
                if retry_after is not None:
                    last += f" (it asked to retry after {retry_after:g} s)"
            if attempt == self.max_retries:
                break
            wait = min(self.max_backoff_s, self.backoff_s * 2**attempt)
            if retry_after is not None:
                time_left = None if deadline is None else deadline - time.monotonic()
                if retry_after > self.max_backoff_s or (time_left is not None and retry_after > time_left):
                    limit = f"max_backoff_s is {self.max_backoff_s:g} s" + (
                        f" and {time_left:.0f} s are left before the round's deadline" if time_left is not None else ""
                    )
                    raise ProposerError(
                        f"The chat-completions server at {self.url} answered {last.split(' (it asked')[0]} and "
                        f"asked to retry after {retry_after:g} s (Retry-After); not waiting that long ({limit}). "
                        "Try again later, or use a server with capacity."
                    )
                wait = max(wait, retry_after)
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - time.monotonic()))
            # Wake early on cancel or on another request's failure.
            if stop.wait(wait) or (cancel is not None and cancel.is_set()):
                return _Skipped()
        attempts = self.max_retries + 1
        raise ProposerError(
            f"The chat-completions server at {self.url} failed {attempts} time{'s' * (attempts > 1)}: {last}. "
            "Check that the server is running and reachable, or raise timeout_s / max_retries."
        )

    def _post(self, client: httpx.Client, body: dict[str, Any], timeout: float) -> _Answer:
        """One request's answer, reading at most MAX_REPLY_BYTES."""
        with client.stream("POST", self.url, json=body, timeout=timeout) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_REPLY_BYTES:
                    raise _TooLong(
                        f"unparseable server reply (more than {format_size(MAX_REPLY_BYTES)} for one sentence)"
                    )
                chunks.append(chunk)
        raw = b"".join(chunks)
        return _Answer(response.status_code, raw, dict(response.headers))

    def _client_error(self, code: int, text: str) -> str:
        hint = {
            401: f"check the API key in the environment variable {self.api_key_env}",
            403: f"check the API key in the environment variable {self.api_key_env} and its permissions",
            404: f"check base_url (usually ending in /v1) and the model name {self.spec.model!r}",
        }.get(code, "check the model name and parameters")
        return f"The chat-completions server at {self.url} answered HTTP {code}: {snippet(text)}; {hint}."


@dataclass(frozen=True)
class _Answer:
    status: int
    raw: bytes
    headers: dict[str, str]

    @property
    def text(self) -> str:
        return self.raw[:4000].decode("utf-8", "replace")


class _TooLong(Exception):
    """The reply was longer than any answer for one sentence."""


def retry_after_s(headers: dict[str, str] | None) -> float | None:
    """Seconds the server asked to wait (Retry-After: seconds or an HTTP date)."""
    value = (headers or {}).get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _generated(reply: Reply | BadReply) -> Generated | _Failed:
    if isinstance(reply, BadReply):
        return _Failed(reply.reason)
    return Generated(text=reply.text, hit_limit=reply.hit_limit, score=reply.score)
