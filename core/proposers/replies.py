"""Reading a chat-completions server's reply: validated against a schema before anything is used.

A reply is whatever a server sent: not JSON, JSON of another shape, content parts holding numbers,
megabytes of text. `read_completion` (a whole reply) and `read_stream` (server-sent events, stream:
true) return the reply text, whether the token limit was hit and a score, or a `BadReply` saying what
was wrong, never an exception. Strings are strict: a number where text belongs is refused, not
turned into "12345". Control characters are left for the shared guards (rewrites) to record.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, ValidationError

from core.text.nesting import nesting_ok

MAX_REPLY_BYTES = 1024 * 1024  # a sentence's rewrite is a few hundred bytes: more is not an answer
MAX_JSON_DEPTH = 32


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ContentPart(_Loose):
    type: StrictStr
    text: StrictStr | None = None


class TokenLogprob(_Loose):
    logprob: StrictFloat | StrictInt | None = None


class Logprobs(_Loose):
    content: list[TokenLogprob] | None = None


class Message(_Loose):
    content: StrictStr | list[ContentPart] | None = None


class Choice(_Loose):
    message: Message
    finish_reason: StrictStr | None = None
    logprobs: Logprobs | None = None


class ChatCompletion(_Loose):
    choices: Annotated[list[Choice], Field(min_length=1)]


class Delta(_Loose):
    content: StrictStr | None = None


class StreamChoice(_Loose):
    delta: Delta | None = None
    finish_reason: StrictStr | None = None


class StreamChunk(_Loose):
    choices: list[StreamChoice]


@dataclass(frozen=True)
class Reply:
    text: str
    hit_limit: bool = False
    score: float | None = None


@dataclass(frozen=True)
class BadReply:
    reason: str


def snippet(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _load(raw: bytes) -> Any | BadReply:  # noqa: ANN401 - any JSON value
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return BadReply(f"unparseable server reply (not UTF-8): {snippet(raw.decode('utf-8', 'replace'), 80)!r}")
    if not nesting_ok(text, MAX_JSON_DEPTH):
        return BadReply(f"unparseable server reply (JSON nested deeper than {MAX_JSON_DEPTH} levels)")
    try:
        return json.loads(text)
    except ValueError:
        return BadReply(f"unparseable server reply (not JSON): {snippet(text, 80)!r}")


def _schema_error(exc: ValidationError, raw: str) -> BadReply:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    if where.startswith("choices") and where.count(".") <= 1 and first["type"] in ("missing", "too_short", "list_type"):
        return BadReply(f"unparseable server reply (no choices): {snippet(raw, 80)!r}")
    return BadReply(f"unparseable server reply (wrong schema at {where}: {first['msg']}): {snippet(raw, 80)!r}")


def read_completion(raw: bytes) -> Reply | BadReply:
    """A whole chat-completion reply (stream: false)."""
    data = _load(raw)
    if isinstance(data, BadReply):
        return data
    shown = raw[:2000].decode("utf-8", "replace")
    try:
        completion = ChatCompletion.model_validate(data)
    except ValidationError as exc:
        return _schema_error(exc, shown)
    choice = completion.choices[0]
    content = choice.message.content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
        content = "".join(p.text or "" for p in content if p.type == "text")
    if content is None:
        return BadReply(f"unparseable server reply (no message content): {snippet(shown, 80)!r}")
    return Reply(content, hit_limit=choice.finish_reason == "length", score=_score(choice.logprobs))


def read_stream(raw: bytes) -> Reply | BadReply:
    """A streamed reply (stream: true): server-sent events `data: {chunk}` ending with `data: [DONE]`."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return BadReply("unparseable server reply (stream not UTF-8)")
    pieces: list[str] = []
    finish = None
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue  # comments, event names, keep-alives
        payload = line[5:].strip()
        if payload == "[DONE]":
            break
        data = _load(payload.encode())
        if isinstance(data, BadReply):
            return data
        try:
            chunk = StreamChunk.model_validate(data)
        except ValidationError as exc:
            return _schema_error(exc, payload)
        for choice in chunk.choices[:1]:
            if choice.delta is not None and choice.delta.content:
                pieces.append(choice.delta.content)
            finish = choice.finish_reason or finish
    if not pieces and finish is None:
        return BadReply(f"unparseable server reply (no stream chunks): {snippet(text, 80)!r}")
    return Reply("".join(pieces), hit_limit=finish == "length")


def _score(logprobs: Logprobs | None) -> float | None:
    """exp(mean token log-prob) when the server sent one for every token."""
    tokens = logprobs.content if logprobs is not None else None
    if not tokens:
        return None
    if any(t.logprob is None for t in tokens):  # every token needs one
        return None
    values = [float(t.logprob) for t in tokens if t.logprob is not None]
    if not all(math.isfinite(v) and v <= 0 for v in values):  # a log-probability is never positive
        return None
    return round(math.exp(sum(values) / len(values)), 4)
