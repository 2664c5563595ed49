"""Built-in proposer intents against human intents: the rule table (core/proposers/rule_intents.py)
against the baseline "every built-in edit is fluency", in the same run.

    python bench/builtin_intents.py [--limit N] [--by-rule]

IteraTeR human revisions (../shared/data/iterater/human_doc_level, train + dev + test): the merged
built-in matches (as the proposer makes them, all intents asked) on each `before_revision`. A match
*reproduces* a human edit when one of its replacements, put in place inside the human edit's span,
gives the human's text there (whitespace-normalised); it *flags* one when the spans overlap. On each
set: how often the intent given matches the human's major intent ("others" left out), for
  baseline      every edit fluency (the first build's behaviour on the writer's essay)
  categories    the engine category alone
  table         rule ids first, then categories (what the proposer does now)
CoNLL-2014 (../shared/data/conll14): every gold correction there fixes an error, so a match that
reproduces one should be fluency; the share that is, per mapping, checks the table does not move
error fixes away from fluency.
Every IteraTeR match, reproduced or not, against the shipped intent classifier
(core/proposers/intents.py, trained on IteraTeR's human labels): a model's opinion, not a person's,
but it covers the rules no human edit happens to reproduce.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.proposers import make_request  # noqa: E402
from core.proposers.base import ITERATER_INTENTS, SpecData  # noqa: E402
from core.proposers.builtin import BuiltinProposer, Match, _chunks  # noqa: E402
from core.proposers.rule_intents import category_intent, rule_intent  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
ITERATER = DATA / "iterater" / "human_doc_level"
CONLL_M2 = DATA / "conll14" / "official-2014.combined.m2"

MAPPINGS: dict[str, Callable[[Match], str]] = {
    "baseline: all fluency": lambda m: "fluency",
    "categories only": lambda m: category_intent(m.category, m.issue_type),
    "table (rule ids, then categories)": lambda m: rule_intent(m.rule_id, m.category, m.issue_type),
}


@dataclass(frozen=True)
class HumanEdit:
    start: int
    end: int
    after: str
    intent: str


def _norm(text: str) -> str:
    return " ".join(text.split())


def relation(text: str, m: Match, h: HumanEdit) -> str | None:
    """ "reproduces", "flags" or None (no overlap) for a match against a human edit."""
    if not (m.start < h.end and h.start < m.end) and not (m.start == m.end and h.start <= m.start <= h.end):
        return None
    if h.start <= m.start and m.end <= h.end:
        for r in m.replacements:
            if _norm(text[h.start : m.start] + r + text[m.end : h.end]) == _norm(h.after):
                return "reproduces"
    return "flags"


def document_matches(proposer: BuiltinProposer, text: str) -> Iterator[Match]:
    """The proposer's matches on a whole document, offsets in `text` (chunked as propose does)."""
    request = make_request(text, intents=ITERATER_INTENTS)
    intents = frozenset(ITERATER_INTENTS)
    for chunk in _chunks(request.sentences, proposer.chunk_chars):
        base = chunk[0].start
        for m in proposer.matches(text[base : chunk[-1].end], intents, proposer.disabled):
            yield Match(**{**m.__dict__, "start": m.start + base, "end": m.end + base})


def iterater_pairs(limit: int | None) -> list[tuple[str, list[HumanEdit]]]:
    out = []
    for split in ("train", "dev", "test"):
        for line in (ITERATER / f"{split}.json").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            edits = [
                HumanEdit(a["start_char_pos"], a["end_char_pos"], a["after"] or "", a["major_intent"])
                for a in row["edit_actions"]
                if a["major_intent"] in ITERATER_INTENTS
            ]
            out.append((row["before_revision"], edits))
    return out[:limit] if limit else out


def conll_pairs(limit: int | None) -> list[tuple[str, list[HumanEdit]]]:
    """Each tokenised source sentence with its gold corrections as character spans (all "fluency")."""
    out = []
    for block in CONLL_M2.read_text(encoding="utf-8").strip().split("\n\n")[: limit or None]:
        lines = block.split("\n")
        source = lines[0][2:]
        starts, pos = [], 0
        for tok in source.split(" "):
            starts.append(pos)
            pos += len(tok) + 1
        starts.append(len(source) + 1)
        edits = []
        for a in lines[1:]:
            span, kind, correction = a[2:].split("|||")[:3]
            t0, t1 = map(int, span.split())
            if kind == "noop" or t0 < 0:
                continue
            c0 = starts[t0]
            c1 = max(starts[t1] - 1, c0)
            edits.append(HumanEdit(c0, c1, correction, "fluency"))
        out.append((source, edits))
    return out


