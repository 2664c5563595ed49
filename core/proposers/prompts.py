"""What the model kinds are asked, and how their replies are read.

- Seq2seq models (CoEdIT style) get one instruction prefix per intent before the sentence; the
  prefixes are editable per project through spec params["prefixes"].
- Chat models (transformers with a chat template, or an OpenAI-compatible server) get one prompt
  per sentence carrying its context, the wanted intents, the person's feedback, edits they accepted
  (in-context examples) and changes they rejected; `parse_reply` reads the revised sentence back out
  of whatever the model wrapped it in (quotes, "Revised:" labels, code fences, JSON, explanations).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from core.errors import InputError
from core.proposers.base import ProposalRequest
from core.text.segment import Sentence
from core.text.terms import term_spans

# CoEdIT's instruction phrasings (grammarly/coedit-*): intent -> prefix put before the sentence.
# "meaning-changed" has none: it labels edits that change content, which a model is not asked for.
DEFAULT_PREFIXES: dict[str, str] = {
    "fluency": "Fix the grammar: ",
    "clarity": "Improve the clarity of this text: ",
    "coherence": "Make this text coherent: ",
    "style": "Improve the style of this text: ",
    "simplify": "Rewrite to make this easier to understand: ",
    "paraphrase": "Paraphrase this: ",
    "formal": "Write this more formally: ",
    "neutral": "Write this more neutrally: ",
}

# What each intent asks of a chat model.
INTENT_INSTRUCTIONS: dict[str, str] = {
    "fluency": "fix grammar, spelling and punctuation",
    "clarity": "make it clearer and more concise",
    "coherence": "make it connect smoothly with the text around it",
    "style": "improve word choice and style",
    "meaning-changed": "correct or update its content where it is wrong or out of date",
    "simplify": "make it easier to understand",
    "paraphrase": "paraphrase it",
    "formal": "make it more formal",
    "neutral": "make it more neutral in tone (no opinion or bias)",
}

DEFAULT_SYSTEM_PROMPT = (
    "You are a careful copy editor. You revise one sentence at a time and keep its meaning unless told "
    "otherwise. Reply with the revised sentence only: no quotes, no labels, no explanation. If the "
    "sentence needs no change, reply with it unchanged."
)
DEFAULT_MAX_EXAMPLES = 6
DEFAULT_MAX_AVOID = 6


def seq2seq_prefixes(params: Mapping[str, Any]) -> dict[str, str]:
    """The default prefixes overridden by params["prefixes"] ({intent: prefix}; an empty prefix removes one)."""
    overrides = params.get("prefixes") or {}
    if not isinstance(overrides, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str | None) for k, v in overrides.items()
    ):
        raise InputError(
            'params["prefixes"] must map intents to instruction text, e.g. {"fluency": "Fix the grammar: "}.'
        )
    prefixes = {**DEFAULT_PREFIXES, **{k: v for k, v in overrides.items() if v}}
    for intent, prefix in overrides.items():
        if not prefix:
            prefixes.pop(intent, None)
    # A prefix ends with a separator so the sentence does not run into it.
    return {k: v if v[-1:].isspace() else v + " " for k, v in prefixes.items()}


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def build_messages(
    sentence: Sentence,
    request: ProposalRequest,
    *,
    system: str | None = None,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    max_avoid: int = DEFAULT_MAX_AVOID,
) -> list[dict[str, str]]:
    """Chat messages asking for a revision of `sentence`, with what the request says about the person's wishes.

    Only what bears on this sentence goes in (the latest examples; rejected changes whose text occurs in
    it), so an unrelated decision elsewhere does not change the prompt, and the cached reply stays valid.
    """
    text = sentence.text.strip()
    wanted = "; ".join(f"{i} ({INTENT_INSTRUCTIONS.get(i, i)})" for i in request.intents)
    lines = [f"Revise the sentence for: {wanted}."]
    if sentence.context_before.strip():
        lines.append(f"Text before it: {_quote(sentence.context_before.strip())}")
    if sentence.context_after.strip():
        lines.append(f"Text after it: {_quote(sentence.context_after.strip())}")
    feedback = [f.strip() for f in request.feedback if f.strip()]
    if feedback:
        lines.append("The writer's feedback (follow it):")
        lines += [f"- {f}" for f in feedback]
    terms = [t.term for t in term_spans(text, request.protected_terms)]
    if terms:
        quoted = ", ".join(_quote(t) for t in dict.fromkeys(terms))
        lines.append(f"Never change these terms; keep each exactly as written: {quoted}")
    examples = list(request.examples)[-max_examples:] if max_examples > 0 else []
    if examples:
        lines.append("Edits the writer accepted (revise in the same spirit):")
        lines += [f"- {_quote(e.before)} -> {_quote(e.after)}" for e in examples]
    avoid = [a for a in request.avoid if a.before and a.before in text][-max_avoid:] if max_avoid > 0 else []
    if avoid:
        lines.append("Changes the writer rejected (do not make them):")
        lines += [f"- {_quote(a.before)} -> {_quote(a.after)}" for a in avoid]
    lines.append(f"Sentence: {text}")
    return [
        {"role": "system", "content": system or DEFAULT_SYSTEM_PROMPT},
        {"role": "user", "content": "\n".join(lines)},
    ]


# --- reading replies ---------------------------------------------------------------------------

_FENCE = re.compile(r"```[\w+-]*[ \t]*\n?(.*?)(?:```|$)", re.DOTALL)
_JSON_KEYS = (
    "revised",
    "revised_sentence",
    "revision",
    "rewrite",
    "rewritten",
    "corrected",
    "edited",
    "output",
    "result",
    "answer",
    "sentence",
    "text",
)
_JSON_FIELD = re.compile(r'"(' + "|".join(_JSON_KEYS) + r')"\s*:\s*"((?:[^"\\]|\\.)*)"', re.IGNORECASE)
_LABEL = re.compile(
    r"^(?:\*\*|__)?(?:(?:the|my|here(?: is|'s)(?: the| my)?)\s+)?"
    r"(?:(?:revised|revision|rewritten|rewrite|corrected|edited|improved|updated|new|output|answer|result|final)"
    r"(?:\s+(?:sentence|text|version))?|sentence|text)\s*(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*",
    re.IGNORECASE,
)
_PREAMBLE = re.compile(r"^(?:sure|certainly|of course|okay|ok|here(?: is|'s| you go)|absolutely)\b", re.IGNORECASE)
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "\u00ab": "\u00bb", "`": "`"}
_TRAILING_NOTE = re.compile(r"(?<=[.!?\"\u201d])\s*\((?:[^()]*)\)\s*$")


def _from_json(text: str) -> str | None:
    try:
        value = json.loads(text)
    except ValueError:
        match = _JSON_FIELD.search(text)
        if not match:
            return None
        try:
            return json.loads(f'"{match.group(2)}"')
        except ValueError:
            return match.group(2)
    return _json_text(value)


def _json_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        for item in value:
            found = _json_text(item)
            if found is not None:
                return found
        return None
    if isinstance(value, dict):
        lowered = {str(k).lower(): v for k, v in value.items()}
        for key in _JSON_KEYS:
            if isinstance(lowered.get(key), str):
                return lowered[key]
        strings = [v for v in value.values() if isinstance(v, str)]
        return strings[0] if len(strings) == 1 else None
    return None


def _is_preamble(line: str, source: str | None, *, short: bool = False) -> bool:
    """A "Sure!"-style opener, unless the sentence itself starts that way ("Sure enough, ...")."""
    match = _PREAMBLE.match(line)
    if not match or (source is not None and source.strip().lower().startswith(match.group(0).lower())):
        return False
    return not short or (len(line.split()) <= 4 and line[-1] in "!.,")


def _unquote(line: str) -> str:
    line = line.strip()
    while len(line) >= 2 and line[0] in _QUOTES and line[-1] == _QUOTES[line[0]]:
        line = line[1:-1].strip()
    return line


def parse_reply(reply: str, source: str | None = None) -> str | None:
    """The revised sentence in a chat model's reply, or None if there is none to be found.

    Handles code fences, JSON objects ({"revised": ...}), labels ("Revised sentence:"), preambles
    ("Sure! Here is the revision:"), quotes around the sentence, bullets, and notes after it (a
    following line, or a trailing "(...)" when the sentence has no parenthesis). Takes the first line.
    """
    text = reply.strip()
    fence = _FENCE.search(text)
    if fence:
        text = fence.group(1).strip()
    if text[:1] in "{[":
        found = _from_json(text)
        if found is None:
            return None
        text = found.strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # "Sure, here is the revised sentence:" on a line of its own introduces the answer.
    while len(lines) > 1 and (lines[0].endswith(":") or _is_preamble(lines[0], source, short=True)):
        lines.pop(0)
    if not lines:
        return None
    line = lines[0]
    if ":" in line and _is_preamble(line, source):
        line = line.split(":", 1)[1]
    line = re.sub(r"^(?:[-*>]|\d+[.)])\s+", "", line.strip())
    line = _LABEL.sub("", line, count=1)
    line = _unquote(line)
    if source is not None and "(" not in source:
        line = _TRAILING_NOTE.sub("", line).strip()
    line = _unquote(line)
    return line or None
