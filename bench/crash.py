"""How long a killed worker's job stays "running" with the default settings (issue 10: a job whose
heartbeat stops is marked interrupted within a bounded time, and its round freed).

Usage: python bench/crash.py [--url postgresql://USER:PW@HOST/DB]

Two `python -m core worker` processes on one database (a fresh SQLite file; with --url also a fresh
PostgreSQL database beside the one named). Worker A takes a job whose proposer blocks (a proposal,
then an apply-and-continue in its proposing step) and is killed with SIGKILL; worker B, left
running, reaps it with the default threshold (core.jobs.STALE_AFTER_S) and then runs the next
proposal. Prints, per job kind: seconds from the kill to the job marked interrupted (its round
freed), and to the next round under review; the bound is STALE_AFTER_S + HEARTBEAT_S + POLL_S.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from concurrency import fresh_database  # noqa: E402
from sqlmodel import select  # noqa: E402

from core import access, documents, jobs  # noqa: E402
from core.db import make_engine, migrate, read_scope, session_scope  # noqa: E402
from core.models import JobStatus, Round, RoundStatus  # noqa: E402
from core.proposers.base import SpecData  # noqa: E402
from core.revision import review, rounds, threads  # noqa: E402
from core.revision.rounds import RoundSettings  # noqa: E402
from core.services import revision  # noqa: E402
from tests.proposers_for_tests import register_test_kinds  # noqa: E402

REPLACE = SpecData(kind="test-replace", params={"rules": {"teh": "the", "the": "teh"}})
BLOCKING = SpecData(kind="test-blocking")


def start_worker(url: str, log: Path) -> subprocess.Popen:
    code = (
        "from tests.proposers_for_tests import register_test_kinds; register_test_kinds()\n"
        f"from core.cli import main; raise SystemExit(main(['--database-url', {url!r}, 'worker']))"
    )
    out = log.open("a")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                            stdout=out, stderr=out)  # fmt: skip
    until(lambda: "worker: running jobs" in log.read_text(), 120)
    return proc


def until(check, timeout_s: float):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if value := check():
            return value
        time.sleep(0.02)
    raise TimeoutError("gave up waiting")


def proposing(engine, thread_id: int, job_id: int) -> bool:
    with read_scope(engine) as s:
        rnd = s.exec(select(Round).where(Round.thread_id == thread_id, Round.job_id == job_id)).first()
        return rnd is not None and rnd.status == RoundStatus.PROPOSING and jobs.get(s, job_id).status == "running"


def one(url: str, kind: str, tmp: Path) -> tuple[float, float]:
    engine = make_engine(url)
    migrate(engine)
    with session_scope(engine) as s:
        doc = documents.create_document(s, kind, "teh cat and the dog. teh end.")
        user_id = documents.default_user(s).id
        thread_id = threads.active_thread(s, doc.id, user_id).id
        actor = access.actor_for(s, user_id)
    if kind == "propose":
        job = revision.propose(engine, actor, doc.id, RoundSettings(spec=BLOCKING))
    else:
        r1 = rounds.propose_round(engine, thread_id, RoundSettings(spec=REPLACE))
        with session_scope(engine) as s:
            review.decide(s, review.round_edits(s, r1.id)[0].id, user_id, "accept")
        job = revision.apply_and_continue(engine, actor, r1.id, RoundSettings(spec=BLOCKING))
    a = start_worker(url, tmp / f"{kind}-a.log")
    until(lambda: proposing(engine, thread_id, job.id), 60)
    b = start_worker(url, tmp / f"{kind}-b.log")  # the survivor, idle until A's job is reaped
    os.kill(a.pid, signal.SIGKILL)
    a.wait()
    killed = time.monotonic()

    def status() -> str:
        with read_scope(engine) as s:
            return jobs.get(s, job.id).status

    until(lambda: status() == JobStatus.INTERRUPTED, 120)
    interrupted = time.monotonic() - killed
    nxt = revision.propose(engine, actor, doc.id, RoundSettings(spec=REPLACE))
    done = jobs.wait_for(engine, nxt.id, timeout_s=60)
    assert done.status == JobStatus.DONE and done.result["round_status"] == RoundStatus.REVIEWING, done
    reviewing = time.monotonic() - killed
    b.kill()
    b.wait()
    engine.dispose()
    return interrupted, reviewing


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", help="a PostgreSQL server URL: also run there (a fresh database beside it)")
    args = ap.parse_args()
    register_test_kinds()
    bound = jobs.STALE_AFTER_S + jobs.HEARTBEAT_S + jobs.POLL_S
    print(f"stale after {jobs.STALE_AFTER_S:.0f} s, heartbeat {jobs.HEARTBEAT_S:.0f} s, poll {jobs.POLL_S} s: "
          f"bound {bound:.1f} s")  # fmt: skip
    for db, url in (("sqlite", None), ("postgresql", args.url)):
        if db == "postgresql" and not url:
            continue
        with fresh_database(url) as fresh:
            for kind in ("propose", "continue"):
                interrupted, reviewing = one(fresh, kind, Path(tempfile.mkdtemp()))
                print(f"{db:<10} kill -9 while {kind:<8}: interrupted after {interrupted:5.1f} s, "
                      f"next round under review after {reviewing:5.1f} s", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
