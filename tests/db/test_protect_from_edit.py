"""Never change "X" from an edit (issue 13): the term comes from the edit's original span, it is
protected for the document, and the round's pending edits that change it are hidden; on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from core import access, documents, users
from core.access import Actor, PermissionDenied
from core.db import session_scope
from core.errors import InputError
from core.models import HiddenKind, ProtectedTerm, TermSource
from core.proposers.base import ProposalRequest, ProposalResult, SpecData, Suggestion
from core.revision import review, rounds, threads
from core.services import protected
from core.services import review as review_service
from core.services.review_payload import review_payload
from core.text.terms import term_of_change
from tests.proposers_for_tests import ReplaceProposer

TEXT = "We evaluate GigaBERT, mBERT and (XLM-R). Thses results beat GigaBERT easily."


def _actor(engine: Engine, name: str, role: str = "writer") -> Actor:
    with session_scope(engine) as s:
        return access.actor_for(s, users.create_user(s, name, role).id)


def _round(engine: Engine, document_id: int, actor: Actor, rules: dict[str, str]) -> int:
    with session_scope(engine) as s:
        thread_id = threads.active_thread(s, document_id, actor.user_id).id
    return rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer(rules)).id


def _edits(engine: Engine, round_id: int, user_id: int) -> dict[str, list]:
    with session_scope(engine) as s:
        view = review.round_view(s, round_id, user_id)
        return {
            "shown": [(e.row.id, e.row.before, e.status) for e in view.edits],
            "hidden": [(e.row.id, e.row.before, e.row.hidden_kind, e.row.hidden_reason) for e in view.hidden],
        }


@pytest.fixture
def writer_round(engine: Engine) -> tuple[Actor, int, int]:
    writer = _actor(engine, "wendy")
    with session_scope(engine) as s:
        doc = documents.create_document(s, "Paper", TEXT).id
    rnd = _round(engine, doc, writer, {"GigaBERT": "Gilbert", "Thses": "These", "mBERT": "Bert", "XLM-R": "XML-R"})
    return writer, doc, rnd


def test_the_edited_term_is_protected_and_its_pending_edits_hidden(engine, writer_round):
    writer, doc, rnd = writer_round
    by_before = {}
    for edit_id, before, _ in _edits(engine, rnd, writer.user_id)["shown"]:
        by_before.setdefault(before, []).append(edit_id)
    first, second = by_before["GigaBERT"]
    review_service.decide(engine, writer, rnd, by_before["mBERT"][0], "accept")

    done = protected.protect_edit_term(engine, writer, first)
    assert (done.term.term, done.term.scope, done.term.source) == ("GigaBERT", "document", TermSource.EDIT)
    assert done.term.document_id == doc
    assert sorted(done.hidden_edit_ids) == sorted([first, second])  # both occurrences
    after = _edits(engine, rnd, writer.user_id)
    assert [b for _, b, _ in after["shown"]] == ["mBERT", "XLM-R", "Thses"]
    assert {(b, k, r) for _, b, k, r in after["hidden"]} == {
        ("GigaBERT", HiddenKind.PROTECTED_TERM, "changes a protected term: GigaBERT")
    }
    # a decided edit is the person's own choice: protecting its term afterwards leaves it as decided
    done = protected.protect_edit_term(engine, writer, by_before["mBERT"][0])
    assert done.term.term == "mBERT" and done.hidden_edit_ids == ()
    # punctuation around the word is not part of the term
    xlmr = protected.protect_edit_term(engine, writer, by_before["XLM-R"][0])
    assert xlmr.term.term == "XLM-R" and xlmr.hidden_edit_ids == (by_before["XLM-R"][0],)
    # protecting again returns the stored term, nothing twice
    assert (
        protected.protect_edit_term(engine, writer, first).term.id
        == protected.protect_edit_term(engine, writer, second).term.id
    )
    with session_scope(engine) as s:
        assert sorted(t.term for t in s.exec(select(ProtectedTerm)).all()) == ["GigaBERT", "XLM-R", "mBERT"]
    # the document's terms now hold it (every later round's request reads them)
    assert sorted(t.term for t in protected.list_terms(engine, writer, document_id=doc)) == [
        "GigaBERT",
        "XLM-R",
        "mBERT",
    ]


class OneSpace:
    """Makes a double space single: an edit that changes no word."""

    spec = SpecData(kind="builtin", params={"test": "one space"})

    def propose(self, request: ProposalRequest) -> ProposalResult:
        at = request.text.index("  ")
        return ProposalResult(suggestions=[Suggestion(at, at + 2, " ", intent="fluency")])


def test_an_edit_that_changes_no_word_or_someone_elses_edit_is_refused(engine, writer_round):
    writer, _, rnd = writer_round
    with session_scope(engine) as s:
        spaced = documents.create_document(s, "Spaces", "One  two three.").id
        thread_id = threads.active_thread(s, spaced, writer.user_id).id
    space_round = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=OneSpace()).id
    ((space_edit, before, _),) = _edits(engine, space_round, writer.user_id)["shown"]
    assert before.strip() == ""
    with pytest.raises(InputError, match="changes no word"):
        protected.protect_edit_term(engine, writer, space_edit)
    # another writer may not protect terms from this writer's edits, nor see them
    intruder = _actor(engine, "ivan")
    gigabert = next(i for i, b, _ in _edits(engine, rnd, writer.user_id)["shown"] if b == "GigaBERT")
    with pytest.raises(PermissionDenied):
        protected.protect_edit_term(engine, intruder, gigabert)
    with session_scope(engine) as s:
        assert s.exec(select(ProtectedTerm)).all() == []  # nothing stored by either
    assert [b for _, b, _ in _edits(engine, rnd, writer.user_id)["shown"]].count("GigaBERT") == 2


def test_the_term_of_a_change():
    text = "We use (XLM-R), GigaBERT and gen QA. Done ,x"
    at = text.index
    assert term_of_change(text, at("XLM"), at("XLM") + 3) == "XLM-R"  # widened to the word, brackets off
    assert term_of_change(text, at("Giga") + 2, at("Giga") + 4) == "GigaBERT"
    assert term_of_change(text, at("gen"), at("QA") + 2) == "gen QA"  # a phrase stays a phrase
    assert term_of_change(text, at("and"), at("and")) is None  # an insertion alters no word
    assert term_of_change(text, at(" ,x"), at(" ,x") + 2) is None  # spaces and punctuation only
    assert term_of_change(text, 5, 3) is None and term_of_change(text, 0, 999) is None


def test_the_review_offers_the_word_an_edit_changes_and_none_for_punctuation(engine):
    writer = _actor(engine, "nora")
    with session_scope(engine) as s:
        doc = documents.create_document(s, "Offer", TEXT).id
    rnd = _round(engine, doc, writer, {"GigaBERT": "Gilbert", "easily": "easily,"})
    with session_scope(engine) as s:
        view = review.round_view(s, rnd, writer.user_id)
    offered = {e["b"]: e["nt"] for e in review_payload(view, scope="s")["edits"]}
    assert offered.pop("GigaBERT") == "GigaBERT"  # both occurrences
    assert set(offered.values()) == {None}, offered  # a comma added changes no word
    assert offered  # the comma edit is there


def test_the_whole_project_is_offered_to_its_owner_or_an_admin_only(engine, writer_round):
    """Beside "Never change" the review offers "…in every document of this project" (payload "pp") to
    those core lets protect project-wide; the check holds in core whatever the page offered."""
    writer, doc, rnd = writer_round
    admin = _actor(engine, "ada", "admin")
    assert protected.may_protect_in_project(engine, writer, rnd) is False  # the writer does not own the project
    assert protected.may_protect_in_project(engine, admin, rnd) is True
    mbert = next(i for i, b, _ in _edits(engine, rnd, writer.user_id)["shown"] if b == "mBERT")
    with pytest.raises(PermissionDenied):
        protected.protect_edit_term(engine, writer, mbert, scope="project")
    done = protected.protect_edit_term(engine, admin, mbert, scope="project")
    assert (done.term.term, done.term.scope, done.term.document_id) == ("mBERT", "project", None)
    assert done.hidden_edit_ids == (mbert,)  # the admin acts in the writer's round: its pending edit is hidden
    with session_scope(engine) as s:
        other = documents.create_document(s, "Another paper", "mBERT again.").id
    assert [t.term for t in protected.list_terms(engine, writer, document_id=other)] == ["mBERT"]
    for actor, offered in ((writer, False), (admin, True)):
        data = review_service.review_data(engine, actor, rnd, protect_project=offered)
        assert data.payload["pp"] is offered
