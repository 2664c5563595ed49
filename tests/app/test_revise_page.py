"""Revise page logic in AppTest (no browser: the component's JavaScript does not run here, so its
state is set the way the browser sets it: an outbox of decisions under the component's key)."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core import documents, jobs
from core.db import session_scope
from core.models import Decision, Version
from core.proposers.base import SpecData
from core.proposers.registry import KINDS
from core.revision import apply, review, rounds, threads
from core.services import accounts, revision
from core.services import review as review_service
from tests.app.conftest import app_test
from tests.proposers_for_tests import BLOCKING_STARTED, TEST_KINDS, ReplaceProposer
from ui import review_widget

TEXT = "We recieve teh report untill noon. It is teh one wich we read."
RULES = {"teh": "the", "recieve": "receive", "untill": "until", "wich": "which"}


@pytest.fixture
def app(app_engine):
    """(AppTest on the Revise page, engine) on a fresh SQLite file."""
    at = app_test()
    at.switch_page("app_pages/revise.py")
    return at, app_engine


def seeded(engine, text=TEXT, rules=RULES) -> tuple[int, int, int]:
    with session_scope(engine) as s:
        doc = documents.create_document(s, "Essay", text)
        user_id = documents.default_user(s).id
        thread_id = threads.active_thread(s, doc.id, user_id).id
        doc_id = doc.id
    rnd = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer(rules))
    return doc_id, rnd.id, user_id


def review_components(at: AppTest) -> list:
    """The review component (not the rerun relay mounted beside it)."""
    return [c for c in at.get("bidi_component") if c.proto.component_name.endswith("redraft_review")]


def component_data(at: AppTest) -> dict:
    (component,) = review_components(at)
    return json.loads(component.proto.json)


def rerun_until(at: AppTest, check, timeout_s: float = 60) -> AppTest:
    """Rerun the page (as its progress fragment does) until `check(at)`; the job runs in a thread."""
    deadline = time.monotonic() + timeout_s
    while not check(at):
        assert time.monotonic() < deadline, "the page never reached the expected state"
        assert not at.exception, at.exception
        time.sleep(0.1)
        at.run()
    return at


def has_component(at: AppTest) -> bool:
    return len(review_components(at)) == 1


def success_with(text: str):
    return lambda at: any(text in m.value for m in at.success)


def warning_with(text: str):
    return lambda at: any(text in m.value for m in at.warning)


def test_no_documents_points_to_the_documents_page(app):
    at, _ = app
    at.run()
    assert not at.exception
    assert "No documents yet" in at.info[0].value


def test_round_under_review_is_shown_in_one_component(app):
    at, engine = app
    _, round_id, _ = seeded(engine)
    at.run()
    assert not at.exception
    data = component_data(at)
    assert data["mode"] == "review" and data["locked"] is None
    assert [(e["b"], e["a"]) for e in data["edits"]] == [
        ("recieve", "receive"),
        ("teh", "the"),
        ("untill", "until"),
        ("teh", "the"),
        ("wich", "which"),
    ]
    # the gaps between edits rebuild the text exactly
    rebuilt = "".join(
        g + (e["b"] if n < len(data["edits"]) else "")
        for n, (g, e) in enumerate(zip(data["segs"], data["edits"] + [{}], strict=True))
    )
    assert rebuilt == TEXT
    assert any("Round 1 of at most 3" in c.value for c in at.caption)
    assert at.button(key="apply_continue") and at.button(key="finish")


def test_decisions_from_the_component_are_stored_once_and_answered(app):
    at, engine = app
    _, round_id, user_id = seeded(engine)
    at.run()
    ids = [e["id"] for e in component_data(at)["edits"]]
    key = review_widget.review_key(round_id)
    outbox = {
        "seq": 1,
        "items": [
            {"k": "k-accept", "id": ids[0], "a": "accept", "ms": 1500},
            {"k": "k-modify", "id": ids[1], "a": "modify", "t": "a", "ms": 800},
            {"k": "k-reject", "id": ids[2], "a": "reject", "ms": 300},
            {"k": "k-undo", "id": ids[2], "a": "undo", "ms": 100},
            {"k": "k-foreign", "id": 999_999, "a": "accept"},  # not an edit of this round
            {"k": "k-bad", "id": ids[3], "a": "explode"},
            {"k": "k-bulk", "bulk": "reject", "ids": [ids[3], ids[4]], "ms": 50},
        ],
    }
    at.session_state[key] = {"outbox": outbox}
    at.run()
    assert not at.exception
    data = component_data(at)
    assert data["results"] == {
        "k-accept": None,
        "k-modify": None,
        "k-reject": None,
        "k-undo": None,
        "k-foreign": "This edit is not in this round.",
        "k-bad": "Unknown action 'explode'.",
        "k-bulk": None,
    }
    assert data["state"] == {
        str(ids[0]): ["accept", None],
        str(ids[1]): ["modify", "a"],
        str(ids[3]): ["reject", None],
        str(ids[4]): ["reject", None],
    }
    # the same outbox again (a re-send, a rerun) stores nothing new
    at.session_state[key] = {"outbox": {**outbox, "seq": 2}}
    at.run()
    with session_scope(engine) as s:
        rows = s.exec(select(Decision).order_by(Decision.id)).all()
        assert [(r.edit_id, r.action) for r in rows] == [
            (ids[0], "accept"),
            (ids[1], "modify"),
            (ids[2], "reject"),
            (ids[2], "undo"),
            (ids[3], "reject"),
            (ids[4], "reject"),
        ]
        assert rows[0].time_taken_ms == 1500 and rows[0].idempotency_key == "k-accept"
        assert rows[4].idempotency_key == f"k-bulk:{ids[3]}"
        assert review.round_view(s, round_id, user_id).counts == {"pending": 1, "accept": 1, "reject": 2, "modify": 1}


def test_a_decision_the_server_refuses_comes_back_as_failed(sqlite_engine):
    engine = sqlite_engine
    _, round_id, user_id = seeded(engine)
    with session_scope(engine) as s:
        edit_id = review.edit_states(s, round_id, user_id)[0].row.id
        apply.apply_round(s, round_id, user_id)  # e.g. applied in another tab meanwhile
    memo: dict[str, str | None] = {}
    outbox = {"seq": 1, "items": [{"k": "late", "id": edit_id, "a": "accept"}]}
    local = accounts.actor(engine, user_id)
    results = review_service.sync_outbox(engine, local, round_id, outbox, memo)
    assert results == {"late": "Round 1 is applied; its edits can no longer be decided."}
    assert (
        review_service.sync_outbox(engine, accounts.actor(engine, user_id), round_id, {"items": "nonsense"}, memo) == {}
    )


def test_propose_runs_in_the_background_then_shows_the_round(app):
    at, engine = app
    with session_scope(engine) as s:
        doc_id = documents.create_document(s, "Essay", "This are a sentence with a error.").id
        user_id = documents.default_user(s).id
    at.run()
    assert at.button(key="propose").label == "Propose"
    at.text_area(key="rv_feedback").input("keep it formal")
    at.button(key="propose").click().run()
    assert not at.exception
    rerun_until(at, has_component)
    assert not at.exception
    with session_scope(engine) as s:
        thread = threads.latest_thread(s, doc_id, user_id)
    data = component_data(at)
    assert len(data["edits"]) >= 2  # the built-in rules: "are" -> "is", "a" -> "an"
    with session_scope(engine) as s:
        rnd = threads.current_round(s, thread.id)
        assert rnd.status == "reviewing" and rnd.feedback == "keep it formal"
    # a new session (a reload) resumes with the same settings
    fresh = app_test()
    fresh.switch_page("app_pages/revise.py")
    fresh.run()
    fresh.session_state["rv_next_settings"] = True  # the settings box is drawn once opened
    fresh.run()
    assert fresh.text_area(key="rv_feedback").value == "keep it formal"
    assert fresh.number_input(key="rv_depth").value == 3
    assert len(component_data(fresh)["edits"]) == len(data["edits"])


def test_apply_and_continue_stops_at_the_depth_limit_and_says_so(app):
    at, engine = app
    doc_id, round_id, user_id = seeded(engine)
    at.run()
    ids = [e["id"] for e in component_data(at)["edits"]]
    at.session_state[review_widget.review_key(round_id)] = {
        "outbox": {"seq": 1, "items": [{"k": "a1", "id": ids[0], "a": "accept"}]}
    }
    at.session_state["rv_next_settings"] = True  # the settings box is drawn once opened
    at.run()
    at.number_input(key="rv_depth").set_value(1)
    at.button(key="apply_continue").click().run()
    rerun_until(at, success_with("The revision loop stopped: maximum depth reached"))
    assert not at.exception
    with session_scope(engine) as s:
        thread_id = review.get_round(s, round_id).thread_id
    with session_scope(engine) as s:
        head = documents.head_version(s, doc_id)
        assert head.text == TEXT.replace("recieve", "receive", 1)
        assert threads.get_thread(s, thread_id).status == "finished"


def test_finish_applies_the_decisions_and_ends_the_thread(app):
    at, engine = app
    doc_id, round_id, user_id = seeded(engine)
    at.run()
    ids = [e["id"] for e in component_data(at)["edits"]]
    at.session_state[review_widget.review_key(round_id)] = {
        "outbox": {"seq": 1, "items": [{"k": "m1", "id": ids[4], "a": "modify", "t": "that"}]}
    }
    at.button(key="finish").click().run()
    assert not at.exception
    assert any("This revision is finished" in m.value for m in at.success)
    assert all(b.key != "propose" for b in at.button)  # in a box drawn once opened
    at.session_state["rv_new_revision"] = True  # as a click on it does
    at.run()
    assert at.button(key="propose").label == "Start a new revision"
    with session_scope(engine) as s:
        versions = s.exec(select(Version).where(Version.document_id == doc_id)).all()
        assert [v.origin for v in versions] == ["paste", "round"]
        assert versions[-1].text == TEXT.replace("wich", "that")


def test_hidden_edits_travel_with_their_reason(app):
    at, engine = app
    _, round_id, user_id = seeded(engine)
    with session_scope(engine) as s:  # as muting or the preference model would store it
        row = review.edit_states(s, round_id, user_id)[2].row
        row.hidden_reason = "rule muted: you rejected it 3 times"
        s.add(row)
        hidden_id = row.id
    at.run()
    data = component_data(at)
    by_id = {e["id"]: e for e in data["edits"]}
    assert by_id[hidden_id]["h"] == "rule muted: you rejected it 3 times"
    assert sum(1 for e in data["edits"] if e["h"]) == 1
    # deciding it (after "show hidden") keeps it in the round's shown edits
    at.session_state[review_widget.review_key(round_id)] = {
        "outbox": {"seq": 1, "items": [{"k": "h1", "id": hidden_id, "a": "accept"}]}
    }
    at.run()
    assert component_data(at)["state"] == {str(hidden_id): ["accept", None]}
    with session_scope(engine) as s:
        assert [e.row.id for e in review.round_view(s, round_id, user_id).hidden] == []


def test_progress_and_cancel_while_proposing(app, monkeypatch):
    at, engine = app
    with session_scope(engine) as s:
        doc = documents.create_document(s, "Essay", TEXT)
        user_id = documents.default_user(s).id
        thread_id = threads.active_thread(s, doc.id, user_id).id
    for kind, where in TEST_KINDS.items():
        monkeypatch.setitem(KINDS, kind, where)
    BLOCKING_STARTED.clear()
    settings = rounds.RoundSettings(spec=SpecData(kind="test-blocking"))
    local = accounts.actor(engine, user_id)
    job = revision.propose(engine, local, doc.id, settings)
    worker = threading.Thread(target=jobs.run_once, args=(engine,), daemon=True)
    worker.start()
    assert BLOCKING_STARTED.wait(10)
    # a second start (a double click, another tab) joins the running job
    assert revision.propose(engine, local, doc.id, settings).id == job.id
    at.run()
    assert not at.exception
    assert at.get("progress") and "Proposing edits" in at.get("progress")[0].proto.text
    cancel = next(b for b in at.button if b.label == "Cancel")
    cancel.click().run()
    with session_scope(engine) as s:
        assert jobs.get(s, job.id).cancel_requested
    worker.join(10)
    rerun_until(at, warning_with("Proposing was cancelled"))
    with session_scope(engine) as s:
        assert threads.current_round(s, thread_id).status == "cancelled"
    assert at.button(key="propose").label == "Propose"  # and one can propose again


def test_hidden_edits_are_counted_and_their_mute_can_be_lifted(app):
    from core.learning import muting

    at, engine = app
    with session_scope(engine) as s:
        project_id = documents.default_project(s).id
        user_id = documents.default_user(s).id
        muting.mute(s, project_id, "rule", "test:teh", user_id=user_id, by_user_id=user_id)
    _, round_id, _ = seeded(engine)
    at.run()
    assert not at.exception
    data = component_data(at)
    hidden = [e for e in data["edits"] if e["h"]]
    assert len(hidden) == 2 and all("test:teh" in e["h"] for e in hidden)
    assert any("2 hidden from muted rules" in c.value for c in at.caption)
    at.button(key=[b.key for b in at.button if b.key and b.key.startswith("unmute_")][0]).click().run()
    with session_scope(engine) as s:
        assert muting.list_mutes(s, project_id, user_id) == []


def test_most_likely_first_sets_the_navigation_order(app):
    at, engine = app
    _, round_id, _ = seeded(engine)
    with session_scope(engine) as s:
        from core.models import Edit as EditRow

        rows = s.exec(select(EditRow).where(EditRow.round_id == round_id).order_by(EditRow.position)).all()
        for n, row in enumerate(rows):
            row.predicted_accept = n / 10  # the last edit is the most likely
            s.add(row)
    at.run()
    assert component_data(at)["order"] is None
    at.toggle(key="rv_likely_first").set_value(True).run()
    order = component_data(at)["order"]
    assert order == list(range(len(order)))[::-1]


def test_an_outbox_is_unanswered_until_each_item_has_a_result():
    memo: dict[str, str | None] = {"old": None}
    outbox = {"seq": 3, "items": [{"k": "old", "id": 1, "a": "accept"}, {"k": "new", "id": 2, "a": "reject"}]}
    assert review_service.unanswered(outbox, memo)  # what a restarted server's first run must store
    memo["new"] = "refused"
    assert not review_service.unanswered(outbox, memo)
    assert not review_service.unanswered({"items": [{"no": "key"}, 5]}, {})  # not items at all
    assert not review_service.unanswered(None, {})
