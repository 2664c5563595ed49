"""Shared units from the decision log (through core.decisions): a campaign's shared edits, or the
edits several people's threads have in common (imported R3 logs: the same change on the same base
version — R3's depth-1 edits are the same for every annotator of a document)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlmodel import Session, col, select

from core import decisions
from core.campaigns import assignment, model
from core.campaigns.agreement import Unit
from core.models import Edit, Round, Thread


def campaign_units(session: Session, campaign_id: int, *, gold: bool = False) -> list[Unit]:
    """One unit per edit of the campaign's ready items (regular, or gold), with the labels of the
    people who finished the item (a reservation given up midway does not count)."""
    rounds = model.ready_round_ids(session, campaign_id, gold=gold)
    if not rounds:
        return []
    finished = assignment.done_by_item(session, campaign_id)
    query = select(Edit).where(col(Edit.round_id).in_(list(rounds))).order_by(col(Edit.round_id), col(Edit.position))
    edits = list(session.exec(query))
    stands = decisions.for_edits(session, [e.id for e in edits if e.id is not None])
    by_edit: dict[int, dict[int, decisions.Stands]] = defaultdict(dict)
    for (edit_id, user_id), st in stands.items():
        by_edit[edit_id][user_id] = st
    units = []
    for edit in edits:
        item_id = rounds[edit.round_id]
        people = finished.get(item_id, set())
        mine = {u: st for u, st in by_edit.get(edit.id or 0, {}).items() if u in people}
        units.append(
            Unit(
                key=edit.id,
                labels={u: st.standing.status.value for u, st in mine.items()},
                depth=1,
                intent=edit.intent,
                source=edit.source,
                edit_ids=(edit.id or 0,),
                extra={
                    "item_id": item_id,
                    "round_id": edit.round_id,
                    "texts": {u: st.standing.modified_text for u, st in mine.items() if st.standing.modified_text},
                    "times": {u: st.time_taken_ms for u, st in mine.items()},
                    "decided_at": {u: st.decided_at for u, st in mine.items()},
                    "edit": edit,
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
