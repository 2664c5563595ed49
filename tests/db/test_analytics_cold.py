"""The fast Analytics and Learning summaries (issue 13, cold first paint) against the straightforward
definition, on a randomized hostile log: several people and projects, undo chains (accept, undo,
modify, undo, undo...), decisions by people other than the thread owner, hidden edits decided or not,
simulated people and threads, rounds made at the same moment and edits at the same position. Every
filter combination and non-admin actors, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import groupby
from operator import attrgetter, itemgetter
from statistics import mean, median
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import access, decisions, documents, users
from core.db import read_scope, session_scope
from core.learning import analytics
from core.learning.analytics import EditRecord, Filters
from core.models import Decision, Document, Edit, Project, ProposerSpec, Round, Thread, User, Version
from core.services import analytics as analytics_service
from core.services import learning

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
SOURCES = (None, "lt:A", "lt:B", "harper:X", "SCRIPTED")
INTENTS = (None, "fluency", "clarity")
HIDDEN = ((None, None, None),) * 3 + (
    ("muted rule: lt:A", "muted-rule", "lt:A"),
    ("below threshold", "threshold", None),
)
# Undo-heavy, so chains like accept, undo, modify, undo, undo occur often.
ACTIONS = ("accept", "reject", "modify", "undo", "undo")


def _seed(engine: Engine, seed: int) -> dict[str, Any]:
    """A random hostile log; returns the people, projects and documents to filter by."""
    rng = random.Random(seed)
    with session_scope(engine) as s:
        admin = documents.default_user(s).id
        p1 = documents.default_project(s).id
        second = Project(name="Second", settings={})
        s.add(second)
        s.flush()
        p2 = second.id
        writer = users.create_user(s, "wendy", "writer", project_ids=[p1]).id
        bot = users.create_user(s, "bot", "writer", simulated=True, project_ids=[p1, p2]).id
        researcher = users.create_user(s, "rita", "researcher", project_ids=[p1]).id
        specs = []
        for name in ("rules", "tiny-t5"):
            spec = ProposerSpec(name=name, kind="builtin", params={}, fingerprint=f"fp-{name}")
            s.add(spec)
            s.flush()
            specs.append(spec.id)
    people = [admin, writer, bot, researcher]
    ids: dict[type, int] = {}
    rows: dict[type, list[dict[str, Any]]] = defaultdict(list)

    def new(model: type, **values: Any) -> int:
        ids[model] = ids.get(model, 10_000) + 1
        rows[model].append({"id": ids[model], **values})
        return ids[model]

    docs = []
    when = T0
    for d in range(8):
        project = p1 if d < 6 else p2
        doc = new(Document, project_id=project, title=f"Doc {d % 5}", owner_id=admin, created_at=T0, updated_at=T0)
        docs.append(doc)
        version = new(Version, document_id=doc, parent_id=None, text="x", origin="paste", created_by_id=admin,
                      created_at=T0)  # fmt: skip
        owners = rng.sample(people if project == p1 else [admin, bot], k=rng.randint(1, 2))
        for owner in owners:
            thread = new(Thread, document_id=doc, user_id=owner, status="finished", stop_reason="done",
                         simulated=rng.random() < 0.3, created_at=T0)  # fmt: skip
            for depth in range(1, rng.randint(1, 4) + 1):
                at = T0 + timedelta(hours=rng.randint(0, 6))  # rounds made at the same moment: ties
                rnd = new(Round, thread_id=thread, depth=depth, base_version_id=version, result_version_id=None,
                          request={}, status="applied", dropped=[], created_at=at, finished_at=at,
                          spec_id=rng.choice([None, *specs]))  # fmt: skip
                for _ in range(rng.randint(0, 6)):
                    reason, kind, value = rng.choice(HIDDEN)
                    edit = new(Edit, round_id=rnd, position=rng.randint(0, 2), start=0, end=1, before="a",
                               after="b", alternatives=[], intent=rng.choice(INTENTS), explanation="",
                               source=rng.choice(SOURCES), content_hash=f"h{ids.get(Edit, 0)}",
                               predicted_accept=rng.choice([None, rng.random()]), hidden_reason=reason,
                               hidden_kind=kind, hidden_value=value)  # fmt: skip
                    deciders = [owner] + [p for p in people if p != owner and rng.random() < 0.3]
                    for person in deciders:
                        for _ in range(rng.choice([0, 1, 1, 2, 3, 5, 6])):
                            when += timedelta(seconds=rng.randint(0, 2))  # same-second decisions too
                            action = rng.choice(ACTIONS)
                            new(Decision, round_id=rnd, edit_id=edit, user_id=person, action=action,
                                modified_text="B!" if action == "modify" else None,
                                time_taken_ms=rng.choice([None, rng.randint(100, 9000)]),
                                simulated=person == bot, created_at=when)  # fmt: skip
    with session_scope(engine) as s:
        for model in (Document, Version, Thread, Round, Edit, Decision):
            if rows[model]:
                s.execute(insert(model), rows[model])
    return {"admin": admin, "writer": writer, "bot": bot, "researcher": researcher, "p1": p1, "p2": p2, "docs": docs}


# --- the straightforward definition ------------------------------------------------------------------


def _reference_records(s: Session, f: Filters) -> list[EditRecord]:
    """Edit by edit: the owner's decisions, oldest first, through core.decisions.standing."""
    specs = {sp.id: analytics._proposer_label(sp) for sp in s.exec(select(ProposerSpec)).all()}
    found = s.exec(
        select(Edit, Round, Thread, Document, User)
        .join(Round, col(Round.id) == col(Edit.round_id))
        .join(Thread, col(Thread.id) == col(Round.thread_id))
        .join(Document, col(Document.id) == col(Thread.document_id))
        .join(User, col(User.id) == col(Thread.user_id))
    ).all()
    out = []
    for e, r, t, d, u in sorted(found, key=lambda x: (x[1].created_at, x[1].id, x[0].position, x[0].id)):
        if (
            (f.project_id is not None and d.project_id != f.project_id)
            or (f.project_ids is not None and d.project_id not in f.project_ids)
            or (f.document_id is not None and d.id != f.document_id)
            or (f.user_id is not None and t.user_id != f.user_id)
            or (f.since is not None and r.created_at < f.since)
            or (f.until is not None and r.created_at >= f.until)
            or (f.simulated is not None and t.simulated != f.simulated)
        ):
            continue
        mine = s.exec(
            select(Decision).where(Decision.edit_id == e.id, Decision.user_id == t.user_id).order_by(col(Decision.id))
        ).all()
        st = decisions.standing(mine)
        rec = EditRecord(
            edit_id=e.id, round_id=r.id, depth=r.depth, thread_id=t.id, document_id=d.id, project_id=d.project_id,
            user_id=t.user_id, status=st.status.value, source=e.source, intent=e.intent,
            proposer=specs.get(r.spec_id, ""), document=d.title, user=u.name,
            simulated=bool(u.simulated or t.simulated),
            predicted_accept=e.predicted_accept, hidden_reason=e.hidden_reason, hidden_kind=e.hidden_kind,
            hidden_value=e.hidden_value, proposed_at=r.created_at,
            decided_at=mine[-1].created_at if st.decided else None,
            time_taken_ms=mine[-1].time_taken_ms if st.decided else None,
        )  # fmt: skip
        if f.proposer:
            p = f.proposer.casefold()
            if rec.proposer.casefold() != p and not (rec.source or "").casefold().startswith(p):
                continue
        out.append(rec)
    return out


