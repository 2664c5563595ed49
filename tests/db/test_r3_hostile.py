"""Malformed and hostile R3 logs: each refused whole with a message naming the file and the field, never a
traceback, never stored half or silently changed; annotators never filed under an existing person."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from core.data.r3_import import import_r3_paths
from core.db import session_scope
from core.models import Decision, Document, Thread, User
from tests.db.test_r3 import SAMPLES, _load

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def counts(engine) -> tuple[int, int, int]:
    with session_scope(engine) as s:
        return tuple(s.exec(select(func.count(t.id))).one() for t in (Document, Thread, Decision))  # type: ignore


def sample() -> dict:
    return copy.deepcopy(_load(SAMPLES[0]))


def hostile(kind: str) -> object:
    data = sample()
    doc = data["rev_depth_1"]["doc"]
    if kind == "deep-json":
        return "[" * 200_000 + "]" * 200_000
    if kind == "deep-literal":
        data["rev_depth_1"] = "[" * 200_000 + "]" * 200_000
    elif kind == "human-object":
        doc["after_human_evaluation"] = {"a": 1}
    elif kind == "number-as-text":
        doc["before_revision"] = 12345
    elif kind == "nul":
        doc["before_revision"] = doc["before_revision"].replace(" ", "\x00", 1)
    elif kind == "action-string-offset":
        doc["edit_actions"][0]["start_char_pos"] = "0"
    elif kind == "action-object-before":
        doc["edit_actions"][0]["before"] = {"a": 1}
    elif kind == "too-many-rounds":
        for k in range(4, 200):
            data[f"rev_depth_{k}"] = data["rev_depth_3"]
    return data


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("deep-json", "nested deeper than 24 levels"),
        ("deep-literal", "rev_depth_1: a Python literal nested deeper than 24 levels"),
        ("human-object", "rev_depth_1.doc.after_human_evaluation: Input should be a valid string"),
        ("number-as-text", "rev_depth_1.doc.before_revision: Input should be a valid string"),
        ("nul", "rev_depth_1.doc.before_revision: contains NUL or other control characters"),
        ("action-string-offset", "rev_depth_1.doc.edit_actions.0.start_char_pos: Input should be a valid integer"),
        ("action-object-before", "rev_depth_1.doc.edit_actions.0.before: Input should be a valid string"),
        ("too-many-rounds", "has 200 rounds; at most 100"),
    ],
)
def test_hostile_logs_are_refused_naming_the_file_and_field(engine, tmp_path, kind, message):
    bad = write(tmp_path, f"ann1-{kind}.json", hostile(kind))
    good = SAMPLES[1]
    summary = import_r3_paths(engine, [bad, good])
    assert summary["sessions"] == 0
    assert any(f"ann1-{kind}.json" in r and message in r for r in summary["refused"]), summary["refused"]
    assert counts(engine) == (0, 0, 0)  # nothing half-stored, not even the good file
    kept = import_r3_paths(engine, [bad, good], skip_bad=True)
    assert kept["sessions"] == 1 and len(kept["refused"]) == 1


def test_a_version_past_the_document_limit_is_refused(sqlite_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("REDRAFT_MAX_DOCUMENT_BYTES", "20000")
    data = sample()
    data["rev_depth_2"]["doc"]["after_human_evaluation"] = "word " * 10_000
    summary = import_r3_paths(sqlite_engine, [write(tmp_path, "ann1-big.json", data)])
    [refused, _] = summary["refused"]
    assert "after_human_evaluation: is 0.05 MiB of text; versions are limited like documents (0.02 MiB)" in refused


def test_annotators_get_their_own_users_unless_mapped(sqlite_engine, tmp_path):
    local = write(tmp_path, "local-session.json", {**sample(), "annotator": "ignored"})
    # The annotator comes from the file name: "local" is also the name of the local admin.
    named = write(tmp_path, "local1-MODEL-x.json", sample())
    summary = import_r3_paths(sqlite_engine, [named])
    assert summary["sessions"] == 1 and local.exists()
    with session_scope(sqlite_engine) as s:
        thread = s.exec(select(Thread)).one()
        user = s.get(User, thread.user_id)
        assert (user.name, user.role, user.import_key) == ("local1", "annotator", "r3:local1")
        s.add(User(name="ann2", role="admin"))
    per_round = write(tmp_path, "ann2-x.jsonl", json.dumps({**sample()["rev_depth_1"]["doc"], "revision_depth": 1}))
    record = {**sample()["rev_depth_2"]["doc"], "revision_depth": 1, "annotator": "local"}
    as_local = write(tmp_path, "rounds.jsonl", json.dumps(record))
    import_r3_paths(sqlite_engine, [per_round, as_local])
    with session_scope(sqlite_engine) as s:
        names = {u.name: u.import_key for u in s.exec(select(User)).all()}
    assert names["ann2"] is None and names["ann2 (R3 import)"] == "r3:ann2"  # the admin was not used
    assert names["local"] is None and names["local (R3 import)"] == "r3:local"


def test_long_and_hostile_annotator_names_are_shortened(sqlite_engine, tmp_path):
    doc = sample()["rev_depth_1"]["doc"]
    record = {**doc, "revision_depth": 1, "annotator": "a\u202e" + "x" * 5000}
    import_r3_paths(sqlite_engine, [write(tmp_path, "rounds.jsonl", json.dumps(record))])
    with session_scope(sqlite_engine) as s:
        user = s.exec(select(User).where(User.import_key.is_not(None))).one()  # type: ignore[union-attr]
    assert len(user.name) <= 100 and "\u202e" not in user.name


def test_cli_exit_code_skip_bad_and_map_user(tmp_path, db_url):
    def cli(*args):
        cmd = [sys.executable, "-m", "core", "--database-url", db_url, *args]
        return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)

    bad = write(tmp_path, "ann1-bad.json", hostile("human-object"))
    refused = cli("import", "--format", "r3", str(bad), str(SAMPLES[1]))
    assert refused.returncode == 1 and "after_human_evaluation" in refused.stderr
    assert json.loads(refused.stdout)["sessions"] == 0
    kept = cli("import", "--format", "r3", "--skip-bad", "--map-user", "ann1=local", str(bad), str(SAMPLES[1]))
    assert kept.returncode == 0 and json.loads(kept.stdout)["sessions"] == 1
    assert "after_human_evaluation" in kept.stderr
    listed = cli("user", "list")
    assert "ann1" not in listed.stdout  # mapped: filed under local, no new user
