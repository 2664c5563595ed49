"""`python -m core worker`: run jobs (proposing, applying, fine-tuning, exports) in this process.

Deploy several beside the app on PostgreSQL (a GPU machine, say) with REDRAFT_WORKER=external
set for the app, so the web process is not where models run.
"""

from __future__ import annotations

import argparse

from core.cli._common import engine_for
from core.services.worker import run_worker


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worker", help="run queued jobs until stopped")
    p.add_argument("--threads", type=int, default=1, help="jobs run at once (default 1)")
    p.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    print(f"worker: running jobs from {engine.url.render_as_string(hide_password=True)}", flush=True)
    run_worker(engine, threads=max(1, args.threads))
    return 0
