"""Review UI latency: one accept, click -> visible in Chromium, with 200 and 1,000 pending edits.

    python -m bench.ui_latency                      # 200 and 1,000 edits, 20 clicks each (~4 min)
    python -m bench.ui_latency --sizes 200 --clicks 10 --baseline-clicks 3

Each size gets a fresh SQLite database with one document and a round of N pending edits (made
with core functions, bench/review_seed.py) and two real `streamlit run` servers on 127.0.0.1:

* the Revise page (app.py): the whole document in one components-v2 component;
* the baseline (bench/button_baseline.py): one plain st.button per edit, the Streamlit default.

Chromium (Debian's, through Playwright) clicks "Accept". The figure is measured in the page: from
the click event's timestamp (when the browser received the input, so any wait for a busy main
thread counts) to the first frame painted after the edit shows as accepted (a MutationObserver,
then requestAnimationFrame + a task). Also reported: the same seen from Playwright (round trip
included), and click -> decision row in the database (polled every 5 ms), which must follow
within a second. A "burst" run presses `a` 20 times 120 ms apart (accept, go to the next edit)
while the server is still answering earlier decisions. The baseline is capped in clicks at 1,000
rows, where one click takes seconds.
"""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.review_seed import seed  # noqa: E402
from core.db import dispose_engines, open_database  # noqa: E402

