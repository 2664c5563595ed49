"""Learning from feedback: does a person see fewer unwanted edits as they work, without losing good ones?

    python bench/learning.py [--documents N] [--sentences-per-document 10] [--skip-refit]

A stream of CoNLL-2014 documents (consecutive test sentences grouped, detokenised; reference =
annotator 0's corrections) is revised by one simulated person with the builtin proposer, through
the real round engine and database (up to 3 rounds per document). Runs:

  reference / off          learning off: no suppression, no muting, no preference (the baseline)
  reference / suppression  only rejected edits suppressed within a thread (ablation)
  reference / on           the product defaults: suppression, automatic muting, preference
                           ordering and hiding below the person's threshold
  biased / off, on         the reference user who also rejects every spelling fix
  noisy 10% / off, on      the reference user with 10% of its decisions flipped at random

Figures: acceptance rate of the edits shown; the share of the reference's reachable corrections that
end up applied (reachable = applied at the end of any run of that user; corrections are token-level
opcodes source -> reference); token distance to the reference; rejected edits proposed again in the
same thread (an independent check: rejected spans are carried through each round's applied edits);
for the biased user, the share of shown edits from the rules it rejects, after the first documents.
Then the preference model's refit time on 10,000 decisions against a named baseline.

Proposals are cached by text (the builtin proposer is deterministic), so runs share the proposer's
work; proposing time is reported apart.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rapidfuzz.distance import Levenshtein  # noqa: E402
from sqlmodel import select  # noqa: E402

from core import db  # noqa: E402
from core.db import session_scope  # noqa: E402
from core.learning import analytics, preference  # noqa: E402
from core.models import Decision, Document, Round, Thread, User, Version, utcnow  # noqa: E402
from core.models import Edit as EditRow  # noqa: E402
from core.proposers.base import ProposalRequest, ProposalResult  # noqa: E402
from core.proposers.registry import build_proposer, parse_spec  # noqa: E402
from core.training import simulate  # noqa: E402

BIASED_RULES = ("lingotweaker:MORFOLOGIK_RULE_EN_US", "harper:SpellCheck")
WARMUP_DOCUMENTS = 5  # "after the first few documents"


class CachedProposer:
    """The builtin proposer with its answers cached by request text (it is deterministic)."""

    def __init__(self) -> None:
        self.inner = build_proposer(parse_spec("builtin"))
        self.spec = self.inner.spec
        self.cache: dict[tuple, ProposalResult] = {}
        self.seconds = 0.0
        self.calls = 0

    def propose(self, request: ProposalRequest) -> ProposalResult:
        key = (request.text, request.intents, request.disabled_rules)
        if key not in self.cache:
            t = time.perf_counter()
            self.cache[key] = self.inner.propose(request)
            self.seconds += time.perf_counter() - t
            self.calls += 1
        return self.cache[key]


@dataclass
class Run:
    name: str
    user: str
    learning: bool
    summary: simulate.RunSummary
    seconds: float
    records: list[analytics.EditRecord] = field(default_factory=list)
    finals: dict[int, str] = field(default_factory=dict)  # document id -> final text
    order: list[int] = field(default_factory=list)  # document ids in stream order
    repeats: int = 0


# --- measures ----------------------------------------------------------------------------------


def corrections(source: str, target: str) -> set[tuple]:
    """Token-level changes source -> target: (tag, i1, i2, replacement tokens)."""
    a, b = simulate.words(source), simulate.words(target)
    return {
        (op.tag, op.src_start, op.src_end, tuple(b[op.dest_start : op.dest_end]))
        for op in Levenshtein.opcodes(a, b)
        if op.tag != "equal"
    }


def rejected_repeats(session, project_id: int) -> int:  # noqa: ANN001 - Session
    """Edits proposed again in a thread after the person rejected the same change at the same place.

    Independent of core.revision.feedback: each rejected span is carried forward through the offsets of the
    edits applied in each round (simulated runs change text only through rounds); an edit counts as
    a repeat if it has the carried span and change, or the same change in the same sentence."""
    threads = session.exec(
        select(Thread.id, Thread.user_id)
        .join(Document, Document.id == Thread.document_id)
        .where(Document.project_id == project_id)
    ).all()
    from core.revision.rounds import edit_states

    repeats = 0
    for thread_id, user_id in threads:
        carried: set[tuple[int, int, str, str]] = set()
        seen_context: set[tuple[str, str, str]] = set()
        for rnd in session.exec(select(Round).where(Round.thread_id == thread_id).order_by(Round.depth)).all():
            states = edit_states(session, rnd.id, user_id)
            for st in states:
                e = st.row
                if (e.start, e.end, e.before, e.after) in carried or (
                    e.before,
                    e.after,
                    e.context or "",
                ) in seen_context:
                    repeats += 1
            applied = sorted(
                [
                    (st.row.start, st.row.end, len(st.applied_after or "") - (st.row.end - st.row.start))
                    for st in states
                    if st.applied_after is not None
                ]
            )
            nxt: set[tuple[int, int, str, str]] = set()
            rejected = [
                (st.row.start, st.row.end, st.row.before, st.row.after) for st in states if st.status == "reject"
            ]
            for start, end, before, after in list(carried) + rejected:
                shift, ok = 0, True
                for a_start, a_end, delta in applied:
                    if a_end <= start:
                        shift += delta
                    elif a_start >= end:
                        break
                    else:
                        ok = False
                        break
                if ok:
                    nxt.add((start + shift, end + shift, before, after))
            carried = nxt
            seen_context |= {
                (st.row.before, st.row.after, st.row.context or "") for st in states if st.status == "reject"
            }
    return repeats


def load_run(engine, run: Run) -> None:  # noqa: ANN001 - Engine
    with session_scope(engine) as s:
        run.records = analytics.load_records(s, analytics.Filters(project_id=run.summary.project_id))
        docs = s.exec(
            select(Document.id, Version.text)
            .join(Version, Version.id == Document.head_version_id)
            .where(Document.project_id == run.summary.project_id)
        ).all()
        run.finals = dict(docs)
        run.order = list(run.summary.document_ids)
        run.repeats = rejected_repeats(s, run.summary.project_id)


def shown_acceptance(records: list[analytics.EditRecord]) -> tuple[int, int, float]:
    t = analytics.tally(records)
    shown, acc = int(t["shown"]), int(t["accepted"]) + int(t["modified"])
    return shown, acc, acc / shown if shown else 0.0


def rule_share(records: list[analytics.EditRecord], rules: tuple[str, ...], doc_ids: set[int]) -> tuple[int, int]:
    """(shown edits of `rules`, all shown edits) in the given documents."""
    shown = [r for r in records if r.document_id in doc_ids and not r.hidden]
    return sum(1 for r in shown if r.source in rules), len(shown)


# --- runs --------------------------------------------------------------------------------------


def simulate_run(engine, proposer, pairs, name: str, user: simulate.SimulatedUser, *, learning: bool, **profile) -> Run:  # noqa: ANN001
    t = time.perf_counter()
    summary = simulate.run_simulation(
        engine,
        pairs,
        user,
        learning=learning,
        proposer=proposer,
        corpus="conll14",
        project_name=f"bench {name}",
        **profile,
    )
    run = Run(name=name, user=user.kind, learning=learning, summary=summary, seconds=time.perf_counter() - t)
    load_run(engine, run)
    print(f"  {name}: {summary.documents} documents, {summary.rounds} rounds, {run.seconds:.0f} s", flush=True)
    return run


def reachable_report(runs: list[Run], pairs_by_title: dict[str, simulate.Pair], engine) -> dict[str, tuple[int, int]]:  # noqa: ANN001
    """Per run: (reachable corrections applied, reachable corrections), reachable over all given runs."""
    titles: dict[int, str] = {}
    with session_scope(engine) as s:
        for run in runs:
            for doc_id, title in s.exec(
                select(Document.id, Document.title).where(Document.project_id == run.summary.project_id)
            ).all():
                titles[doc_id] = title
    per_run: dict[str, dict[str, set]] = {}
    for run in runs:
        got: dict[str, set] = {}
        for doc_id, final in run.finals.items():
            pair = pairs_by_title[titles[doc_id]]
            gold = corrections(pair.source, pair.reference)
            got[pair.title] = gold & corrections(pair.source, final)
        per_run[run.name] = got
    reachable: dict[str, set] = defaultdict(set)
    for got in per_run.values():
        for title, applied in got.items():
            reachable[title] |= applied
    total = sum(len(v) for v in reachable.values())
    return {name: (sum(len(v) for v in got.values()), total) for name, got in per_run.items()}


def curve(run: Run, block: int) -> list[str]:
    """Acceptance of shown edits per block of documents, in stream order."""
    out = []
    for i in range(0, len(run.order), block):
        ids = set(run.order[i : i + block])
        shown, acc, rate = shown_acceptance([r for r in run.records if r.document_id in ids])
        out.append(f"{rate:.0%}")
    return out


# --- refit timing ------------------------------------------------------------------------------


def iterater_rows(limit: int) -> list[tuple[EditRow, str]]:
    """IteraTeR's human edits as extra, varied edits for the timing (a third of them 'accepted')."""
    path = simulate.ITERATER_DOC / "train.json"
    if not path.exists():
        return []
    import json
    import random

    rng = random.Random(0)
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        for a in doc["edit_actions"]:
            before, after = a.get("before") or "", a.get("after") or ""
            ctx = doc["before_revision"][max(0, a["start_char_pos"] - 80) : a["end_char_pos"] + 80]
            edit = EditRow(
                round_id=0,
                start=0,
                end=0,
                before=before,
                after=after,
                intent=a.get("major_intent"),
                source="human:iterater",
                context=ctx,
                content_hash="",
            )
            out.append((edit, "accept" if rng.random() < 0.33 else "reject"))
            if len(out) >= limit:
                return out
    return out


