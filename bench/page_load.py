"""Page switch time in Chromium, each page against an empty Streamlit page measured in the same run.

    python -m bench.page_load                          # 1,000 documents, 100,000 decisions, 5 visits a page
    python -m bench.page_load --documents 200 --visits 3
    python -m bench.page_load --app-dir /tmp/old-checkout   # the same, serving another checkout's app

A fresh SQLite database is seeded (bench/page_seed.py: bulk inserts) and `streamlit run` servers start
on 127.0.0.1, all three at once: the baseline (bench/empty_pages.py: two pages holding only a title),
a second baseline (bench/shell_pages.py: the same two pages inside the app's own shell, what app.py runs
before every page, so a page's own cost shows apart from the shell's) and the app (app.py). Chromium
(Debian's, through Playwright) clicks each page's link in the sidebar, in turn, for `--visits` rounds;
before each of the app's switches, each baseline switches once (between its two pages, each in its own
browser tab), so a moment of load on the shared machine weighs on the page and its baselines alike.
The figure is measured in the page: from the click event's timestamp to the first
frame in which the target page's title is shown and the script run has ended (Streamlit's
`data-test-script-state` is notRunning). The first visit of each page in a fresh server (imports, cold
caches) is reported apart from the median of the later ones.

Goal (issue 13): every page within 3x of the empty page, Analytics within 5x.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.page_seed import seed_large  # noqa: E402
from bench.ui_latency import CHROMIUM, CHROMIUM_ARGS, start_server, stop, wait_idle  # noqa: E402
from core.db import dispose_engines, open_database  # noqa: E402

PAGES = ("Documents", "Revise", "History", "Export", "Models", "Analytics", "Learning")
GOAL = {"Analytics": 5.0}
DEFAULT_GOAL = 3.0

# From the click's timestamp to the first frame where the target page's title is shown and the run has
# ended (checked every frame: a run on an empty page can start and end between two DOM observations).
INSTRUMENT = """() => {
  const w = window.__sw = {res: [], want: null};
  window.addEventListener("click", (e) => {
    const want = w.want;
    if (!want) return;
    const t0 = e.timeStamp;
    const tick = () => {
      const app = document.querySelector("[data-testid='stApp']");
      const shown = [...document.querySelectorAll("h1")].some((h) => h.textContent.trim() === want);
      if (shown && app.getAttribute("data-test-script-state") === "notRunning") {
        w.want = null;
        w.res.push(performance.now() - t0);
        return;
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }, true);
}"""


def switch(page, title: str) -> float:  # noqa: ANN001 - a Playwright page
    """Click the sidebar link to `title`; ms from the click to the painted end of the run it started."""
    before = page.evaluate(f"() => {{ window.__sw.want = {title!r}; return window.__sw.res.length; }}")
    page.locator("[data-testid='stSidebarNav'] a", has_text=title).first.click()
    page.wait_for_function(f"() => window.__sw.res.length > {before}", timeout=300_000, polling="raf")
    ms = page.evaluate("() => window.__sw.res[window.__sw.res.length - 1]")
    wait_idle(page)
    if page.locator("[data-testid='stException']").count():
        raise RuntimeError(f"{title}: the page raised an exception")
    page.get_by_role("heading", name=title).first.wait_for(timeout=60_000)
    return float(ms)


class Tab:
    """One server's app in its own browser page, switching between the titles it is given."""

    def __init__(self, browser, url: str) -> None:  # noqa: ANN001 - a Playwright browser
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.set_default_timeout(300_000)
        self.page.goto(url)
        wait_idle(self.page)
        self.page.evaluate(INSTRUMENT)

    def switch(self, title: str) -> float:
        # (headless Chromium keeps every page visible: no bring_to_front, which would repaint the page)
        return switch(self.page, title)


def measure(browser, urls: dict[str, str], visits: int) -> dict[str, list[float]]:  # noqa: ANN001
    """Interleaved: before each switch to one of the app's pages, one switch in each baseline, so the
    load of the shared machine at that moment weighs on the page and on its baselines alike."""
    tabs = {name: Tab(browser, url) for name, url in urls.items()}
    times: dict[str, list[float]] = {p: [] for p in (*PAGES, "empty_pages", "shell_pages")}
    flip = 0
    for _ in range(visits):
        for title in PAGES[1:] + PAGES[:1]:  # the landing page last: its first switch is a real one too
            for base in ("empty_pages", "shell_pages"):
                times[base].append(tabs[base].switch(("Empty A", "Empty B")[flip % 2]))
            flip += 1
            times[title].append(tabs["app"].switch(title))
    for tab in tabs.values():
        tab.page.close()
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--documents", type=int, default=1000, help="each with 100 decided edits")
    ap.add_argument("--visits", type=int, default=5)
    ap.add_argument("--app-dir", type=Path, default=REPO, help="serve app.py from this checkout")
    ap.add_argument("--database", help="reuse this seeded SQLite file (default: seed a fresh one)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="redraft-page-bench-") as tmpdir:
        tmp = Path(tmpdir)
        db_path = Path(args.database) if args.database else tmp / "redraft.db"
        url = f"sqlite:///{db_path}"
        if not args.database:
            t = time.perf_counter()
            n = seed_large(open_database(url), args.documents)
            dispose_engines()
            took = time.perf_counter() - t
            print(f"seeded {args.documents:,} documents, {n:,} decisions in {took:.0f} s", flush=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            servers, urls = [], {}
            try:
                # the baselines are this checkout's; the app is the one --app-dir names
                scripts = {
                    "empty_pages": REPO / "bench/empty_pages.py",
                    "shell_pages": REPO / "bench/shell_pages.py",
                    "app": args.app_dir / "app.py",
                }
                for name, script in scripts.items():
                    proc, urls[name] = start_server(str(script), url, tmp, {}, cwd=args.app_dir)
                    servers.append(proc)
                times = measure(browser, urls, args.visits + 1)
            finally:
                for proc in servers:
                    stop(proc)
            browser.close()
        # the baselines' first switches (fresh servers) are left out, as the pages' first visits are
        baselines = {name: statistics.median(times[name][len(PAGES) :]) for name in ("empty_pages", "shell_pages")}

    base_ms, shell_ms = baselines["empty_pages"], baselines["shell_pages"]
    print(f"\nempty page (baseline): median {base_ms:.0f} ms; the app's shell around an empty page: {shell_ms:.0f} ms")
    print(f"{'page':<10} {'first visit':>12} {'median after':>13} {'x empty':>8} {'goal':>6} {'x shell':>8}")
    ok = True
    for title in PAGES:
        first, rest = times[title][0], times[title][1:]
        med = statistics.median(rest)
        ratio = med / base_ms
        goal = GOAL.get(title, DEFAULT_GOAL)
        ok &= ratio <= goal
        missed = "" if ratio <= goal else "  MISSED"
        shell = med / shell_ms
        print(f"{title:<10} {first:>9.0f} ms {med:>10.0f} ms {ratio:>7.1f}x {goal:>5.0f}x {shell:>7.1f}x{missed}")
    print("all pages within their goal" if ok else "some pages missed their goal")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
