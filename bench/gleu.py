"""GLEU (Napoles et al. 2015, "Ground Truth for Grammatical Error Correction Metrics"; the 2016
"GLEU without tuning" form used for JFLEG), and CoNLL-2014 references to score it on.

    python bench/gleu.py                  # GLEU of the unchanged source on CoNLL-2014, a sanity figure

As the authors' `compute_gleu`: per sentence, n-grams (1-4) of the hypothesis that are in the
reference count, minus those that are in the source but nowhere in the reference (a correction left
undone is penalised); clipped at zero; a brevity penalty; statistics summed over the corpus. With
several references, each iteration draws one per sentence at random and the score is the mean over
iterations (a fixed seed here, so two systems are scored on the same draws).
"""

from __future__ import annotations

import math
import random
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONLL_M2 = ROOT.parent / "shared" / "data" / "conll14" / "official-2014.combined.m2"
ORDER = 4


def ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) + 1 - n))


def sentence_stats(hyp: Sequence[str], source: Sequence[str], ref: Sequence[str]) -> list[int]:
    """[hyp length, ref length, then per n: matches less source-only n-grams, hyp n-grams]."""
    stats = [len(hyp), len(ref)]
    for n in range(1, ORDER + 1):
        h, s, r = ngrams(hyp, n), ngrams(source, n), ngrams(ref, n)
        # Source n-grams absent from the reference (the authors' get_ngram_diff drops shared keys).
        s_only = Counter({k: v for k, v in s.items() if k not in r})
        stats.append(max(sum((h & r).values()) - sum((h & s_only).values()), 0))
        stats.append(max(len(hyp) + 1 - n, 0))
    return stats


def corpus_gleu(stats: Sequence[int]) -> float:
    if any(x == 0 for x in stats):
        return 0.0
    c, r = stats[0], stats[1]
    log_prec = sum(math.log(x / y) for x, y in zip(stats[2::2], stats[3::2], strict=True)) / ORDER
    return math.exp(min(0.0, 1 - r / c) + log_prec)


def gleu(
    sources: Sequence[str],
    references: Sequence[Sequence[str]],
    hypotheses: Sequence[str],
    *,
    iterations: int = 200,
    seed: int = 0,
) -> float:
    """Corpus GLEU of whitespace-tokenised hypotheses; references[i] holds sentence i's references."""
    rng = random.Random(seed)
    src = [s.split() for s in sources]
    hyp = [h.split() for h in hypotheses]
    refs = [[r.split() for r in rs] for rs in references]
    # Statistics per (sentence, reference) once; iterations only draw and sum them.
    per_ref = [[sentence_stats(h, s, r) for r in rs] for h, s, rs in zip(hyp, src, refs, strict=True)]
    scores = []
    for _ in range(iterations if any(len(rs) > 1 for rs in refs) else 1):
        total = [0] * (2 + 2 * ORDER)
        for options in per_ref:
            for k, x in enumerate(rng.choice(options)):
                total[k] += x
        scores.append(corpus_gleu(total))
    return sum(scores) / len(scores)


def m2_references(path: Path = CONLL_M2, limit: int | None = None) -> tuple[list[str], list[list[str]]]:
    """Tokenised sources and, per sentence, each annotator's corrected sentence."""
    sources, references = [], []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n")[: limit or None]:
        lines = block.split("\n")
        source = lines[0][2:]
        by_annotator: dict[str, list[tuple[int, int, str]]] = {}
        for a in lines[1:]:
            fields = a[2:].split("|||")
            t0, t1 = map(int, fields[0].split())
            edits = by_annotator.setdefault(fields[5], [])
            if fields[1] != "noop" and t0 >= 0:
                edits.append((t0, t1, fields[2]))
        refs = []
        for edits in by_annotator.values() or [[]]:
            tokens = source.split(" ")
            for t0, t1, correction in sorted(edits, reverse=True):  # from the end: offsets stay valid
                tokens[t0:t1] = correction.split()
            refs.append(" ".join(tokens))
        sources.append(source)
        references.append(refs)
    return sources, references


def main() -> int:
    if not CONLL_M2.exists():
        print(f"reference data not found at {CONLL_M2}", file=sys.stderr)
        return 1
    sources, references = m2_references()
    print(
        f"CoNLL-2014: {len(sources)} sentences; GLEU of the unchanged source {gleu(sources, references, sources):.4f}"
    )
    print(f"GLEU of the first annotator's corrections {gleu(sources, references, [r[0] for r in references]):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
