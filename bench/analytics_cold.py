"""Analytics and Learning summaries computed cold (issue 13): the first visit after any decision, when
ui/cached.py's cache (keyed by the log's watermark) is stale and the page recomputes everything.

    python -m bench.analytics_cold                                   # seeds /tmp/analytics_cold.db once
    python -m bench.analytics_cold postgresql://.../db --repeat 5   # any seeded database

On a database of 1,000 documents and 100,000 decisions (bench/page_seed.py) it times
`core.services.analytics.summary(engine, admin, Filters())` and `learning_view` + `learning_figures`
for the admin in the default project, each the median of --repeat runs, against a baseline measured in
the same run: one plain `SELECT * FROM decision` fetched through SQLAlchemy Core (the least any
summary over the log can read). With --before PATH (a checkout of the previous code, e.g.
`git worktree add /tmp/before 44d38aa`) the same timings run in a subprocess on that code, in the
same run, so a busy machine slows both alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select, text

# --before runs this file again with another checkout's core first on the path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if len(sys.argv) > 2 and sys.argv[1] == "--tree":
    sys.path.insert(0, sys.argv[2])
    del sys.argv[1:3]

from bench.page_seed import seed_large  # noqa: E402
from core import access, documents  # noqa: E402
from core.db import open_database, read_scope  # noqa: E402
from core.learning.analytics import Filters  # noqa: E402
from core.models import Decision  # noqa: E402
from core.services import analytics, learning  # noqa: E402


def _median_s(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url", nargs="?", default="sqlite:////tmp/analytics_cold.db")
    ap.add_argument("--documents", type=int, default=1000, help="documents to seed when the database is empty")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--before", help="a checkout of the previous code to time the same way")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON only")
    args = ap.parse_args()
    engine = open_database(args.url)
    with read_scope(engine) as s:
        n = s.execute(select(func.count(Decision.id))).scalar_one()
    if not n:
        n = seed_large(engine, args.documents)
    with read_scope(engine) as s:
        actor = access.actor_for(s, documents.default_user(s).id)
        project_id = documents.default_project(s).id

    def plain_select() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT * FROM decision")).fetchall()

    def learning_cold() -> None:
        learning.learning_figures(learning.learning_view(engine, actor, project_id))

    analytics.summary(engine, actor, Filters(), None)  # imports and connection pool warm; no cache in core
    base = _median_s(plain_select, args.repeat)
    figures = {
        "analytics": _median_s(lambda: analytics.summary(engine, actor, Filters(), None), args.repeat),
        "learning": _median_s(learning_cold, args.repeat),
    }
    if args.json:
        print(json.dumps({"baseline": base, **figures}))
        return 0
    before = None
    if args.before:
        cmd = [sys.executable, __file__, "--tree", args.before, args.url, "--repeat", str(args.repeat), "--json"]
        before = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    print(f"{engine.dialect.name}, {n:,} decisions, median of {args.repeat}")
    print(f"baseline: plain SELECT * FROM decision: {base * 1000:.0f} ms")
    for name, secs in figures.items():
        line = f"{name} cold: {secs * 1000:.0f} ms = {secs / base:.1f}x the plain SELECT"
        if before:
            was = before[name]
            line += f"; before ({args.before}): {was * 1000:.0f} ms = {was / before['baseline']:.1f}x"
            line += f", {was / secs:.1f}x slower"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
