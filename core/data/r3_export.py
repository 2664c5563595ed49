"""Redraft threads out as R3 / IteraTeR whole-session logs (what core.data.r3_import reads back):
an imported thread gives its log back; any other thread exports to the same format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import decisions
from core.data.r3_format import ANNOTATOR_NAME, action_type, representation
from core.db import session_scope
from core.decisions import EditStatus
from core.documents import get_document, get_version, head_version
from core.models import Edit as EditRow
from core.models import Round, RoundStatus, id_of
from core.revision.review import apply_decided, edit_states
from core.revision.threads import get_thread
from core.users import get_user

_EXPORTED = (RoundStatus.APPLIED, RoundStatus.REVIEWING, RoundStatus.FINISHED)
# What R3 calls a decision; a rewrite has no R3 equivalent and is written as Accept of its text.
_R3_LABEL = {EditStatus.ACCEPT: "Accept", EditStatus.MODIFY: "Accept", EditStatus.REJECT: "Reject"}


def _rounds(session: Session, thread_id: int) -> list[Round]:
    query = select(Round).where(Round.thread_id == thread_id).order_by(col(Round.depth), col(Round.id))
    return list(session.exec(query).all())


def export_thread(session: Session, thread_id: int) -> dict[str, Any]:
    """A thread as an R3 whole-session object (what `import_r3_paths` reads back).

    A rewrite (modify) has no R3 equivalent: it is written as Accept of the rewritten text, with the
    model's proposal under `model_after`. An edit nobody decided has `accept_or_reject: null`."""
    thread = get_thread(session, thread_id)
    doc = get_document(session, thread.document_id, include_deleted=True)
    rounds = [r for r in _rounds(session, thread_id) if r.status in _EXPORTED]
    edits_by_round: dict[int, list[EditRow]] = {}
    if rounds:
        for e in session.exec(
            select(EditRow)
            .where(col(EditRow.round_id).in_([id_of(r) for r in rounds]))
            .order_by(col(EditRow.round_id), col(EditRow.position))
        ).all():
            edits_by_round.setdefault(e.round_id, []).append(e)
    edit_ids = [id_of(e) for es in edits_by_round.values() for e in es]
    stood = {e: s.standing for (e, _), s in decisions.for_edits(session, edit_ids, thread.user_id).items()}
    first_meta = (rounds[0].request or {}).get("r3", {}) if rounds else {}
    top = dict(first_meta.get("top") or {})
    zero = top.pop("rev_depth_0", {}) or {}
    as_strings = set(top.pop("depth_keys_as_strings", []) or [])
    top.pop("per_round", None)
    doc_id = doc.title
    out: dict[str, Any] = {}
    if "doc_no" not in top:
        out["doc_no"] = doc.id
    out.update({k: v for k, v in top.items() if k not in ("rejected_edit_actions", "curr_rev_depth")})
    if rounds:
        initial = get_version(session, rounds[0].base_version_id).text
    else:
        initial = head_version(session, id_of(doc), include_deleted=True).text
    out["curr_rev_depth"] = top.get("curr_rev_depth", (max((r.depth for r in rounds), default=0) + 1))
    zero_doc = {"doc_id": doc_id, "before_revision": initial, **(zero.get("doc_extra") or {})}
    out["rev_depth_0"] = {
        **(zero.get("meta") or {"curr_annot_index": 0, "doc_chunks": [], "edit_idx_to_doc_chunk_idx": {}}),
        "doc": zero_doc,
    }
    rejected: list[list[str]] = []
    for rnd in rounds:
        meta = (rnd.request or {}).get("r3", {})
        base = get_version(session, rnd.base_version_id).text
        rows = edits_by_round.get(id_of(rnd), [])
        extras = meta.get("action_extras") or [{} for _ in rows]
        if len(extras) != len(rows):
            extras = [{} for _ in rows]
        actions: list[dict[str, Any]] = []
        for row, extra in zip(rows, extras, strict=True):
            st = stood.get(id_of(row), decisions.PENDING)
            state = st.status
            after = st.modified_text if state == EditStatus.MODIFY and st.modified_text is not None else row.after
            extra = dict(extra)
            a: dict[str, Any] = {
                "type": extra.pop("type", action_type(row.before, after)),
                "before": None if extra.pop("before_is_null", False) else row.before,
                "after": None if extra.pop("after_is_null", False) else after,
                "start_char_pos": row.start,
                "end_char_pos": row.end,
                "major_intent": row.intent,
            }
            a["representation"] = extra.pop("representation", representation(row.before, after, row.intent))
            a.update(extra)
            a["accept_or_reject"] = _R3_LABEL.get(state)
            if state == EditStatus.MODIFY:
                a["model_after"] = row.after
            if state == EditStatus.REJECT:
                rejected.append([row.before, row.after, row.intent or "", action_type(row.before, row.after)])
            actions.append(a)
        order = meta.get("action_order")
        if order and sorted(order) == list(range(len(actions))):  # the log's own order of actions
            restored: list[dict[str, Any]] = [{}] * len(actions)
            for a, k in zip(actions, order, strict=True):
                restored[k] = a
            actions = restored
        if rnd.result_version_id is not None:
            result = get_version(session, rnd.result_version_id).text
        else:  # under review: the text as the person's decisions leave it so far
            result = apply_decided(base, edit_states(session, id_of(rnd), thread.user_id))
        after_revision = meta.get("after_revision") if "after_revision" in meta else _apply_all(base, rows)
        doc_out = {
            "doc_id": doc_id,
            "before_revision": base,
            "after_revision": after_revision,
            "edit_actions": actions,
            "after_human_evaluation": result,
            **(meta.get("doc_extra") or {}),
        }
        round_meta = {k: v for k, v in (meta.get("meta") or {}).items() if k != "_file"}
        if not round_meta and not meta:
            round_meta = {"curr_annot_index": 0, "doc_chunks": [], "edit_idx_to_doc_chunk_idx": {}}
        value: Any = {**round_meta, "doc": doc_out}
        key = f"rev_depth_{rnd.depth}"
        out[key] = repr(value) if key in as_strings else value
    out["rejected_edit_actions"] = top.get("rejected_edit_actions", rejected)
    return out


