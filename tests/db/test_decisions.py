"""The decision log (core.decisions): appending, what stands after undo, and the queries every other
module asks instead of reading the Decision table itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from core import decisions, documents, users
from core.db import session_scope
from core.decisions import Action, EditStatus, Order, RoundClosed
from core.errors import ConflictError, InputError
from core.models import Decision, Edit, Project, Round, RoundStatus, utcnow
from core.revision import rounds, threads
from tests.proposers_for_tests import ReplaceProposer

TEXT = "Teh cat sat on teh mat. It was a sunny day."
RULES = {"Teh": "The", "teh": "the", "sunny": "bright"}


def _round(engine, text=TEXT, *, user_name=None, project_id=None):
    """A round under review for a (new) person; returns (project id, user id, round id, thread id, edit ids)."""
    with session_scope(engine) as s:
        user = users.create_user(s, user_name) if user_name else documents.default_user(s)
        pid = project_id or documents.default_project(s).id
        doc = documents.create_document(s, "doc", text, project_id=pid, user_id=user.id)
        thread_id = threads.active_thread(s, doc.id, user.id).id
        user_id = user.id
    rnd = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer(RULES))
    with session_scope(engine) as s:
        edit_ids = list(s.exec(select(Edit.id).where(Edit.round_id == rnd.id).order_by(Edit.position)).all())
    return pid, user_id, rnd.id, thread_id, edit_ids


def test_standing_replays_undo_one_step_at_a_time():
    rows = [("accept", None), ("modify", "x"), ("undo", None)]
    top = decisions.standing_row(rows, action=lambda r: r[0])
    assert top == ("accept", None)
    assert decisions.standing_row([("accept", None), ("undo", None), ("undo", None)], action=lambda r: r[0]) is None
    groups = [(1, "reject"), (1, "undo"), (2, "accept"), (3, "undo")]

    class Row:
        def __init__(self, key, action):
            self.key, self.action, self.modified_text = key, action, None

    folded = [(st.status, [r.key for r in g][0]) for st, g in decisions.fold_standing(
        (Row(k, a) for k, a in groups), lambda r: r.key)]  # fmt: skip
    assert folded == [(EditStatus.PENDING, 1), (EditStatus.ACCEPT, 2), (EditStatus.PENDING, 3)]


def test_append_is_idempotent_and_refused_once_the_round_is_closed(engine):
    _, user_id, round_id, _, (e1, e2, _e3) = _round(engine)
    with session_scope(engine) as s:
        a = decisions.append(s, edit_id=e1, user_id=user_id, action="accept", round_id=round_id, idempotency_key="k1")
        b = decisions.append(s, edit_id=e1, user_id=user_id, action="reject", round_id=round_id, idempotency_key="k1")
        assert a.id == b.id and b.action == Action.ACCEPT and a.round_id == round_id
        with pytest.raises(InputError):
            decisions.append(s, edit_id=e1, user_id=user_id, action="maybe")
        with pytest.raises(ConflictError):
            decisions.append(s, edit_id=e1, user_id=user_id, action="accept", round_id=round_id + 999)
    with session_scope(engine) as s:  # as applying does, under its conditional update
        rnd = s.get(Round, round_id)
        rnd.status = RoundStatus.APPLIED
        s.add(rnd)
    with session_scope(engine) as s, pytest.raises(RoundClosed):
        decisions.append(s, edit_id=e2, user_id=user_id, action="accept")


def test_what_stands_per_edit_and_person_in_a_project(engine):
    pid, user_id, round_id, thread_id, (e1, e2, e3) = _round(engine)
    with session_scope(engine) as s:
        other = users.create_user(s, "other").id
        for edit, action, text in [(e1, "accept", None), (e1, "undo", None), (e1, "reject", None),
                                   (e2, "modify", "a"), (e3, "accept", None), (e3, "undo", None)]:  # fmt: skip
            decisions.append(s, edit_id=edit, user_id=user_id, action=action, modified_text=text)
        decisions.append(s, edit_id=e1, user_id=other, action="accept")
    with session_scope(engine) as s:
        mine = {st.edit_id: st for st in decisions.in_project(s, pid, user_id=user_id, extra=(Edit.before,))}
        assert set(mine) == {e1, e2}  # e3 undone back to pending
        assert mine[e1].standing.status == EditStatus.REJECT and mine[e1].extra == ("Teh",)
        assert mine[e2].standing.pair == ("modify", "a") and mine[e2].extra == ("teh",)
        assert mine[e1].decision_id < mine[e2].decision_id
        everyone = {(st.edit_id, st.user_id): st.standing.status for st in decisions.in_project(s, pid)}
        assert everyone == {(e1, user_id): "reject", (e2, user_id): "modify", (e1, other): "accept"}
        with_pending = decisions.stands(s, project_ids=[pid], user_ids=[user_id], include_pending=True)
        assert {st.edit_id: st.standing.status for st in with_pending}[e3] == EditStatus.PENDING
        by_edit = decisions.for_edits(s, [e1, e2, e3], user_id=other)
        assert list(by_edit) == [(e1, other)]
        assert decisions.for_round(s, round_id, user_id)[e1].status == EditStatus.REJECT
        assert {e.id for e, _, _ in decisions.for_thread(s, thread_id, user_id)} == {e1, e2}
        assert decisions.watermark(s, pid) == (7, max(d.id for d in s.exec(select(Decision)).all()))
        elsewhere = Project(name="elsewhere")
        s.add(elsewhere)
        s.flush()
        assert decisions.watermark(s, elsewhere.id) == (0, 0)


def test_query_filters_and_orders_the_log(engine):
    pid, user_id, round_id, _, (e1, e2, _e3) = _round(engine)
    with session_scope(engine) as s:
        sim = users.create_user(s, "sim", simulated=True).id
        decisions.append(s, edit_id=e2, user_id=user_id, action="accept")
        decisions.append(s, edit_id=e1, user_id=user_id, action="reject")
        decisions.append(s, edit_id=e1, user_id=sim, action="accept")
    d_id, d_edit, d_user, d_action = decisions.columns("id", "edit_id", "user_id", "action")
    with session_scope(engine) as s:

        def run(**kw):
            return [tuple(r) for r in s.execute(decisions.query(d_edit, d_user, d_action, **kw)).all()]

        assert run() == [(e1, user_id, "reject"), (e1, sim, "accept"), (e2, user_id, "accept")]
        assert run(order=Order.LOG) == [(e2, user_id, "accept"), (e1, user_id, "reject"), (e1, sim, "accept")]
        assert run(simulated=True) == [(e1, sim, "accept")]
        assert len(run(simulated=False)) == 2
        assert run(actions=[Action.REJECT]) == [(e1, user_id, "reject")]
        assert run(edit_ids=[e2], project_ids=[pid], round_id=round_id) == [(e2, user_id, "accept")]
        assert run(since=utcnow() + timedelta(hours=1)) == []
        assert len(run(until=utcnow() + timedelta(hours=1), user_ids=[user_id])) == 2
        assert s.execute(decisions.query(d_id, project_ids=[pid + 1000], order=None)).all() == []
    with pytest.raises(ValueError):
        decisions.column("password")


def test_an_imported_decision_keeps_its_time_and_round(engine):
    _, user_id, round_id, _, (e1, _e2, _e3) = _round(engine)
    when = utcnow() - timedelta(days=30)
    with session_scope(engine) as s:
        decisions.append_imported(
            s, edit_id=e1, round_id=round_id, user_id=user_id, action="accept", created_at=when, idempotency_key="r3:x"
        )
    with session_scope(engine) as s:
        (st,) = decisions.for_edits(s, [e1]).values()
        assert st.standing.status == EditStatus.ACCEPT
        assert abs((st.decided_at.replace(tzinfo=None) - when.replace(tzinfo=None)).total_seconds()) < 1
        assert decisions.by_key(s, "r3:x").round_id == round_id
        with pytest.raises(InputError):
            decisions.append_imported(s, edit_id=e1, round_id=round_id, user_id=user_id, action="x", created_at=when)


def test_rewrites_with_nul_are_refused_and_feedback_is_stored_clean(engine):
    _, user_id, round_id, thread_id, (e1, *_) = _round(engine)
    with session_scope(engine) as s:
        with pytest.raises(InputError, match="control characters"):
            decisions.append(
                s, edit_id=e1, user_id=user_id, action="modify", modified_text="The\x00", round_id=round_id
            )
    with session_scope(engine) as s:
        assert s.exec(select(Decision)).all() == []
        s.exec(select(Round).where(Round.id == round_id)).one().status = RoundStatus.FINISHED
    settings = rounds.RoundSettings(feedback="keep\x00 it \x1bformal")
    rnd = rounds.propose_round(engine, thread_id, settings, proposer=ReplaceProposer(RULES))
    with session_scope(engine) as s:
        assert s.get(Round, rnd.id).feedback == "keep it formal"
