"""`python -m core revise`: JSON Lines, --accept-all, --lines, stdin and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import main

REPO = Path(__file__).resolve().parents[2]
TEXT = "He go to school everyday. Their is a problm here."


def run(capsys, *argv):
    code = main(["revise", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_jsonl_edits(tmp_path, capsys):
    path = tmp_path / "essay.txt"
    path.write_text(TEXT, encoding="utf-8")
    code, out, _ = run(capsys, path)
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) >= 4
    for r in records:
        assert set(r) == {"start", "end", "before", "after", "intent", "explanation", "source", "score", "alternatives"}
        assert TEXT[r["start"] : r["end"]] == r["before"] and r["before"] != r["after"]
    goes = next(r for r in records if r["before"] == "go")
    assert goes["after"] == "goes" and goes["source"] == "lingotweaker:HE_VERB_AGR" and goes["alternatives"] == ["went"]
    assert [r["start"] for r in records] == sorted(r["start"] for r in records)


def test_accept_all_prints_the_revised_text(tmp_path, capsys):
    path = tmp_path / "essay.txt"
    path.write_text(TEXT, encoding="utf-8")
    code, out, _ = run(capsys, path, "--accept-all")
    assert code == 0
    assert out == "He goes to school every day. There is a problem here."
    # switching a rule off leaves its error in place
    code, out, _ = run(capsys, path, "--accept-all", "--disable", "HE_VERB_AGR,PronounVerbAgreement")
    assert out.startswith("He go to school every day.")


def test_lines_keeps_line_count_and_empty_lines(tmp_path, capsys):
    lines = ["He go home .", "", "   ", "Their is a problm .\r", "Fine sentence.", ""]
    path = tmp_path / "corpus.txt"
    path.write_bytes("\n".join(lines).encode("utf-8"))
    code, out, _ = run(capsys, path, "--lines", "--accept-all")
    assert code == 0
    got = out.split("\n")
    assert len(got) == len(lines)
    assert got[1] == "" and got[2] == "   " and got[5] == ""
    assert got[0].startswith("He goes home") and got[3].startswith("There is a problem") and got[3].endswith("\r")
    assert got[4] == "Fine sentence."

    code, out, _ = run(capsys, path, "--lines", "--intents", "fluency")
    records = [json.loads(line) for line in out.splitlines()]
    assert {r["line"] for r in records} == {1, 4}
    for r in records:
        assert lines[r["line"] - 1][r["start"] : r["end"]] == r["before"]


def test_intents_filter(tmp_path, capsys):
    path = tmp_path / "t.txt"
    path.write_text("We are very unique. He go home.", encoding="utf-8")
    _, out, _ = run(capsys, path, "--intents", "clarity")
    assert [json.loads(line)["source"] for line in out.splitlines()] == ["lingotweaker:VERY_UNIQUE"]


def test_errors_exit_2_with_a_message(tmp_path, capsys):
    code, _, err = run(capsys, tmp_path / "missing.txt")
    assert code == 2 and "Cannot read" in err
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 au lait".encode("latin-1"))
    code, _, err = run(capsys, bad)
    assert code == 2 and "not valid UTF-8" in err
    ok = tmp_path / "ok.txt"
    ok.write_text(TEXT, encoding="utf-8")
    code, _, err = run(capsys, ok, "--intents", "fluency,politeness")
    assert code == 2 and "politeness" in err
    code, _, err = run(capsys, ok, "--proposer", "gpt4")
    assert code == 2 and "the kinds are" in err


@pytest.mark.slow  # a fresh interpreter builds both engines (~5 s quiet, ~30 s on a loaded machine)
def test_stdin_in_a_real_process():
    proc = subprocess.run(
        [sys.executable, "-m", "core", "revise", "-", "--accept-all", "--lines"],
        input=b"He go home.\n\nI can heard you.\n",
        cwd=REPO,
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode("utf-8").split("\n")
    assert out[0] == "He goes home." and out[1] == "" and out[3] == "" and len(out) == 4
    assert "hear" in out[2]
