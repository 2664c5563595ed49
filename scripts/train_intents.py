"""Train the edit-intent classifier on IteraTeR and write the artefact core.proposers.intents loads.

    python scripts/train_intents.py                       # writes core/intent_model/
    python scripts/train_intents.py --embeddings --out /tmp/m.joblib   # + MiniLM features

Trains on the human sentence-level train split (rows labelled "others" are left out: the taxonomy
has no such intent and there are 39 of 3,254), reports per-intent F1 on dev and test next to the
published RoBERTa figures, and writes `intent_classifier.joblib` plus `metrics.json`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.proposers.intents import (  # noqa: E402
    FORMAT_VERSION,
    INTENTS,
    MODEL_DIR,
    EditView,
    IntentClassifier,
    edit_view,
    feature_matrix,
    numeric_features,
    shared_embedder,
)

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "iterater" / "human_sent_level"
# IteraTeR paper (Du et al., 2022), RoBERTa intent classifier, F1 on the test split.
ROBERTA_F1 = {"clarity": 0.69, "fluency": 0.80, "coherence": 0.32, "style": 0.13, "meaning-changed": 0.53}


def read_split(data_dir: Path, split: str) -> list[dict[str, Any]]:
    path = data_dir / f"{split}.json"
    if not path.is_file():
        raise SystemExit(f"{path} not found; pass --data pointing at iterater/human_sent_level")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def views_and_labels(rows: list[dict[str, Any]]) -> tuple[list[EditView], list[str]]:
    """Training pairs: rows in the taxonomy that change at least one word."""
    views, labels = [], []
    for r in rows:
        if r["labels"] not in INTENTS:
            continue
        v = edit_view(r["before_sent"], r["after_sent"])
        if not v.is_empty:
            views.append(v)
            labels.append(r["labels"])
    return views, labels


def fit(views: list[EditView], labels: list[str], *, embeddings: bool, C: float, embedding_weight: float) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    def chars() -> TfidfVectorizer:
        return TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 4), min_df=2, sublinear_tf=True, max_features=20000, dtype=np.float32
        )

    parts: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "embeddings": embeddings,
        "embedding_weight": embedding_weight,
        "char_deleted": chars().fit([v.deleted_text for v in views]),
        "char_inserted": chars().fit([v.inserted_text for v in views]),
        "scaler": StandardScaler().fit(np.array([numeric_features(v) for v in views], dtype=np.float64)),
    }
    X = feature_matrix(parts, views, shared_embedder())
    parts["clf"] = LogisticRegression(C=C, max_iter=5000, class_weight="balanced").fit(X, labels)
    return parts


def evaluate(model: IntentClassifier, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Scores on a split. Accuracy counts every row ("others" and whitespace-only rows included, the
    former always wrong); F1 is per taxonomy intent."""
    from sklearn.metrics import accuracy_score, f1_score

    gold = [r["labels"] for r in rows]
    # Two test rows have before == after (no edit to classify): they get "fluency" and count as wrong.
    real = [k for k, r in enumerate(rows) if r["before_sent"] != r["after_sent"]]
    pred = ["fluency"] * len(rows)
    predicted = model.classify([(rows[k]["before_sent"], rows[k]["after_sent"], "") for k in real])
    for k, (p, _) in zip(real, predicted, strict=True):
        pred[k] = p
    f1 = f1_score(gold, pred, labels=list(INTENTS), average=None, zero_division=0)
    majority, count = Counter(gold).most_common(1)[0]
    in_taxonomy = [k for k, g in enumerate(gold) if g in INTENTS]
    return {
        "rows": len(rows),
        "f1": {i: round(float(f), 4) for i, f in zip(INTENTS, f1, strict=True)},
        "macro_f1": round(float(np.mean(f1)), 4),
        "accuracy": round(float(accuracy_score(gold, pred)), 4),
        "accuracy_in_taxonomy": round(float(np.mean([gold[k] == pred[k] for k in in_taxonomy])), 4),
        "majority_class": majority,
        "majority_accuracy": round(count / len(rows), 4),
        "labels": dict(Counter(gold)),
    }


def report(name: str, m: dict[str, Any]) -> str:
    lines = [
        f"{name}: {m['rows']} rows, accuracy {m['accuracy']:.3f} (majority '{m['majority_class']}' "
        f"{m['majority_accuracy']:.3f}), macro F1 {m['macro_f1']:.3f}"
    ]
    for i in INTENTS:
        lines.append(f"  {i:<16} F1 {m['f1'][i]:.3f}   RoBERTa {ROBERTA_F1[i]:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="iterater/human_sent_level folder")
    ap.add_argument("--out", type=Path, default=MODEL_DIR / "intent_classifier.joblib")
    ap.add_argument("--metrics", type=Path, default=None, help="default: metrics.json beside --out")
    ap.add_argument(
        "--embeddings",
        action="store_true",
        help="add all-MiniLM-L6-v2 embeddings of the changed words (no gain measured; slower)",
    )
    ap.add_argument("--C", type=float, default=1.0, help="inverse regularisation of the logistic regression")
    ap.add_argument("--embedding-weight", type=float, default=1.0)
    ap.add_argument(
        "--embedding-cache",
        type=Path,
        default=None,
        help="an .npz of span embeddings to reuse and update (saves minutes when re-training)",
    )
    args = ap.parse_args(argv)

    import joblib
    import sklearn

    embedder = shared_embedder()
    embedder.resize(1_000_000)  # keep every span: dev/test evaluation reuses them
    if args.embeddings and args.embedding_cache and args.embedding_cache.is_file():
        cache = np.load(args.embedding_cache)
        embedder.remember(str(cache["texts"]).split("\x00"), cache["vectors"])

    train_rows = read_split(args.data, "train")
    views, labels = views_and_labels(train_rows)
    t0 = time.perf_counter()
    parts = fit(views, labels, embeddings=args.embeddings, C=args.C, embedding_weight=args.embedding_weight)
    train_s = time.perf_counter() - t0
    model = IntentClassifier(parts)
    metrics = {
        "train_rows": len(views),
        "train_labels": dict(Counter(labels)),
        "train_seconds": round(train_s, 1),
        "embeddings": args.embeddings,
        "C": args.C,
        "embedding_weight": args.embedding_weight,
        "sklearn": sklearn.__version__,
        "roberta_f1": ROBERTA_F1,
        "dev": evaluate(model, read_split(args.data, "dev")),
        "test": evaluate(model, read_split(args.data, "test")),
    }
    parts["metadata"] = {k: metrics[k] for k in ("train_rows", "embeddings", "C", "embedding_weight", "sklearn")}
    parts["metadata"]["trained_on"] = "IteraTeR human_sent_level train (Apache-2.0), 'others' rows left out"

    if args.embeddings and args.embedding_cache:
        texts, vectors = embedder.cached()
        np.savez_compressed(args.embedding_cache, texts=np.array("\x00".join(texts)), vectors=vectors)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(parts, args.out, compress=3)
    metrics["artefact_bytes"] = args.out.stat().st_size
    metrics_path = args.metrics or args.out.with_name("metrics.json")
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    print(
        f"trained on {len(views)} edits in {train_s:.1f} s (features + fit); wrote {args.out} "
        f"({metrics['artefact_bytes'] / 1e6:.2f} MB) and {metrics_path}"
    )
    print(report("dev", metrics["dev"]))
    print(report("test", metrics["test"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
