"""The watermark the cached page summaries are keyed by moves with every change they could show."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from core import documents
from core.db import session_scope
from core.learning import muting, preference
from core.revision import review, rounds, threads
from core.services.freshness import watermark
from tests.proposers_for_tests import ReplaceProposer


def test_watermark_moves_with_decisions_renames_deletes_mutes_and_settings(engine: Engine) -> None:
    marks = [watermark(engine)]
    with session_scope(engine) as s:
        doc = documents.create_document(s, "Essay", "Teh cat sat.")
        user_id = documents.default_user(s).id
        project_id = documents.default_project(s).id
        thread_id = threads.active_thread(s, doc.id, user_id).id
        doc_id = doc.id
    marks.append(watermark(engine))
    rnd = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer({"Teh": "The"}))
    marks.append(watermark(engine))
    with session_scope(engine) as s:
        (edit,) = review.round_view(s, rnd.id, user_id).edits
        review.decide(s, edit.row.id, user_id, "accept")
    marks.append(watermark(engine))
    assert watermark(engine) == marks[-1]  # nothing changed, nothing moved
    with session_scope(engine) as s:
        documents.rename_document(s, doc_id, "Essay, renamed")
    marks.append(watermark(engine))
    with session_scope(engine) as s:
        mute = muting.mute(s, project_id, "rule", "test:Teh", user_id=user_id)
    marks.append(watermark(engine))
    with session_scope(engine) as s:
        muting.unmute(s, mute.id, by_user_id=user_id)
    marks.append(watermark(engine))
    with session_scope(engine) as s:
        preference.update_profile(s, project_id, user_id, threshold=0.3)
    marks.append(watermark(engine))
    with session_scope(engine) as s:
        documents.delete_document(s, doc_id, user_id)
    marks.append(watermark(engine))
    assert len(set(marks)) == len(marks), marks
