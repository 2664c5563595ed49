"""A whole proposing round against a misbehaving model server, on SQLite and PostgreSQL: a dripping
server is stopped by Cancel (the round ends cancelled, not stuck "proposing"), a NUL reply is dropped
with its reason and nothing with NUL is stored, numbers for text are a recorded reason, not a traceback."""

import threading

from sqlmodel import select

from core.db import session_scope
from core.models import Round
from core.proposers.base import SpecData
from core.revision import rounds
from core.services import revision  # noqa: F401 - registers the propose job's on_interrupted
from tests.db.test_rounds import setup_thread
from tests.fault_server import FaultServer, answer, drip, wait_then

TEXT = "He go home. We was late."


def settings(url, **params):
    spec = SpecData(kind="openai", model="faulty", params={"base_url": url, "max_retries": 0, **params})
    return rounds.RoundSettings(spec=spec)


def test_cancel_stops_a_round_waiting_on_a_dripping_server(engine):
    _, _, thread_id = setup_thread(engine, TEXT)
    cancel = threading.Event()
    with FaultServer(drip("He goes home.", every_s=0.2)) as server:
        wait_then(server.received, cancel.set, after_s=0.3)
        rnd = rounds.propose_round(engine, thread_id, settings(server.url, timeout_s=300), cancel=cancel)
    assert rnd.status == "cancelled"
    with session_scope(engine) as s:
        assert s.exec(select(Round.status)).all() == ["cancelled"]  # not left "proposing"


def test_a_round_deadline_bounds_a_dripping_server(engine):
    _, _, thread_id = setup_thread(engine, TEXT)
    with FaultServer(drip("He goes home.", every_s=0.2)) as server:
        rnd = rounds.propose_round(engine, thread_id, settings(server.url, timeout_s=300), timeout_s=1)
    with session_scope(engine) as s:
        stored = s.get(Round, rnd.id)
    assert stored.status == "failed" and "got no answer in time" in stored.error, stored
    assert {d["reason"] for d in stored.dropped} == {
        "timeout: the server did not answer before the request's deadline"
    }, stored


def test_nul_and_numbers_in_replies_are_recorded_reasons_not_stored(engine):
    _, _, thread_id = setup_thread(engine, TEXT)
    reply = {"He go home.": "He goes\x00 home.", "We was late.": [{"type": "text", "text": 5}]}

    def fault(handler, body):
        sentence = body["messages"][-1]["content"].rsplit("Sentence: ", 1)[-1].strip()
        answer(reply.get(sentence, sentence))(handler, body)

    with FaultServer(fault) as server:
        rnd = rounds.propose_round(engine, thread_id, settings(server.url))
    assert rnd.status in ("reviewing", "finished")
    with session_scope(engine) as s:
        stored = s.get(Round, rnd.id)
        reasons = sorted(d["reason"] for d in stored.dropped)
        assert not any("\x00" in d["output"] for d in stored.dropped)
    assert reasons[0] == "control characters in the reply (1, such as NUL): not used"
    assert reasons[1].startswith("unparseable server reply (wrong schema at choices.0.message.content")


def test_cancelling_the_propose_job_stops_a_dripping_server(engine):
    from core import jobs
    from core.access import Actor

    doc_id, user_id, _ = setup_thread(engine, TEXT)
    admin = Actor(user_id=user_id, name="local", role="admin")
    with FaultServer(drip("He goes home.", every_s=0.2)) as server:
        job = revision.propose(engine, admin, doc_id, settings(server.url, timeout_s=300))
        worker = threading.Thread(target=jobs.run_once, args=(engine,))
        worker.start()
        assert server.received.wait(30)
        assert revision.cancel_job(engine, admin, job.id)
        worker.join(60)
        dripped = server.dripped
    assert not worker.is_alive()
    done = revision.get_job(engine, job.id)
    assert done.status == "cancelled", done
    assert dripped < 100  # the ~140-byte reply was never finished
    with session_scope(engine) as s:
        assert s.exec(select(Round.status)).all() == ["cancelled"]
