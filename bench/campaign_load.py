"""Annotation campaigns under load (issue 12), on PostgreSQL at 127.0.0.1, bounded in count and time.

Usage:
    python bench/campaign_load.py [--url postgresql://redraft:redraft@127.0.0.1:5432/redraft_test]
        [--annotators 22] [--docs 30] [--overlap 3] [--sizes 1000,10000] [--no-browser]

Each part runs on a fresh PostgreSQL database created beside the one named (dropped afterwards).

1. Load: two real `streamlit run app.py` servers on one database, each with one Chromium annotator
   on the Annotate page (Next, the keys in the review component, Finish), and --annotators simulated
   annotators in two other processes (threads deciding through core.services.campaigns and the
   review component's outbox protocol, core.services.review.sync_outbox, resending every outbox
   once), all at once. One in ten reservations is abandoned and runs out (its expiry moved into the
   past: the clock, not the code, is what is simulated). Then the database is checked: no item
   judged by more than N people, no person given an item they had finished, every decision the
   client was told stored is there, every abandoned reservation reclaimed and its item completed.
   Baseline: the same work by one simulated annotator alone.
2. Capacity with the review page open: Chromium drives one annotator on one server; the server
   process's CPU time (psutil) per decision (a key in the component) and per "Next" and "Finish",
   at each campaign size (shared edits; 100 edits a document). Baseline, in the same run and
   server: a writer's decision on their own thread (the Revise page, a round of the same 100 edits).
3. The same operations timed in process at each size (p50 / p95 of Next, a decision with the
   component's data rebuilt as the page does, Finish, and the researcher's progress view).
4. 30 people deciding every 2 s in one process (each decision: sync_outbox then the component's
   data, as the page's fragment does): p95 latency until the decision is stored. Baseline: 30
   writers doing the same on their own threads, same pacing, same run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import re
import statistics
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from concurrency import fresh_database  # noqa: E402
from sqlalchemy import func, update  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from core import documents, users  # noqa: E402
from core.db import dispose_engines, make_engine, migrate, read_scope, session_scope  # noqa: E402
from core.errors import RedraftError  # noqa: E402
from core.models import AssignmentStatus, CampaignAssignment, Decision, Role, id_of, utcnow  # noqa: E402
from core.revision import rounds, threads  # noqa: E402
from core.services import accounts, campaigns  # noqa: E402
from core.services import review as review_service  # noqa: E402
from tests.browser.review_page import PASSWORD  # noqa: E402
from tests.campaign_helpers import RULES, TEXT, Setup, make_campaign  # noqa: E402
from tests.proposers_for_tests import ReplaceProposer  # noqa: E402

DEFAULT_URL = "postgresql://redraft:redraft@127.0.0.1:5432/redraft_test"
BIG_TEXT = " ".join([TEXT] * 25)  # 100 edits a document
ACTIONS = ("accept", "accept", "reject", "modify")


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


def expire(engine: Any, assignment_id: int) -> None:  # noqa: ANN401 - Engine
    """The reservation runs out: its expiry is moved into the past (what waiting would do)."""
    with session_scope(engine) as s:
        s.execute(
            update(CampaignAssignment)
            .where(col(CampaignAssignment.id) == assignment_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


# --- 1. load ---------------------------------------------------------------------------------------------


def judge_one(engine: Any, actor: Any, work: Any, rng: random.Random, memo: dict, tag: str) -> list[str]:  # noqa: ANN401
    """Decide every edit as the component sends them (a growing outbox, then a resend); the keys told stored."""
    view = review_service.round_view(engine, actor, work.round_id)
    items = []
    for e in view.edits:
        a = rng.choice(ACTIONS)
        item = {"k": f"{tag}-{uuid.uuid4().hex[:12]}", "id": e.row.id, "a": a, "ms": rng.randint(400, 5000)}
        if a == "modify":
            item["t"] = e.row.after + " indeed"
        items.append(item)
    results: dict[str, str | None] = {}
    for n in range(1, len(items) + 1):
        results = review_service.sync_outbox(engine, actor, work.round_id, {"seq": n, "items": items[:n]}, memo)
    results = review_service.sync_outbox(engine, actor, work.round_id, {"seq": 99, "items": items}, memo)
    return [k for k, v in results.items() if v is None]


def annotate(engine: Any, campaign_id: int, user_id: int, seed: int, abandon: float, deadline: float) -> dict[str, Any]:  # noqa: ANN401
    """One simulated annotator until nothing is left for them (or the deadline)."""
    actor = accounts.actor(engine, user_id)
    rng = random.Random(seed)
    memo: dict[str, str | None] = {}
    out: dict[str, Any] = {"given_after_done": 0, "finished": [], "told": [], "abandoned": [], "errors": []}
    out["t0"] = time.time()
    while time.monotonic() < deadline:
        try:
            work = campaigns.next_item(engine, actor, campaign_id)
        except RedraftError as exc:
            out["errors"].append(str(exc))
            continue
        if work is None:
            break
        out["given_after_done"] += work.item_id in out["finished"]
        if work.item_id not in out["abandoned"] and rng.random() < abandon:
            out["abandoned"].append(work.item_id)
            expire(engine, work.assignment_id)
            continue
        out["told"] += judge_one(engine, actor, work, rng, memo, f"u{user_id}")
        try:
            campaigns.finish_item(engine, actor, campaign_id, work.item_id)
            out["finished"].append(work.item_id)
        except RedraftError as exc:
            out["errors"].append(str(exc))
    out["t1"] = time.time()
    return out


def app_process(url: str, campaign_id: int, user_ids: list[int], abandon: float, deadline: float, q: Any) -> None:  # noqa: ANN401
    """One process (one engine, as an app process has), a thread per simulated annotator, all at once."""
    engine = make_engine(url)
    results: list[dict[str, Any]] = []
    workers = [
        threading.Thread(target=lambda u=u: results.append(annotate(engine, campaign_id, u, u, abandon, deadline)))
        for u in user_ids
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    engine.dispose()
    q.put(results)


def browser_annotator_step(page: Any) -> str:  # noqa: ANN401
    """One document in the browser: Next, a key per edit, Finish. 'none' when nothing is left."""
    from playwright.sync_api import expect

    from tests.browser.conftest import wait_for_app
    from tests.browser.review_page import edits, wait_saved

    page.get_by_role("button", name="Next").click()
    wait_for_app(page)
    if page.get_by_text("Nothing left for you").count():
        return "none"
    expect(edits(page).first).to_be_visible()
    for _ in range(edits(page).count()):
        page.keyboard.press("a")
    wait_saved(page)
    page.get_by_role("button", name="Finish document").click()
    expect(page.get_by_role("button", name="Next")).to_be_visible()
    return "done"


def check(engine: Any, setup: Setup, overlap: int, results: list[dict[str, Any]]) -> dict[str, int]:  # noqa: ANN401
    told = [k for r in results for k in r["told"]]
    with read_scope(engine) as s:
        rows = list(s.exec(select(CampaignAssignment).where(CampaignAssignment.campaign_id == setup.campaign_id)))
        stored = 0
        for i in range(0, len(told), 500):
            chunk = told[i : i + 500]
            q = select(func.count(col(Decision.id))).where(col(Decision.idempotency_key).in_(chunk))
            stored += int(s.exec(q).one())
    per_item: dict[int, int] = {}
    for r in rows:
        per_item[r.item_id] = per_item.get(r.item_id, 0) + 1
    done_pairs = [(r.item_id, r.user_id) for r in rows if r.status == AssignmentStatus.DONE]
    abandoned = {i for r in results for i in r["abandoned"]}
    done_items: dict[int, int] = {}
    for item_id, _user in done_pairs:
        done_items[item_id] = done_items.get(item_id, 0) + 1
    return {
        "judgements done": len(done_pairs),
        "items over the overlap": sum(1 for n in per_item.values() if n > overlap),
        "person holding an item twice": len(done_pairs) - len(set(done_pairs)),
        "person given an item they finished": sum(r["given_after_done"] for r in results),
        "decisions told stored": len(told),
        "decisions lost": len(told) - stored,
        "reservations abandoned (expired)": sum(len(r["abandoned"]) for r in results),
        "abandoned items not completed to N": sum(1 for i in abandoned if done_items.get(i, 0) < overlap),
        "reservations left": sum(1 for r in rows if r.status == AssignmentStatus.RESERVED),
        "client errors": sum(len(r["errors"]) for r in results),
    }


def part_load(url: str, args: argparse.Namespace, browser: Any) -> None:  # noqa: ANN401
    from tests.browser.conftest import start_app, stop_app
    from tests.browser.review_page import annotator_tab

    engine = make_engine(url)
    migrate(engine)
    people = args.annotators + (2 if browser else 0)
    setup = make_campaign(
        engine, docs=args.docs, annotators=people, overlap=args.overlap, prefix="load", password=PASSWORD
    )
    sim = [a.user_id for a in setup.annotators[: args.annotators]]
    servers, pages = [], []
    tmp = Path(__import__("tempfile").mkdtemp())
    if browser:
        for n in range(2):
            env = {"DATABASE_URL": url, "REDRAFT_WORKER": "external", "REDRAFT_SIGNIN": "password"}
            servers.append(start_app(tmp / f"s{n}", env))
        pages = [annotator_tab(browser, srv, a.name) for srv, a in zip(servers, setup.annotators[-2:], strict=True)]
    deadline = time.monotonic() + args.seconds
    q: Any = mp.get_context("spawn").Queue()
    halves = [sim[0::2], sim[1::2]]
    procs = [
        mp.get_context("spawn").Process(target=app_process, args=(url, setup.campaign_id, h, 0.1, deadline, q))
        for h in halves
    ]
    for p in procs:
        p.start()
    browser_done = 0
    active = list(pages)
    while active and time.monotonic() < deadline:
        for page in list(active):
            if browser_annotator_step(page) == "none":
                active.remove(page)
            else:
                browser_done += 1
    results = [r for _ in procs for r in q.get()]
    for p in procs:
        p.join()
    wall = max(r["t1"] for r in results) - min(r["t0"] for r in results)  # from the first annotator's start
    figures = check(engine, setup, args.overlap, results)
    for srv in servers:
        stop_app(srv)
    judged = figures["judgements done"]
    print(f"\n## 1. Load: {args.annotators} simulated annotators in 2 processes + {len(pages)} Chromium annotators")
    print(f"   on 2 streamlit servers; {args.docs} documents x overlap {args.overlap}, PostgreSQL")
    for k, v in figures.items():
        print(f"   {k}: {v}")
    print(f"   Chromium annotators finished {browser_done} documents")
    print(f"   throughput: {judged / wall:.2f} documents judged/s ({wall:.1f} s)")

    # baseline: one simulated annotator alone, on a fresh campaign of the same shape
    base = make_campaign(engine, docs=min(args.docs, 10), annotators=1, overlap=1, prefix="loadbase")
    alone = annotate(engine, base.campaign_id, base.annotators[0].user_id, 1, 0.0, time.monotonic() + args.seconds)
    base_wall = alone["t1"] - alone["t0"]
    base_rate = len(alone["finished"]) / base_wall
    print(f"   baseline, one annotator alone: {base_rate:.2f} documents/s; ratio {judged / wall / base_rate:.2f}")
    engine.dispose()


# --- 2. capacity in the browser ---------------------------------------------------------------------------


def server_cpu(pid: int) -> float:
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def writer_round(engine: Any, text: str, name: str) -> int:  # noqa: ANN401
    """A writer with a round under review on their own thread (the Revise page opens it); their id."""
    with session_scope(engine) as s:
        writer = users.create_user(s, name, Role.WRITER, PASSWORD)
        doc = documents.create_document(s, "Writer's own", text, user_id=id_of(writer))
        thread_id = threads.active_thread(s, id_of(doc), id_of(writer)).id
    rounds.propose_round(engine, thread_id or 0, rounds.RoundSettings(), proposer=ReplaceProposer(RULES))
    return id_of(writer)


def stored_by(engine: Any, user_id: int) -> int:  # noqa: ANN401
    with read_scope(engine) as s:
        return int(s.exec(select(func.count(col(Decision.id))).where(Decision.user_id == user_id)).one())


def keys_cpu(page: Any, pid: int, n: int, engine: Any, user_id: int) -> float:  # noqa: ANN401
    """Server CPU seconds per decision over n keys ("a": accept, on to the next), each waited for
    until the component reports it saved; divided by the decisions the database really got."""
    from playwright.sync_api import expect

    from tests.browser.review_page import edit, wait_saved

    before, total = stored_by(engine, user_id), 0.0
    for i in range(n):
        expect(edit(page, i)).to_have_class(re.compile(r"\bfocus\b"))
        c0 = server_cpu(pid)
        page.keyboard.press("a")
        expect(edit(page, i)).to_have_attribute("data-st", "accept")
        wait_saved(page)
        total += server_cpu(pid) - c0
    stored = stored_by(engine, user_id) - before
    if stored != n:
        raise RuntimeError(f"{n} keys pressed but {stored} decisions stored")
    return total / n


def part_capacity(url: str, size: int, browser: Any) -> dict[str, float]:  # noqa: ANN401
    from playwright.sync_api import expect

    from tests.browser.conftest import start_app, stop_app, wait_for_app
    from tests.browser.review_page import annotator_tab, edits, sign_in

    engine = make_engine(url)
    migrate(engine)
    setup = make_campaign(
        engine, docs=size // 100, annotators=1, overlap=1, prefix=f"cap{size}", text=BIG_TEXT, password=PASSWORD
    )
    writer_id = writer_round(engine, BIG_TEXT, f"cap{size}-writer")
    tmp = Path(__import__("tempfile").mkdtemp())
    srv = start_app(tmp, {"DATABASE_URL": url, "REDRAFT_WORKER": "external", "REDRAFT_SIGNIN": "password"})
    pid = srv.process.pid
    out: dict[str, float] = {}
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        writer = ctx.new_page()
        writer.set_default_timeout(30_000)
        writer.goto(srv.url)
        wait_for_app(writer)
        sign_in(writer, f"cap{size}-writer")
        writer.get_by_role("link", name="Revise").click()
        wait_for_app(writer)
        expect(edits(writer).first).to_be_visible()
        out["writer decision"] = keys_cpu(writer, pid, 10, engine, writer_id)
        ctx.close()

        page = annotator_tab(browser, srv, setup.annotators[0].name)
        actor = setup.annotators[0]
        nexts, finishes, decisions = [], [], []
        for _ in range(3):
            c0 = server_cpu(pid)
            page.get_by_role("button", name="Next").click()
            expect(edits(page).first).to_be_visible()
            wait_for_app(page)
            nexts.append(server_cpu(pid) - c0)
            decisions.append(keys_cpu(page, pid, 5, engine, actor.user_id))
            held = campaigns.current_items(engine, actor, setup.campaign_id)[0]
            view = review_service.round_view(engine, actor, held.round_id)
            rest = [{"k": uuid.uuid4().hex, "id": e.row.id, "a": "accept"} for e in view.edits if e.status == "pending"]
            review_service.sync_outbox(engine, actor, held.round_id, {"seq": 1, "items": rest}, {})
            c0 = server_cpu(pid)
            page.get_by_role("button", name="Finish document").click()
            expect(page.get_by_role("button", name="Next")).to_be_visible()
            wait_for_app(page)
            finishes.append(server_cpu(pid) - c0)
        out["annotator decision"] = statistics.mean(decisions)
        out["Next"] = statistics.mean(nexts)
        out["Finish"] = statistics.mean(finishes)
    finally:
        stop_app(srv)
        engine.dispose()
    return out


# --- 3. in process, by size -------------------------------------------------------------------------------


def part_inprocess(url: str, size: int, samples: int = 12) -> dict[str, list[float]]:
    engine = make_engine(url)
    migrate(engine)
    setup = make_campaign(engine, docs=size // 100, annotators=samples, overlap=2, prefix=f"sz{size}", text=BIG_TEXT)
    t: dict[str, list[float]] = {"Next": [], "decision + component data": [], "Finish": [], "progress view": []}
    for n, actor in enumerate(setup.annotators):
        t0 = time.perf_counter()
        work = campaigns.next_item(engine, actor, setup.campaign_id)
        t["Next"].append(time.perf_counter() - t0)
        assert work is not None
        view = review_service.round_view(engine, actor, work.round_id)
        memo: dict[str, str | None] = {}
        items = [{"k": f"s{size}-{n}-{e.row.id}", "id": e.row.id, "a": "accept"} for e in view.edits]
        for i in range(len(items)):
            t0 = time.perf_counter()
            review_service.sync_outbox(engine, actor, work.round_id, {"seq": i, "items": items[: i + 1]}, memo)
            if i < 5:  # the component's data rebuilt after a decision, as the page's fragment does
                review_service.review_data(engine, actor, work.round_id, results=memo)
                t["decision + component data"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        campaigns.finish_item(engine, actor, setup.campaign_id, work.item_id)
        t["Finish"].append(time.perf_counter() - t0)
    for _ in range(3):
        t0 = time.perf_counter()
        campaigns.status(engine, setup.researcher, setup.campaign_id)
        t["progress view"].append(time.perf_counter() - t0)
    engine.dispose()
    return t


# --- 4. 30 people deciding every 2 s ------------------------------------------------------------------------


def paced(engine: Any, actor: Any, round_id: int, period: float, seconds: float, lat: list[float]) -> None:  # noqa: ANN401
    view = review_service.round_view(engine, actor, round_id)
    memo: dict[str, str | None] = {}
    items: list[dict[str, Any]] = []
    rng = random.Random(actor.user_id)
    time.sleep(rng.random() * period)  # people do not click in step
    end = time.monotonic() + seconds
    for e in view.edits:
        if time.monotonic() > end:
            break
        items.append({"k": uuid.uuid4().hex, "id": e.row.id, "a": rng.choice(ACTIONS[:3])})
        t0 = time.perf_counter()
        review_service.sync_outbox(engine, actor, round_id, {"seq": len(items), "items": items[-3:]}, memo)
        lat.append(time.perf_counter() - t0)  # stored: the next step only rebuilds what the page shows
        review_service.review_data(engine, actor, round_id, results=memo)
        time.sleep(max(0.0, period - (time.perf_counter() - t0)))


def part_paced(url: str, people: int, period: float, seconds: float) -> tuple[list[float], list[float]]:
    engine = make_engine(url)  # the app's pool: 10 + 20 overflow
    migrate(engine)
    setup = make_campaign(engine, docs=people, annotators=people, overlap=1, prefix="paced", text=BIG_TEXT)
    works = [campaigns.next_item(engine, a, setup.campaign_id) for a in setup.annotators]
    # baseline: writers on their own threads, a round of the same 100 edits each
    writers = []
    with session_scope(engine) as s:
        for n in range(people):
            u = users.create_user(s, f"writer{n}", Role.WRITER)
            doc = documents.create_document(s, f"own {n}", BIG_TEXT)
            writers.append((id_of(u), threads.active_thread(s, id_of(doc), id_of(u)).id or 0))
    own = []
    for uid, thread_id in writers:
        rnd = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer(RULES))
        own.append((accounts.actor(engine, uid), id_of(rnd)))

    def run(pairs: list[tuple[Any, int]]) -> list[float]:
        lat: list[float] = []
        ts = [threading.Thread(target=paced, args=(engine, a, r, period, seconds, lat)) for a, r in pairs]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return lat

    campaign_lat = run([(a, w.round_id) for a, w in zip(setup.annotators, works, strict=True) if w is not None])
    writer_lat = run(own)
    engine.dispose()
    return campaign_lat, writer_lat


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default=DEFAULT_URL)
    ap.add_argument("--annotators", type=int, default=22)
    ap.add_argument("--docs", type=int, default=30)
    ap.add_argument("--overlap", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=90.0, help="bound on the load part")
    ap.add_argument("--sizes", default="1000,10000", help="campaign sizes in shared edits (100 a document)")
    ap.add_argument("--people", type=int, default=30)
    ap.add_argument("--period", type=float, default=2.0)
    ap.add_argument("--paced-seconds", type=float, default=20.0)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--parts", default="1,2,3,4", help="which parts to run")
    args = ap.parse_args()
    if "127.0.0.1" not in args.url and "localhost" not in args.url:
        ap.error("the load test runs against a PostgreSQL server on 127.0.0.1 only")
    sizes = [int(x) for x in args.sizes.split(",") if x]

    pw = browser = None
    if not args.no_browser:
        from playwright.sync_api import sync_playwright

        from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

        pw = sync_playwright().start()
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    started = time.perf_counter()
    print(f"PostgreSQL beside {args.url.rsplit('@', 1)[-1]}; this machine: {__import__('os').cpu_count()} CPUs")
    try:
        parts = set(args.parts.split(","))
        if "1" in parts:
            with fresh_database(args.url) as url:
                part_load(url, args, browser)
            dispose_engines()
        if browser is not None and "2" in parts:
            print("\n## 2. Server CPU time with the review page open (Chromium, one session; psutil)")
            print("   size (shared edits) | writer decision (baseline) | annotator decision | ratio | Next | Finish"
                  " | decisions/s one process sustains")  # fmt: skip
            for size in sizes:
                with fresh_database(args.url) as url:
                    c = part_capacity(url, size, browser)
                dispose_engines()
                print(
                    f"   {size:>6} | {ms(c['writer decision'])} | {ms(c['annotator decision'])} | "
                    f"{c['annotator decision'] / c['writer decision']:.2f} | {ms(c['Next'])} | {ms(c['Finish'])} | "
                    f"{1 / c['annotator decision']:.0f}"
                )
        if "3" in parts:
            print("\n## 3. In process, by campaign size (p50 / p95; 12 annotators each take, decide, finish one)")
        base: dict[str, float] = {}
        for size in sizes if "3" in parts else []:
            with fresh_database(args.url) as url:
                t = part_inprocess(url, size)
            dispose_engines()
            cells = []
            for name, xs in t.items():
                p50 = statistics.median(xs)
                base.setdefault(name, p50)
                cells.append(f"{name} {ms(p50)} / {ms(pct(xs, 95))} (x{p50 / base[name]:.2f} of {sizes[0]})")
            print(f"   {size:>6} shared edits: " + "; ".join(cells))
        if "4" not in parts:
            return 0
        with fresh_database(args.url) as url:
            camp, own = part_paced(url, args.people, args.period, args.paced_seconds)
        dispose_engines()
        print(f"\n## 4. {args.people} people deciding every {args.period:g} s in one process, {args.paced_seconds:g} s")
        print(f"   campaign decisions: {len(camp)}, stored p50 {ms(statistics.median(camp))}, p95 {ms(pct(camp, 95))}")
        print(f"   baseline, writers on their own threads: {len(own)}, p50 {ms(statistics.median(own))}, "
              f"p95 {ms(pct(own, 95))}; ratio of p95 {pct(camp, 95) / pct(own, 95):.2f}")  # fmt: skip
        print(f"   goal p95 < 300 ms: {'met' if pct(camp, 95) < 0.3 else 'MISSED'}")
    finally:
        if browser is not None:
            browser.close()
        if pw is not None:
            pw.stop()
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
