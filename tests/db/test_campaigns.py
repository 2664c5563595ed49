"""Annotation campaigns on SQLite and PostgreSQL: proposals made once and shared, blind review
through the component protocol, assignment under the overlap (also with many threads at once),
expiry and reclaiming, manual assignment and sending back, labels, adjudication, gold pausing."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from core import access, users
from core.access import PermissionDenied
from core.campaigns import assignment, model
from core.db import session_scope
from core.errors import ConflictError, InputError
from core.models import (
    AssignmentStatus,
    CampaignAssignment,
    CampaignItem,
    Edit,
    Project,
    Role,
    Round,
    RoundStatus,
    id_of,
    utcnow,
)
from core.services import campaigns
from core.services import review as review_service
from tests.campaign_helpers import decide_all, make_campaign


def _edit_ids(engine: Engine, round_id: int) -> list[int]:
    with session_scope(engine) as s:
        return [e for e in s.exec(select(Edit.id).where(Edit.round_id == round_id)) if e is not None]


def test_proposals_are_made_once_and_everyone_judges_the_same_edits_blind(engine: Engine) -> None:
    setup = make_campaign(engine, docs=1, annotators=2, overlap=2)
    a, b = setup.annotators
    with session_scope(engine) as s:
        (item,) = model.items(s, setup.campaign_id)
        rnd = s.get(Round, item.round_id)
        assert item.status == "ready" and rnd is not None and rnd.status == RoundStatus.REVIEWING
    wa = campaigns.next_item(engine, a, setup.campaign_id)
    wb = campaigns.next_item(engine, b, setup.campaign_id)
    assert wa is not None and wb is not None and wa.round_id == wb.round_id  # one shared round
    assert all(v is None for v in decide_all(engine, a, wa.round_id, "accept").values())
    # b sees every edit pending: a's decisions on the same rows are not shown to b
    view_b = review_service.round_view(engine, b, wb.round_id)
    assert view_b.edits and all(e.status == "pending" for e in view_b.edits)
    decide_all(engine, b, wb.round_id, "reject")
    campaigns.finish_item(engine, a, setup.campaign_id, wa.item_id)
    campaigns.finish_item(engine, b, setup.campaign_id, wb.item_id)
    labels = campaigns.standing_labels(engine, setup.researcher, setup.campaign_id)
    assert labels and all(lab.source == "unresolved" and lab.judges == 2 for lab in labels)
    figures = campaigns.agreement_figures(engine, setup.researcher, setup.campaign_id, by="intent")
    assert figures["overall"]["units"] == len(labels) and figures["overall"]["percent_agreement"] == 0.0
    # an annotator may not read agreement, nor decide on a round they do not hold
    with pytest.raises(PermissionDenied):
        campaigns.agreement_figures(engine, a, setup.campaign_id)


def test_someone_not_invited_or_not_holding_the_item_is_refused(engine: Engine) -> None:
    setup = make_campaign(engine, docs=2, annotators=2, overlap=1, prefix="r")
    a, b = setup.annotators
    wa = campaigns.next_item(engine, a, setup.campaign_id)
    assert wa is not None
    edit_id = _edit_ids(engine, wa.round_id)[0]
    with pytest.raises(PermissionDenied):
        review_service.decide(engine, b, wa.round_id, edit_id, "accept")
    with pytest.raises(PermissionDenied):
        review_service.round_view(engine, b, wa.round_id)
    result = review_service.sync_outbox(
        engine, b, wa.round_id, {"seq": 1, "items": [{"k": "x1", "a": "accept", "id": edit_id}]}, {}
    )
    assert result["x1"] is not None  # refused, and shown as failed
    with pytest.raises(PermissionDenied):
        campaigns.next_item(engine, setup.researcher, setup.campaign_id)  # not invited


def test_next_never_repeats_an_item_and_never_exceeds_the_overlap(engine: Engine) -> None:
    setup = make_campaign(engine, docs=3, annotators=4, overlap=2, prefix="o")
    seen: dict[int, list[int]] = {}
    for actor in setup.annotators:
        while (work := campaigns.next_item(engine, actor, setup.campaign_id)) is not None:
            seen.setdefault(work.item_id, []).append(actor.user_id)
            decide_all(engine, actor, work.round_id)
            campaigns.finish_item(engine, actor, setup.campaign_id, work.item_id)
    assert sorted(len(v) for v in seen.values()) == [2, 2, 2]
    assert all(len(set(v)) == len(v) for v in seen.values())
    status = campaigns.status(engine, setup.researcher, setup.campaign_id)
    assert status.campaign["items_complete"] == 3 and status.campaign["left"] == 0


def test_least_judged_first_and_one_reservation_per_person(engine: Engine) -> None:
    setup = make_campaign(engine, docs=3, annotators=3, overlap=3, prefix="l")
    a, b, c = setup.annotators
    wa = campaigns.next_item(engine, a, setup.campaign_id)
    assert wa is not None and campaigns.next_item(engine, a, setup.campaign_id) == wa  # the same hold
    wb = campaigns.next_item(engine, b, setup.campaign_id)
    wc = campaigns.next_item(engine, c, setup.campaign_id)
    assert wb is not None and wc is not None
    assert len({wa.item_id, wb.item_id, wc.item_id}) == 3  # nobody doubles up while an item has 0


def test_expired_reservations_return_to_the_pool_and_cannot_be_finished(engine: Engine) -> None:
    setup = make_campaign(engine, docs=1, annotators=2, overlap=1, prefix="e", reservation_minutes=5)
    a, b = setup.annotators
    wa = campaigns.next_item(engine, a, setup.campaign_id)
    assert wa is not None and campaigns.next_item(engine, b, setup.campaign_id) is None  # overlap 1: full
    decide_all(engine, a, wa.round_id)
    with session_scope(engine) as s:  # time passes: the reservation is past its expiry
        row = s.get(CampaignAssignment, wa.assignment_id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(minutes=1)
        s.add(row)
    with pytest.raises(ConflictError):
        campaigns.finish_item(engine, a, setup.campaign_id, wa.item_id)
    edit_id = _edit_ids(engine, wa.round_id)[0]
    with pytest.raises(PermissionDenied):  # a decision after expiry is refused, not stored
        review_service.decide(engine, a, wa.round_id, edit_id, "reject")
    wb = campaigns.next_item(engine, b, setup.campaign_id)
    assert wb is not None and wb.item_id == wa.item_id  # reclaimed and given to b
    decide_all(engine, b, wb.round_id)
    campaigns.finish_item(engine, b, setup.campaign_id, wb.item_id)
    labels = campaigns.standing_labels(engine, setup.researcher, setup.campaign_id)
    assert all(set(lab.votes) == {b.user_id} for lab in labels)  # a's unfinished work does not count


def test_finished_work_stays_manual_assignment_respects_overlap_and_items_go_back(engine: Engine) -> None:
    setup = make_campaign(engine, docs=1, annotators=3, overlap=2, prefix="m")
    a, b, c = setup.annotators
    with session_scope(engine) as s:
        (item,) = model.items(s, setup.campaign_id)
        item_id = item.id or 0
    campaigns.assign(engine, setup.researcher, setup.campaign_id, item_id, a.user_id)
    campaigns.assign(engine, setup.researcher, setup.campaign_id, item_id, b.user_id)
    with pytest.raises(ConflictError):
        campaigns.assign(engine, setup.researcher, setup.campaign_id, item_id, c.user_id)
    with pytest.raises(PermissionDenied):
        campaigns.assign(engine, a, setup.campaign_id, item_id, c.user_id)
    wa = campaigns.next_item(engine, a, setup.campaign_id)
    assert wa is not None and wa.item_id == item_id and wa.status == AssignmentStatus.ASSIGNED
    with pytest.raises(InputError):  # every edit must be decided first
        campaigns.finish_item(engine, a, setup.campaign_id, item_id)
    decide_all(engine, a, wa.round_id)
    campaigns.finish_item(engine, a, setup.campaign_id, item_id)
    with session_scope(engine) as s:
        assert assignment.reclaim_expired(s, setup.campaign_id, utcnow() + timedelta(days=30)) == 0
    assert campaigns.next_item(engine, a, setup.campaign_id) is None  # done, and nothing else left
    campaigns.reopen(engine, setup.researcher, setup.campaign_id, item_id, a.user_id)
    again = campaigns.next_item(engine, a, setup.campaign_id)
    assert again is not None and again.item_id == item_id
    decide_all(engine, a, again.round_id, "reject")  # the correction
    campaigns.finish_item(engine, a, setup.campaign_id, item_id)


def test_adjudication_queue_and_the_label_that_stands(engine: Engine) -> None:
    setup = make_campaign(engine, docs=1, annotators=3, overlap=3, prefix="j", min_agreement=0.9)
    votes = ["accept", "accept", "reject"]
    for actor, action in zip(setup.annotators, votes, strict=True):
        work = campaigns.next_item(engine, actor, setup.campaign_id)
        assert work is not None
        decide_all(engine, actor, work.round_id, action)
        campaigns.finish_item(engine, actor, setup.campaign_id, work.item_id)
    labels = campaigns.standing_labels(engine, setup.researcher, setup.campaign_id)
    assert {lab.source for lab in labels} == {"majority"} and {lab.label for lab in labels} == {"accept"}
    queue = campaigns.adjudication_queue(engine, setup.researcher, setup.campaign_id)
    assert len(queue) == len(labels)
    with pytest.raises(PermissionDenied):
        campaigns.adjudicate(engine, setup.annotators[0], setup.campaign_id, queue[0].edit_id, "reject")
    campaigns.adjudicate(engine, setup.researcher, setup.campaign_id, queue[0].edit_id, "reject")
    after = {lab.edit_id: lab for lab in campaigns.standing_labels(engine, setup.researcher, setup.campaign_id)}
    assert after[queue[0].edit_id].source == "adjudicated" and after[queue[0].edit_id].label == "reject"
    assert len(campaigns.adjudication_queue(engine, setup.researcher, setup.campaign_id)) == len(labels) - 1


def test_gold_items_score_people_and_pause_them_below_the_threshold(engine: Engine) -> None:
    setup = make_campaign(
        engine, docs=2, gold_docs=2, annotators=1, overlap=1, prefix="g", gold_every=1, gold_min_accuracy=0.8
    )
    (a,) = setup.annotators
    with session_scope(engine) as s:
        gold = [i for i in model.items(s, setup.campaign_id) if i.is_gold]
    for item in gold:  # the known answer of every gold edit: reject
        answers = {e: "reject" for e in _edit_ids(engine, item.round_id or 0)}
        campaigns.set_gold_answers(engine, setup.researcher, item.id or 0, answers)
    work = campaigns.next_item(engine, a, setup.campaign_id)
    assert work is not None and work.gold  # every item is due gold first
    decide_all(engine, a, work.round_id, "accept")  # all wrong
    result = campaigns.finish_item(engine, a, setup.campaign_id, work.item_id)
    assert result["gold_accuracy"] == 0.0 and result["paused"] is False  # fewer than 5 gold edits yet
    work = campaigns.next_item(engine, a, setup.campaign_id)
    assert work is not None and work.gold
    decide_all(engine, a, work.round_id, "accept")
    result = campaigns.finish_item(engine, a, setup.campaign_id, work.item_id)
    assert result["paused"] is True
    with pytest.raises(PermissionDenied, match="paused"):
        campaigns.next_item(engine, a, setup.campaign_id)
    scores = campaigns.gold_scores(engine, setup.researcher, setup.campaign_id)
    assert scores[a.user_id].total == 8 and scores[a.user_id].correct == 0


def test_many_people_clicking_next_at_once_never_over_assign(engine: Engine) -> None:
    """12 people in threads, each with their own connection, take, judge and finish items until
    nothing is left: each item ends with exactly `overlap` finishers, nobody twice, no decision lost."""
    setup = make_campaign(engine, docs=6, annotators=12, overlap=3, prefix="x")
    errors: list[BaseException] = []
    stored: Counter[int] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(len(setup.annotators))

    def work(actor: object) -> None:
        try:
            start.wait()
            while (item := campaigns.next_item(engine, actor, setup.campaign_id)) is not None:  # type: ignore[arg-type]
                results = decide_all(engine, actor, item.round_id)  # type: ignore[arg-type]
                assert all(v is None for v in results.values()), results
                with lock:
                    stored[actor.user_id] += len(results)  # type: ignore[attr-defined]
                campaigns.finish_item(engine, actor, setup.campaign_id, item.item_id)  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(a,)) for a in setup.annotators]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    with session_scope(engine) as s:
        rows = list(s.exec(select(CampaignAssignment)))
        items = list(s.exec(select(CampaignItem)))
    per_item = Counter(r.item_id for r in rows if r.status == AssignmentStatus.DONE)
    assert sorted(per_item.values()) == [3] * len(items)
    assert len({(r.item_id, r.user_id) for r in rows}) == len(rows)
    labels = campaigns.standing_labels(engine, setup.researcher, setup.campaign_id)
    assert sum(lab.judges for lab in labels) == sum(stored.values())  # every stored decision counts


def test_agreement_on_imported_r3_logs_matches_the_reference_figures(sqlite_engine: Engine) -> None:
    """R3's depth-1 edits are the same for every annotator of a document: recognised as shared units."""
    from core.access import actor_for
    from core.data.r3_import import import_r3_paths
    from core.documents import default_user
    from tests.conftest import shared_data

    import_r3_paths(sqlite_engine, [shared_data("r3_multi_sample")])
    with session_scope(sqlite_engine) as s:
        admin = actor_for(s, default_user(s).id or 0)
    out = campaigns.log_agreement(sqlite_engine, admin, by="depth")
    depth1 = next(r for r in out["rows"] if r["depth"] == 1)
    assert depth1["units"] == 20 and depth1["people"] == 2
    assert depth1["alpha"] == pytest.approx(0.304, abs=0.0005) and depth1["percent_agreement"] == 0.7


