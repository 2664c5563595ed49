"""Hostile inputs against Redraft (issue 14): per set (documents, R3 logs, model replies), how many were
tried, refused or stopped with a clear error, ended in a traceback (must be 0) or were silently wrong
(stored or used as if fine: must be 0), the longest time to a clear error, and peak memory.

Usage: HF_HUB_OFFLINE=1 python bench/hostile.py [--deadline 2]

Model replies go to the fault-injection server of the tests (tests/fault_server.py) with a request
deadline of --deadline seconds and no retries: the bound for each is deadline + 2 s. The docx bomb's
peak memory (a child process's max RSS) is printed beside a baseline: the same child opening a small
.docx, measured in the same run.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from sqlmodel import select  # noqa: E402

from core import documents  # noqa: E402
from core.data.r3_import import import_r3_paths  # noqa: E402
from core.db import dispose_engines, open_database, session_scope  # noqa: E402
from core.errors import ProposerError, RedraftError  # noqa: E402
from core.models import Document, Thread, User, Version  # noqa: E402
from core.proposers import make_request  # noqa: E402
from core.proposers.base import SpecData  # noqa: E402
from core.proposers.openai_compat import OpenAIProposer  # noqa: E402
from core.text.clean import has_control  # noqa: E402
from tests import fault_server as fs  # noqa: E402
from tests.hostile_inputs import docx_billion_laughs, docx_bomb, docx_bytes, docx_tiny_paragraphs  # noqa: E402

R3_SAMPLE = sorted((ROOT / "tests" / "fixtures" / "r3").glob("ann1-*.json"))[0]


@dataclass
class Tally:
    name: str
    tried: int = 0
    clear: int = 0
    accepted_clean: int = 0
    tracebacks: list[str] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)
    longest: float = 0.0
    longest_what: str = ""

    def clear_after(self, what: str, seconds: float) -> None:
        self.clear += 1
        if seconds > self.longest:
            self.longest, self.longest_what = seconds, what


def run(tally: Tally, what: str, attempt: Callable[[], str]) -> None:
    """attempt returns "clear", "clean" (accepted, and what was stored is clean) or "silent: why"."""
    tally.tried += 1
    start = time.monotonic()
    try:
        outcome = attempt()
    except RedraftError:
        outcome = "clear"
    except Exception:  # noqa: BLE001 - what this bench counts
        tally.tracebacks.append(f"{what}: {traceback.format_exc(limit=3)}")
        return
    took = time.monotonic() - start
    if outcome == "clear":
        tally.clear_after(what, took)
    elif outcome == "clean":
        tally.accepted_clean += 1
    else:
        tally.silent.append(f"{what}: {outcome}")


# --- model replies ---------------------------------------------------------------------------------


def model_replies(deadline: float) -> Tally:
    tally = Tally("model replies")
    fixed = "He goes home."
    faults: dict[str, fs.Fault] = {
        "slow drip (1 byte / 0.5 s)": fs.drip(fixed, 0.5),
        "reply after 60 s": fs.delayed(fixed, 60),
        "NUL in reply": fs.answer("He goes\x00 home."),
        "numeric content parts": fs.answer([{"type": "text", "text": 12345}]),
        "number as content": fs.answer(12345),
        "object as content": fs.answer({"a": 1}),
        "garbage JSON": fs.raw(b'{"choices": [{"message": '),
        "not UTF-8": fs.raw(b"\xff\xfe\x00garbage"),
        "wrong schema": fs.raw(b'{"choices": [{"text": "He goes home."}]}'),
        "deep JSON": fs.raw(b"[" * 200_000 + b"]" * 200_000),
        "2 MB reply": fs.raw(b'{"pad": "' + b"x" * 2_000_000 + b'"}'),
        "429 Retry-After 3600": fs.raw(b"slow down", 429, {"Retry-After": "3600"}),
        "500": fs.raw(b"internal error", 500),
        "connection reset": fs.reset,
        "streamed slow drip": fs.stream_events(["He ", "goes"] * 200, 0.5),
        "ANSI and bidi in reply": fs.answer("He \x1b[31mgoes\u202e home."),
    }
    for what, fault in faults.items():

        def attempt(fault: fs.Fault = fault, what: str = what) -> str:
            with fs.FaultServer(fault) as server:
                params = {"base_url": server.url, "timeout_s": deadline, "max_retries": 0, "api_key_env": "NO_KEY"}
                params["stream"] = what.startswith("streamed")
                proposer = OpenAIProposer(SpecData(kind="openai", model="faulty", params=params))
                try:
                    result = proposer.propose(make_request("He go home."))
                except ProposerError:
                    return "clear"
            if any(has_control(s.replacement) for s in result.suggestions):
                return "silent: a suggestion holds control characters"
            if what.startswith("ANSI"):
                return "clean"  # bidi/ANSI in a model rewrite is dropped or shown as text: checked above
            if result.suggestions:
                return "silent: a broken reply became a suggestion"
            return "clear" if result.dropped else "silent: nothing proposed and no reason recorded"

        run(tally, what, attempt)
    for what, fault in {
        "cancel during drip": fs.drip(fixed, 0.5),
        "cancel during delay": fs.delayed(fixed, 60),
    }.items():
        cancel = threading.Event()
        # Time from the cancel to the answer: the request starts first, the cancel comes once it is waiting.
        tally.tried += 1
        with fs.FaultServer(fault) as server:
            params = {"base_url": server.url, "timeout_s": 120, "max_retries": 0, "api_key_env": "NO_KEY"}
            proposer = OpenAIProposer(SpecData(kind="openai", model="faulty", params=params))
            box: dict[str, object] = {}

            def ask(box: dict = box, proposer: OpenAIProposer = proposer, cancel: threading.Event = cancel) -> None:
                box["r"] = proposer.propose(make_request("He go home.", cancel=cancel))

            worker = threading.Thread(target=ask)
            worker.start()
            server.received.wait(10)
            time.sleep(0.5)
            started = time.monotonic()
            cancel.set()
            worker.join(30)
            took = time.monotonic() - started
        result = box.get("r")
        if result is not None and getattr(result, "cancelled", False):
            tally.clear_after(what + " (from the cancel)", took)
        else:
            tally.silent.append(f"{what}: not cancelled within 30 s")
    return tally


# --- R3 logs -----------------------------------------------------------------------------------------


def r3_logs(work: Path) -> Tally:
    tally = Tally("R3 logs")
    sample = json.loads(R3_SAMPLE.read_text())

    def mutate(change: Callable[[dict], object]) -> str:
        data = copy.deepcopy(sample)
        out = change(data)
        return out if isinstance(out, str) else json.dumps(data)

    def doc(data: dict) -> dict:
        return data["rev_depth_1"]["doc"]

    cases: dict[str, Callable[[], str]] = {
        "deep JSON": lambda: "[" * 300_000 + "]" * 300_000,
        "deep Python literal": lambda: mutate(lambda d: d.update(rev_depth_1="[" * 300_000 + "]" * 300_000)),
        "after_human_evaluation object": lambda: mutate(lambda d: doc(d).update(after_human_evaluation={"a": 1})),
        "number as text": lambda: mutate(lambda d: doc(d).update(before_revision=12345)),
        "object as text": lambda: mutate(lambda d: doc(d).update(after_revision={"a": 1})),
        "NUL in text": lambda: mutate(lambda d: doc(d).update(before_revision=doc(d)["before_revision"] + "\x00")),
        "ESC in text": lambda: mutate(lambda d: doc(d).update(before_revision="\x1b[2J" + doc(d)["before_revision"])),
        "3.5 MB version": lambda: mutate(lambda d: doc(d).update(after_human_evaluation="word " * 700_000)),
        "offset as string": lambda: mutate(lambda d: doc(d)["edit_actions"][0].update(start_char_pos="0")),
        "offset past the text": lambda: mutate(lambda d: doc(d)["edit_actions"][0].update(end_char_pos=10**9)),
        "negative offset": lambda: mutate(lambda d: doc(d)["edit_actions"][0].update(start_char_pos=-5)),
        "before not in text": lambda: mutate(lambda d: doc(d)["edit_actions"][0].update(before="nope")),
        "edit actions an object": lambda: mutate(lambda d: doc(d).update(edit_actions={"a": 1})),
        "no doc": lambda: mutate(lambda d: d.update(rev_depth_1={"x": 1})),
        "500 rounds": lambda: mutate(lambda d: d.update({f"rev_depth_{k}": d["rev_depth_3"] for k in range(4, 504)})),
        "20,000 edits": lambda: mutate(lambda d: doc(d).update(edit_actions=doc(d)["edit_actions"][:1] * 20_000)),
        "huge intent string": lambda: mutate(lambda d: doc(d)["edit_actions"][0].update(major_intent="x" * 300_000)),
        "not JSON": lambda: "{not json",
        "a list": lambda: "[1, 2, 3]",
        "a number": lambda: "12345",
        "empty": lambda: "",
        "not UTF-8": lambda: "\udcff",
        "bidi annotator (per-round)": lambda: json.dumps(
            {**sample["rev_depth_1"]["doc"], "annotator": "a\u202e" * 3000}
        ),
        "annotator local (per-round)": lambda: json.dumps({**sample["rev_depth_1"]["doc"], "annotator": "local"}),
    }
    for n, (what, make) in enumerate(cases.items()):
        url = f"sqlite:///{work / f'r3-{n}.db'}"
        engine = open_database(url)
        path = work / f"ann1-case-{n}.json"
        path.write_bytes(make().encode("utf-8", "surrogateescape"))

        def attempt(engine=engine, path=path, what=what) -> str:  # noqa: ANN001
            summary = import_r3_paths(engine, [path])
            if summary["refused"]:
                return "clear" if any(path.name in r for r in summary["refused"]) else "silent: refusal names no file"
            with session_scope(engine) as s:
                texts = s.exec(select(Version.text)).all()
                users = s.exec(select(User)).all()
            if any(has_control(t) for t in texts):
                return "silent: control characters stored"
            if any(len(u.name) > 100 or "\u202e" in u.name for u in users):
                return "silent: a raw user name stored"
            if what.startswith("annotator local"):
                local = next(u for u in users if u.name == "local")
                with session_scope(engine) as s:
                    filed = s.exec(select(Thread).where(Thread.user_id == local.id)).all()
                return "silent: filed under the local admin" if filed else "clean"
            return "clean" if "bidi" in what else f"silent: imported ({summary['sessions']} sessions)"

        run(tally, what, attempt)
        dispose_engines()
    return tally


# --- documents ----------------------------------------------------------------------------------------

CHILD = """
import sys
sys.path.insert(0, {root!r})
from core.files import read_upload
from core.errors import RedraftError
data = open({path!r}, "rb").read()
try:
    read_upload("file.docx", data, 2 * 1024 * 1024)
    print("opened")
