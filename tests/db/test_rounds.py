import os
import socket
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from core import documents, jobs
from core.db import session_scope
from core.errors import ConflictError, InputError
from core.models import Decision, Job, Round, Version, utcnow
from core.proposers.base import SpecData
from core.revision import review, rounds, threads
from core.services import revision  # registers the propose job and its on_interrupted
from tests.proposers_for_tests import BlockingProposer, FailingProposer, ReplaceProposer, register_test_kinds

TEXT = "Teh cat sat on teh mat. It was a sunny day. Teh end."
RULES = {"Teh": "The", "teh": "the", "sunny": "bright"}


def setup_thread(engine, text=TEXT):
    with session_scope(engine) as s:
        doc = documents.create_document(s, "doc", text)
        user = documents.default_user(s)
        thread = threads.active_thread(s, doc.id, user.id)
        return doc.id, user.id, thread.id


def test_full_loop_decide_apply_next_round_and_stop(engine):
    doc_id, user_id, thread_id = setup_thread(engine)
    proposer = ReplaceProposer(RULES)
    settings = rounds.RoundSettings(max_depth=3, feedback="keep it simple")
    r1 = rounds.propose_round(engine, thread_id, settings, proposer=proposer)
    assert r1.status == "reviewing" and r1.depth == 1
    with session_scope(engine) as s:
        view = review.round_view(s, r1.id, user_id)
        by_before = {(e.row.before, e.row.start): e.row for e in view.edits}
        assert len(view.edits) == 4 and view.counts["pending"] == 4
        first_teh, second_teh = by_before[("Teh", 0)], by_before[("teh", 15)]
        sunny, last_teh = by_before[("sunny", 33)], by_before[("Teh", 44)]
        review.decide(s, first_teh.id, user_id, "accept", time_taken_ms=1200)
        review.decide(s, second_teh.id, user_id, "modify", modified_text="a")
        review.decide(s, sunny.id, user_id, "reject")
        review.decide(s, last_teh.id, user_id, "accept")
        review.decide(s, last_teh.id, user_id, "undo")  # back to pending: not applied
    with session_scope(engine) as s:
        view = review.round_view(s, r1.id, user_id)
        assert view.counts == {"pending": 1, "accept": 1, "reject": 1, "modify": 1}
        assert view.preview_text() == "The cat sat on a mat. It was a sunny day. Teh end."
    result = rounds.apply_and_continue(engine, r1.id, user_id, settings, proposer=proposer)
    assert result.version.text == "The cat sat on a mat. It was a sunny day. Teh end."
    assert result.version.origin == "round" and result.version.round_id == r1.id
    r2 = result.next_round
    assert r2.depth == 2 and r2.status == "reviewing" and r2.base_version_id == result.version.id
    # the rejected "sunny" is not proposed again; the untouched "Teh" is
    with session_scope(engine) as s:
        view2 = review.round_view(s, r2.id, user_id)
        assert [(e.row.before, e.row.after) for e in view2.edits] == [("Teh", "The")]
    # feedback travels into the next request, with the accepted examples and the rejected change
    request = proposer.calls[-1]
    assert request.feedback == ("keep it simple",)
    assert {(x.before, x.after) for x in request.examples} == {("Teh", "The"), ("teh", "a")}
    assert [(a.before, a.after) for a in request.avoid] == [("sunny", "bright")]
    with session_scope(engine) as s:
        assert documents.head_version(s, doc_id).id == result.version.id


def test_loop_stops_at_max_depth_and_when_no_edits(engine):
    doc_id, user_id, thread_id = setup_thread(engine)
    proposer = ReplaceProposer(RULES)
    settings = rounds.RoundSettings(max_depth=1)
    r1 = rounds.propose_round(engine, thread_id, settings, proposer=proposer)
    result = rounds.apply_and_continue(engine, r1.id, user_id, settings, proposer=proposer)
    assert result.next_round is None and result.stop_reason == threads.STOP_MAX_DEPTH
    # a document with nothing to fix: the round finishes with the reason
    _, _, thread2 = setup_thread(engine, "Nothing to see here.")
    r = rounds.propose_round(engine, thread2, rounds.RoundSettings(), proposer=proposer)
    assert r.status == "finished" and r.stop_reason == threads.STOP_NO_EDITS
    with session_scope(engine) as s:
        assert threads.get_thread(s, thread2).status == "finished"