def _tally(rs: list[EditRecord]) -> dict[str, object]:
    hidden = sum(1 for r in rs if r.hidden)
    t = decisions.tally_standing(r.status for r in rs)
    shown = len(rs) - hidden
    return {
        "proposed": len(rs), "shown": shown, "hidden": hidden, "decided": t.decided, "accepted": t.accepted,
        "modified": t.modified, "rejected": t.rejected,
        "pending": sum(1 for r in rs if not r.hidden and r.status == "pending"),
        "acceptance": t.acceptance, "acceptance_of_shown": (t.accepted + t.modified) / shown if shown else None,
    }  # fmt: skip


def _by(rs: list[EditRecord], by: str) -> list[dict[str, object]]:
    key = {
        "depth": lambda r: r.depth, "intent": lambda r: r.intent or "(none)", "source": lambda r: r.source or "(none)",
        "user": lambda r: r.user or str(r.user_id), "proposer": lambda r: r.proposer or "(unknown)",
        "engine": lambda r: r.source.split(":", 1)[0] if r.source else "(none)",
        "document": lambda r: r.document or str(r.document_id),
    }[by]  # fmt: skip
    groups: dict[object, list[EditRecord]] = defaultdict(list)
    for r in rs:
        groups[key(r)].append(r)
    return [{by: g, **_tally(v)} for g, v in sorted(groups.items(), key=lambda kv: (str(type(kv[0])), kv[0]))]


