"""A built-in round carries the intents of its rules, so per-intent bulk actions do something useful."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from core import access, documents
from core.db import session_scope
from core.decisions import EditStatus
from core.proposers.base import ITERATER_INTENTS, SpecData
from core.revision import rounds, threads
from core.revision.rounds import RoundSettings
from core.services import review as review_service

# a redundant phrase (clarity), a misspelling (fluency), an outdated place name (meaning-changed: the
# first build called Harper's WordChoice rules clarity), an agreement error (fluency)
TEXT = "He is a very unique person. We ran thses tests again in East Timor. She have a plan."


def test_a_builtin_round_has_several_intents_and_bulk_by_intent_acts_on_one(engine: Engine) -> None:
    settings = RoundSettings(spec=SpecData(kind="builtin"), intents=ITERATER_INTENTS)
    with session_scope(engine) as s:
        doc = documents.create_document(s, "intents", TEXT)
        user_id = documents.default_user(s).id
        thread_id = threads.active_thread(s, doc.id, user_id).id
        actor = access.actor_for(s, user_id)
    rnd = rounds.propose_round(engine, thread_id, settings)
    view = review_service.round_view(engine, actor, rnd.id)
    by_intent: dict[str, list[str]] = {}
    for e in view.edits:
        by_intent.setdefault(e.row.intent, []).append(TEXT[e.row.start : e.row.end] + "->" + e.row.after)
    assert {"fluency", "clarity", "meaning-changed"} <= set(by_intent), by_intent
    assert by_intent["meaning-changed"] == ["East Timor->Timor-Leste"]
    assert "thses->these" in by_intent["fluency"]  # the ranked alternative, not the engine's "theses"

    rejected = review_service.bulk_decide(engine, actor, rnd.id, "reject", intent="clarity")
    assert rejected == len(by_intent["clarity"])
    after = review_service.round_view(engine, actor, rnd.id)
    status: dict[str, set[str]] = {e.row.intent: set() for e in after.edits}
    for e in after.edits:
        status[e.row.intent].add(e.status)
    assert status["clarity"] == {EditStatus.REJECT}
    assert status["fluency"] == status["meaning-changed"] == {EditStatus.PENDING}  # the others are untouched
    assert after.preview_text() == view.preview_text()  # nothing accepted yet: the text is unchanged
