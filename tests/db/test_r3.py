"""R3 / IteraTeR interaction logs: import into threads, rounds, edits and decisions; export back; round trip."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from core import documents
from core.data.r3_export import export_thread, export_threads
from core.data.r3_format import read_paths
from core.data.r3_import import import_r3_paths
from core.db import session_scope
from core.errors import InputError
from core.models import Decision, Document, Round, Thread, User, Version
from core.models import Edit as EditRow
from core.revision import apply, review, rounds, threads
from core.text.edits import diff

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "r3"
REPO = Path(__file__).resolve().parents[2]
SAMPLES = sorted(FIXTURES.glob("*.json"))


def _load(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: ast.literal_eval(v) if k.startswith("rev_depth_") and isinstance(v, str) else v for k, v in data.items()}


def _logged_counts(paths: list[Path]) -> dict[int, dict[str, int]]:
    """Accept/Reject per depth, counted straight from the log files."""
    out: dict[int, dict[str, int]] = {}
    for p in paths:
        data = _load(p)
        for key, value in data.items():
            if not key.startswith("rev_depth_"):
                continue
            depth = int(key.rsplit("_", 1)[1])
            for a in value["doc"].get("edit_actions", []):
                tally = out.setdefault(depth, {"accept": 0, "reject": 0})
                tally[a["accept_or_reject"].lower()] += 1
    return out


def _db_counts(engine: Engine) -> dict[int, dict[str, int]]:
    query = (
        select(Round.depth, Decision.action, func.count(Decision.id))
        .join(EditRow, EditRow.round_id == Round.id)
        .join(Decision, Decision.edit_id == EditRow.id)
        .group_by(Round.depth, Decision.action)
    )
    out: dict[int, dict[str, int]] = {}
    with session_scope(engine) as s:
        for depth, action, n in s.exec(query).all():
            out.setdefault(depth, {"accept": 0, "reject": 0})[action] = n
    return out


def test_import_reproduces_logged_counts_per_depth(engine: Engine) -> None:
    summary = import_r3_paths(engine, [FIXTURES])
    logged = _logged_counts(SAMPLES)
    assert _db_counts(engine) == logged
    assert summary["by_depth"] == {str(k): v for k, v in logged.items()}
    assert (summary["sessions"], summary["threads"], summary["rounds"]) == (3, 3, 9)
    assert summary["accepted"] + summary["rejected"] == summary["edits"] == 48
    with session_scope(engine) as s:
        user = s.exec(select(User).where(User.name == "ann1")).one()
        assert user.role == "annotator"
        threads = s.exec(select(Thread)).all()
        assert {t.user_id for t in threads} == {user.id} and all(t.status == "finished" for t in threads)
        # Each round's base text is the logged before_revision, its result the human-evaluated text.
        doc = s.exec(select(Document).where(Document.title == "2105.10704-depth-1")).one()
        data = _load(FIXTURES / "ann1-MODEL-2105.10704-depth-1-entire_doc-02-27-2022-17-22-21.json")
        for rnd in s.exec(select(Round).join(Thread).where(Thread.document_id == doc.id).order_by(Round.depth)):
            logged_doc = data[f"rev_depth_{rnd.depth}"]["doc"]
            assert s.get(Version, rnd.base_version_id).text == logged_doc["before_revision"]
            assert s.get(Version, rnd.result_version_id).text == logged_doc["after_human_evaluation"]
            assert rnd.status == "applied"
        assert documents.head_version(s, doc.id).text == data["rev_depth_3"]["doc"]["after_human_evaluation"]
        # Decision timestamps come from the file name (UTC).
        first = s.exec(select(Decision).order_by(Decision.id)).first()
        assert first.created_at.isoformat().startswith("2022-02-27T17:22:21")


def test_import_twice_adds_nothing(sqlite_engine: Engine) -> None:
    import_r3_paths(sqlite_engine, SAMPLES)
    again = import_r3_paths(sqlite_engine, SAMPLES)
    assert again["sessions"] == 0 and len(again["skipped"]) == 3
    assert all("already imported" in s for s in again["skipped"])
    with session_scope(sqlite_engine) as s:
        assert s.exec(select(func.count(Thread.id))).one() == 3
        assert s.exec(select(func.count(Document.id))).one() == 3


def test_export_gives_the_log_back_exactly(engine: Engine, tmp_path: Path) -> None:
    summary = import_r3_paths(engine, [FIXTURES])
    written = export_threads(engine, summary["thread_ids"], tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(p.name for p in SAMPLES)
    for path in written:
        assert _load(path) == _load(FIXTURES / path.name)


def test_round_trip_through_a_fresh_database(sqlite_engine: Engine, tmp_path: Path) -> None:
    from core import db

    first = import_r3_paths(sqlite_engine, [FIXTURES])
    export_threads(sqlite_engine, first["thread_ids"], tmp_path / "out")
    other = db.open_database(f"sqlite:///{tmp_path / 'other.db'}")
    second = import_r3_paths(other, [tmp_path / "out"])
    assert {k: v for k, v in second.items() if k != "thread_ids"} == {
        k: v for k, v in first.items() if k != "thread_ids"
    }
    assert _db_counts(other) == _db_counts(sqlite_engine)


def test_python_literal_rounds_and_two_annotators_share_a_document(sqlite_engine: Engine, tmp_path: Path) -> None:
    data = json.loads(SAMPLES[0].read_text(encoding="utf-8"))
    # R3 saved some rounds as Python literals (single quotes, True/None): the same session, so written.
    data["rev_depth_2"] = repr(data["rev_depth_2"])
    data["rev_depth_1"]["doc"]["edit_actions"][0]["accept_or_reject"] = "Reject"
    name = "ann2" + SAMPLES[0].name[4:]
    (tmp_path / name).write_text(json.dumps(data), encoding="utf-8")
    summary = import_r3_paths(sqlite_engine, [SAMPLES[0], tmp_path / name])
    assert summary["sessions"] == 2
    with session_scope(sqlite_engine) as s:
        assert s.exec(select(func.count(Document.id))).one() == 1  # one document, two threads
        threads = s.exec(select(Thread).order_by(Thread.id)).all()
        names = [s.get(User, t.user_id).name for t in threads]
        assert names == ["ann1", "ann2"]
        exported = export_thread(s, threads[1].id)
    assert isinstance(exported["rev_depth_2"], str)  # written back in the form it came in
    assert ast.literal_eval(exported["rev_depth_2"]) == ast.literal_eval(data["rev_depth_2"])
    assert exported["rev_depth_1"]["doc"]["edit_actions"][0]["accept_or_reject"] == "Reject"


def test_per_round_files_chain_into_one_thread(sqlite_engine: Engine, tmp_path: Path) -> None:
    data = _load(SAMPLES[1])
    folder = tmp_path / "ann3"
    folder.mkdir()
    # One `doc` per file, no depth given: the order comes from how the texts chain (files named out of order).
    for depth, name in ((1, "c.json"), (2, "a.json"), (3, "b.json")):
        (folder / name).write_text(json.dumps({"doc": data[f"rev_depth_{depth}"]["doc"]}), encoding="utf-8")
    summary = import_r3_paths(sqlite_engine, [folder])
    assert summary["sessions"] == 1 and summary["rounds"] == 3
    assert summary["by_depth"] == {str(k): v for k, v in _logged_counts([SAMPLES[1]]).items()}
    with session_scope(sqlite_engine) as s:
        thread = s.exec(select(Thread)).one()
        assert s.get(User, thread.user_id).name == "ann3"  # from the folder name


def test_jsonl_rounds_with_explicit_depth(sqlite_engine: Engine, tmp_path: Path) -> None:
    data = _load(SAMPLES[2])
    lines = [json.dumps({**data[f"rev_depth_{d}"]["doc"], "revision_depth": d}) for d in (3, 1, 2)]
    path = tmp_path / "ann7-rounds.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = import_r3_paths(sqlite_engine, [path])
    assert summary["rounds"] == 3
    assert summary["by_depth"] == {str(k): v for k, v in _logged_counts([SAMPLES[2]]).items()}


def test_bad_files_are_reported_and_skipped(sqlite_engine: Engine, tmp_path: Path) -> None:
    data = _load(SAMPLES[0])
    data["rev_depth_1"]["doc"]["edit_actions"][0]["before"] = "not in the text"
    bad = tmp_path / "ann1-bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "ann1-broken.json").write_text("{not json", encoding="utf-8")
    files = [bad, tmp_path / "ann1-broken.json", SAMPLES[1]]
    nothing = import_r3_paths(sqlite_engine, files)  # by default one refused file stops the import
    assert nothing["sessions"] == 0 and any("nothing was imported" in s for s in nothing["refused"])
    summary = import_r3_paths(sqlite_engine, files, skip_bad=True)
    assert summary["sessions"] == 1
    assert any("ann1-bad.json" in s and "expects" in s for s in summary["refused"])
    assert any("ann1-broken.json" in s for s in summary["refused"])
    with session_scope(sqlite_engine) as s:
        assert s.exec(select(func.count(Thread.id))).one() == 1  # the bad session left nothing behind
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="No R3 logs"):
        import_r3_paths(sqlite_engine, [tmp_path / "empty"])


def test_a_native_thread_exports_to_r3_and_imports_back(sqlite_engine: Engine, tmp_path: Path) -> None:
    from core import db

    text = "She go to school every day. The results was good."
    with session_scope(sqlite_engine) as s:
        doc = documents.create_document(s, "native", text)
        user = documents.default_user(s)
        thread = threads.active_thread(s, doc.id, user.id)
        rnd = rounds.begin_round(s, thread.id, rounds.RoundSettings())
        rnd.status = "reviewing"
        rows = rounds.store_edits(s, rnd.id, text, diff(text, "She goes to school every day. The results were good."))
        assert len(rows) == 2
        review.decide(s, rows[0].id, user.id, "accept")
        review.decide(s, rows[1].id, user.id, "reject")
        apply.apply_round(s, rnd.id, user.id)
        thread_id = thread.id
    with session_scope(sqlite_engine) as s:
        exported = export_thread(s, thread_id)
    doc1 = exported["rev_depth_1"]["doc"]
    assert exported["rev_depth_0"]["doc"]["before_revision"] == text
    assert [a["accept_or_reject"] for a in doc1["edit_actions"]] == ["Accept", "Reject"]
    assert doc1["after_human_evaluation"] == "She goes to school every day. The results was good."
    assert exported["rejected_edit_actions"] == [["was", "were", "", "R"]]
    files = export_threads(sqlite_engine, [thread_id], tmp_path / "out")
    sessions, problems = read_paths(files)
    assert not problems and sessions[0].annotator.startswith("ann")
    other = db.open_database(f"sqlite:///{tmp_path / 'other.db'}")
    summary = import_r3_paths(other, files)
    assert summary["by_depth"] == {"1": {"accept": 1, "reject": 1}}


def test_a_round_under_review_exports_with_the_decisions_so_far(sqlite_engine: Engine) -> None:
    text = "She go to school every day. The results was good."
    with session_scope(sqlite_engine) as s:
        doc = documents.create_document(s, "reviewing", text)
        user = documents.default_user(s)
        thread = threads.active_thread(s, doc.id, user.id)
        rnd = rounds.begin_round(s, thread.id, rounds.RoundSettings())
        rnd.status = "reviewing"
        rows = rounds.store_edits(s, rnd.id, text, diff(text, "She goes to school every day. The results were good."))
        review.decide(s, rows[0].id, user.id, "modify", modified_text="went")
        thread_id = thread.id
    with session_scope(sqlite_engine) as s:
        exported = export_thread(s, thread_id)
    doc1 = exported["rev_depth_1"]["doc"]
    assert [a["accept_or_reject"] for a in doc1["edit_actions"]] == ["Accept", None]
    assert doc1["edit_actions"][0]["after"] == "went" and doc1["edit_actions"][0]["model_after"] == "goes"
    assert doc1["after_human_evaluation"] == "She went to school every day. The results was good."
    with session_scope(sqlite_engine) as s:
        (decision,) = s.exec(select(Decision)).all()
        assert decision.round_id == rnd.id


def test_cli_import_and_export_r3(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "core", "--database-url", url, *args], cwd=REPO, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip

    done = cli("import", "--format", "r3", str(FIXTURES))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["decisions"] == 48
    # The analytics CLI reproduces the acceptance counts of the logs, depth by depth.
    done = cli("stats", "--by", "depth", "--json")
    assert done.returncode == 0, done.stderr
    by_depth = {r["depth"]: {"accept": r["accepted"], "reject": r["rejected"]} for r in json.loads(done.stdout)}
    assert by_depth == _logged_counts(SAMPLES)
    out = tmp_path / "r3out"
    done = cli("export", "--format", "r3", "--user", "ann1", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["threads"] == 3
    for path in out.glob("*.json"):
        assert _load(path) == _load(FIXTURES / path.name)


def test_imported_specs_are_not_offered_as_proposers(tmp_path):
    from core import db
    from core.data.r3_import import import_r3_paths
    from core.db import session_scope
    from core.specs import list_specs
    from tests.conftest import REPO

    engine = db.open_database(f"sqlite:///{tmp_path / 'r3.db'}")
    import_r3_paths(engine, [REPO / "tests" / "fixtures" / "r3"])
    with session_scope(engine) as s:
        kinds = {row.kind for row in list_specs(s)}
    assert "imported" not in kinds
    db.dispose_engines()