def test_double_click_makes_one_decision_and_apply_is_idempotent(engine):
    _, user_id, thread_id = setup_thread(engine)
    proposer = ReplaceProposer(RULES)
    r1 = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=proposer)
    with session_scope(engine) as s:
        edit_id = review.round_view(s, r1.id, user_id).edits[0].row.id
    for _ in range(3):
        with session_scope(engine) as s:
            review.decide(s, edit_id, user_id, "accept", idempotency_key="click-1")
    with session_scope(engine) as s:
        assert len(s.exec(select(Decision)).all()) == 1
    settings = rounds.RoundSettings()
    first = rounds.apply_and_continue(engine, r1.id, user_id, settings, proposer=proposer)
    again = rounds.apply_and_continue(engine, r1.id, user_id, settings, proposer=proposer)
    assert again.version.id == first.version.id and again.next_round.id == first.next_round.id
    with session_scope(engine) as s:
        assert len(s.exec(select(Round)).all()) == 2
        assert len(s.exec(select(Version)).all()) == 2
        with pytest.raises(ConflictError, match="can no longer be decided"):
            review.decide(s, edit_id, user_id, "reject")


def test_concurrent_same_key_decisions_make_one_row(engine):
    _, user_id, thread_id = setup_thread(engine)
    r1 = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer(RULES))
    with session_scope(engine) as s:
        edit_id = review.round_view(s, r1.id, user_id).edits[0].row.id
    errors = []

    def click():
        try:
            with session_scope(engine) as s:
                review.decide(s, edit_id, user_id, "reject", idempotency_key="same-key")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=click) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_scope(engine) as s:
        assert len(s.exec(select(Decision)).all()) == 1


def test_failing_proposer_fails_the_round_and_loses_nothing(engine):
    doc_id, user_id, thread_id = setup_thread(engine)
    r = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=FailingProposer())
    assert r.status == "failed" and "model exploded" in r.error
    # the thread can go on with another proposer
    r2 = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer(RULES))
    assert r2.status == "reviewing" and r2.depth == 1


def test_cancel_and_in_flight_round(engine):
    _, user_id, thread_id = setup_thread(engine)
    blocking = BlockingProposer()
    cancel = threading.Event()
    out = {}
    worker = threading.Thread(
        target=lambda: out.setdefault(
            "r", rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=blocking, cancel=cancel)
        )
    )
    worker.start()
    assert blocking.started.wait(10)
    with pytest.raises(ConflictError, match="being proposed"):
        rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer(RULES))
    cancel.set()
    worker.join(10)
    assert out["r"].status == "cancelled"


def test_interrupted_round_is_recorded_and_the_thread_goes_on(engine):
    _, user_id, thread_id = setup_thread(engine)
    with session_scope(engine) as s:  # a job began proposing, then its process died
        job = jobs.submit(s, "propose", target_kind="thread", target_id=thread_id, owner_id=user_id)
        s.execute(
            update(Job).where(Job.id == job.id).values(status="running", heartbeat_at=utcnow() - timedelta(minutes=5))
        )
        crashed_id = rounds.begin_round(s, thread_id, rounds.RoundSettings(), job_id=job.id).id
    with pytest.raises(ConflictError, match="being proposed"):  # while its job looks alive
        with session_scope(engine) as s:
            s.execute(update(Job).where(Job.id == job.id).values(heartbeat_at=utcnow()))
            rounds.begin_round(s, thread_id, rounds.RoundSettings())
    with session_scope(engine) as s:
        s.execute(update(Job).where(Job.id == job.id).values(heartbeat_at=utcnow() - timedelta(minutes=5)))
    assert jobs.reap(engine) == [job.id]  # the reaper frees its round; nobody has to propose first
    with session_scope(engine) as s:
        assert jobs.get(s, job.id).status == "interrupted"
        old = review.get_round(s, crashed_id)
        assert old.status == "failed" and "interrupted" in old.error
    r = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer(RULES))
    assert r.status == "reviewing"


