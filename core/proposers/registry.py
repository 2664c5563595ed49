"""Proposer kinds, spec strings, and the stored ProposerSpec rows every edit points back to.

Spec strings (the CLI's --proposer, a project's setting):

    builtin                                   the offline rule engines (the default)
    builtin?engines=lingotweaker              ... with parameters after '?', as in a URL query
    hf-seq2seq:grammarly/coedit-large         KIND:MODEL, a Hugging Face model id ...
    hf-chat:/path/to/model?max_new_tokens=64  ... or a local path
    openai:http://127.0.0.1:8000/v1#qwen2.5   KIND:BASE_URL#MODEL for an OpenAI-compatible server
    {"kind": "hf-chat", "model": "...", "params": {...}}   JSON, for anything the short form cannot say

Parameter values are read as JSON when they parse (64 -> int, true -> bool, ["a","b"] -> list) and
as strings otherwise; use `%XX` escapes for '&', '#' or '=' inside a value. For the openai kind the
URL is stored as params["base_url"] and the server's model name as the spec's model. A model path
that contains '?' or '#' needs the JSON form.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import threading
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from core.errors import InputError, ProposerError, RedraftError
from core.proposers.base import Proposer, SpecData

KINDS: dict[str, str] = {
    "builtin": "core.proposers.builtin:BuiltinProposer",
    "hf-seq2seq": "core.proposers.hf:Seq2SeqProposer",
    "hf-chat": "core.proposers.hf:ChatProposer",
    "openai": "core.proposers.openai_compat:OpenAIProposer",
}
MODEL_KINDS = ("hf-seq2seq", "hf-chat")  # kinds that cannot work without a model


def canonical_json(spec: SpecData) -> str:
    try:
        return json.dumps(
            {"kind": spec.kind, "model": spec.model or None, "params": spec.params},
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
    except (TypeError, ValueError) as exc:
        raise InputError(f"Proposer parameters must be JSON values (strings, numbers, lists, objects): {exc}") from exc


def spec_fingerprint(spec: SpecData) -> str:
    """sha256 of the canonical JSON of kind, model and params (not the display name)."""
    return hashlib.sha256(canonical_json(spec).encode("utf-8")).hexdigest()


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise InputError(f"Unknown proposer kind {kind!r}; the kinds are: {', '.join(KINDS)}.")


def _param_value(raw: str) -> Any:  # noqa: ANN401 - a JSON value or a string
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_spec(text: str) -> SpecData:
    """A SpecData from a spec string (see the module docstring). Raises InputError saying what is wrong."""
    text = (text or "").strip()
    if not text:
        raise InputError(f"Empty proposer spec; use one of: {', '.join(KINDS)} (e.g. 'builtin').")
    if text.startswith("{"):
        return _parse_json_spec(text)
    rest, _, fragment = text.partition("#")
    rest, _, query = rest.partition("?")
    kind, sep, target = rest.partition(":")
    kind = kind.strip().lower()
    check_kind(kind)
    params: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if key in params:
            raise InputError(f"Parameter {key!r} is given twice in proposer spec {text!r}.")
        params[key] = _param_value(value)
    if query and not params:
        raise InputError(f"Could not read the parameters {query!r} in {text!r}; write them as key=value&key=value.")
    target = target.strip()
    if kind == "openai":
        if target:
            if not target.startswith(("http://", "https://")):
                raise InputError(f"The openai kind takes a server URL (http://host:port/v1), not {target!r}.")
            params["base_url"] = target
        return SpecData(kind=kind, model=fragment.strip() or None, params=params)
    if fragment:
        raise InputError(f"'#MODEL' names a server's model and only fits the openai kind, not {kind!r}.")
    if kind in MODEL_KINDS and not target:
        raise InputError(f"The {kind} kind needs a model: {kind}:MODEL_ID_OR_PATH (e.g. {kind}:/path/to/model).")
    if kind == "builtin" and sep:
        raise InputError(f"The builtin kind takes no model (got {target!r}); set options as builtin?key=value.")
    return SpecData(kind=kind, model=target or None, params=params)


def _parse_json_spec(text: str) -> SpecData:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"The proposer spec looks like JSON but is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or "kind" not in data:
        raise InputError('A JSON proposer spec is an object with "kind" (and optionally "model", "params", "name").')
    extra = set(data) - {"kind", "model", "params", "name"}
    if extra:
        raise InputError(f"Unknown key(s) {sorted(extra)} in the proposer spec; use kind, model, params, name.")
    kind = str(data["kind"]).strip().lower()
    check_kind(kind)
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise InputError('"params" in a proposer spec must be a JSON object.')
    model = data.get("model")
    if model is not None and not isinstance(model, str):
        raise InputError('"model" in a proposer spec must be a string.')
    if kind in MODEL_KINDS and not model:
        raise InputError(f'The {kind} kind needs a "model" (a model id or a local path).')
    return SpecData(kind=kind, model=model or None, params=params, name=str(data.get("name") or ""))


def _param_text(value: object) -> str:
    # A string that would read back as another JSON value ("64", "true") is written as JSON ("\"64\"").
    if isinstance(value, str) and _param_value(value) == value:
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def spec_label(spec: SpecData) -> str:
    """The short spec string for spec (what parse_spec reads back), for names and logs; the JSON form
    where the short one cannot carry the model name."""
    if spec.model and ("?" in spec.model or "#" in spec.model):
        return json.dumps({"kind": spec.kind, "model": spec.model, "params": spec.params}, ensure_ascii=False)
    params = dict(spec.params)
    head = spec.kind
    fragment = ""
    if spec.kind == "openai":
        base = params.pop("base_url", None)
        if base:
            head += f":{base}"
        if spec.model:
            fragment = f"#{spec.model}"
    elif spec.model:
        head += f":{spec.model}"
    if params:
        query = urlencode(
            [(k, _param_text(v)) for k, v in sorted(params.items())],
            quote_via=quote,
            safe='/:,[]"',
        )
        head += f"?{query}"
    return head + fragment


# --- building proposers (one instance per spec per process) ----------------------------------

_instances: dict[str, Proposer] = {}
_building: dict[str, threading.Lock] = {}
_lock = threading.Lock()


def proposer_class(kind: str) -> type:
    """The class implementing a kind, imported now (kinds pull in torch etc. only when used)."""
    check_kind(kind)
    module_name, _, attr = KINDS[kind].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = "pip install -r requirements.txt"
        raise ProposerError(f"The {kind} proposer is not available here ({exc}); {hint}.") from exc
    return getattr(module, attr)


def build_proposer(spec: SpecData) -> Proposer:
    """The process-wide proposer for spec: built once per fingerprint (a model loads once) and
    shared by every caller; concurrent first calls wait for one build."""
    fp = spec_fingerprint(spec)
    with _lock:
        found = _instances.get(fp)
        if found is not None:
            return found
        building = _building.setdefault(fp, threading.Lock())
    with building:
        with _lock:
            found = _instances.get(fp)
        if found is not None:
            return found
        cls = proposer_class(spec.kind)
        try:
            proposer = cls(spec)
        except RedraftError:
            raise
        except Exception as exc:  # a model that fails to load: say which spec, keep the cause
            raise ProposerError(f"Could not build the proposer {spec_label(spec)!r}: {exc}") from exc
        with _lock:
            _instances[fp] = proposer
        return proposer


def release_proposers() -> None:
    """Forget every built proposer (frees models once no caller holds them)."""
    with _lock:
        _instances.clear()
        _building.clear()
