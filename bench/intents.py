"""Intent classifier benchmark: quality on IteraTeR test against named baselines, and speed.

    python bench/intents.py                      # the shipped model
    python bench/intents.py --model PATH         # another artefact (e.g. trained with --embeddings)

1. Sentence-level test split (364 edits, as the paper): per-intent F1 next to the published RoBERTa
   figures, macro F1, accuracy against the majority-class baseline.
2. The same test documents as the proposers will call it: each annotated edit of human_doc_level
   test as (before span, after span, its sentence as context); pure insertions have no locatable
   position there.
3. Speed on CPU: loading, then edits per second batched (`classify_edits` over all test edits)
   against one call per edit (`classify_edit`), the baseline, in the same run.
"""

from __future__ import annotations

import argparse
import bisect
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "iterater"
ROBERTA_F1 = {"clarity": 0.69, "fluency": 0.80, "coherence": 0.32, "style": 0.13, "meaning-changed": 0.53}


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def scores(gold: list[str], pred: list[str]) -> tuple[dict[str, float], float, float]:
    from sklearn.metrics import f1_score

    from core.proposers.intents import INTENTS

    f1 = f1_score(gold, pred, labels=list(INTENTS), average=None, zero_division=0)
    accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)
    return dict(zip(INTENTS, map(float, f1), strict=True)), float(f1.mean()), accuracy


def span_items(docs: list[dict]) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(before span, after span, sentence(s) holding it) for every annotated edit that changes text."""
    items, gold = [], []
    for doc in docs:
        text, starts = doc["before_revision"], doc["sents_char_pos"]
        for a in doc["edit_actions"]:
            before, after = a["before"] or "", a["after"] or ""
            if before == after:
                continue
            first = max(0, bisect.bisect_right(starts, a["start_char_pos"]) - 1)
            last = max(first, bisect.bisect_left(starts, a["end_char_pos"]) - 1)
            end = starts[last + 1] if last + 1 < len(starts) else len(text)
            items.append((before, after, text[starts[first] : end]))
            gold.append(a["major_intent"])
    return items, gold


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="artefact to load (default: the shipped one)")
    ap.add_argument("--repeat", type=int, default=5, help="timing repetitions (best is reported)")
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"reference data not found at {DATA}", file=sys.stderr)
        return 1

    t = time.perf_counter()
    from core.proposers.intents import INTENTS, load_classifier

    import_s = time.perf_counter() - t
    t = time.perf_counter()
    clf = load_classifier(args.model)
    load_s = time.perf_counter() - t
    uses_embeddings = bool(clf.parts.get("embeddings"))

    rows = read_jsonl(DATA / "human_sent_level" / "test.json")
    real = [r for r in rows if r["before_sent"] != r["after_sent"]]
    items = [(r["before_sent"], r["after_sent"], "") for r in real]
    t = time.perf_counter()
    predicted = dict(zip(map(id, real), (p for p, _ in clf.classify(items)), strict=True))
    first_s = time.perf_counter() - t  # includes loading MiniLM for an embedding model
    gold = [r["labels"] for r in rows]
    pred = [predicted.get(id(r), "fluency") for r in rows]  # 2 no-change rows: counted wrong
    f1, macro, accuracy = scores(gold, pred)
    majority, n_major = Counter(gold).most_common(1)[0]
    majority_acc = n_major / len(rows)
    majority_f1 = 2 * majority_acc / (1 + majority_acc) / len(INTENTS)
    taxonomy = [k for k, g in enumerate(gold) if g in INTENTS]
    acc_taxonomy = sum(gold[k] == pred[k] for k in taxonomy) / len(taxonomy)

    print(f"model: {args.model or 'shipped'}; embeddings: {uses_embeddings}; {clf.metadata}")
    print(f"\nIteraTeR human_sent_level test: {len(rows)} edits ({dict(Counter(gold))})\n")
    print("| intent | ours F1 | RoBERTa F1 (paper) | ours / RoBERTa |")
    print("|---|---|---|---|")
    for intent in INTENTS:
        ratio = f1[intent] / ROBERTA_F1[intent]
        print(f"| {intent} | {f1[intent]:.3f} | {ROBERTA_F1[intent]:.2f} | {ratio:.2f}x |")
    roberta_macro = sum(ROBERTA_F1.values()) / len(ROBERTA_F1)
    print(f"| macro F1 | {macro:.3f} | {roberta_macro:.3f} | {macro / roberta_macro:.2f}x |")
    print(
        f"\naccuracy {accuracy:.3f} (all {len(rows)} rows; {acc_taxonomy:.3f} on the {len(taxonomy)} in the taxonomy) "
        f"vs majority class '{majority}' {majority_acc:.3f}: {accuracy / majority_acc:.2f}x; "
        f"majority macro F1 {majority_f1:.3f}"
    )

    docs = read_jsonl(DATA / "human_doc_level" / "test.json")
    span_in, span_gold = span_items(docs)
    span_pred = [p for p, _ in clf.classify(span_in)]
    keep = [k for k, g in enumerate(span_gold) if g in INTENTS]
    sf1, smacro, _ = scores([span_gold[k] for k in keep], [span_pred[k] for k in keep])
    s_acc = sum(span_gold[k] == span_pred[k] for k in keep) / len(keep)
    n_ins = sum(1 for k in keep if not span_in[k][0])
    print(
        f"\nspan form (human_doc_level test, {len(keep)} edits in the taxonomy, {n_ins} pure insertions): "
        f"accuracy {s_acc:.3f}, macro F1 {smacro:.3f} (" + ", ".join(f"{i} {sf1[i]:.2f}" for i in INTENTS) + ")"
    )

    def timed(fn) -> float:
        best = float("inf")
        for _ in range(args.repeat):
            if uses_embeddings:
                clf.embed.clear_cache()  # time encoding, not the span cache
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        return best

    batch_s = timed(lambda: clf.classify(items))
    single_s = timed(lambda: [clf.classify([item]) for item in items])
    span_s = timed(lambda: clf.classify(span_in))
    n = len(items)
    print(
        f"\nspeed (CPU, best of {args.repeat}): import core.proposers.intents {import_s:.2f} s, "
        f"load artefact {load_s:.2f} s, "
        f"first classification {first_s:.2f} s"
    )
    print(f"- batched, sentence pairs: {n / batch_s:,.0f} edits/s ({n} edits in {batch_s * 1000:.0f} ms)")
    print(f"- baseline, one call per edit: {n / single_s:,.0f} edits/s -> batched is {single_s / batch_s:.1f}x faster")
    print(f"- batched, spans with context: {len(span_in) / span_s:,.0f} edits/s ({len(span_in)} edits)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
