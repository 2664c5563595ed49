"""Direct edits while reviewing (issue 13): a change made by hand becomes a version with origin
"manual" and the round's new base; the round's edits it touches are dropped with the reason stored,
the others move and stay decidable; a stale page or a closed round is refused with nothing stored.
On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlmodel import select

from core import access, documents, users
from core.access import PermissionDenied
from core.data.export import ExportFilters
from core.db import session_scope
from core.errors import ConflictError, InputError
from core.models import Edit, HiddenKind, Round, Version, VersionOrigin
from core.revision import apply, review, rounds, threads
from core.revision.apply import RoundNotUnderReview
from core.services import accounts, downloads, exports, manual
from core.services import review as review_service
from tests.proposers_for_tests import ReplaceProposer

TEXT = "We recieve teh report untill noon. It is teh one wich we read."
RULES = {"recieve": "receive", "teh": "the", "untill": "until", "wich": "which"}


@pytest.fixture
def reviewing(engine):
    with session_scope(engine) as s:
        doc = documents.create_document(s, "Notes", TEXT)
        user_id = documents.default_user(s).id
        thread_id = threads.active_thread(s, doc.id, user_id).id
        doc_id, base_id = doc.id, doc.head_version_id
    rnd = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer(RULES))
    me = accounts.actor(engine, user_id)
    with session_scope(engine) as s:
        ids = {e.row.before + str(e.row.start): e.row.id for e in review.edit_states(s, rnd.id, user_id)}
    return doc_id, rnd.id, base_id, me, ids


def _view(engine, round_id, user_id):
    with session_scope(engine) as s:
        return review.round_view(s, round_id, user_id)


def test_a_change_by_hand_becomes_the_base_and_moves_or_drops_the_edits(engine, reviewing):
    doc_id, round_id, base_id, me, _ = reviewing
    first_teh = next(e for e in _view(engine, round_id, me.user_id).edits if e.row.before == "teh")
    review_service.decide(engine, me, round_id, first_teh.row.id, "accept")
    new_text = "Today we recieve teh report until noon. It is teh one wich we read."
    done = manual.edit_text(engine, me, round_id, new_text, seen_version_id=base_id)

    with session_scope(engine) as s:
        version = s.get(Version, done.version_id)
        assert (version.text, version.origin, version.parent_id) == (new_text, VersionOrigin.MANUAL, base_id)
        assert documents.get_document(s, doc_id).head_version_id == done.version_id
        assert s.get(Round, round_id).base_version_id == done.version_id
        (gone,) = [s.get(Edit, i) for i in done.dropped]
        assert (gone.before, gone.hidden_kind) == ("untill", HiddenKind.MANUAL_EDIT)
        assert gone.hidden_reason == f"dropped: the text there was changed by hand (version #{done.version_id})"
    view = _view(engine, round_id, me.user_id)
    assert view.base_text == new_text and done.kept == 4
    assert [e.row.before for e in view.edits] == ["recieve", "teh", "teh", "wich"]  # "untill" is gone
    for e in view.edits:  # each moved onto the new text
        assert new_text[e.row.start : e.row.end] == e.row.before
    assert [e.status for e in view.edits] == ["pending", "accept", "pending", "pending"]  # decisions stand
    # the dropped edit can no longer be decided; the others can
    with pytest.raises(ConflictError, match="changed by hand"):
        review_service.decide(engine, me, round_id, done.dropped[0], "accept")
    review_service.decide(engine, me, round_id, view.edits[3].row.id, "accept")
    with session_scope(engine) as s:
        result = apply.apply_round(s, round_id, me.user_id)
        assert result.text == "Today we recieve the report until noon. It is teh one which we read."
        assert result.parent_id == done.version_id


def test_a_stale_page_a_closed_round_or_no_change_is_refused_and_nothing_stored(engine, reviewing):
    _, round_id, base_id, me, _ = reviewing
    done = manual.edit_text(engine, me, round_id, TEXT + " More.", seen_version_id=base_id)
    with session_scope(engine) as s:
        versions = len(s.exec(select(Version)).all())
    with pytest.raises(ConflictError, match="changed in another tab"):  # drawn before the first change
        manual.edit_text(engine, me, round_id, TEXT + " Other.", seen_version_id=base_id)
    with pytest.raises(InputError, match="unchanged"):
        manual.edit_text(engine, me, round_id, TEXT + " More.", seen_version_id=done.version_id)
    with session_scope(engine) as s:
        apply.apply_round(s, round_id, me.user_id)
    with pytest.raises(RoundNotUnderReview):
        manual.edit_text(engine, me, round_id, "Late.", seen_version_id=done.version_id)
    with session_scope(engine) as s:
        assert len(s.exec(select(Version)).all()) == versions + 1  # only the applied round's version


def test_only_the_thread_owner_edits_by_hand(engine, reviewing):
    _, round_id, base_id, _, _ = reviewing
    with session_scope(engine) as s:
        other = access.actor_for(s, users.create_user(s, "ivan", "writer").id)
    with pytest.raises(PermissionDenied):
        manual.edit_text(engine, other, round_id, "Mine now.", seen_version_id=base_id)
    with session_scope(engine) as s:
        assert s.get(Round, round_id).base_version_id == base_id


def test_a_change_by_hand_is_in_the_edit_log_and_the_exports(engine, reviewing):
    doc_id, round_id, base_id, me, _ = reviewing
    review_service.decide(engine, me, round_id, _view(engine, round_id, me.user_id).edits[0].row.id, "accept")
    done = manual.edit_text(engine, me, round_id, TEXT.replace("noon", "midday"), seen_version_id=base_id)
    log = [json.loads(x) for x in downloads.edit_log_bytes(engine, me, doc_id, "jsonl").decode().splitlines()]
    assert [r["action"] for r in log] == ["accept", "manual"]
    by_hand = log[1]
    assert (by_hand["before"], by_hand["after"], by_hand["user_name"]) == ("noon", "midday", me.name)
    assert (by_hand["base_version_id"], by_hand["result_version_id"]) == (base_id, done.version_id)
    assert (by_hand["round_id"], by_hand["document_id"], by_hand["depth"]) == (round_id, doc_id, 1)
    assert by_hand["sentence"] == "We recieve teh report untill noon."
    assert TEXT[by_hand["start"] : by_hand["end"]] == "noon"
    exported = list(csv.DictReader(io.StringIO(exports.log_bytes(engine, me, ExportFilters(), "csv").decode())))
    assert [(r["action"], r["before"], r["after"]) for r in exported][-1] == ("manual", "noon", "midday")
    # filters that only mean something for decisions leave it out; the TRL data never sees it
    only = exports.log_bytes(engine, me, ExportFilters(actions=("accept",)), "jsonl").decode()
    assert '"manual"' not in only
    stands = exports.log_bytes(engine, me, ExportFilters(latest_only=True), "jsonl").decode()
    assert '"manual"' not in stands
