"""Decision-log export at scale: 1,000,000 decisions to JSONL and Parquet with bounded memory, against
building the same rows one ORM object at a time.

    python -m bench.export                  # 1,000,000 decisions (about 5 minutes on 2 cores)
    python -m bench.export --decisions 200000 --orm-rows 10000   # quicker

A SQLite database is filled with Core executemany (users, documents with versions, threads, rounds,
edits, one decision per edit). 10% of the decisions are in project "small": exporting with that
filter gives the 100k-row figure from the same database. Each export runs in a fresh subprocess that
reports its peak RSS (getrusage) and the RSS after imports, so "growth" is what the export itself
took. The baseline reads Decision objects and fetches each one's edit, round, thread, document,
project, user, spec and base version through the ORM (the straightforward way), on a subset,
extrapolated linearly to the same row count (it is linear: one lookup chain per row).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS_PER_TEXT = 600  # words of 7 characters, in sentences of 12 words
SENTENCE_WORDS = 12
EDITS_PER_ROUND = 500
ROUNDS_PER_THREAD = 2


def _rss_mb() -> float:
    """Peak resident memory of this process so far (getrusage reports kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def build(url: str, decisions: int, seed: int = 0) -> dict[str, int]:
    """Fill a fresh database with `decisions` decisions (one per edit) using Core executemany."""
    from sqlalchemy import insert

    from core import db
    from core.models import Decision, Document, Edit, Project, ProposerSpec, Round, Thread, User, Version

    engine = db.open_database(url)
    rng = random.Random(seed)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rounds_needed = -(-decisions // EDITS_PER_ROUND)
    threads_needed = -(-rounds_needed // ROUNDS_PER_THREAD)
    small_threads = max(1, threads_needed // 10)
    with engine.begin() as conn:
        conn.execute(
            insert(Project),
            [
                {"id": 2, "name": "small", "settings": {}, "created_at": now},
                {"id": 3, "name": "large", "settings": {}, "created_at": now},
            ],
        )
        conn.execute(
            insert(User),
            [
                {"id": 100 + i, "name": f"person{i}", "role": "annotator", "simulated": i % 3 == 0, "created_at": now}
                for i in range(10)
            ],
        )
        conn.execute(
            insert(ProposerSpec),
            [
                {
                    "id": 1,
                    "name": "builtin",
                    "kind": "builtin",
                    "model": None,
                    "params": {},
                    "fingerprint": "bench-1",
                    "created_at": now,
                },
                {
                    "id": 2,
                    "name": "coedit",
                    "kind": "hf-seq2seq",
                    "model": "grammarly/coedit-large",
                    "params": {},
                    "fingerprint": "bench-2",
                    "created_at": now,
                },
            ],
        )
        pieces, starts, pos = [], [], 0
        for i in range(WORDS_PER_TEXT):
            piece = f"w{i:06d}" + ("." if (i + 1) % SENTENCE_WORDS == 0 else "") + " "
            starts.append(pos)
            pieces.append(piece)
            pos += len(piece)
        text = "".join(pieces).rstrip()
        docs, versions, threads = [], [], []
        for t in range(threads_needed):
            docs.append(
                {
                    "id": t + 1,
                    "project_id": 2 if t < small_threads else 3,
                    "title": f"doc {t}",
                    "head_version_id": 2 * t + 2,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for k in range(2):
                versions.append(
                    {"id": 2 * t + 1 + k, "document_id": t + 1, "text": text, "origin": "import", "created_at": now}
                )
            threads.append(
                {
                    "id": t + 1,
                    "document_id": t + 1,
                    "user_id": 100 + t % 10,
                    "status": "finished",
                    "simulated": (t % 10) % 3 == 0,
                    "created_at": now,
                }
            )
        conn.execute(insert(Document), docs)
        conn.execute(insert(Version), versions)
        conn.execute(insert(Thread), threads)
        rounds_rows = []
        for r in range(rounds_needed):
            t, depth = r // ROUNDS_PER_THREAD, r % ROUNDS_PER_THREAD + 1
            rounds_rows.append(
                {
                    "id": r + 1,
                    "thread_id": t + 1,
                    "depth": depth,
                    "base_version_id": 2 * t + depth,
                    "spec_id": 1 + r % 2,
                    "request": {"intents": ["fluency", "clarity"]},
                    "status": "applied",
                    "dropped": [],
                    "created_at": now,
                }
            )
        conn.execute(insert(Round), rounds_rows)
        intents = ["fluency", "clarity", "coherence", "style"]
        actions = ["accept", "accept", "reject", "modify"]
        edit_id = 0
        batch_e, batch_d = [], []
        for r in range(rounds_needed):
            t = r // ROUNDS_PER_THREAD
            for k in range(min(EDITS_PER_ROUND, decisions - edit_id)):
                edit_id += 1
                start = starts[k]
                word = f"w{k:06d}"
                action = actions[rng.randrange(4)]
                batch_e.append(
                    {
                        "id": edit_id,
                        "round_id": r + 1,
                        "position": k,
                        "start": start,
                        "end": start + 7,
                        "before": word,
                        "after": word + "x",
                        "alternatives": [],
                        "intent": intents[k % 4],
                        "source": "bench-rule",
                        "score": 0.5,
                        "content_hash": f"{edit_id:032x}",
                    }
                )
                batch_d.append(
                    {
                        "id": edit_id,
                        "edit_id": edit_id,
                        "user_id": 100 + t % 10,
                        "action": action,
                        "modified_text": word + "y" if action == "modify" else None,
                        "time_taken_ms": 900,
                        "simulated": (t % 10) % 3 == 0,
                        "created_at": now + timedelta(seconds=edit_id),
                    }
                )
            if len(batch_e) >= 50_000 or edit_id == decisions:
                conn.execute(insert(Edit), batch_e)
                conn.execute(insert(Decision), batch_d)
                batch_e, batch_d = [], []
    with engine.connect() as conn:
        from sqlalchemy import text as sql

        small = conn.execute(
            sql(
                "SELECT count(*) FROM decision d JOIN edit e ON e.id = d.edit_id JOIN round r ON r.id = e.round_id "
                "JOIN thread t ON t.id = r.thread_id JOIN document doc ON doc.id = t.document_id "
                "WHERE doc.project_id = 2"
            )
        ).scalar_one()
    return {"decisions": decisions, "small": small, "rounds": rounds_needed, "documents": threads_needed}


def child(args: argparse.Namespace) -> None:
    """One export in this process; prints rows, seconds and memory as JSON."""
    from core import db
    from core.data.export import ExportFilters, export_log

    engine = db.open_database(args.url)
    import pyarrow.parquet  # noqa: F401 - imported before measuring, as the export would import it

    base = _current_rss_mb()
    filters = ExportFilters(project_ids=(2,)) if args.small else ExportFilters()
    if args.trace:
        import tracemalloc

        tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    result = export_log(engine, filters, args.fmt, Path(args.out))
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    traced = tracemalloc.get_traced_memory()[1] / 2**20 if args.trace else None
    print(
        json.dumps(
            {
                "rows": result.rows,
                "seconds": seconds,
                "cpu_s": cpu,
                "rss_base_mb": base,
                "rss_peak_mb": _rss_mb(),
                "traced_peak_mb": traced,
                "bytes": Path(args.out).stat().st_size,
            }
        )
    )


def orm_rows(url: str, limit: int) -> tuple[int, float]:
    """The baseline: Decision objects, each one's related rows fetched through the ORM, the same row dicts built."""
    from sqlmodel import Session, select

    from core import db
    from core.data.export import sentence_window
    from core.models import Decision, Document, Edit, Project, ProposerSpec, Round, Thread, User, Version

    engine = db.open_database(url)
    t0 = time.process_time()
    n = 0
    with Session(engine) as s:
        for d in s.exec(select(Decision).order_by(Decision.id).limit(limit)):
            e = s.get(Edit, d.edit_id)
            r = s.get(Round, e.round_id)
            t = s.get(Thread, r.thread_id)
            doc = s.get(Document, t.document_id)
            p = s.get(Project, doc.project_id)
            u = s.get(User, d.user_id)
            spec = s.get(ProposerSpec, r.spec_id)
            base = s.get(Version, r.base_version_id).text
            s0, s1 = sentence_window(base, e.start, e.end)
            row = {
                "decision_id": d.id,
                "decided_at": d.created_at,
                "action": d.action,
                "user_name": u.name,
                "before": e.before,
                "after": e.after,
                "intent": e.intent,
                "sentence": base[s0:s1],
                "depth": r.depth,
                "document_title": doc.title,
                "project_name": p.name,
                "spec_kind": spec.kind,
            }
            n += bool(row)
    return n, time.process_time() - t0


def stream_rows(url: str, limit: int) -> tuple[int, float]:
    """Ours, producing rows only (no file): the same subset size, for the rows/s comparison."""
    from core import db
    from core.data.export import iter_decision_rows
    from core.db import session_scope

    engine = db.open_database(url)
    t0 = time.process_time()
    n = 0
    with session_scope(engine) as s:
        for _ in iter_decision_rows(s):
            n += 1
            if n >= limit:
                break
    return n, time.process_time() - t0


def run_child(url: str, fmt: str, out: Path, small: bool, trace: bool = False) -> dict:
    cmd = [sys.executable, "-m", "bench.export", "--child", "--url", url, "--fmt", fmt, "--out", str(out)]
    cmd += ["--small"] * small + ["--trace"] * trace
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--orm-rows", type=int, default=20_000, help="baseline subset size (extrapolated)")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--url")
    parser.add_argument("--fmt")
    parser.add_argument("--out")
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory(prefix="redraft-bench-export-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        t0 = time.perf_counter()
        info = build(url, args.decisions)
        print(
            f"built {info['decisions']:,} decisions ({info['small']:,} in project 'small', {info['documents']:,} "
            f"documents, {info['rounds']:,} rounds) with Core executemany in {time.perf_counter() - t0:.1f} s"
        )
        results = {}
        for fmt in ("jsonl", "parquet"):
            for small in (True, False):
                r = run_child(url, fmt, Path(tmp) / f"out-{small}.{fmt}", small)
                results[(fmt, small)] = r
                print(
                    f"{fmt:8s} {r['rows']:>9,} rows  {r['seconds']:7.1f} s wall, {r['cpu_s']:6.1f} s CPU "
                    f"({r['rows'] / r['cpu_s']:>7,.0f} rows per CPU s)  "
                    f"peak RSS {r['rss_peak_mb']:.0f} MB (after imports {r['rss_base_mb']:.0f} MB, "
                    f"growth {r['rss_peak_mb'] - r['rss_base_mb']:.0f} MB)  file {r['bytes'] / 2**20:.0f} MB"
                )
        for fmt in ("jsonl", "parquet"):
            a, b = results[(fmt, True)], results[(fmt, False)]
            ga, gb = a["rss_peak_mb"] - a["rss_base_mb"], b["rss_peak_mb"] - b["rss_base_mb"]
            print(
                f"{fmt}: {b['rows'] / a['rows']:.0f}x the rows, memory growth {ga:.0f} MB -> {gb:.0f} MB "
                f"(ratio {gb / max(ga, 1):.2f})"
            )
        traced = run_child(url, "jsonl", Path(tmp) / "traced.jsonl", True, trace=True)
        print(
            f"tracemalloc peak of Python allocations, jsonl {traced['rows']:,} rows: {traced['traced_peak_mb']:.1f} MB"
        )
        n_orm, s_orm = orm_rows(url, args.orm_rows)
        n_ours, s_ours = stream_rows(url, args.orm_rows)
        print(
            f"rows only, first {n_orm:,} decisions, CPU time: ORM one object at a time {s_orm:.2f} s "
            f"({n_orm / s_orm:,.0f} rows/s); streamed Core select {s_ours:.2f} s ({n_ours / s_ours:,.0f} rows/s): "
            f"{s_orm / s_ours:.1f}x faster"
        )
        for fmt in ("jsonl", "parquet"):
            full = results[(fmt, False)]
            orm_full = s_orm / n_orm * full["rows"]
            print(
                f"{full['rows']:,} rows: ORM baseline extrapolated from {n_orm:,} rows = {orm_full:.0f} CPU s (rows "
                f"only, no file); our {fmt} export (rows + file) {full['cpu_s']:.0f} CPU s: "
                f"{orm_full / full['cpu_s']:.1f}x faster"
            )


if __name__ == "__main__":
    main()
