"""The decision log export: rows, filters, latest state, de-duplication, counts, and every file format."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import documents, users
from core.data.export import export_log, log_bytes
from core.data.export_formats import write_parquet
from core.data.export_query import ExportFilters, iter_decision_rows, preview, summarize
from core.data.export_rows import ROW_FIELDS
from core.db import read_scope, session_scope
from core.errors import InputError
from core.models import Project
from core.proposers.base import SpecData
from core.revision import apply, review, rounds, threads
from core.text.edits import diff

REPO = Path(__file__).resolve().parents[2]
TEXT = "She go to school every day. The results was good.\nIn order to win, we try hard."
REVISED = "She goes to school every day. The results were good.\nTo win, we try hard."
OLD = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)


@dataclass
class World:
    doc1: int
    doc2: int
    doc3: int
    local: int
    alice: int
    sim: int
    project_b: int
    spec_b: int


def _round(
    s: Session, doc_id: int, user_id: int, before: str, after: str, intents: list[str], spec: SpecData | None = None,
    simulated: bool = False,
) -> list:  # fmt: skip
    thread = threads.active_thread(s, doc_id, user_id, simulated=simulated)
    settings = rounds.RoundSettings(spec=spec) if spec else rounds.RoundSettings()
    rnd = rounds.begin_round(s, thread.id, settings)
    rnd.status = "reviewing"
    edits = [replace(e, intent=i, source="test-rule") for e, i in zip(diff(before, after), intents, strict=True)]
    return rounds.store_edits(s, rnd.id, before, edits)


def build_world(engine: Engine) -> World:
    """Three documents, three people (one simulated), two projects, two rounds on the first document."""
    with session_scope(engine) as s:
        local = documents.default_user(s)
        alice = users.create_user(s, "alice", "writer")
        sim = users.create_user(s, "sim-ref", "annotator", simulated=True)
        project_b = Project(name="B", settings={})
        s.add(project_b)
        s.flush()
        doc1 = documents.create_document(s, "essay", TEXT)
        e = _round(s, doc1.id, local.id, TEXT, REVISED, ["fluency", "fluency", "clarity"])
        review.decide(s, e[0].id, local.id, "accept", time_taken_ms=1200, comment="good\nfix, with a comma")
        review.decide(s, e[1].id, local.id, "accept")
        review.decide(s, e[1].id, local.id, "undo")
        review.decide(s, e[1].id, local.id, "reject")
        review.decide(s, e[2].id, local.id, "modify", modified_text="So as to")
        version = apply.apply_round(s, e[0].round_id, local.id)
        e2 = _round(s, doc1.id, local.id, version.text, version.text.replace("every day", "daily"), ["clarity"])
        review.decide(s, e2[0].id, local.id, "accept")
        review.decide(s, e2[0].id, local.id, "accept")  # a repeated identical decision (no undo between)
        doc2 = documents.create_document(s, "letter", "Dear sir, I writes to you.", project_id=project_b.id)
        spec_b = SpecData(kind="builtin", params={"engines": ["harper"]})
        e3 = _round(
            s, doc2.id, alice.id, "Dear sir, I writes to you.", "Dear sir, I write to you.", ["fluency"], spec_b
        )
        old = review.decide(s, e3[0].id, alice.id, "reject")
        old.created_at = OLD
        s.add(old)
        doc3 = documents.create_document(s, "note", "Their is a cat.")
        e4 = _round(s, doc3.id, sim.id, "Their is a cat.", "There is a cat.", ["fluency"], simulated=True)
        review.decide(s, e4[0].id, sim.id, "accept", simulated=True)
        spec_b_id = review.get_round(s, e3[0].round_id).spec_id
        return World(doc1.id, doc2.id, doc3.id, local.id, alice.id, sim.id, project_b.id, spec_b_id)


def rows_for(engine: Engine, **filters: object) -> list[dict]:
    with read_scope(engine) as s:
        return list(iter_decision_rows(s, ExportFilters(**filters)))


def test_rows_hold_everything_needed_without_the_database(engine: Engine) -> None:
    w = build_world(engine)
    rows = rows_for(engine)
    assert len(rows) == 9  # every decision, undo included, oldest first
    assert [r["decision_id"] for r in rows] == sorted(r["decision_id"] for r in rows)
    assert all(tuple(r) == ROW_FIELDS for r in rows)
    first = rows[0]
    assert (first["action"], first["before"], first["after"], first["intent"]) == ("accept", "go", "goes", "fluency")
    assert first["sentence"] == "She go to school every day."
    assert first["sentence"][first["edit_offset"] :].startswith("go")
    assert first["sentence_after"] == first["sentence_final"] == "She goes to school every day."
    assert first["context_after"].startswith(" The results was good.")
    assert (first["depth"], first["document_id"], first["document_title"], first["project_name"]) == (
        1,
        w.doc1,
        "essay",
        "Default",
    )
    assert (first["user_name"], first["simulated"], first["time_taken_ms"]) == ("local", False, 1200)
    assert first["comment"] == "good\nfix, with a comma"
    assert first["spec_kind"] == "builtin" and json.loads(first["spec_params"]) == {}
    assert first["round_intents"] == ["fluency", "clarity", "coherence"]
    assert first["decided_at"].tzinfo is not None and first["round_created_at"].tzinfo is not None
    assert first["base_version_id"] is not None and first["result_version_id"] is not None
    modify = next(r for r in rows if r["action"] == "modify")
    assert modify["sentence"] == "In order to win, we try hard."
    assert modify["sentence_after"] == "To win, we try hard."
    assert modify["sentence_final"] == "So as to win, we try hard."
    undo = next(r for r in rows if r["action"] == "undo")
    assert undo["sentence_final"] is None
    depth2 = [r for r in rows if r["depth"] == 2]
    assert len(depth2) == 2 and depth2[0]["sentence"] == "She goes to school every day."  # on the round-1 result


def test_filters_narrow_the_log(engine: Engine) -> None:
    w = build_world(engine)
    assert {r["document_id"] for r in rows_for(engine, project_ids=(w.project_b,))} == {w.doc2}
    assert {r["user_name"] for r in rows_for(engine, user_ids=(w.alice, w.sim))} == {"alice", "sim-ref"}
    assert {r["document_id"] for r in rows_for(engine, document_ids=(w.doc3,))} == {w.doc3}
    assert {r["intent"] for r in rows_for(engine, intents=("clarity",))} == {"clarity"}
    assert len(rows_for(engine, intents=("clarity",))) == 3
    assert {r["depth"] for r in rows_for(engine, depths=(2,))} == {2}
    assert [r["user_name"] for r in rows_for(engine, spec_ids=(w.spec_b,))] == ["alice"]
    assert [r["user_name"] for r in rows_for(engine, simulated=True)] == ["sim-ref"]
    assert "sim-ref" not in {r["user_name"] for r in rows_for(engine, simulated=False)}
    assert [r["user_name"] for r in rows_for(engine, until=OLD + timedelta(days=1))] == ["alice"]
    assert "alice" not in {r["user_name"] for r in rows_for(engine, since=OLD + timedelta(days=1))}
    assert {r["action"] for r in rows_for(engine, actions=("reject",))} == {"reject"}
    with pytest.raises(InputError, match="timezone"):
        ExportFilters(since=datetime(2024, 1, 1))
    with pytest.raises(InputError, match="Unknown action"):
        ExportFilters(actions=("approve",))


def test_latest_only_replays_undo_and_dedupe_drops_identical_pairs(engine: Engine) -> None:
    build_world(engine)
    latest = rows_for(engine, latest_only=True)
    standing = {(r["before"], r["after"]): r["action"] for r in latest}
    assert standing[("was", "were")] == "reject"  # accept, undo, reject
    assert standing[("In order to", "To")] == "modify"
    assert "undo" not in {r["action"] for r in latest}
    assert len(latest) == 6  # one per decided edit and person
    # The depth-2 edit was accepted twice: in the raw log two rows, de-duplicated one.
    assert len([r for r in rows_for(engine, depths=(2,))]) == 2
    assert len(rows_for(engine, depths=(2,), dedupe=True)) == 1
    assert [r["action"] for r in rows_for(engine, latest_only=True, actions=("reject",))] == ["reject", "reject"]


def test_summary_and_preview(engine: Engine) -> None:
    w = build_world(engine)
    with session_scope(engine) as s:
        summary = summarize(s)
        # decided edits as every page counts them (what stands per edit and person); the log's 9 rows apart
        assert (summary.decisions, summary.rows, summary.documents, summary.people) == (6, 9, 3, 3)
        assert sum(summary.by_action.values()) == sum(summary.by_depth.values()) == 6
        assert sum(summary.by_intent.values()) == 6 and "undo" not in summary.by_action
        assert summarize(s, ExportFilters(project_ids=(w.project_b,))).decisions == 1
        assert [r["decision_id"] for r in preview(s, limit=3)] == [r["decision_id"] for r in rows_for(engine)][:3]


def test_file_formats_read_back(sqlite_engine: Engine, tmp_path: Path) -> None:
    import pyarrow.parquet as pq
    from datasets import load_from_disk

    w = build_world(sqlite_engine)
    expected = rows_for(sqlite_engine)
    got = export_log(sqlite_engine, ExportFilters(), "jsonl", tmp_path / "log.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text(encoding="utf-8").splitlines()]
    assert got.rows == len(lines) == len(expected)
    assert lines[0]["comment"] == "good\nfix, with a comma"
    assert datetime.fromisoformat(lines[0]["decided_at"]) == expected[0]["decided_at"]

    export_log(sqlite_engine, ExportFilters(), "csv", tmp_path / "log.csv")
    with open(tmp_path / "log.csv", encoding="utf-8", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == list(ROW_FIELDS) and len(table) == len(expected)
    assert (
        table[0]["comment"] == "good\nfix, with a comma"
        and table[0]["round_intents"] == '["fluency", "clarity", "coherence"]'
    )

    export_log(sqlite_engine, ExportFilters(), "parquet", tmp_path / "log.parquet")
    parquet = pq.read_table(tmp_path / "log.parquet")
    assert parquet.num_rows == len(expected) and parquet.column_names == list(ROW_FIELDS)
    assert parquet.column("sentence_final").to_pylist() == [r["sentence_final"] for r in expected]
    assert str(parquet.schema.field("decided_at").type) == "timestamp[us, tz=UTC]"

    result = export_log(sqlite_engine, ExportFilters(), "hf", tmp_path / "log_hf", test_fraction=0.34, seed=1)
    dd = load_from_disk(str(tmp_path / "log_hf"))
    assert set(dd) == {"train", "test"} and result.splits == {
        "train": dd["train"].num_rows,
        "test": dd["test"].num_rows,
    }
    assert dd["train"].num_rows + dd["test"].num_rows == len(expected)
    train_docs, test_docs = set(dd["train"]["document_id"]), set(dd["test"]["document_id"])
    assert train_docs and test_docs and not train_docs & test_docs  # split by document, never by row
    assert {w.doc1, w.doc2, w.doc3} == train_docs | test_docs


def test_parquet_is_written_in_row_group_batches(sqlite_engine: Engine, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    build_world(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        n = write_parquet(iter_decision_rows(s), tmp_path / "b.parquet", batch_rows=2)
    meta = pq.ParquetFile(tmp_path / "b.parquet").metadata
    assert n == 9 and meta.num_row_groups == 5


def test_empty_exports_keep_their_schema(sqlite_engine: Engine, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    export_log(sqlite_engine, ExportFilters(), "parquet", tmp_path / "empty.parquet")
    assert pq.read_table(tmp_path / "empty.parquet").column_names == list(ROW_FIELDS)
    export_log(sqlite_engine, ExportFilters(), "csv", tmp_path / "empty.csv")
    assert (tmp_path / "empty.csv").read_text(encoding="utf-8").splitlines() == [",".join(ROW_FIELDS)]


def test_download_bytes(sqlite_engine: Engine) -> None:
    build_world(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        jsonl = log_bytes(s, ExportFilters(latest_only=True), "jsonl").decode("utf-8").splitlines()
        assert len(jsonl) == 6
        assert log_bytes(s, ExportFilters(), "parquet")[:4] == b"PAR1"
        with pytest.raises(InputError):
            log_bytes(s, ExportFilters(), "xml")


def test_cli_summary_log_and_trl_exports(tmp_path: Path) -> None:
    from datasets import load_from_disk

    from core import db

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    build_world(db.open_database(url))

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "core", "--database-url", url, "export", *args], cwd=REPO, capture_output=True,
            text=True, timeout=300,
        )  # fmt: skip

    done = cli("--summary", "--user", "local", "--since", "2025-01-01")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.splitlines()[0])["summary"]
    assert (summary["decisions"], summary["rows"]) == (4, 7)  # decided edits, and the log's rows
    done = cli("--format", "parquet", "--simulated", "no", "--latest", "-o", str(tmp_path / "x.parquet"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == 5
    done = cli("--format", "dpo", "--test-fraction", "0", "-o", str(tmp_path / "dpo"))
    assert done.returncode == 0, done.stderr
    dd = load_from_disk(str(tmp_path / "dpo"))
    assert dd["train"].column_names == ["prompt", "chosen", "rejected"]
    # builtin edits: CoEdIT-style prompts (the seq2seq default); the accepted "go -> goes" is chosen
    row = next(r for r in dd["train"] if "She go to" in r["prompt"])
    assert row["prompt"] == "Fix the grammar: She go to school every day."
    assert (row["chosen"], row["rejected"]) == ("She goes to school every day.", "She go to school every day.")
    done = cli("--format", "kto", "--prompt-style", "chat", "--file-format", "jsonl", "-o", str(tmp_path / "kto"))
    assert done.returncode == 0, done.stderr
    first = json.loads((tmp_path / "kto" / "train.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert set(first) == {"prompt", "completion", "label"} and first["prompt"][0]["role"] == "system"
    done = cli("--format", "csv", "--since", "not a date", "-o", str(tmp_path / "x.csv"))
    assert done.returncode == 2 and "Cannot read the date" in done.stderr


def test_filters_describe_round_trips() -> None:
    f = ExportFilters(simulated=False, intents=("fluency",), depths=(1, 2), since=OLD, latest_only=True)
    described = f.describe()
    assert described == {"since": OLD.isoformat(), "intents": ["fluency"], "depths": [1, 2], "simulated": False,
                         "latest_only": True}  # fmt: skip
    assert ExportFilters.from_dict(json.loads(json.dumps(described))) == f