CHROMIUM = os.environ.get("REDRAFT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

SHADOW = "document.querySelector(\"[data-testid='stBidiComponentIsolated']\")?.shadowRoot"
# In-page clock: click/keydown timestamp -> first paint after the edit turns "accept".
INSTRUMENT_COMPONENT = """() => {
  const host = document.querySelector("[data-testid='stBidiComponentIsolated']");
  const shadow = host.shadowRoot;
  window.__lat = {t0: 0, res: []};
  const mark = (e) => { window.__lat.t0 = e.timeStamp; };
  window.addEventListener("click", mark, true);
  window.addEventListener("keydown", mark, true);
  new MutationObserver((muts) => {
    for (const m of muts) {
      if (m.target.dataset.st === "accept" && m.oldValue !== "accept") {
        const t0 = window.__lat.t0;
        requestAnimationFrame(() => setTimeout(() => window.__lat.res.push(performance.now() - t0), 0));
      }
    }
  }).observe(shadow, {subtree: true, attributes: true, attributeFilter: ["data-st"], attributeOldValue: true});
}"""

INSTRUMENT_BASELINE = """() => {
  window.__lat = {t0: 0, res: [], target: null};
  window.addEventListener("click", (e) => { window.__lat.t0 = e.timeStamp; }, true);
  new MutationObserver(() => {
    const lat = window.__lat;
    if (lat.target === null) return;
    const row = document.querySelector(".st-key-row_" + lat.target);
    if (row && row.textContent.includes("accepted") && !row.querySelector("button")) {
      lat.target = null;
      const t0 = lat.t0;
      requestAnimationFrame(() => setTimeout(() => lat.res.push(performance.now() - t0), 0));
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@dataclass
class Series:
    name: str
    in_page_ms: list[float] = field(default_factory=list)
    round_trip_ms: list[float] = field(default_factory=list)
    stored_ms: list[float] = field(default_factory=list)

    @staticmethod
    def med(xs: list[float]) -> float:
        return statistics.median(xs) if xs else float("nan")

    def line(self) -> str:
        worst_store = max(self.stored_ms) if self.stored_ms else float("nan")
        return (
            f"{self.name:<34} n={len(self.in_page_ms):>2}  click->visible median {self.med(self.in_page_ms):7.1f} ms"
            f" (max {max(self.in_page_ms, default=float('nan')):7.1f})"
            f"  via Playwright {self.med(self.round_trip_ms):7.1f} ms"
            f"  stored median {self.med(self.stored_ms):6.0f} ms (max {worst_store:6.0f})"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    script: str, database_url: str, tmp: Path, env: dict[str, str], cwd: Path = REPO
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = (tmp / f"{Path(script).stem}.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", script,
            "--server.headless=true", "--server.address=127.0.0.1", f"--server.port={port}",
            "--server.fileWatcherType=none", "--browser.gatherUsageStats=false",
        ],
        cwd=cwd,
        env={**os.environ, "DATABASE_URL": database_url, "REDRAFT_DATA_DIR": str(tmp), **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.read() == b"ok":
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"{script} did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_idle(page) -> None:
    page.wait_for_timeout(150)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)


def stored_after(db: sqlite3.Connection, edit_id: int, t_click: float, timeout_s: float = 10.0) -> float:
    while time.perf_counter() - t_click < timeout_s:
        if db.execute("SELECT 1 FROM decision WHERE edit_id = ? LIMIT 1", (edit_id,)).fetchone():
            return (time.perf_counter() - t_click) * 1000
        time.sleep(0.005)
    return float("inf")


def edit_ids(db: sqlite3.Connection, round_id: int) -> list[int]:
    rows = db.execute('SELECT id FROM edit WHERE round_id = ? ORDER BY start, "end", position, id', (round_id,))
    return [r[0] for r in rows]


def run_component(browser, url: str, db: sqlite3.Connection, round_id: int, n: int, clicks: int) -> list[Series]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)  # the entry page first: a fresh server only knows st.navigation after app.py ran
    wait_idle(page)
    page.goto(f"{url}/revise")
    page.wait_for_function(
        f"() => {SHADOW}?.querySelectorAll('.ed').length === {n}",
        timeout=120_000,
    )
    wait_idle(page)
    page.evaluate(INSTRUMENT_COMPONENT)
    ids = edit_ids(db, round_id)
    click = Series(f"component, {n} edits, click")
    step = max(1, (n // 2) // (clicks + 1))  # first half; the burst takes the middle, the baseline the end
    for k in range(clicks):
        idx = 1 + k * step
        span = page.locator(f".ed[data-i='{idx}']")
        span.scroll_into_view_if_needed()
        span.click()  # focus the edit (not timed)
        page.wait_for_timeout(100)
        box = page.locator("button.act-accept").bounding_box()
        before = len(page.evaluate("() => window.__lat.res"))
        t0 = time.perf_counter()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function(f"() => window.__lat.res.length > {before}", polling="raf")
        click.round_trip_ms.append((time.perf_counter() - t0) * 1000)
        click.stored_ms.append(stored_after(db, ids[idx], t0))
        click.in_page_ms.append(page.evaluate("() => window.__lat.res[window.__lat.res.length - 1]"))
        page.wait_for_function(f"() => {SHADOW}.querySelector('.rd-root').dataset.saved === 'yes'")
        wait_idle(page)
        page.wait_for_timeout(250)
    # burst: a fast reviewer pressing "a" (accept, go to the next pending edit) every 120 ms
    burst = Series(f"component, {n} edits, burst of keys")
    start = n // 2 + 1
    page.locator(f".ed[data-i='{start}']").scroll_into_view_if_needed()
    page.locator(f".ed[data-i='{start}']").click()
    page.wait_for_timeout(300)
    before = len(page.evaluate("() => window.__lat.res"))
    t_first = time.perf_counter()
    presses = []
    for _ in range(clicks):
        presses.append(time.perf_counter())
        page.keyboard.press("a")
        page.wait_for_timeout(120)
    page.wait_for_function(f"() => window.__lat.res.length >= {before + clicks}", polling="raf")
    burst.in_page_ms = page.evaluate(f"() => window.__lat.res.slice({before})")
    for j, idx in enumerate(range(start, start + clicks)):
        burst.stored_ms.append(
            stored_after(db, ids[idx], presses[j], timeout_s=30) if j == clicks - 1 else float("nan")
        )
    burst.stored_ms = [x for x in burst.stored_ms if x == x]  # the last press -> all stored
    burst.round_trip_ms = [(time.perf_counter() - t_first) * 1000 / clicks]
    page.close()
    return [click, burst]


def run_baseline(browser, url: str, db: sqlite3.Connection, round_id: int, n: int, clicks: int) -> Series:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(120_000)
    page.goto(url)
    page.wait_for_selector(f".st-key-row_{edit_ids(db, round_id)[-1]}", timeout=180_000)
    wait_idle(page)
    page.evaluate(INSTRUMENT_BASELINE)
    ids = edit_ids(db, round_id)
    out = Series(f"plain st.button, {n} edits")
    for k in range(clicks):
        edit_id = ids[n - 1 - k]  # from the end: not decided in the component run
        button = page.locator(f".st-key-row_{edit_id}").get_by_role("button", name="Accept")
        button.scroll_into_view_if_needed()
        page.wait_for_timeout(200)
        box = button.bounding_box()
        before = len(page.evaluate("() => window.__lat.res"))
        page.evaluate(f"() => {{ window.__lat.target = {edit_id}; }}")
        t0 = time.perf_counter()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function(f"() => window.__lat.res.length > {before}", polling="raf", timeout=180_000)
        out.round_trip_ms.append((time.perf_counter() - t0) * 1000)
        out.stored_ms.append(stored_after(db, edit_id, t0))
        out.in_page_ms.append(page.evaluate("() => window.__lat.res[window.__lat.res.length - 1]"))
        wait_idle(page)
    page.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    ap.add_argument("--clicks", type=int, default=20)
    ap.add_argument("--baseline-clicks", type=int, nargs="+", default=[8, 3], help="per size (capped: slow)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    results: list[tuple[int, list[Series], Series]] = []
    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="redraft-ui-bench-") as tmpdir:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for n_i, n in enumerate(args.sizes):
            tmp = Path(tmpdir) / f"n{n}"
            tmp.mkdir()
            db_path = tmp / "redraft.db"
            url = f"sqlite:///{db_path}"
            _, round_id, _ = seed(open_database(url), n)
            dispose_engines()
            db = sqlite3.connect(db_path, isolation_level=None)
            app, app_url = start_server("app.py", url, tmp, {})
            try:
                comp = run_component(browser, app_url, db, round_id, n, args.clicks)
            finally:
                stop(app)
            base_clicks = args.baseline_clicks[min(n_i, len(args.baseline_clicks) - 1)]
            base, base_url = start_server("bench/button_baseline.py", url, tmp, {"REDRAFT_BENCH_ROUND": str(round_id)})
            try:
                baseline = run_baseline(browser, base_url, db, round_id, n, base_clicks)
            finally:
                stop(base)
            db.close()
            results.append((n, comp, baseline))
            for s in (*comp, baseline):
                print(s.line(), flush=True)
        browser.close()

    print("\nsummary (median click -> visible, in the page):")
    for n, comp, baseline in results:
        c, b = comp[0], baseline
        ratio = Series.med(b.in_page_ms) / Series.med(c.in_page_ms)
        print(
            f"  {n:>5} edits: component {Series.med(c.in_page_ms):6.1f} ms,"
            f" burst {Series.med(comp[1].in_page_ms):6.1f} ms,"
            f" plain buttons {Series.med(b.in_page_ms):8.1f} ms -> {ratio:,.0f}x faster;"
            f" decision stored: median {Series.med(c.stored_ms):.0f} ms, max {max(c.stored_ms):.0f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
