"""Loading a transformers model once per process, on the right device and dtype, shared by every thread.

`load_model` keeps one (model, tokenizer) per (family, model, device, dtype); each comes with a lock that
callers hold around tokenise + generate, because fast tokenizers raise "Already borrowed" when two
threads use one at the same time, and one model generating for two threads at once gains nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from core.errors import ProposerError
from core.proposers.hf_hub import check_hub_model

Family = Literal["seq2seq", "causal"]

_DTYPE_NAMES = {
    "float32": "float32",
    "fp32": "float32",
    "float": "float32",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
}


@dataclass
class LoadedModel:
    name: str
    family: Family
    model: Any  # a transformers PreTrainedModel
    tokenizer: Any  # a transformers tokenizer
    device: str
    dtype: Any  # torch.dtype
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def eos_ids(self) -> frozenset[int]:
        """Token ids that end a generation (generation config first, then the tokenizer's EOS)."""
        ids = self.model.generation_config.eos_token_id
        if ids is None:
            ids = self.tokenizer.eos_token_id
        if ids is None:
            return frozenset()
        return frozenset(ids) if isinstance(ids, list | tuple) else frozenset([ids])


def resolve_device(requested: str | None = None) -> str:
    """Device "auto" (or None): cuda if available, then mps, then cpu. An explicit device must be available."""
    import torch

    want = (requested or "auto").strip().lower()
    mps = getattr(torch.backends, "mps", None)
    mps_ok = bool(mps and mps.is_available())
    if want == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if mps_ok else "cpu"
    if want == "cpu":
        return "cpu"
    if want == "cuda" or want.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ProposerError(
                f"Device {requested!r} was asked for but CUDA is not available; use device 'auto' or 'cpu'."
            )
        return want
    if want == "mps":
        if not mps_ok:
            raise ProposerError("Device 'mps' was asked for but is not available; use device 'auto' or 'cpu'.")
        return want
    raise ProposerError(f"Unknown device {requested!r}; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'.")


def resolve_dtype(requested: str | None, device: str) -> Any:  # noqa: ANN401 - a torch.dtype
    """Dtype "auto" (or None): bfloat16 on a GPU that supports it, float16 on other GPUs and mps, float32 on cpu."""
    import torch

    want = (requested or "auto").strip().lower()
    if want == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float16 if device == "mps" else torch.float32
    if want not in _DTYPE_NAMES:
        raise ProposerError(f"Unknown dtype {requested!r}; use 'auto', 'float32', 'float16' or 'bfloat16'.")
    return getattr(torch, _DTYPE_NAMES[want])


_cache: dict[tuple[str, str, str, str], LoadedModel] = {}
_cache_lock = threading.Lock()
_key_locks: dict[tuple[str, str, str, str], threading.Lock] = {}

_FAMILY_HINT = {
    "seq2seq": "kind hf-seq2seq needs an encoder-decoder model (T5, BART, CoEdIT); use hf-chat for chat models",
    "causal": "kind hf-chat needs a causal (decoder-only) model; use hf-seq2seq for encoder-decoder models",
}


def load_model(
    name: str,
    family: Family,
    *,
    device: str | None = None,
    dtype: str | None = None,
    trust_remote_code: bool = False,
) -> LoadedModel:
    """The model `name` (a Hugging Face id or a local path) with its tokenizer, loaded at most once per process."""
    if not name or not str(name).strip():
        raise ProposerError("No model given; give a Hugging Face model id or a local path.")
    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, dev)
    local = Path(name).expanduser()
    if local.is_dir() and not (local / "config.json").is_file():
        raise ProposerError(
            f"Could not load model {name!r}: the folder has no config.json; give a Hugging Face model id or a "
            "local path to a saved model (config.json, weights and tokenizer files, as save_pretrained writes)."
        )
    if not local.exists() and str(name).startswith(("/", "./", "../", "~")):
        raise ProposerError(
            f"Could not load model {name!r}: no such folder; give a Hugging Face model id or a local path."
        )
    ident = str(local.resolve()) if local.exists() else str(name)
    key = (family, ident, dev, str(torch_dtype))
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        key_lock = _key_locks.setdefault(key, threading.Lock())
    # A Hub id: find out in seconds whether it can be had (transformers would retry for a minute).
    local_only = False if local.exists() else check_hub_model(str(name)).local_files_only
    # Loading can take minutes: hold only this model's lock, so other models stay usable meanwhile.
    with key_lock:
        with _cache_lock:
            if key in _cache:
                return _cache[key]
        loaded = _load(name, ident, family, dev, torch_dtype, trust_remote_code, local_only)
        with _cache_lock:
            _cache[key] = loaded
        return loaded


def _load(
    name: str,
    ident: str,
    family: Family,
    device: str,
    dtype: Any,  # noqa: ANN401 - a torch.dtype
    trust_remote_code: bool,
    local_files_only: bool = False,
) -> LoadedModel:
    try:
        from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

        auto = AutoModelForSeq2SeqLM if family == "seq2seq" else AutoModelForCausalLM
        options = {"trust_remote_code": trust_remote_code, "local_files_only": local_files_only}
        tokenizer = AutoTokenizer.from_pretrained(ident, **options)
        # Any, as LoadedModel holds it: transformers types `.to` through a decorator mypy reads as unbound
        model: Any = auto.from_pretrained(ident, dtype=dtype, **options)
        model.to(device)
        model.eval()
    except MemoryError as exc:
        raise ProposerError(_out_of_memory(name, device)) from exc
    except Exception as exc:  # transformers raises OSError, ValueError, HF hub errors, ...
        if _is_out_of_memory(exc):
            raise ProposerError(_out_of_memory(name, device)) from exc
        hint = _FAMILY_HINT[family] if "Unrecognized configuration class" in str(exc) else ""
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())  # one line, for the UI
        raise ProposerError(f"Could not load model {name!r}: {detail}" + (f" ({hint})." if hint else "")) from exc
    if family == "causal":
        # Decoder-only models continue the prompt: pad on the left so every row ends where generation starts.
        tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token is None:
            raise ProposerError(f"Model {name!r} has neither a pad nor an EOS token; batching needs one of them.")
        tokenizer.pad_token = tokenizer.eos_token
    return LoadedModel(name=name, family=family, model=model, tokenizer=tokenizer, device=device, dtype=dtype)


def _is_out_of_memory(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def _out_of_memory(name: str, device: str) -> str:
    return (
        f"Could not load model {name!r}: out of memory on {device}. Use a smaller model, dtype bfloat16 or "
        "float16, or another device (params device / dtype of the proposer)."
    )


def clear_loaded_models() -> None:
    """Forget every loaded model (tests and benches; a running app keeps its models)."""
    with _cache_lock:
        _cache.clear()
        _key_locks.clear()
