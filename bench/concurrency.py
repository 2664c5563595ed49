"""Several processes on the same rounds at once (issue 10: one core that knows what stands).

Usage:
    python bench/concurrency.py [--url postgresql://USER:PW@HOST/DB] [--seeds 3] [--sessions 5] [--steps 40]

Always runs on a fresh SQLite file; with --url (a PostgreSQL server whose user may create
databases) also on a fresh PostgreSQL database created beside the one named, dropped afterwards.

Per database and seed: documents with a round under review each; then 2 app-equivalent processes
(each with --sessions browser sessions deciding through the outbox and the review service,
bulk-deciding, undoing and sometimes applying-and-continuing, plus the app's in-process job
worker) and --cli CLI operators (`python -m core round decide|continue` subprocesses), all at once,
with the same idempotency key sent by both processes at the same instant --twins times. Applies come
in the later 60% of each session's steps, at 5% of them. Then the database is checked against what
every client was told (core.stress.Verdict: every count from bad_versions on must be 0).

Baseline, in the same run: the same sessions' plans, CLI commands (through core.cli.main in
process) and twins run one action at a time by ONE process, on a fresh database of the same kind.
Prints, per seed, both runs' counts, throughput (client actions per second, from the start to the
last action) and decision latency (p50/p95 of one page action: an outbox of 1-3 items, a bulk
action, or a direct decide).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from core import stress  # noqa: E402
from core.cli import main as cli_main  # noqa: E402
from core.db import dispose_engines, make_engine, migrate  # noqa: E402
from core.proposers.base import SpecData  # noqa: E402
from tests.proposers_for_tests import register_test_kinds  # noqa: E402

# Rules both ways, so that every version has edits to propose: each next round is a real one.
RULES = {"teh": "the", "wich": "which", "the": "teh", "which": "wich"}
SPEC = SpecData(kind="test-replace", params={"rules": RULES}, name="stress")
CLI_SETUP = "from tests.proposers_for_tests import register_test_kinds; register_test_kinds()"


@contextmanager
def fresh_database(url: str | None) -> Iterator[str]:
    """A fresh SQLite file, or a fresh PostgreSQL database beside the one `url` names."""
    if url is None or url.startswith("sqlite"):
        yield f"sqlite:///{tempfile.mkdtemp()}/concurrency.db"
        return
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"redraft_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def workloads(url: str, args: argparse.Namespace) -> list[stress.Workload]:
    engine = make_engine(url)
    migrate(engine)
    out = []
    for seed in range(args.seeds):
        docs = stress.seed(engine, args.docs, args.words, SPEC, args.max_depth)
        out.append(
            stress.Workload(
                url=url,
                document_ids=docs,
                spec={"kind": SPEC.kind, "model": SPEC.model, "params": SPEC.params, "name": SPEC.name},
                seed=seed,
                max_depth=args.max_depth,
                sessions=args.sessions,
                steps=args.steps,
                twins=args.twins,
                cli_steps=args.cli_steps,
            )
        )
    engine.dispose()
    return out


def describe(label: str, run: stress.SeedRun, verdict: stress.Verdict) -> str:
    s = stress.summary(run)
    return (
        f"  {label:<10} {s['actions']:>4} page actions in {s['seconds']:>6.2f} s = {s['per_s']:>6.1f}/s, "
        f"{s['cli']} CLI commands ({s['cli_mean_s']:.2f} s each), "
        f"decision p50 {s['p50_ms']:.0f} ms p95 {s['p95_ms']:.0f} ms max {s['max_ms']:.0f} ms; "
        f"rules hold: {verdict.safe}\n"
        f"             {verdict.line()}"
    )


def bench(kind: str, url: str | None, args: argparse.Namespace) -> bool:
    ok = True
    with fresh_database(url) as conc_url, fresh_database(url) as seq_url:
        conc_works, seq_works = workloads(conc_url, args), workloads(seq_url, args)
        conc_engine, seq_engine = make_engine(conc_url), make_engine(seq_url)
        runs = stress.run_concurrent(
            conc_engine,
            conc_works,
            app_processes=2,
            cli_operators=args.cli,
            setup=register_test_kinds,
            cli_setup=CLI_SETUP,
        )
        totals = {"concurrent": [0, 0.0], "sequential": [0, 0.0]}
        for run, seq_work in zip(runs, seq_works, strict=True):
            conc = stress.verify(conc_engine, run.work, run.report)
            base = stress.sequential(seq_engine, seq_work, app_processes=2, cli_operators=args.cli, cli_main=cli_main)
            seq = stress.verify(seq_engine, seq_work, base.report)
            print(f"{kind} seed {run.work.seed}:", flush=True)
            print(describe("concurrent", run, conc), flush=True)
            print(describe("sequential", base, seq), flush=True)
            for label, rep in (("errors", run.report.errors), ("busy", run.report.busy)):
                if rep:
                    print(f"  {label}: {rep[:3]}", flush=True)
            refused = sorted({msg for _, msg in run.report.refused})
            print(f"  refusal messages ({len(refused)} distinct): {refused[:6]}", flush=True)
            ok &= conc.safe and seq.safe
            for label, r in (("concurrent", run), ("sequential", base)):
                totals[label][0] += stress.summary(r)["actions"]
                totals[label][1] += r.seconds
        (cn, cs), (sn, ss) = totals["concurrent"], totals["sequential"]
        print(
            f"{kind} total: concurrent {cn} actions in {cs:.1f} s = {cn / cs:.1f}/s; "
            f"sequential {sn} in {ss:.1f} s = {sn / ss:.1f}/s; ratio {(cn / cs) / (sn / ss):.2f}x",
            flush=True,
        )
        conc_engine.dispose()
        seq_engine.dispose()
        dispose_engines()
    return ok


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", help="a PostgreSQL server URL: also run there (a fresh database beside it)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--docs", type=int, default=4)
    ap.add_argument("--words", type=int, default=90)
    ap.add_argument("--sessions", type=int, default=5, help="browser sessions per app process (2 processes)")
    ap.add_argument("--steps", type=int, default=40, help="actions per session")
    ap.add_argument("--cli", type=int, default=2, help="CLI operators (subprocess loops)")
    ap.add_argument("--cli-steps", type=int, default=3)
    ap.add_argument("--twins", type=int, default=6)
    ap.add_argument("--max-depth", type=int, default=3)
    args = ap.parse_args()
    register_test_kinds()
    ok = bench("sqlite", None, args)
    if args.url:
        ok &= bench("postgresql", args.url, args)
    print("all invariants hold" if ok else "INVARIANTS BROKEN", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
