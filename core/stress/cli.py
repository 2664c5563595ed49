"""The CLI beside the app: warm `python -m core` processes whose commands land amid the sessions."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

from sqlalchemy.engine import Engine

from core import access
from core.config import ROOT
from core.services import review as review_service
from core.services import revision
from core.stress.workload import Report, Workload, local_actor

# --- the CLI beside the app ---------------------------------------------------------------------------


def _cli_plan(engine: Engine, actor: access.Actor, work: Workload, index: int, i: int) -> list[str] | None:
    """Command i of operator `index` (typed after looking at the round, as `round status` shows it)."""
    rng = random.Random(work.seed * 1000 + 500 + index * 37 + i)
    doc = rng.choice(work.document_ids)
    state = revision.revision_state(engine, actor, doc)
    if not state.reviewing or state.round is None:
        return None
    round_id = state.round.id or 0
    if i >= work.apply_from * work.cli_steps and rng.random() < 0.4:
        spec = json.dumps(work.spec)
        return ["round", "continue", str(round_id), "--proposer", spec, "--max-depth", str(work.max_depth)]
    view = review_service.round_view(engine, actor, round_id)
    edit = rng.choice(view.edits + view.hidden).row.id
    action = rng.choice(["accept", "reject", "modify", "undo"])
    cmd = ["round", "decide", str(round_id), action, str(edit), "--key", f"cli{work.seed}-{uuid.uuid4().hex[:16]}"]
    return cmd + (["--text", "cli"] if action == "modify" else [])


def _cli_outcome(report: Report, cmd: list[str], rc: int, out: str, err: str) -> None:
    what = f"cli {cmd[1]}"
    report.actions[what] += 1
    key = [cmd[cmd.index("--key") + 1]] if "--key" in cmd else []
    if rc == 0:
        report.stored.extend(key)
        if cmd[1] == "continue":
            report.applies.append((int(cmd[2]), int(json.loads(out.strip().splitlines()[-1])["job"])))
    elif rc == 2 and err.strip().startswith("error: "):
        report.refuse(what, err.strip()[len("error: ") :], key)
    else:
        report.fail(what, f"exited {rc}: {(err or out).strip()}", key)


# A CLI process started ahead (interpreter and every command's imports: seconds, tens of seconds on
# a machine busy with the sessions), that then reads
# its command line from stdin and runs `python -m core`'s main on it: its work lands amid the sessions'.
WARM_CLI = (
    "import json, sys\nfrom core.cli import build_parser, main\nbuild_parser()\nprint('ready', flush=True)\n"
    "argv = json.loads(sys.stdin.readline())\nraise SystemExit(0 if argv is None else main(argv))\n"
)


def start_cli(count: int, setup_code: str = "") -> list[subprocess.Popen[str]]:
    """`count` warm CLI processes (running `setup_code` first, e.g. registering proposer kinds)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", setup_code + "\n" + WARM_CLI],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    for proc in procs:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"a CLI process did not start: {proc.communicate(timeout=30)[1][-2000:]}")
    return procs


def cli_operator(
    engine: Engine, work: Workload, index: int, procs: list[subprocess.Popen[str]], start_at: float, report: Report
) -> None:
    """One operator's commands, one per warm CLI process, every `cli_gap_s` from `start_at`; each is
    typed after a look at the round (as `round status` shows it)."""
    actor = local_actor(engine)
    for i, proc in enumerate(procs):
        time.sleep(max(0.0, start_at + (i + 0.5) * work.cli_gap_s + index * 0.3 - time.time()))
        cmd = _cli_plan(engine, actor, work, index, i)
        t0 = time.perf_counter()
        out, err = proc.communicate(json.dumps(cmd and ["--database-url", work.url, *cmd]) + "\n", timeout=300)
        if cmd is None:
            report.actions["wait"] += 1
            continue
        report.cli_s += time.perf_counter() - t0
        report.cli_ended.append(time.time())
        _cli_outcome(report, cmd, proc.returncode, out, err)


CliMain = Callable[[list[str]], int]  # core.cli.main (a layer above: the caller passes it)


def cli_in_process(engine: Engine, work: Workload, index: int, report: Report, i: int, main: CliMain) -> None:
    """Step i of a CLI operator, run by core.cli.main in this process (the sequential baseline)."""
    cmd = _cli_plan(engine, local_actor(engine), work, index, i)
    if cmd is None:
        report.actions["wait"] += 1
        return
    out, err = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["--database-url", work.url, *cmd])
    report.cli_s += time.perf_counter() - t0
    _cli_outcome(report, cmd, rc, out.getvalue(), err.getvalue())