def refit_timing(engine, source_projects: list[int], n: int = 10_000, users: int = 4) -> dict[str, float]:  # noqa: ANN001
    """Fill one project with n decided edits (copied from the runs' real edits, spread over several
    people) and time the person's refit from the database, and the model fit alone, against the
    same fit on every hashed column (the naive baseline)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    with session_scope(engine) as s:
        rows = s.exec(
            select(EditRow, Decision.action)
            .join(Decision, Decision.edit_id == EditRow.id)
            .join(Round, Round.id == EditRow.round_id)
            .join(Thread, Thread.id == Round.thread_id)
            .join(Document, Document.id == Thread.document_id)
            .where(Document.project_id.in_(source_projects))
        ).all()
        rows = [(e, a) for e, a in rows] + iterater_rows(n)
        from core.models import Project

        project = Project(name="bench refit", settings={})
        people = [User(name=f"bench-refit-{i}", simulated=True) for i in range(users)]
        s.add(project)
        s.add_all(people)
        s.flush()
        doc = Document(project_id=project.id, title="refit")
        s.add(doc)
        s.flush()
        version = Version(document_id=doc.id, text="x", origin="import")
        s.add(version)
        s.flush()
        threads = [Thread(document_id=doc.id, user_id=u.id, simulated=True) for u in people]
        s.add_all(threads)
        s.flush()
        rounds_ = [Round(thread_id=t.id, depth=1, base_version_id=version.id, status="applied") for t in threads]
        s.add_all(rounds_)
        s.flush()
        edits, decisions = [], []
        now = utcnow()
        for i in range(n):
            src, action = rows[i % len(rows)]
            k = i % users
            edits.append(
                EditRow(
                    round_id=rounds_[k].id,
                    position=i,
                    start=0,
                    end=1,
                    before=src.before,
                    after=src.after,
                    intent=src.intent,
                    source=src.source,
                    context=src.context,
                    content_hash=f"{i}",
                    alternatives=list(src.alternatives or []),
                )
            )
        s.add_all(edits)
        s.flush()
        for i, e in enumerate(edits):
            decisions.append(
                Decision(
                    edit_id=e.id,
                    user_id=people[i % users].id,
                    action=rows[i % len(rows)][1],
                    simulated=True,
                    created_at=now + timedelta(milliseconds=i),
                )
            )
        s.add_all(decisions)
        project_id, user_id = project.id, people[0].id

    def best(f, repeat: int = 3) -> float:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
        return min(times)

    out: dict[str, float] = {}
    with session_scope(engine) as s:
        # cold: a fresh process, nothing cached (every edit read and featurised)
        preference._edit_cache.clear()
        preference._feature_cache.clear()
        t = time.perf_counter()
        preference.refit(s, project_id, user_id, evaluate_holdout=False)
        out["cold_refit_s"] = time.perf_counter() - t
        examples = preference.decision_examples(s, project_id)
        out["decisions"] = len(examples)
        out["distinct_edits"] = len({e.edit for e in examples})
        out["load_s"] = best(lambda: preference.decision_examples(s, project_id))
        # warm: what happens after each round (the edits decided before are cached)
        out["refit_s"] = best(lambda: preference.refit(s, project_id, user_id, evaluate_holdout=False))
        out["refit_holdout_s"] = best(lambda: preference.refit(s, project_id, user_id, evaluate_holdout=True), 1)
    out["fit_s"] = best(lambda: preference.fit(examples, user_id))
    own = [e.user_id == user_id for e in examples]
    X = preference.design_matrix([e.edit for e in examples], own)
    y = np.array([e.accepted for e in examples])
    w = np.where(own, 1.0, preference.PRIOR_WEIGHT)
    t = time.perf_counter()
    LogisticRegression(C=preference.C, solver="liblinear", max_iter=200).fit(X, y, sample_weight=w)
    out["baseline_s"] = time.perf_counter() - t
    return out


# --- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=None, help="documents in the stream (default: all 132)")
    parser.add_argument("--sentences-per-document", type=int, default=simulate.DEFAULT_SENTENCES_PER_DOCUMENT)
    parser.add_argument("--skip-refit", action="store_true", help="skip the 10,000-decision refit timing")
    parser.add_argument("--block", type=int, default=20, help="documents per point of the learning curve")
    args = parser.parse_args()

    if not simulate.CONLL14_M2.exists():
        print(f"CoNLL-2014 not found at {simulate.CONLL14_M2}; nothing to measure.")
        return 1
    pairs = simulate.conll14_documents(sentences_per_document=args.sentences_per_document)[: args.documents]
    pairs_by_title = {p.title: p for p in pairs}
    tmp = tempfile.mkdtemp(prefix="redraft-bench-learning-")
    engine = db.open_database(f"sqlite:///{tmp}/bench.db")
    proposer = CachedProposer()
    start = time.perf_counter()
    print(f"{len(pairs)} CoNLL-2014 documents of {args.sentences_per_document} sentences; database {tmp}/bench.db")

    ref = simulate.SimulatedUser("reference")

    def noisy() -> simulate.SimulatedUser:  # same seed for both runs: the same coin flips in the same order
        return simulate.SimulatedUser("reference", noise=0.1, seed=7)

    biased = simulate.SimulatedUser("biased", reject_rules=frozenset(BIASED_RULES))
    runs = [
        simulate_run(engine, proposer, pairs, "reference / off", ref, learning=False),
        simulate_run(
            engine,
            proposer,
            pairs,
            "reference / suppression only",
            ref,
            learning=True,
            threshold=0.0,
            auto_mute_after=0,
        ),
        simulate_run(engine, proposer, pairs, "reference / on", ref, learning=True),
        simulate_run(engine, proposer, pairs, "biased / off", biased, learning=False),
        simulate_run(engine, proposer, pairs, "biased / on", biased, learning=True),
        simulate_run(engine, proposer, pairs, "noisy 10% / off", noisy(), learning=False),
        simulate_run(engine, proposer, pairs, "noisy 10% / on", noisy(), learning=True),
    ]
    by_name = {r.name: r for r in runs}
    reach = reachable_report([r for r in runs if r.name.startswith("reference")], pairs_by_title, engine)
    for prefix in ("biased", "noisy"):
        reach.update(reachable_report([r for r in runs if r.name.startswith(prefix)], pairs_by_title, engine))

    print()
    print(
        "| run | documents | rounds | proposed | shown | hidden | accepted | acceptance of shown | "
        "reachable corrections applied | token distance to reference | rejected edits proposed again | time |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        shown, acc, rate = shown_acceptance(r.records)
        t = analytics.tally(r.records)
        got, total = reach[r.name]
        sm = r.summary
        cells = [r.name, sm.documents, sm.rounds, t["proposed"], shown, t["hidden"], acc, f"{rate:.1%}",
                 f"{got}/{total} = {got / total:.1%}", f"{sm.distance_before} -> {sm.distance_after}", r.repeats,
                 f"{r.seconds:.0f} s"]  # fmt: skip
        print("| " + " | ".join(str(c) for c in cells) + " |")
    off, on = by_name["reference / off"], by_name["reference / on"]
    rate_off, rate_on = shown_acceptance(off.records)[2], shown_acceptance(on.records)[2]
    reach_off = reach[off.name][0] / reach[off.name][1]
    reach_on = reach[on.name][0] / reach[on.name][1]
    print()
    print(
        f"acceptance of shown edits, learning on vs off: {rate_on:.1%} vs {rate_off:.1%} = "
        f"{(rate_on - rate_off) * 100:+.1f} points (bar: +10)"
    )
    print(
        f"reachable corrections applied, on vs off: {reach_on:.1%} vs {reach_off:.1%} = "
        f"{(reach_on - reach_off) * 100:+.1f} points (bar: no more than 2 down)"
    )
    print(
        f"rejected edits proposed again with learning on: "
        f"{sum(r.repeats for r in runs if r.learning)} "
        f"(off runs, for contrast: {sum(r.repeats for r in runs if not r.learning)})"
    )
    for r in runs:
        print(
            f"learning curve, {r.name}, acceptance of shown per {args.block} documents: "
            f"{' '.join(curve(r, args.block))}"
        )

    for name in ("biased / off", "biased / on"):
        r = by_name[name]
        later = set(r.order[WARMUP_DOCUMENTS:])
        early = set(r.order[:WARMUP_DOCUMENTS])
        k_late, n_late = rule_share(r.records, BIASED_RULES, later)
        k_early, n_early = rule_share(r.records, BIASED_RULES, early)
        print(
            f"{name}: edits of the rejected rules among those shown: first {WARMUP_DOCUMENTS} documents "
            f"{k_early}/{n_early} = {k_early / max(n_early, 1):.1%}; after them {k_late}/{n_late} = "
            f"{k_late / max(n_late, 1):.1%} (bar with learning: below 10%)"
        )

    hidden = analytics.hidden_summary(on.records)
    quality = analytics.preference_quality(on.records)
    print(
        "hidden with learning on (reference):",
        ", ".join(f"{h['reason']}{' ' + h['value'] if h['value'] else ''}: {h['hidden']}" for h in hidden[:8]),
    )
    print(
        f"preference model, predictions made before each decision (reference / on): n={quality['n']}, "
        f"accuracy {quality.get('accuracy', 0):.1%} (majority {quality.get('majority_accuracy', 0):.1%}), "
        f"Brier {quality.get('brier', 0):.3f}, ECE {quality.get('ece', 0):.3f}"
    )
    print(f"proposer: {proposer.calls} distinct texts proposed in {proposer.seconds:.0f} s (shared by all runs)")

    if not args.skip_refit:
        timing = refit_timing(engine, [r.summary.project_id for r in runs])
        print()
        print(
            f"refit on {timing['decisions']:,} decisions ({timing['distinct_edits']:,} distinct edits: the runs' and "
            "IteraTeR's human edits; 4 people, one project, SQLite):"
        )
        print(
            f"  cold, first refit in a fresh process (every edit read and featurised): {timing['cold_refit_s']:.2f} s"
        )
        print(f"  load decisions from the database: {timing['load_s']:.2f} s")
        print(f"  preference.fit (features + logistic regression): {timing['fit_s']:.2f} s")
        print(
            f"  warm refit, as after each round (load + fit + store): {timing['refit_s']:.2f} s; "
            f"with held-out evaluation: {timing['refit_holdout_s']:.2f} s"
        )
        print(
            f"  baseline, the same logistic regression on all 2^18 hashed columns: {timing['baseline_s']:.2f} s "
            f"-> fit {timing['baseline_s'] / timing['fit_s']:.1f}x faster"
        )
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