def _per_round(rs: list[EditRecord]) -> list[dict[str, object]]:
    groups: dict[int, list[EditRecord]] = defaultdict(list)
    for r in rs:
        groups[r.round_id].append(r)
    out = []
    for rid, g in sorted(groups.items()):
        t = _tally(g)
        out.append({"round": rid, "thread": g[0].thread_id, "document": g[0].document, "depth": g[0].depth,
                    "proposed_at": g[0].proposed_at,
                    **{k: t[k] for k in ("proposed", "shown", "hidden", "decided", "accepted", "modified",
                                         "rejected")}})  # fmt: skip
    return out


def _per_depth(rs: list[EditRecord]) -> list[dict[str, object]]:
    by_depth: dict[int, list[dict]] = defaultdict(list)
    for row in _per_round(rs):
        by_depth[row["depth"]].append(row)
    return [
        {"depth": d, "rounds": len(v), "proposed_per_round": mean(r["proposed"] for r in v),
         "shown_per_round": mean(r["shown"] for r in v),
         "accepted_per_round": mean(r["accepted"] + r["modified"] for r in v)}
        for d, v in sorted(by_depth.items())
    ]  # fmt: skip


def _times(rs: list[EditRecord]) -> list[dict[str, object]]:
    groups: dict[object, list[float]] = defaultdict(list)
    for r in rs:
        if r.decided and r.time_taken_ms is not None:
            groups[r.intent or "(none)"].append(r.time_taken_ms / 1000)
    out = []
    for g, xs in sorted(groups.items(), key=lambda kv: str(kv[0])):
        xs.sort()
        out.append({"intent": g, "decisions": len(xs), "median_s": median(xs), "mean_s": mean(xs),
                    "p90_s": xs[min(len(xs) - 1, int(0.9 * len(xs)))]})  # fmt: skip
    return out


def _decided_pairs(s: Session, project_id: int, user_id: int | None) -> int:
    """Decided (edit, person) pairs of a project: each person's decisions on each edit through standing()."""
    q = (
        select(Decision)
        .join(Edit, col(Edit.id) == col(Decision.edit_id))
        .join(Round, col(Round.id) == col(Edit.round_id))
        .join(Thread, col(Thread.id) == col(Round.thread_id))
        .join(Document, col(Document.id) == col(Thread.document_id))
        .where(Document.project_id == project_id)
    )
    if user_id is not None:
        q = q.where(Decision.user_id == user_id)
    rows = sorted(s.exec(q).all(), key=attrgetter("edit_id", "user_id", "id"))
    return sum(decisions.standing(list(g)).decided for _, g in groupby(rows, key=attrgetter("edit_id", "user_id")))


# --- the comparisons ---------------------------------------------------------------------------------


@pytest.fixture
def hostile(engine: Engine) -> dict[str, Any]:
    return _seed(engine, seed=13)


def _filters(w: dict[str, Any]) -> list[Filters]:
    mid = T0 + timedelta(hours=3)
    return [
        Filters(),
        Filters(project_id=w["p1"]),
        Filters(project_id=w["p2"]),
        Filters(document_id=w["docs"][2]),
        Filters(user_id=w["writer"]),
        Filters(user_id=w["bot"], simulated=True),
        Filters(since=mid),
        Filters(until=mid, simulated=False),
        Filters(project_id=w["p1"], since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=5)),
        Filters(proposer="lt"),
        Filters(proposer="tiny-t5", project_id=w["p1"]),
        Filters(simulated=True),
    ]


