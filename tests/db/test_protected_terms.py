"""Protected terms through the service and a round, on SQLite and PostgreSQL: the issue's example,
"Don't change genQA, GigaBERT, mBERT, XLM-R", leaves those words alone in every round."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from core import access, documents, users
from core.access import Actor, PermissionDenied
from core.db import session_scope
from core.errors import InputError, NotFoundError
from core.models import HiddenKind, RoundStatus
from core.proposers.base import ITERATER_INTENTS
from core.revision import review, rounds, threads
from core.services import protected
from tests.proposers_for_tests import ReplaceProposer

TEXT = "We evaluate GigaBERT, mBERT and XLM-R on the genQA benchmark. Thses results is fine."
FEEDBACK = "Don't change genQA, GigaBERT, mBERT, XLM-R"


def _actor(engine: Engine, name: str | None, role: str = "writer") -> Actor:
    with session_scope(engine) as s:
        uid = documents.default_user(s).id if name is None else users.create_user(s, name, role).id
        return access.actor_for(s, uid)


@pytest.fixture
def setup(engine: Engine) -> tuple[Actor, Actor, int, int]:
    admin = _actor(engine, None)
    writer = _actor(engine, "wendy")
    with session_scope(engine) as s:
        doc = documents.create_document(s, "Paper", TEXT).id
        other = documents.create_document(s, "Other", "GigaBERT again.").id
    return admin, writer, doc, other


def _round(engine: Engine, document_id: int, user_id: int, proposer=None, feedback: str = ""):
    with session_scope(engine) as s:
        thread_id = threads.active_thread(s, document_id, user_id).id
    settings = rounds.RoundSettings(intents=ITERATER_INTENTS, feedback=feedback)
    return rounds.propose_round(engine, thread_id, settings, proposer=proposer)


def test_feedback_terms_confirmed_then_no_builtin_edit_touches_them(engine, setup):
    admin, writer, doc, _ = setup
    found = protected.terms_from_feedback(FEEDBACK)
    assert found == ["genQA", "GigaBERT", "mBERT", "XLM-R"]
    for term in found:  # the writer confirmed all four
        protected.protect_term(engine, writer, document_id=doc, term=term, source="feedback")
    rnd = _round(engine, doc, writer.user_id, feedback=FEEDBACK)  # the real built-in rules
    assert rnd.status == RoundStatus.REVIEWING
    assert rnd.request["protected_terms"] == sorted(found)
    with session_scope(engine) as s:
        view = review.round_view(s, rnd.id, writer.user_id)
        changed = [e.row.before for e in [*view.edits, *view.hidden]]
    assert "Thses" in changed  # the rest is still revised
    assert not set(changed) & set(found)


def test_model_edits_touching_a_term_are_hidden_with_the_reason(engine, setup):
    _, writer, doc, _ = setup
    protected.protect_term(engine, writer, document_id=doc, term="GigaBERT")
    model = ReplaceProposer({"GigaBERT": "Gilbert", "Thses": "These"})
    rnd = _round(engine, doc, writer.user_id, proposer=model)
    assert model.calls[0].protected_terms == ("GigaBERT",)
    with session_scope(engine) as s:
        view = review.round_view(s, rnd.id, writer.user_id)
    assert [e.row.before for e in view.edits] == ["Thses"]
    (hidden,) = view.hidden
    assert (hidden.row.hidden_kind, hidden.row.hidden_value) == (HiddenKind.PROTECTED_TERM, "GigaBERT")
    assert hidden.row.hidden_reason == "changes a protected term: GigaBERT"


def test_document_and_project_scopes_and_listing(engine, setup):
    admin, writer, doc, other = setup
    a = protected.protect_term(engine, writer, document_id=doc, term=" GigaBERT ")
    again = protected.protect_term(engine, writer, document_id=doc, term="GigaBERT")
    assert again.id == a.id and a.term == "GigaBERT" and a.scope == "document" and a.document_title == "Paper"
    p = protected.protect_term(engine, admin, document_id=doc, term="XLM-R", scope="project", source="learning")
    assert p.scope == "project" and p.document_id is None
    assert [t.term for t in protected.list_terms(engine, writer, document_id=doc)] == ["XLM-R", "GigaBERT"]
    assert [t.term for t in protected.list_terms(engine, writer, document_id=other)] == ["XLM-R"]
    assert {t.term for t in protected.list_terms(engine, writer, project_id=p.project_id)} == {"XLM-R", "GigaBERT"}
    with pytest.raises(InputError):
        protected.list_terms(engine, writer)
    with pytest.raises(InputError):
        protected.protect_term(engine, writer, document_id=doc, term="x", scope="everywhere")
    with pytest.raises(InputError):
        protected.protect_term(engine, writer, document_id=doc, term="   ")


def test_permissions(engine, setup):
    admin, writer, doc, _ = setup
    annotator = _actor(engine, "anna", "annotator")
    other = _actor(engine, "otto")
    with pytest.raises(PermissionDenied):
        protected.protect_term(engine, annotator, document_id=doc, term="GigaBERT")
    with pytest.raises(PermissionDenied):  # a writer does not own the project
        protected.protect_term(engine, writer, document_id=doc, term="GigaBERT", scope="project")
    mine = protected.protect_term(engine, writer, document_id=doc, term="GigaBERT")
    project_term = protected.protect_term(engine, admin, document_id=doc, term="mBERT", scope="project")
    with pytest.raises(PermissionDenied):
        protected.remove_term(engine, writer, project_term.id)
    with pytest.raises(PermissionDenied):
        protected.remove_term(engine, annotator, mine.id)
    protected.remove_term(engine, other, mine.id)  # documents are shared by everyone working in the project
    protected.remove_term(engine, admin, project_term.id)
    assert protected.list_terms(engine, writer, document_id=doc) == []
    with pytest.raises(NotFoundError):
        protected.remove_term(engine, writer, mine.id)