except RedraftError as exc:
    print("refused:", exc)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the (larger) parent.
print(next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) // 1024)
"""


def peak_mb(work: Path, data: bytes) -> tuple[int, str]:
    path = work / "child.docx"
    path.write_bytes(data)
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT), path=str(path))],
        capture_output=True, text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or len(lines) < 2:
        raise RuntimeError(out.stderr[-2000:])
    return int(lines[-1]), lines[0]


def document_files(work: Path) -> tuple[Tally, dict[str, object]]:
    tally = Tally("documents")
    engine = open_database(f"sqlite:///{work / 'docs.db'}")
    text = "Some plain text for a document. " * 20
    bomb = docx_bomb(1500)
    cases: dict[str, tuple[str, bytes]] = {
        "docx bomb (1.5 GB unpacked)": ("bomb.docx", bomb),
        "docx bomb (200 MB)": ("bomb2.docx", docx_bomb(200)),
        "billion laughs": ("laughs.docx", docx_billion_laughs()),
        "corrupt zip": ("broken.docx", b"PK\x03\x04" + os.urandom(2000)),
        "zip, not Word": ("zip.docx", docx_bytes(b"")[:200]),
        "random bytes .docx": ("r.docx", os.urandom(4000)),
        "NUL in text": ("nul.txt", b"text\x00more text"),
        "binary .txt": ("bin.txt", os.urandom(4000)),
        "latin-1 .txt": ("latin.txt", "Déjà vu".encode("latin-1")),
        "empty": ("empty.txt", b""),
        "whitespace only": ("ws.md", b"   \n\t\n"),
        "past the size limit": ("big.txt", b"word " * 1_000_000),
        "unsupported type": ("x.exe", b"MZ"),
        "UTF-16 without BOM": ("u16.txt", "hello".encode("utf-16-le")),
        "bad UTF-16 with BOM": ("bad16.txt", b"\xff\xfe\x00\xd8"),
        "ANSI and bell in text": ("ansi.txt", ("\x1b[31mred\x1b[0m\x07 " + text).encode()),
        "bidi file name": ("evil\u202etxt.md", text.encode()),
        "240-character file name": ("n" * 240 + ".txt", text.encode()),
        "newlines and tabs in name": ("a\nb\tc.txt", text.encode()),
        "markdown image title": ("![x](http:--evil-a.png).md", text.encode()),
        "path in name": ("../../etc/passwd.txt", text.encode()),
        "name of only dots": ("...", text.encode()),
    }
    for what, (name, data) in cases.items():

        def attempt(name: str = name, data: bytes = data) -> str:
            with session_scope(engine) as s:
                doc = documents.import_file(s, name, data)
                version = documents.head_version(s, doc.id)
                stored = s.get(Document, doc.id)
            if has_control(version.text.replace("\r", "")) or "\u202e" in stored.title or "\n" in stored.title:
                return "silent: control characters stored"
            if len(stored.title) > 200:
                return "silent: title too long"
            return "clean"

        run(tally, what, attempt)
    dispose_engines()
    base_mb, _ = peak_mb(work, docx_bytes(b"<w:p><w:r><w:t>Hello.</w:t></w:r></w:p>"))
    bomb_mb, said = peak_mb(work, bomb)
    tiny = docx_tiny_paragraphs()
    tiny_mb, tiny_said = peak_mb(work, tiny)
    return tally, {
        "bomb_stored_mb": len(bomb) / 1e6, "baseline_mb": base_mb, "bomb_mb": bomb_mb, "said": said,
        "tiny_stored_mb": len(tiny) / 1e6, "tiny_mb": tiny_mb, "tiny_said": tiny_said,
    }  # fmt: skip


def show(tally: Tally, bound: str = "") -> None:
    print(
        f"{tally.name}: tried {tally.tried}, clear errors {tally.clear}, accepted and clean {tally.accepted_clean}, "
        f"tracebacks {len(tally.tracebacks)}, silently wrong {len(tally.silent)}; longest to a clear error "
        f"{tally.longest:.2f} s ({tally.longest_what}){bound}"
    )
    for line in tally.tracebacks + tally.silent:
        print("   ", line.strip().replace("\n", "\n    "))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deadline", type=float, default=2.0, help="model request deadline (s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        docs, memory = document_files(work)
        show(docs)
        print(
            f"    docx bomb ({memory['bomb_stored_mb']:.2f} MB stored, 1.5 GB unpacked): peak {memory['bomb_mb']} MB "
            f"vs {memory['baseline_mb']} MB opening a small .docx in the same run "
            f"(ratio {int(memory['bomb_mb']) / int(memory['baseline_mb']):.2f}); {str(memory['said'])[:90]}"
        )
        print(
            f"    .docx of 680,000 tiny paragraphs ({memory['tiny_stored_mb']:.2f} MB stored, 24 MB of XML, accepted): "
            f"peak {memory['tiny_mb']} MB (ratio {int(memory['tiny_mb']) / int(memory['baseline_mb']):.2f}); "
            f"{str(memory['tiny_said'])[:60]}"
        )
        show(r3_logs(work))
        replies = model_replies(args.deadline)
        bound = args.deadline + 2
        show(replies, f"; bound deadline + 2 s = {bound:g} s (ratio {replies.longest / bound:.2f})")
    print(f"this process peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


if __name__ == "__main__":
    main()
