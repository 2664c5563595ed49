"""A change made by hand during a review: re-basing the round's edits (core.text.rebase).

    python -m bench.rebase

A synthetic document of ~100,000 words with 2,000 pending edits (one every ~50 words); the writer
changes a sentence in the middle and one near the end. Figure: `rebase()` (diff of old and new text,
then moving or dropping every edit). Baseline, in the same run: `core.text.edits.diff` of the same two
texts alone, the floor rebase cannot go under (it needs that diff); the ratio is the cost of moving
the edits on top of it. Best of 5.
"""

from __future__ import annotations

import random
import time

from core.text.edits import diff
from core.text.rebase import rebase

WORDS = ["the", "report", "model", "results", "we", "show", "that", "data", "is", "clear", "of", "a"]


def _text(n_words: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    out = []
    for i in range(n_words):
        out.append(rng.choice(WORDS))
        if i % 17 == 16:
            out[-1] += "."
        if i % 400 == 399:
            out[-1] += "\n"
    return " ".join(out)


def _best(fn, repeat: int = 5) -> float:  # noqa: ANN001 - a bench helper
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    old = _text(100_000)
    mid, late = len(old) // 2, len(old) * 9 // 10
    new = old[:mid] + "A sentence written by hand, " + old[mid + 40 : late] + "and another one. " + old[late + 25 :]
    # 2,000 edits: a word every ~50 words
    starts = [i for i in range(0, len(old) - 10) if old[i] == " "][::50][:2000]
    spans = [(s + 1, old.index(" ", s + 1)) for s in starts]
    moved = rebase(old, new, spans)
    kept = [(span, new_span) for span, new_span in zip(spans, moved.spans, strict=True) if new_span is not None]
    assert all(old[a:b] == new[c:d] for (a, b), (c, d) in kept)
    t_rebase = _best(lambda: rebase(old, new, spans))
    t_diff = _best(lambda: diff(old, new))
    print(f"text: {len(old.split()):,} words, {len(spans):,} edits, {len(moved.changes)} changed spans")
    print(f"kept {len(kept):,}, dropped {len(moved.dropped)}")
    print(f"rebase (diff + moving the edits): {t_rebase * 1000:.1f} ms (best of 5)")
    print(f"baseline, core.text.edits.diff alone: {t_diff * 1000:.1f} ms (best of 5)")
    print(f"ratio rebase / diff: {t_rebase / t_diff:.2f}x")


if __name__ == "__main__":
    main()
