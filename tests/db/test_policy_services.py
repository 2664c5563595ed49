"""The policy through the services, on SQLite and PostgreSQL: role × action × resource.

One project with an admin, a researcher, two annotators and a writer who owns the shared document;
both annotators have decided edits on it. A person who belongs only to another project is refused
everything here. Each action is tried as each person; what is allowed must succeed and everything
else must raise PermissionDenied (never a silent empty answer where a refusal is due)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from core import access, documents, users
from core.access import Actor, PermissionDenied
from core.data.export import ExportFilters
from core.db import session_scope
from core.errors import NotFoundError, RedraftError
from core.learning.analytics import Filters
from core.models import Decision, Project
from core.revision import review, rounds, threads
from core.services import analytics, downloads, exports, history, revision, settings, training
from core.services import documents as document_service
from core.services import review as review_service
from tests.proposers_for_tests import ReplaceProposer

TEXT = "Teh cat sat on teh mat."
RULES = {"Teh": "The", "teh": "the"}
PEOPLE = ("admin", "researcher", "annotator", "annotator2", "writer", "outsider")


@dataclass
class World:
    engine: Engine
    actors: dict[str, Actor]
    project_id: int
    document_id: int  # owned by the writer
    rounds: dict[str, int]  # each annotator's round under review on the document
    edits: dict[str, list[int]]
    spares: int = 0

    def new_document(self, owner: str = "writer") -> int:
        self.spares += 1  # a text of its own: the same text twice is refused as a duplicate
        return document_service.create_document(
            self.engine, self.actors[owner], self.project_id, "Spare", f"Some text here, spare {self.spares}."
        ).id


def _actor(engine: Engine, user_id: int) -> Actor:
    with session_scope(engine) as s:
        return access.actor_for(s, user_id)


def _round_with_decisions(engine: Engine, document_id: int, user_id: int) -> tuple[int, list[int]]:
    with session_scope(engine) as s:
        thread_id = threads.active_thread(s, document_id, user_id).id
    rnd = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer(RULES))
    with session_scope(engine) as s:
        edit_ids = [e.row.id for e in review.round_view(s, rnd.id, user_id).edits]
        review.decide(s, edit_ids[0], user_id, "accept")
    return rnd.id, edit_ids


@pytest.fixture
def world(engine: Engine) -> World:
    with session_scope(engine) as s:
        admin = documents.default_user(s).id
        project_id = documents.default_project(s).id
        other = Project(name="Elsewhere")
        s.add(other)
        s.flush()
        ids = {"admin": admin}
        for name in PEOPLE[1:]:
            role = "annotator" if name.startswith("annotator") else name
            projects = [other.id] if name == "outsider" else None
            ids[name] = users.create_user(s, name, "writer" if name == "outsider" else role, project_ids=projects).id
    actors = {name: _actor(engine, i) for name, i in ids.items()}
    doc = document_service.create_document(engine, actors["writer"], project_id, "Shared", TEXT).id
    made = {a: _round_with_decisions(engine, doc, ids[a]) for a in ("annotator", "annotator2")}
    return World(
        engine, actors, project_id, doc, {a: r for a, (r, _) in made.items()}, {a: e for a, (_, e) in made.items()}
    )


Try = Callable[[World, Actor], object]


def _everything(w: World, me: Actor) -> ExportFilters:
    return ExportFilters()


# action -> (what it does as `me`, who may). Mutating actions work on a fresh resource each time.
MATRIX: dict[str, tuple[Try, set[str]]] = {
    "list documents": (
        lambda w, me: document_service.list_documents(w.engine, me, w.project_id),
        {"admin", "researcher", "annotator", "annotator2", "writer"},
    ),
    "read history": (
        lambda w, me: history.version_history(w.engine, me, w.document_id),
        {"admin", "researcher", "annotator", "annotator2", "writer"},
    ),
    "open the document to revise": (
        lambda w, me: revision.revision_state(w.engine, me, w.document_id),
        {"admin", "researcher", "annotator", "annotator2", "writer"},
    ),
    "create a document": (
        lambda w, me: document_service.create_document(w.engine, me, w.project_id, "New", "Text."),
        {"admin", "researcher", "writer"},
    ),
    "rename the writer's document": (
        lambda w, me: document_service.rename_document(w.engine, me, w.new_document(), "Renamed"),
        {"admin", "writer"},
    ),
    "delete the writer's document": (
        lambda w, me: document_service.delete_document(w.engine, me, w.new_document()),
        {"admin", "writer"},
    ),
    "see what deleting the shared document hides": (
        lambda w, me: document_service.deletion_impact(w.engine, me, w.document_id),
        {"admin", "writer"},
    ),
    "restore an old version of the writer's document": (
        lambda w, me: history.restore_version(
            w.engine,
            me,
            w.document_id,
            history.version_history(w.engine, w.actors["admin"], w.document_id).versions[0].id,
        ),
        {"admin", "writer"},
    ),
    "see annotator2's round": (
        lambda w, me: review_service.round_view(w.engine, me, w.rounds["annotator2"]),
        {"admin", "annotator2"},
    ),
    "decide on annotator2's round": (
        lambda w, me: review_service.decide(w.engine, me, w.rounds["annotator2"], w.edits["annotator2"][-1], "reject"),
        {"admin", "annotator2"},
    ),
    "finish annotator2's revision": (
        lambda w, me: revision.finish(w.engine, me, _thread_of(w, "annotator2"), w.rounds["annotator2"]),
        {"admin", "annotator2"},
    ),
    "apply annotator2's round": (
        lambda w, me: revision.apply_and_continue(w.engine, me, w.rounds["annotator2"], rounds.RoundSettings()),
        {"admin", "annotator2"},
    ),
    "export annotator2's decisions": (
        lambda w, me: exports.log_bytes(
            w.engine, me, ExportFilters(user_ids=(w.actors["annotator2"].user_id,)), "jsonl"
        ),
        {"admin", "researcher", "annotator2"},
    ),
    "export the project's decisions (narrowed to one's own)": (
        lambda w, me: exports.overview(w.engine, me, ExportFilters(project_ids=(w.project_id,))),
        {"admin", "researcher", "annotator", "annotator2", "writer"},
    ),
    "analytics of annotator2": (
        lambda w, me: analytics.records(w.engine, me, Filters(user_id=w.actors["annotator2"].user_id)),
        {"admin", "researcher", "annotator2"},
    ),
    "download the document's edit log": (
        lambda w, me: downloads.edit_log_bytes(w.engine, me, w.document_id, "jsonl"),
        {"admin", "researcher", "annotator", "annotator2", "writer"},
    ),
    "change project settings": (
        lambda w, me: settings.update_project_settings(w.engine, me, w.project_id, disabled=["X"]),
        {"admin"},
    ),
    "add a proposer endpoint": (
        lambda w, me: training.add_proposer(w.engine, me, "openai:http://127.0.0.1:9/v1#m"),
        {"admin"},
    ),
    "fine-tune on the project": (
        lambda w, me: _finetune(w, me),
        {"admin", "researcher"},
    ),
}


def _thread_of(w: World, who: str) -> int:
    with session_scope(w.engine) as s:
        return threads.latest_thread(s, w.document_id, w.actors[who].user_id).id


def _finetune(w: World, me: Actor) -> None:
    """Past the policy, the missing base model is a NotFoundError."""
    from core.training.finetune import FinetuneConfig

    training.start_finetune(w.engine, me, 99_999, FinetuneConfig(), ExportFilters(project_ids=(w.project_id,)))


@pytest.mark.parametrize("action", list(MATRIX))
def test_policy_matrix(world: World, action: str) -> None:
    """Allowed: it succeeds, or fails past the policy (a ConflictError after an earlier person finished
    the round, the missing base model of the fine-tune); refused: PermissionDenied."""
    attempt, allowed = MATRIX[action]
    outcome = {}
    for name in PEOPLE:
        try:
            attempt(world, world.actors[name])
            outcome[name] = True
        except PermissionDenied:
            outcome[name] = False
        except RedraftError:
            outcome[name] = True
    assert outcome == {name: name in allowed for name in PEOPLE}


def test_an_annotator_sees_only_their_own_decisions_everywhere(world: World) -> None:
    me = world.actors["annotator"]
    mine = {me.user_id}
    found = exports.overview(world.engine, me, ExportFilters())
    assert found.summary.people == 1 and {r["user_name"] for r in found.preview} == {"annotator"}
    assert [u[1] for u in exports.filter_options(world.engine, me).users] == ["annotator"]
    log_rows = downloads.edit_log_bytes(world.engine, me, world.document_id, "jsonl").decode().splitlines()
    assert log_rows and {json.loads(r)["user_name"] for r in log_rows} == {"annotator"}
    assert {r.user_id for r in analytics.records(world.engine, me, Filters())} <= mine
    assert analytics.choices(world.engine, me).people == {me.user_id: "annotator"}
    with pytest.raises(PermissionDenied):
        exports.r3_zip(world.engine, me, [_thread_of(world, "annotator2")])
    # a researcher of the project reads everyone's
    researcher = world.actors["researcher"]
    assert exports.overview(world.engine, researcher, ExportFilters()).summary.people == 2
    rows = downloads.edit_log_bytes(world.engine, researcher, world.document_id, "jsonl").decode().splitlines()
    assert {json.loads(r)["user_name"] for r in rows} == {"annotator", "annotator2"}


def test_an_outsider_reads_nothing_of_the_project(world: World) -> None:
    me = world.actors["outsider"]
    with pytest.raises(PermissionDenied, match="not a member"):
        exports.overview(world.engine, me, ExportFilters(project_ids=(world.project_id,)))
    assert exports.overview(world.engine, me, ExportFilters()).summary.decisions == 0  # their own project only
    assert world.project_id not in settings.project_names(world.engine, me)


def test_deleting_keeps_everyones_decisions(world: World) -> None:
    impact = document_service.deletion_impact(world.engine, world.actors["writer"], world.document_id)
    assert (impact.others_decisions, impact.others_people) == (2, 2)
    with session_scope(world.engine) as s:
        before = len(s.exec(select(Decision)).all())
    document_service.delete_document(world.engine, world.actors["writer"], world.document_id)
    with session_scope(world.engine) as s:
        assert len(s.exec(select(Decision)).all()) == before == 2
    assert world.document_id not in {
        d.id for d in document_service.list_documents(world.engine, world.actors["annotator"], world.project_id)
    }
    with pytest.raises(NotFoundError):
        revision.revision_state(world.engine, world.actors["annotator"], world.document_id)
    # kept for research: the researcher still exports them
    assert exports.overview(world.engine, world.actors["researcher"], ExportFilters()).summary.decisions == 2


def test_a_rewritten_outbox_cannot_get_around_a_refusal(world: World) -> None:
    """The browser's message is the attacker's to write: another person's round id, or another
    person's edit id under one's own round, is refused and nothing is stored."""
    me = world.actors["annotator"]
    theirs, mine = world.rounds["annotator2"], world.rounds["annotator"]
    their_edit = world.edits["annotator2"][-1]
    with session_scope(world.engine) as s:
        before = len(s.exec(select(Decision)).all())
    memo: dict[str, str | None] = {}
    other_round = review_service.sync_outbox(
        world.engine, me, theirs, {"seq": 1, "items": [{"k": "a1", "a": "accept", "id": their_edit}]}, memo
    )
    assert "may not decide edits in another person's revision" in (other_round["a1"] or "")
    own_round = review_service.sync_outbox(
        world.engine,
        me,
        mine,
        {
            "seq": 2,
            "items": [{"k": "a2", "a": "reject", "id": their_edit}, {"k": "a3", "bulk": "accept", "ids": [their_edit]}],
        },
        memo,
    )
    assert own_round["a2"] and own_round["a3"]  # both refused: not edits of the round shown
    with pytest.raises(PermissionDenied):
        review_service.bulk_decide(world.engine, me, theirs, "accept")
    with session_scope(world.engine) as s:
        assert len(s.exec(select(Decision)).all()) == before