def test_a_researcher_of_another_project_neither_runs_nor_reads_the_campaign(engine: Engine) -> None:
    setup = make_campaign(engine, docs=1, annotators=1, overlap=1, prefix="p")
    with session_scope(engine) as s:
        elsewhere = Project(name="Elsewhere", settings={})
        s.add(elsewhere)
        s.flush()
        stranger = users.create_user(s, "p-stranger", Role.RESEARCHER, project_ids=[id_of(elsewhere)])
        outsider = access.actor_for(s, id_of(stranger))
    assert campaigns.list_campaigns(engine, outsider) == []
    for call in (
        lambda: campaigns.status(engine, outsider, setup.campaign_id),
        lambda: campaigns.agreement_figures(engine, outsider, setup.campaign_id),
        lambda: campaigns.standing_labels(engine, outsider, setup.campaign_id),
        lambda: campaigns.adjudication_queue(engine, outsider, setup.campaign_id),
        lambda: campaigns.export_rows(engine, outsider, setup.campaign_id, "labels"),
        lambda: campaigns.close(engine, outsider, setup.campaign_id),
        lambda: campaigns.log_agreement(engine, outsider),
    ):
        with pytest.raises(PermissionDenied, match="not a member|name a project"):
            call()
    assert [c.id for c in campaigns.list_campaigns(engine, setup.researcher)] == [setup.campaign_id]
    assert campaigns.status(engine, setup.researcher, setup.campaign_id).campaign["name"] == "p campaign"
