"""A large database for page-load benchmarks: N documents, each revised in R applied rounds of E edits,
every edit decided once (1,000 documents x 5 rounds x 20 edits = 100,000 decisions).

Rows are bulk-inserted (SQLAlchemy Core executemany, one transaction per table) rather than made by
the revision services one decision at a time: the services would take hours for 100,000 decisions.
The rows are the ones the services make (the same columns, statuses, version chain and round chain),
checked by `check` against the core read functions.

    python -m bench.page_seed sqlite:////tmp/big.db --documents 1000
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.review_seed import FIXES, INTENTS, document_text  # noqa: E402
from core import documents  # noqa: E402
from core.db import open_database, session_scope  # noqa: E402
from core.models import Decision, Document, Edit, Round, Thread, Version  # noqa: E402

ACTIONS = ("accept",) * 6 + ("reject",) * 3 + ("modify",)


def _spans(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, before, after) of every known misspelling in the text, in order."""
    out = []
    for word, fix in FIXES.items():
        at = text.find(f" {word} ")
        while at >= 0:
            out.append((at + 1, at + 1 + len(word), word, fix))
            at = text.find(f" {word} ", at + 1)
    return sorted(out)


def seed_large(engine: Engine, n_documents: int = 1000, rounds: int = 5, edits: int = 20, seed: int = 0) -> int:
    """Fill the database; returns the number of decisions stored."""
    rng = random.Random(seed)
    text = document_text(edits)
    spans = _spans(text)[:edits]
    with session_scope(engine) as s:
        user_id = documents.default_user(s).id
        project_id = documents.default_project(s).id
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        tables = (Document, Version, Thread, Round, Edit, Decision)
        next_id = {m: (conn.execute(select(func.max(m.id))).scalar() or 0) + 1 for m in tables}  # type: ignore[attr-defined]
        rows: dict[type, list[dict]] = {m: [] for m in next_id}

        def new(model: type, **values: object) -> int:
            i = next_id[model]
            next_id[model] += 1
            rows[model].append({"id": i, **values})
            return i

        for d in range(n_documents):
            when = t0 + timedelta(minutes=10 * d)
            doc_id = new(Document, project_id=project_id, title=f"Report {d + 1:04d}", owner_id=user_id,
                         head_version_id=None, created_at=when, updated_at=when)  # fmt: skip
            version = new(Version, document_id=doc_id, parent_id=None, text=text, origin="paste",
                          created_by_id=user_id, created_at=when)  # fmt: skip
            thread = new(Thread, document_id=doc_id, user_id=user_id, status="finished", stop_reason="max-depth",
                         simulated=False, created_at=when, finished_at=when + timedelta(minutes=rounds))  # fmt: skip
            for depth in range(1, rounds + 1):
                at = when + timedelta(minutes=depth)
                result = next_id[Version]
                rnd = new(Round, thread_id=thread, depth=depth, base_version_id=version, result_version_id=result,
                          request={"intents": list(INTENTS)}, status="applied", dropped=[], created_at=at,
                          finished_at=at)  # fmt: skip
                for pos, (start, end, before, after) in enumerate(spans):
                    edit = new(Edit, round_id=rnd, position=pos, start=start, end=end, before=before, after=after,
                               alternatives=[], intent=INTENTS[pos % len(INTENTS)],
                               explanation=f"Possible spelling mistake: {before}", source="SCRIPTED_SPELLING",
                               content_hash=hashlib.sha1(f"{rnd}:{pos}".encode()).hexdigest()[:16],
                               predicted_accept=rng.random())  # fmt: skip
                    action = rng.choice(ACTIONS)
                    new(Decision, round_id=rnd, edit_id=edit, user_id=user_id, action=action,
                        modified_text=after.upper() if action == "modify" else None,
                        time_taken_ms=rng.randint(300, 9000), simulated=False, created_at=at)  # fmt: skip
                version = new(Version, document_id=doc_id, parent_id=version, text=text, origin="round",
                              round_id=rnd, created_by_id=user_id, created_at=at)  # fmt: skip
            rows[Document][-1]["head_version_id"] = version
        # documents first without their head (versions point at them), then the head
        heads = [(r["id"], r["head_version_id"]) for r in rows[Document]]
        for r in rows[Document]:
            r["head_version_id"] = None
        for model in (Document, Thread, Version, Round, Edit, Decision):
            conn.execute(insert(model), rows[model])  # type: ignore[arg-type]
        set_head = update(Document).where(Document.id == bindparam("doc")).values(head_version_id=bindparam("head"))  # type: ignore[arg-type]
        conn.execute(set_head, [{"doc": d, "head": h} for d, h in heads])
    return len(rows[Decision])


def check(engine: Engine) -> None:
    """The seeded rows read back through core as the services' rows would."""
    from core.decisions import count_decided

    with session_scope(engine) as s:
        listed = documents.list_documents(s)
        assert listed and all(d.versions > 1 for d in listed), "every document has its rounds' versions"
        assert count_decided(s).decided > 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url")
    ap.add_argument("--documents", type=int, default=1000)
    args = ap.parse_args()
    t = time.perf_counter()
    n = seed_large(open_database(args.url), args.documents)
    print(f"{args.documents} documents, {n:,} decisions in {time.perf_counter() - t:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
