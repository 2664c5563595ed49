"""How a researcher's campaign views grow with the campaign: 1,000, 10,000 and 100,000 shared edits.

    HF_HUB_OFFLINE=1 python bench/campaign_scale.py [--url postgresql://…] [--sizes 1000,10000,100000]

Each size is a fresh PostgreSQL database: a campaign of size/100 documents of 100 edits (the proposals
made by its real job), six annotators, overlap 3, every item finished by three of them (decisions
and finished assignments bulk-inserted: three per shared edit, a quarter rejected, a quarter
rewritten, times and timestamps spread over days; the last 1% of the items left open). Timed in process, best of two:

- progress: the Campaign page's header and Progress tab (`campaigns.status`);
- agreement: the Agreement tab (overall and by depth, intent, source and person);
- labels: the label that stands for every shared edit (Adjudicate tab, exports);
- Next: an annotator's "Next" (two annotators, one each), with 1% of the items still open.

Baseline, measured in the same run: one streamed read of the campaign's decision rows (the columns
the fold needs), the floor for any figure that looks at every decision. Ratios are view / read.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from concurrency import fresh_database  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from core import decisions  # noqa: E402
from core.campaigns import model  # noqa: E402
from core.db import make_engine, migrate, read_scope  # noqa: E402
from core.models import AssignmentStatus, CampaignAssignment, CampaignItem, Decision, Edit, utcnow  # noqa: E402
from core.services import campaign_views, campaigns  # noqa: E402
from tests.campaign_helpers import TEXT, Setup, make_campaign  # noqa: E402

DEFAULT_URL = "postgresql://redraft:redraft@127.0.0.1:5432/redraft_test"
BIG_TEXT = " ".join([TEXT] * 25)  # 100 edits a document
PEOPLE, OVERLAP = 6, 3
ACTIONS = ("accept", "accept", "reject", "modify")


def fill(engine: Any, setup: Setup, seed: int = 1) -> int:  # noqa: ANN401 - Engine
    """Every ready item but the last 1% finished by OVERLAP of the annotators, each edit decided by each
    of them (the open ones are for Next)."""
    rng = random.Random(seed)
    with read_scope(engine) as s:
        items = s.exec(
            select(CampaignItem.id, CampaignItem.round_id).where(CampaignItem.campaign_id == setup.campaign_id)
        ).all()
        edits = s.exec(
            select(Edit.id, Edit.round_id).where(col(Edit.round_id).in_(model.ready_rounds(setup.campaign_id)))
        ).all()
    by_round: dict[int, list[int]] = {}
    for edit_id, round_id in edits:
        by_round.setdefault(round_id, []).append(edit_id)
    now = utcnow()
    people = [a.user_id for a in setup.annotators]
    assignments, rows = [], []
    for item_id, round_id in items[: len(items) - max(1, len(items) // 100)]:
        for slot, user_id in enumerate(rng.sample(people, OVERLAP)):
            at = now - timedelta(minutes=rng.randint(0, 5000))
            assignments.append(
                {"campaign_id": setup.campaign_id, "item_id": item_id, "user_id": user_id, "slot": slot}
                | {"status": AssignmentStatus.DONE, "manual": False, "reserved_at": at, "done_at": at}
            )
            for k, edit_id in enumerate(by_round.get(round_id, [])):
                action = rng.choice(ACTIONS)
                rows.append(
                    {"round_id": round_id, "edit_id": edit_id, "user_id": user_id, "action": action}
                    | {"modified_text": "their words" if action == "modify" else None, "simulated": False}
                    | {"time_taken_ms": rng.randint(300, 9000), "created_at": at + timedelta(seconds=3 * k)}
                )
    with engine.begin() as conn:
        conn.execute(insert(CampaignAssignment), assignments)
        for i in range(0, len(rows), 20_000):
            conn.execute(insert(Decision), rows[i : i + 20_000])
    return len(rows)


def read_floor(engine: Any, campaign_id: int) -> None:  # noqa: ANN401 - Engine
    """The baseline: every decision row of the campaign's shared edits, streamed and dropped."""
    cols = decisions.columns("edit_id", "user_id", "action", "modified_text", "id", "created_at", "time_taken_ms")
    q = decisions.query(*cols, round_ids=model.ready_rounds(campaign_id))
    with read_scope(engine) as s:
        for _ in s.connection().execute(q).partitions(2000):
            pass


def best(call: Callable[[], object], tries: int = 2) -> float:
    times = []
    for _ in range(tries):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(url: str, size: int) -> dict[str, float]:
    engine = make_engine(url)
    migrate(engine)
    t0 = time.perf_counter()
    setup = make_campaign(
        engine, docs=size // 100, annotators=PEOPLE, overlap=OVERLAP, prefix=f"s{size}", text=BIG_TEXT
    )
    n = fill(engine, setup)
    print(f"  {size:,} shared edits, {n:,} decisions seeded in {time.perf_counter() - t0:.0f} s", flush=True)
    me, cid = setup.researcher, setup.campaign_id
    takers = iter(setup.annotators)
    out = {
        "read (baseline)": best(lambda: read_floor(engine, cid)),
        "Next": best(lambda: campaigns.next_item(engine, next(takers), cid)),
        "progress": best(lambda: campaigns.status(engine, me, cid)),
        "agreement": best(lambda: campaign_views.agreement_report(engine, me, campaign_id=cid)),
        "labels": best(lambda: campaigns.standing_labels(engine, me, cid)),
    }
    engine.dispose()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default=DEFAULT_URL)
    ap.add_argument("--sizes", default="1000,10000,100000")
    args = ap.parse_args()
    results = {}
    for size in (int(x) for x in args.sizes.split(",")):
        with fresh_database(args.url) as url:
            results[size] = measure(url, size)
    names = list(next(iter(results.values())))
    print("\n| shared edits | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for size, r in results.items():
        base = r["read (baseline)"]
        cells = [f"{r[k] * 1000:,.0f} ms" + ("" if k.startswith("read") else f" ({r[k] / base:.1f}x)") for k in names]
        print(f"| {size:,} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
