"""Running jobs: a worker inside the app process (the embedded default), or `python -m core worker`.

Importing the job kinds registers them; a worker only runs kinds its process knows.
"""

from __future__ import annotations

import os
import threading

from sqlalchemy.engine import Engine

from core import jobs
from core.db import open_database
from core.services import campaigns, revision, training  # noqa: F401 - registers the propose, continue, fine-tune, campaign jobs

IN_APP_THREADS = 2  # a long fine-tune does not hold up proposing


def open_app_database(url: str | None = None) -> Engine:
    """The database the app runs on (DATABASE_URL or the embedded SQLite file), migrated to head."""
    return open_database(url)


def in_app_worker_enabled() -> bool:
    """REDRAFT_WORKER=external leaves jobs to separate `python -m core worker` processes."""
    return os.environ.get("REDRAFT_WORKER", "app").lower() != "external"


def start_threads(engine: Engine, count: int = IN_APP_THREADS) -> threading.Event:
    """Start `count` worker threads in this process; set the returned Event to stop them."""
    stop = threading.Event()
    for n in range(count):
        threading.Thread(target=jobs.work_forever, args=(engine, stop), name=f"redraft-worker-{n}", daemon=True).start()
    return stop


def run_worker(engine: Engine, *, threads: int = 1, stop: threading.Event | None = None) -> None:
    """Run workers in the foreground until `stop` is set (or the process is stopped)."""
    stop = stop or threading.Event()
    workers = [
        threading.Thread(target=jobs.work_forever, args=(engine, stop), name=f"redraft-worker-{n}", daemon=True)
        for n in range(threads)
    ]
    for w in workers:
        w.start()
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        stop.set()
    for w in workers:
        w.join(timeout=10)