def test_summary_matches_the_straightforward_definition(engine, hostile):
    w = hostile
    with read_scope(engine) as s:
        actors = {name: access.actor_for(s, w[name]) for name in ("admin", "researcher", "writer")}
    checked = 0
    for name, actor in actors.items():
        for f in _filters(w):
            if name != "admin" and (
                f.project_id == w["p2"] or (name == "writer" and f.user_id not in (None, w["writer"]))
            ):
                continue  # refused for them (tested in test_policy_services)
            for proposer in (None, "rules"):
                got = analytics_service.summary(engine, actor, f, proposer)
                scoped = analytics_service.scoped(actor, f)
                with read_scope(engine) as s:
                    want = _reference_records(s, scoped)
                if name == "writer":
                    assert {r.user_id for r in want} <= {w["writer"]}, "a writer's figures hold only their own threads"
                assert analytics_service.records(engine, actor, f) == want
                unread = analytics_service.records(engine, actor, f, decided_at=False)
                assert unread == [r._replace(decided_at=None) for r in want]  # what the summary counts
                assert got.proposers == sorted({r.proposer for r in want if r.proposer})
                if proposer:
                    want = [
                        r for r in want if r.proposer.casefold() == proposer or (r.source or "").startswith(proposer)
                    ]
                assert got.total == _tally(want), (name, f, proposer)
                assert got.acceptance == {by: _by(want, by) for by in analytics_service.ACCEPTANCE_BY}
                assert got.per_round == _per_round(want)
                assert got.per_depth == _per_depth(want)
                assert got.times == _times(want)
                assert got.hidden == analytics.hidden_summary(want)
                assert got.preference == analytics.preference_quality(want)
                assert got.simulated_projects == sorted({r.project_id for r in want if r.simulated})
                checked += bool(want)
    assert checked > 40, "most combinations hold records"


def test_grouping_by_every_key_matches(engine, hostile):
    with read_scope(engine) as s:
        rs = analytics.load_records(s, Filters())
    assert (
        len({r.status for r in rs}) == 4
        and any(r.hidden for r in rs)
        and any(r.hidden_reason and r.decided for r in rs)
    )
    for by in ("depth", "intent", "source", "user", "proposer", "engine", "document"):
        assert analytics.acceptance_by(rs, by) == _by(rs, by), by
        assert [analytics.group_key(by)(r) for r in rs] == [_by([r], by)[0][by] for r in rs]
    assert analytics.tally(iter(rs)) == _tally(rs)  # a generator is counted the same as a list


def test_learning_matches_the_straightforward_definition(engine, hostile):
    w = hostile
    for name in ("admin", "researcher", "writer", "bot"):
        with read_scope(engine) as s:
            actor = access.actor_for(s, w[name])
        view = learning.learning_view(engine, actor, w["p1"])
        figures = learning.learning_figures(view)
        with read_scope(engine) as s:
            want = _reference_records(s, Filters(project_id=w["p1"], user_id=actor.user_id))
            own = _decided_pairs(s, w["p1"], actor.user_id)
            everyone = _decided_pairs(s, w["p1"], None if actor.reads_all_decisions else actor.user_id)
        assert view.records == [r._replace(decided_at=None) for r in want]  # no figure here shows that time
        assert (view.own_decided, view.project_decided) == (own, everyone), name
        assert figures.by_source == _by(want, "source")
        assert figures.quality == analytics.preference_quality(want)
        hidden = defaultdict(int)
        for r in want:
            if r.hidden and r.hidden_kind and r.hidden_value:
                hidden[r.hidden_value] += 1
        assert figures.hidden_by_value == dict(hidden)


@pytest.mark.parametrize("seed", range(40))
def test_fold_matches_standing_on_hostile_sequences(seed):
    """decisions.fold_standing and for_thread_owners' grouping against standing() of each group alone."""
    rng = random.Random(seed)
    rows = []
    for edit in range(rng.randint(1, 30)):
        for user in rng.sample(range(4), k=rng.randint(1, 3)):
            for _ in range(rng.randint(1, 7)):
                action = rng.choice(ACTIONS)
                rows.append(_Row(edit, user, action, "x" if action == "modify" else None))
    got = [
        (g[0].edit_id, g[0].user_id, st) for st, g in decisions.fold_standing(rows, attrgetter("edit_id", "user_id"))
    ]
    want = [(k[0], k[1], decisions.standing(list(g))) for k, g in groupby(rows, key=itemgetter(0, 1))]
    assert got == want


class _Row(tuple):
    __slots__ = ()

    def __new__(cls, edit_id: int, user_id: int, action: str, modified_text: str | None) -> _Row:
        return super().__new__(cls, (edit_id, user_id, action, modified_text))

    edit_id = property(itemgetter(0))
    user_id = property(itemgetter(1))
    action = property(itemgetter(2))
    modified_text = property(itemgetter(3))


def test_owner_standing_needs_the_edit_id_first(engine):
    with read_scope(engine) as s, pytest.raises(ValueError, match="Edit.id"):
        next(decisions.with_owner_standing(s, sa_select(col(Edit.source), col(Edit.id)).join(Round).join(Thread)))
