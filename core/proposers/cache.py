"""A small thread-safe LRU cache of model outputs, so unchanged sentences are not generated again.

Keys are built by `cache_key(spec fingerprint, input text, request-relevant fields)`: anything that
changes the output (instruction, intents, feedback, examples, generation settings) must be in the
fields, or a stale answer is served. Values should be immutable (str, tuple, frozen dataclass):
the same object is handed to every caller.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

DEFAULT_MAX_ENTRIES = 4096
_MISSING = object()


def cache_key(fingerprint: str, text: str, **fields: Any) -> str:  # noqa: ANN401 - any JSON-able field
    """A fixed-size key: sha256 over the spec fingerprint, the input and the fields (canonical JSON).

    Field values must be JSON-serialisable (tuples become lists; sets are sorted)."""
    payload = json.dumps(
        {"spec": fingerprint, "input": text, "fields": fields},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=_jsonable,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _jsonable(value: object) -> object:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cache key field of type {type(value).__name__} is not JSON-serialisable")


class ProposalCache:
    """Bounded LRU map from cache_key(...) to a proposer's output for that input; safe across threads."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._data: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str, default: Any = None) -> Any:  # noqa: ANN401 - values are whatever was put
        with self._lock:
            value = self._data.get(key, _MISSING)
            if value is _MISSING:
                self.misses += 1
                return default
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: str, value: Any) -> None:  # noqa: ANN401
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0