def test_bulk_decisions_and_bad_actions(engine):
    _, user_id, thread_id = setup_thread(engine)
    r1 = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer(RULES))
    with session_scope(engine) as s:
        with pytest.raises(InputError, match="Unknown action"):
            review.decide(s, 1, user_id, "approve")
        with pytest.raises(InputError, match="replacement text"):
            review.decide(s, review.round_view(s, r1.id, user_id).edits[0].row.id, user_id, "modify")
        assert review.decide_many(s, r1.id, user_id, "accept", intent="fluency") == 4
        assert review.decide_many(s, r1.id, user_id, "reject") == 0  # none pending
        assert (
            review.round_view(s, r1.id, user_id).preview_text()
            == "The cat sat on the mat. It was a bright day. The end."
        )


def test_each_annotator_has_their_own_thread(engine):
    from core.users import create_user

    doc_id, local_id, t1 = setup_thread(engine)
    with session_scope(engine) as s:
        ann = create_user(s, "ann2", "annotator")
        t2 = threads.active_thread(s, doc_id, ann.id).id
        assert t2 != t1 and threads.active_thread(s, doc_id, local_id).id == t1


def test_finishing_closes_the_round_under_review_and_keeps_its_decisions(engine):
    _, user_id, thread_id = setup_thread(engine)
    r1 = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer(RULES))
    with session_scope(engine) as s:
        edit_id = review.round_view(s, r1.id, user_id).edits[0].row.id
        review.decide(s, edit_id, user_id, "reject")
        threads.finish_thread(s, thread_id)
    with session_scope(engine) as s:
        rnd = review.get_round(s, r1.id)
        assert rnd.status == "finished" and rnd.stop_reason == threads.STOP_USER and rnd.result_version_id is None
        assert len(s.exec(select(Decision)).all()) == 1
        with pytest.raises(ConflictError, match="can no longer be decided"):
            review.decide(s, edit_id, user_id, "accept")


def test_a_late_heartbeat_of_a_live_local_worker_is_not_taken_for_a_crash(engine):
    """Under load a beat can be late; a job whose process on this machine is alive is reaped only after
    LIVE_GRACE_S, one whose process exited at once."""
    _, user_id, thread_id = setup_thread(engine)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_worker = f"{socket.gethostname()}:{dead.stdout.strip()}:1"
    assert jobs.alive_here(jobs.worker_name()) and not jobs.alive_here(dead_worker)
    assert not jobs.alive_here(f"another-host:{os.getpid()}:1")
    late = utcnow() - timedelta(seconds=jobs.STALE_AFTER_S + 15)
    with session_scope(engine) as s:
        live = jobs.submit(s, "propose", target_kind="thread", target_id=thread_id, owner_id=user_id)
        gone = jobs.submit(s, "propose", target_kind="thread", target_id=thread_id + 10_000, owner_id=user_id)
        for job, worker in ((live, jobs.worker_name()), (gone, dead_worker)):
            s.execute(update(Job).where(Job.id == job.id).values(status="running", worker=worker, heartbeat_at=late))
    assert jobs.reap(engine) == [gone.id]
    with session_scope(engine) as s:
        past_grace = utcnow() - timedelta(seconds=jobs.LIVE_GRACE_S + 5)
        s.execute(update(Job).where(Job.id == live.id).values(heartbeat_at=past_grace))
    assert jobs.reap(engine) == [live.id]


def test_the_cli_runs_its_own_job_and_never_takes_on_another(engine):
    """A CLI process exits when its job ends: a job it picked up for someone else would die with it."""
    register_test_kinds()
    _, user_id, thread_id = setup_thread(engine)
    _, _, other_thread = setup_thread(engine, "teh other text.")
    spec = SpecData(kind="test-replace", params={"rules": RULES})
    params = {"settings": revision.settings_to_params(rounds.RoundSettings(spec=spec))}
    with session_scope(engine) as s:
        earlier = jobs.submit(
            s, "propose", target_kind="thread", target_id=other_thread, owner_id=user_id, params=params
        )
        mine = jobs.submit(s, "propose", target_kind="thread", target_id=thread_id, owner_id=user_id, params=params)
    done = jobs.run_here(engine, mine.id, timeout_s=60)
    assert done.status == "done", done.error
    with session_scope(engine) as s:
        assert jobs.get(s, earlier.id).status == "queued"  # older, yet left to the workers
