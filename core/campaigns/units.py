"""Shared units from the decision log (through core.decisions): a campaign's shared edits, or the
edits several people's threads have in common (imported R3 logs: the same change on the same base
version — R3's depth-1 edits are the same for every annotator of a document)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlmodel import Session, col, select

from core import decisions
from core.campaigns import assignment, model
from core.campaigns.agreement import Unit
from core.models import Edit, Round, Thread


def finished_stands(
    session: Session, campaign_id: int, *, gold: bool = False, decided_at: bool = True
) -> Iterator[tuple[int, decisions.Stands]]:
    """(item id, what stands) for each decided edit of the campaign's ready items (regular, or gold)
    and each person who finished the item (a reservation given up midway does not count), streamed
    in edit then person order; the stand carries its edit's round id as `extra[0]` (and when the
    person last acted, with `decided_at`). One read of the log, filtered by the campaign's rounds in
    the database."""
    rounds = model.ready_round_ids(session, campaign_id, gold=gold)
    return _finished_in(session, campaign_id, rounds, gold=gold, decided_at=decided_at)


def _finished_in(
    session: Session, campaign_id: int, rounds: dict[int, int], *, gold: bool, decided_at: bool
) -> Iterator[tuple[int, decisions.Stands]]:
    """finished_stands, given the campaign's ready rounds (round id -> item id) read already."""
    if not rounds:
        return
    finished = assignment.done_by_item(session, campaign_id)
    nobody: set[int] = set()
    in_campaign = model.ready_rounds(campaign_id, gold=gold)
    for st in decisions.stands(session, round_ids=in_campaign, extra=(col(Edit.round_id),), decided_at=decided_at):
        item_id = rounds.get(st.extra[0])
        if item_id is not None and st.user_id in finished.get(item_id, nobody):
            yield item_id, st


def campaign_units(session: Session, campaign_id: int, *, gold: bool = False) -> list[Unit]:
    """One unit per edit of the campaign's ready items (regular, or gold), with the labels of the
    people who finished the item (see finished_stands)."""
    rounds = model.ready_round_ids(session, campaign_id, gold=gold)
    if not rounds:
        return []
    by_edit: dict[int, dict[int, decisions.Stands]] = defaultdict(dict)
    for _, st in _finished_in(session, campaign_id, rounds, gold=gold, decided_at=False):
        by_edit[st.edit_id][st.user_id] = st
    # the edits' own columns only: ORM objects for 100,000 edits took a quarter of the time
    query = (
        select(col(Edit.id), col(Edit.round_id), col(Edit.intent), col(Edit.source))
        .where(col(Edit.round_id).in_(model.ready_rounds(campaign_id, gold=gold)))
        .order_by(col(Edit.round_id), col(Edit.position))
    )
    units = []
    nobody: dict[int, decisions.Stands] = {}
    for edit_id, round_id, intent, source in session.connection().execute(query):
        item_id = rounds.get(round_id or 0)
        if item_id is None:  # made ready between the two reads
            continue
        mine = by_edit.get(edit_id or 0, nobody)
        units.append(
            Unit(
                key=edit_id,
                labels={u: st.standing.status.value for u, st in mine.items()},
                depth=1,
                intent=intent,
                source=source,
                edit_ids=(edit_id or 0,),
                extra={
                    "item_id": item_id,
                    "round_id": round_id,
                    "texts": {u: st.standing.modified_text for u, st in mine.items() if st.standing.modified_text},
                },
            )
        )
    return units


_MATCH_COLUMNS = (
    col(Round.base_version_id),
    col(Round.depth),
    col(Edit.start),
    col(Edit.end),
    col(Edit.before),
    col(Edit.after),
    col(Edit.intent),
    col(Edit.source),
    col(Thread.document_id),
)


def matched_units(
    session: Session,
    *,
    project_id: int | None = None,
    document_id: int | None = None,
    depth: int | None = None,
) -> list[Unit]:
    """Units across people's own threads: decided edits that are the same change (span, before,
    after) on the same base version. A unit judged by one person only is kept (it counts nowhere)."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for st in decisions.stands(session, project_ids=None if project_id is None else [project_id], extra=_MATCH_COLUMNS):
        base, d, start, end, before, after, intent, source, doc = st.extra
        if (document_id is not None and doc != document_id) or (depth is not None and d != depth):
            continue
        key = (base, start, end, before, after)
        unit = groups.setdefault(key, {"labels": {}, "edits": [], "depth": d, "intent": intent, "source": source})
        unit["labels"][st.user_id] = st.standing.status.value
        unit["edits"].append(st.edit_id)
    return [
        Unit(
            key=key,
            labels=g["labels"],
            depth=g["depth"],
            intent=g["intent"],
            source=g["source"],
            edit_ids=tuple(dict.fromkeys(g["edits"])),
        )
        for key, g in groups.items()
    ]
