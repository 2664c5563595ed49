"""Several processes on the same rounds at once (issue: one core that knows what stands).

Usage: python bench/concurrency.py [--url sqlite:////tmp/x.db | postgresql://…] [--workers 8] [--seeds 3]

Seeds documents with a round under review each, then runs N worker processes that decide,
bulk-decide, undo and apply those rounds at once (each also running queued jobs, as app
processes do), and checks the database: exactly one version and at most one next round per
applied round, every decision reported stored present (so in the applied text), no duplicate
idempotency key, bulk actions all-or-nothing. Prints the counts per seed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.db import make_engine, migrate  # noqa: E402
from core.services import stress  # noqa: E402
from tests.proposers_for_tests import ReplaceProposer  # noqa: E402


def _work(args: tuple[str, list[int], int, int]) -> stress.Report:
    return stress.hammer(*args)


def run(url: str, workers: int, seed: int, steps: int, docs: int) -> stress.Verdict:
    engine = make_engine(url)
    migrate(engine)
    round_ids = stress.seed(engine, docs, 60, ReplaceProposer({"teh": "the", "wich": "which"}))
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers) as pool:
        reports = pool.map(_work, [(url, round_ids, seed * 100 + w, steps) for w in range(workers)])
    verdict = stress.verify(engine, round_ids, reports)
    refused = sum((r.refused for r in reports), start=__import__("collections").Counter())
    print(f"seed {seed}: {verdict} refused={dict(refused)} ok={verdict.ok}", flush=True)
    engine.dispose()
    return verdict


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--docs", type=int, default=3)
    args = ap.parse_args()
    ok = True
    for seed in range(args.seeds):
        url = args.url or f"sqlite:///{tempfile.mkdtemp()}/concurrency.db"
        t0 = time.perf_counter()
        ok &= run(url, args.workers, seed, args.steps, args.docs).ok
        print(f"  {time.perf_counter() - t0:.1f} s", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