def pairs_found(
    proposer: BuiltinProposer, docs: list[tuple[str, list[HumanEdit]]]
) -> tuple[list[tuple[Match, str]], list[tuple[Match, str]], list[tuple[Match, str]]]:
    """(match, human intent) for matches that reproduce a human edit, for those that flag one, and
    (match, its text) for all. A match is counted once, against the first human edit it reproduces
    or else overlaps."""
    reproduced, flagged, everything = [], [], []
    for text, human in docs:
        for m in document_matches(proposer, text):
            everything.append((m, text))
            found = [(relation(text, m, h), h) for h in human]
            hits = [(r, h) for r, h in found if r]
            best = next((x for x in hits if x[0] == "reproduces"), hits[0] if hits else None)
            if best is None:
                continue
            (reproduced if best[0] == "reproduces" else flagged).append((m, best[1].intent))
    return reproduced, flagged, everything


def classifier_labels(everything: list[tuple[Match, str]]) -> list[tuple[Match, str]]:
    """(match, the intent classifier's label of its first replacement in its sentence)."""
    from core.proposers.intents import classify_edits
    from core.text.segment import split_sentences

    items, kept = [], []
    for m, text in everything:
        after = m.replacements[0]
        if after == text[m.start : m.end]:
            continue
        sentence = next((s.text for s in split_sentences(text) if s.start <= m.start <= s.end), "")
        items.append((text[m.start : m.end], after, sentence))
        kept.append(m)
    return [(m, intent) for m, (intent, _p) in zip(kept, classify_edits(items), strict=True)]


def agreement(pairs: list[tuple[Match, str]], mapping: Callable[[Match], str]) -> float:
    return sum(mapping(m) == intent for m, intent in pairs) / len(pairs) if pairs else float("nan")


def report(title: str, pairs: list[tuple[Match, str]]) -> None:
    print(f"\n{title}: {len(pairs)} matches; labels there {dict(Counter(i for _, i in pairs).most_common())}")
    base = agreement(pairs, MAPPINGS["baseline: all fluency"])
    for name, mapping in MAPPINGS.items():
        a = agreement(pairs, mapping)
        print(f"  {name:36s} agrees {a:6.1%}   ratio to baseline {a / base if base else float('nan'):.3f}")
    given = Counter(MAPPINGS["table (rule ids, then categories)"](m) for m, _ in pairs)
    print(f"  intents the table gives: {dict(given.most_common())}")


def by_rule(pairs: list[tuple[Match, str]]) -> None:
    rows: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for m, intent in pairs:
        rows[(m.source, m.category, rule_intent(m.rule_id, m.category, m.issue_type))][intent] += 1
    for (source, category, given), c in sorted(rows.items(), key=lambda kv: -sum(kv[1].values())):
        print(f"  {sum(c.values()):4d}  {source:45s} {category:14s} -> {given:15s} human {dict(c.most_common())}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="first N documents / sentences of each set")
    ap.add_argument("--by-rule", action="store_true", help="human intents per rule")
    args = ap.parse_args(argv)
    if not ITERATER.exists() or not CONLL_M2.exists():
        print(f"reference data not found under {DATA}", file=sys.stderr)
        return 1
    proposer = BuiltinProposer(SpecData(kind="builtin"))
    t = time.perf_counter()
    docs = iterater_pairs(args.limit)
    reproduced, flagged, everything = pairs_found(proposer, docs)
    words = sum(len(text.split()) for text, _ in docs)
    print(
        f"IteraTeR human_doc_level: {len(docs)} documents, {words:,} words, {len(everything):,} built-in matches "
        f"({time.perf_counter() - t:.0f} s)"
    )
    report("matches that reproduce a human edit", reproduced)
    report("matches that overlap a human edit but do not reproduce it", flagged)
    judged = classifier_labels(everything)
    report("every match, against the intent classifier's label (a model, not a person)", judged)
    if args.by_rule:
        print("\nper rule, reproduced:")
        by_rule(reproduced)
        print("\nper rule, overlapping only:")
        by_rule(flagged)
    t = time.perf_counter()
    sentences = conll_pairs(args.limit)
    conll, _, everything = pairs_found(proposer, sentences)
    seconds = time.perf_counter() - t
    print(f"\nCoNLL-2014: {len(sentences)} sentences, {len(everything):,} built-in matches ({seconds:.0f} s)")
    report("matches that reproduce a gold correction (all fluency)", conll)
    if args.by_rule:
        by_rule(conll)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
