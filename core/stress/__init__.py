"""Several people and processes on the same rounds at once: the checks behind bench/concurrency.py
and tests/db/test_concurrency.py.

The workload, as the issue describes it: two app-equivalent processes, each with browser sessions
(threads) that decide through the review component's outbox and the review service, bulk-decide,
undo, and sometimes "apply and continue", and with the app's in-process job worker; beside them,
CLI operators running `python -m core round decide|continue` as subprocesses (started ahead, so
that their work, not their imports, lands amid the sessions' — see WARM_CLI); and, on purpose,
the same idempotency key sent by both app processes at the same instant. Most actions are
decisions; applies come later and rarer, so many decisions race an apply. `sequential` runs the
same sessions' plans one after another in one process, for the throughput baseline. `verify`
checks the database against what every client was told (see Verdict).
"""

from core.stress.cli import start_cli
from core.stress.run import SeedRun, app_process, run_concurrent, sequential, wait_for_jobs
from core.stress.verdict import Verdict, summary, verify
from core.stress.workload import Report, Workload, seed

__all__ = [
    "Report",
    "SeedRun",
    "Verdict",
    "Workload",
    "app_process",
    "run_concurrent",
    "seed",
    "sequential",
    "start_cli",
    "summary",
    "verify",
    "wait_for_jobs",
]
