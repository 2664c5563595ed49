"""Versions are numbered within their document (v1, v2, …), never by the global id: in the history,
the Revise state, restores, exports and the CLI."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from core import db, documents
from core.access import Actor
from core.data.export_query import ExportFilters, iter_decision_rows
from core.db import read_scope, session_scope
from core.models import VersionOrigin
from core.revision import review, rounds, threads
from core.services import accounts, history, revision
from tests.db.test_cli_documents import run_cli
from tests.proposers_for_tests import ReplaceProposer


def interleaved(engine: Engine) -> tuple[int, int, list[int]]:
    """Two documents whose versions were made in turns, so global ids and per-document numbers differ:
    (first document, second document, the second document's version ids)."""
    with session_scope(engine) as s:
        a = documents.create_document(s, "A", "Teh first text.")
        b = documents.create_document(s, "B", "Teh second text.")
        documents.add_version(s, a.id, "The first text.", origin=VersionOrigin.MANUAL)
        documents.add_version(s, b.id, "The second text.", origin=VersionOrigin.MANUAL)
        documents.add_version(s, a.id, "The first text, again.", origin=VersionOrigin.MANUAL)
        return a.id, b.id, [v.id for v in documents.versions(s, b.id)]


def test_numbers_count_within_each_document(engine: Engine) -> None:
    a, b, b_ids = interleaved(engine)
    with read_scope(engine) as s:
        a_ids = [v.id for v in documents.versions(s, a)]
        assert documents.version_numbers(s, a) == {a_ids[0]: 1, a_ids[1]: 2, a_ids[2]: 3}
        assert documents.version_numbers(s, b) == {b_ids[0]: 1, b_ids[1]: 2}
        assert b_ids[1] > 3  # its global id is not its number
        assert documents.version_number(s, b_ids[1]) == 2


def test_history_and_restore_name_versions_by_number(engine: Engine) -> None:
    _, b, b_ids = interleaved(engine)
    me = local_actor(engine)
    found = history.version_history(engine, me, b)
    assert [found.label(v.id) for v in found.versions] == ["v1", "v2"]
    restored = history.restore_version(engine, me, b, b_ids[0])
    assert restored.note == "Restored from v1."
    assert history.version_history(engine, me, b).label(restored.id) == "v3"


def local_actor(engine: Engine) -> Actor:
    return accounts.actor(engine, accounts.local_user_id(engine))


def test_revise_state_finish_and_export_use_numbers(engine: Engine) -> None:
    a, b, _ = interleaved(engine)
    me = local_actor(engine)
    user_id = me.user_id
    with session_scope(engine) as s:
        thread_id = threads.active_thread(s, b, user_id).id
    rnd = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer({"second": "2nd"}))
    with session_scope(engine) as s:
        (edit,) = review.round_view(s, rnd.id, user_id).edits
        review.decide(s, edit.row.id, user_id, "accept")
    state = revision.revision_state(engine, me, b)
    assert state.version_label(rnd.base_version_id) == "v2"
    done = revision.finish(engine, me, thread_id, rnd.id)
    assert done.applied_version_number == 3 and done.applied_version_id > 3
    with read_scope(engine) as s:
        (row,) = list(iter_decision_rows(s, ExportFilters(document_ids=(b,))))
    assert (row["base_version"], row["result_version"]) == (2, 3)
    assert row["base_version_id"] != 2


def test_cli_show_lists_and_prints_versions_by_number(db_url: str) -> None:
    assert run_cli(db_url, "init-db").returncode == 0
    a, b, _ = interleaved(db.open_database(db_url))
    db.dispose_engines()
    listed = run_cli(db_url, "show", str(b), "--versions").stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["v1", "v2"] and listed[1].endswith("current")
    assert run_cli(db_url, "show", str(b), "--version", "v1").stdout == "Teh second text.\n"
    assert run_cli(db_url, "show", str(a), "--version", "3").stdout == "The first text, again.\n"
    missing = run_cli(db_url, "show", str(b), "--version", "3")
    assert missing.returncode != 0 and "has no version v3: it has v1 to v2" in missing.stderr