def _apply_all(base: str, rows: list[EditRow]) -> str:
    from core.text.edits import Edit, apply_edits

    return apply_edits(base, [Edit(start=r.start, end=r.end, before=r.before, after=r.after) for r in rows])


def export_filename(session: Session, thread_id: int) -> str:
    """`ANNOTATOR-MODEL-DOC-thread-ID.json`, or the imported file's own name (so a re-import finds the annotator)."""
    thread = get_thread(session, thread_id)
    first = next(iter(_rounds(session, thread_id)), None)
    meta = (first.request or {}).get("r3", {}) if first else {}
    if meta.get("source") and not (meta.get("top") or {}).get("per_round"):
        return meta["source"]
    user = get_user(session, thread.user_id)
    doc = get_document(session, thread.document_id, include_deleted=True)
    safe = lambda s: re.sub(r"[^A-Za-z0-9_.]+", "_", s).strip("_") or "x"  # noqa: E731
    name = safe(user.name)
    if not ANNOTATOR_NAME.match(name + "-"):
        name = f"ann{user.id}_{name}"
    return f"{name}-redraft-{safe(doc.title)}-thread-{thread_id}.json"


def export_threads(engine: Engine, thread_ids: Iterable[int], out_dir: str | Path) -> list[Path]:
    """Write each thread to `out_dir` as an R3 whole-session JSON file."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with session_scope(engine) as s:
        for tid in thread_ids:
            data = export_thread(s, tid)
            path = out_dir / export_filename(s, tid)
            path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
            written.append(path)
    return written
