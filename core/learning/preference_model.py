"""The acceptance model itself: a logistic regression (scikit-learn) over an edit's features, fitted on
the project's decided edits (the person's own at full weight, other people's down-weighted), stored
as a compact .npz blob (no pickle), and scored on held-out decisions (accuracy, Brier score,
calibration).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from core.learning.preference_features import EditFeatures, design_matrix
from core.text.edits import Edit

MIN_DECISIONS = 20  # fewer decided edits in the project: no model (too little to learn from)
PRIOR_WEIGHT = 0.5  # weight of other people's decisions
C = 0.1  # inverse L2 strength: strong, so predictions stay near the rule's acceptance until evidence piles up
HOLDOUT = 0.2  # share of the person's latest decisions held out to measure accuracy and calibration
CALIBRATION_BINS = 10
MODEL_VERSION = 1


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
    from sklearn.linear_model import LogisticRegression  # on first fit: sklearn is slow to import

    clf = LogisticRegression(C=c or C, solver="liblinear", dual=True, max_iter=500, random_state=0)
    clf.fit(X[:, used], y, sample_weight=w)
    coef = np.zeros(X.shape[1], dtype=np.float64)
    coef[used] = clf.coef_[0]
    return PreferenceModel(coef=coef, intercept=float(clf.intercept_[0]), embeddings=embeddings)


def calibration_bins(predicted: ArrayLike, actual: ArrayLike, bins: int = CALIBRATION_BINS) -> list[dict]:
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


def evaluate(predicted: ArrayLike, actual: ArrayLike) -> dict:
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
