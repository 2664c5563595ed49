"""Edit engine benchmark: speed and quality of core.text.edits.diff against named baselines, one run.

    python -m bench.diff            # everything (~2 minutes on 2 cores; difflib dominates)
    python -m bench.diff --quick    # one repetition each, no redlines on the long document

1. IteraTeR human_doc_level train (481 pairs), one pair at a time: our word-level diff *with*
   Edit objects vs difflib.SequenceMatcher(autojunk=False) on the same word tokens (opcodes only,
   tokens prepared beforehand, so the baseline is favoured), plus diff-match-patch and redlines.
2. All 559 pairs: exact rebuild and agreement with the annotated edit spans; granularity.
3. A synthetic ~100,000-word document with ~2% of its sentences changed: diff + edits vs difflib
   with autojunk on word tokens; checks apply == after, edit count == changes made, and that each
   change gives the same edits as diffing its sentence alone.
"""

from __future__ import annotations

import argparse
import difflib
import json
import multiprocessing as mp
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from diff_match_patch import diff_match_patch
from rapidfuzz.distance import Indel
from redlines import Redlines

from core.text.edits import apply_edits, diff
from core.text.segment import token_strings

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "iterater" / "human_doc_level"


def best_of(n: int, fn: Callable[[], object]) -> float:
    """Least wall time of n runs: the machine is shared, the minimum is the least noisy estimate."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def row(label: str, seconds: float, note: str = "") -> None:
    print(f"{label:<62}{seconds:8.3f} s   {note}")


def load(split: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / f"{split}.json").open()]


def dmp_changes(a: str, b: str, timeout: float = 1.0) -> int:
    dmp = diff_match_patch()
    dmp.Diff_Timeout = timeout
    diffs = dmp.diff_main(a, b)
    dmp.diff_cleanupSemantic(diffs)
    # count runs of non-equal operations (a replace is a delete next to an insert)
    runs, inside = 0, False
    for op, _ in diffs:
        if op != 0 and not inside:
            runs += 1
        inside = op != 0
    return runs


def _redlines_worker(pairs: list[tuple[str, str]], queue: mp.Queue) -> None:
    t = time.perf_counter()
    n = sum(len(Redlines(a, b).changes) for a, b in pairs)
    queue.put((time.perf_counter() - t, n))


def redlines_timed(pairs: list[tuple[str, str]], limit_s: float) -> tuple[float | None, int | None]:
    """Run redlines in a child process so a pathological case cannot hang the benchmark."""
    queue: mp.Queue = mp.Queue()
    proc = mp.Process(target=_redlines_worker, args=(pairs, queue))
    proc.start()
    proc.join(limit_s)
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return None, None
    return queue.get()


def overlaps(s1: int, e1: int, s2: int, e2: int) -> bool:
    if s1 < e1 and s2 < e2:
        return s1 < e2 and s2 < e1
    return s1 <= e2 and s2 <= e1  # an insertion overlaps the span it touches


def bench_train(reps: int) -> None:
    rows = load("train")
    pairs = [(r["before_revision"], r["after_revision"]) for r in rows]
    tokens = [(token_strings(a), token_strings(b)) for a, b in pairs]
    n_tok = sum(len(a) + len(b) for a, b in tokens)
    print(f"\n## 1. IteraTeR train: {len(pairs)} pairs, {n_tok:,} tokens (words, spaces, punctuation)")

    ours = best_of(reps, lambda: [diff(a, b) for a, b in pairs])
    raw = best_of(reps, lambda: [Indel.opcodes(a, b) for a, b in tokens])
    base = best_of(
        max(1, reps // 2),
        lambda: [difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes() for a, b in tokens],
    )
    t = time.perf_counter()
    n_dmp = sum(dmp_changes(a, b) for a, b in pairs)
    t_dmp = time.perf_counter() - t
    t_red, n_red = redlines_timed(pairs, 300)
    n_ours = sum(len(diff(a, b)) for a, b in pairs)

    row("core.text.edits.diff (tokenise + align + Edit objects)", ours, f"{n_ours} edits")
    row("difflib.SequenceMatcher(autojunk=False), opcodes only", base, f"-> ours is {base / ours:.0f}x faster")
    row("rapidfuzz Indel.opcodes on pre-tokenised lists", raw, "(lower bound: no tokenising, no edits)")
    row("diff-match-patch (chars + cleanupSemantic)", t_dmp, f"{n_dmp} changes ({t_dmp / ours:.0f}x ours)")
    if t_red is None:
        print("redlines: stopped after 300 s")
    else:
        row("redlines (whitespace-split words, difflib inside)", t_red, f"{n_red} changes ({t_red / ours:.1f}x ours)")


def bench_agreement() -> None:
    rows = [r for split in ("train", "dev", "test") for r in load(split)]
    exact = n_ann = ann_hit = n_prod = prod_ok = ws_only = 0
    for r in rows:
        before, after = r["before_revision"], r["after_revision"]
        found = diff(before, after)
        exact += apply_edits(before, found) == after
        spans = [(a["start_char_pos"], a["end_char_pos"]) for a in r["edit_actions"]]
        n_ann += len(spans)
        n_prod += len(found)
        ann_hit += sum(any(overlaps(s, t, e.start, e.end) for e in found) for s, t in spans)
        for e in found:
            hit = any(overlaps(s, t, e.start, e.end) for s, t in spans)
            ws = re.sub(r"\s", "", e.before) == re.sub(r"\s", "", e.after)
            prod_ok += hit or ws
            ws_only += ws and not hit
    print(f"\n## 2. IteraTeR all splits: {len(rows)} pairs")
    print(f"apply(before, diff(before, after)) == after exactly: {exact}/{len(rows)}")
    print(f"annotated edits overlapping a produced edit: {ann_hit}/{n_ann} = {ann_hit / n_ann:.2%}")
    print(
        f"produced edits overlapping an annotated edit or whitespace-only: {prod_ok}/{n_prod} = {prod_ok / n_prod:.2%}"
        f" ({ws_only} whitespace-only outside annotations)"
    )
    print(f"granularity: {n_prod} produced vs {n_ann} annotated edits = {n_prod / n_ann:.2f} produced per annotated")


def synthetic(seed: int = 0, words: int = 100_000, share: float = 0.02) -> tuple[str, str, list[tuple[int, int, str]]]:
    """A long document of real prose, with one word replaced, inserted or deleted in `share` of
    its sentences. Returns (before, after, [(start, end, new sentence) per change])."""
    texts = [r[k] for split in ("train", "dev", "test") for r in load(split) for k in ("before_revision",)]
    parts: list[str] = []
    n = 0
    for i in range(10_000):
        t = texts[i % len(texts)]
        parts.append(t)
        n += len(t.split())
        if n >= words:
            break
    before = "\n\n".join(parts)
    sentences = [m.span() for m in re.finditer(r"[^.\n]{40,}?\.(?=\s)", before)]
    rng = random.Random(seed)
    chosen = sorted(rng.sample(sentences, round(len(sentences) * share)))
    changes, out, pos = [], [], 0
    vocab = ["novel", "robust", "simple", "significant", "large", "recent"]
    for s, e in chosen:
        ws = before[s:e].split(" ")
        k = rng.randrange(2, len(ws) - 1)
        op = rng.choice(["replace", "insert", "delete"])
        if op == "replace":
            ws[k] = rng.choice(vocab)
        elif op == "insert":
            ws.insert(k, rng.choice(vocab))
        else:
            del ws[k]
        new = " ".join(ws)
        out += [before[pos:s], new]
        changes.append((s, e, new))
        pos = e
    return before, "".join(out) + before[pos:], changes


def bench_long(reps: int, with_redlines: bool) -> None:
    before, after, changes = synthetic()
    n_words = len(before.split())
    n_sent = len(re.findall(r"[^.\n]{40,}?\.(?=\s)", before))
    print(f"\n## 3. Synthetic document: {n_words:,} words, {len(before):,} chars")
    print(f"{len(changes)} of ~{n_sent} sentences changed (one word replaced, inserted or deleted in each)")

    ours = best_of(reps, lambda: diff(before, after))
    found = diff(before, after)
    ta, tb = token_strings(before), token_strings(after)
    t = time.perf_counter()
    ops = difflib.SequenceMatcher(None, ta, tb).get_opcodes()  # autojunk=True (default)
    base = time.perf_counter() - t
    base_changes = sum(1 for op in ops if op[0] != "equal")
    t = time.perf_counter()
    n_dmp = dmp_changes(before, after)
    t_dmp = time.perf_counter() - t

    small = [(x.start + s, x.end + s, x.before, x.after) for s, e, new in changes for x in diff(before[s:e], new)]
    same_as_small = small == [(x.start, x.end, x.before, x.after) for x in found]
    row("core.text.edits.diff (lines/sentences -> pieces -> tokens, edits)", ours)
    row("difflib.SequenceMatcher (autojunk=True), opcodes only", base, f"-> ours is {base / ours:.0f}x faster")
    row("diff-match-patch (chars, 1 s timeout, cleanupSemantic)", t_dmp)
    if with_redlines:
        t_red, n_red = redlines_timed([(before, after)], 300)
        if t_red is None:
            print("redlines: stopped after 300 s")
        else:
            row("redlines", t_red, f"{n_red} changes ({t_red / ours:.0f}x ours)")
    print(f"apply(before, edits) == after: {apply_edits(before, found) == after}")
    print(
        f"edits: ours {len(found)}, changes made {len(changes)}, difflib {base_changes} non-equal opcodes, "
        f"diff-match-patch {n_dmp} changes"
    )
    print(f"each change gives the same edits as diffing its sentence alone: {same_as_small}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition each; no redlines on the long document")
    args = parser.parse_args(argv)
    if not DATA.exists():
        print(f"reference data not found at {DATA}", file=sys.stderr)
        return 1
    reps = 1 if args.quick else 5
    bench_train(reps)
    bench_agreement()
    bench_long(reps, with_redlines=not args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
