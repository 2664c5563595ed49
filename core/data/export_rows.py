"""Decision-log rows: the columns one export row is read from, and the flat dict built from them.

One row per decision holds everything needed to reuse it without the database: document, version
and round ids, depth, the sentence around the edit (and the edit's offset in it), the edit, the
proposer spec, the person, the decision. `row_columns` and `build_row` agree on the column order;
the only per-export state is `TextCache`: small LRU caches by id (base-version texts, to cut the
sentence and its neighbourhood; round intents; spec parameters).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import String, type_coerce
from sqlmodel import Session, col, select

from core import decisions, documents
from core.decisions import Action
from core.models import Document, Edit, Project, ProposerSpec, Round, Thread, User, Version

# The actions as plain strings: compared once or twice per exported row, where a StrEnum member is slow.
_ACCEPT, _MODIFY, _UNDO = Action.ACCEPT.value, Action.MODIFY.value, Action.UNDO.value
# Characters of base text kept on each side of the sentence (the neighbourhood a model sees).
NEIGHBOUR_CHARS = 200
# How far from an edit the sentence is looked for (as in core.revision.feedback.edit_context).
SENTENCE_CHARS = 160

# Column order of a decision-log row (CSV header, Parquet schema order).
ROW_FIELDS: tuple[str, ...] = (
    "decision_id",
    "decided_at",
    "action",
    "modified_text",
    "comment",
    "time_taken_ms",
    "simulated",
    "user_id",
    "user_name",
    "user_role",
    "edit_id",
    "position",
    "start",
    "end",
    "before",
    "after",
    "intent",
    "explanation",
    "source",
    "score",
    "predicted_accept",
    "hidden_reason",
    "content_hash",
    "sentence",
    "edit_offset",
    "sentence_after",
    "sentence_final",
    "context_before",
    "context_after",
    "round_id",
    "depth",
    "round_feedback",
    "round_intents",
    "round_status",
    "round_created_at",
    "thread_id",
    "document_id",
    "document_title",
    "project_id",
    "project_name",
    "base_version_id",
    "result_version_id",
    "base_version",
    "result_version",
    "spec_id",
    "spec_kind",
    "spec_model",
    "spec_name",
    "spec_params",
    "spec_parent_id",
)


def _ts(column: Any, raw: bool) -> Any:  # noqa: ANN401
    # SQLite keeps timestamps as text; parsing it with datetime.fromisoformat is several times faster than
    # SQLAlchemy's per-row DateTime processor, which dominated the export's cost.
    return type_coerce(column, String) if raw else column


def row_columns(raw_timestamps: bool = False) -> list[Any]:
    """What one row is read from, in build_row's order: the log's columns, then the edit, round,
    thread, document, project and spec (the joins of core.data.export_query)."""
    d_id, d_at, action, modified, comment, took, d_sim = decisions.columns(
        "id", "created_at", "action", "modified_text", "comment", "time_taken_ms", "simulated"
    )
    return [
        d_id,
        _ts(d_at, raw_timestamps),
        action,
        modified,
        comment,
        took,
        d_sim,
        User.id,
        User.name,
        User.role,
        User.simulated,
        Edit.id,
        Edit.position,
        Edit.start,
        Edit.end,
        Edit.before,
        Edit.after,
        Edit.intent,
        Edit.explanation,
        Edit.source,
        Edit.score,
        Edit.predicted_accept,
        Edit.hidden_reason,
        Edit.content_hash,
        Edit.context,
        Round.id,
        Round.depth,
        Round.feedback,
        Round.status,
        _ts(Round.created_at, raw_timestamps),
        Round.base_version_id,
        Round.result_version_id,
        Thread.id,
        Thread.simulated,
        Document.id,
        Document.title,
        Project.id,
        Project.name,
        ProposerSpec.id,
        ProposerSpec.kind,
        ProposerSpec.model,
        ProposerSpec.name,
        ProposerSpec.parent_id,
    ]


class TextCache:
    """Base-version texts, round intents and spec parameters by id, looked up once, least recently used
    dropped first (bounded memory); JSON columns are not decoded once per row."""

    def __init__(self, session: Session, size: int = 32) -> None:
        self.session, self.size = session, size
        self.texts: OrderedDict[int, str] = OrderedDict()
        self._intents: OrderedDict[int, list[str]] = OrderedDict()
        self._params: dict[int, str | None] = {}
        self._numbers: dict[int, int] = {}  # version id -> number within its document

    def intents(self, round_id: int) -> list[str]:
        found = self._intents.get(round_id)
        if found is None:
            request = (
                self.session.connection().execute(select(col(Round.request)).where(Round.id == round_id)).scalar_one()
            )
            found = self._intents[round_id] = list((request or {}).get("intents") or [])
            if len(self._intents) > 4096:
                self._intents.popitem(last=False)
        return list(found)

    def spec_params(self, spec_id: int | None) -> str | None:
        if spec_id is None:
            return None
        if spec_id not in self._params:
            params = (
                self.session.connection()
                .execute(select(col(ProposerSpec.params)).where(ProposerSpec.id == spec_id))
                .scalar_one()
            )
            self._params[spec_id] = json.dumps(params, sort_keys=True) if params is not None else None
        return self._params[spec_id]

    def version_number(self, document_id: int, version_id: int | None) -> int | None:
        """A version's number within its document (core.documents.version_numbers), all of a document's
        read at once."""
        if version_id is None:
            return None
        if version_id not in self._numbers:
            if len(self._numbers) > 100_000:
                self._numbers.clear()
            self._numbers.update(documents.version_numbers(self.session, document_id))
        return self._numbers.get(version_id)

    def get(self, version_id: int) -> str:
        text = self.texts.get(version_id)
        if text is None:
            text = (
                self.session.connection()
                .execute(select(col(Version.text)).where(Version.id == version_id))
                .scalar_one()
            )
            self.texts[version_id] = text
            if len(self.texts) > self.size:
                self.texts.popitem(last=False)
        else:
            self.texts.move_to_end(version_id)
        return text


def sentence_window(text: str, start: int, end: int) -> tuple[int, int]:
    """(sentence start, sentence end) around text[start:end]: the rule of core.revision.feedback.edit_context, which
    is what an Edit row's `context` holds, so the two agree."""
    lo = max(0, start - SENTENCE_CHARS)
    hi = min(len(text), end + SENTENCE_CHARS)
    left = text[lo:start]
    right = text[end:hi]
    cut = max(left.rfind(". "), left.rfind("\n"), left.rfind("? "), left.rfind("! "))
    s0 = lo
    if cut >= 0:
        rest = left[cut + 1 :]
        s0 = lo + cut + 1 + (len(rest) - len(rest.lstrip()))
    ends = [i for i in (right.find(". "), right.find("\n"), right.find("? "), right.find("! ")) if i >= 0]
    s1 = end + min(ends) + 1 if ends else hi
    return s0, s1


def final_text(action: str, before: str, after: str, modified: str | None) -> str:
    """What replaces the edit's span once the decision is applied."""
    if action == _ACCEPT:
        return after
    if action == _MODIFY and modified is not None:
        return modified
    return before


def _when(value: Any) -> datetime | None:  # noqa: ANN401
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def build_row(t: Any, texts: TextCache) -> dict[str, Any]:  # noqa: ANN401
    (
        d_id, d_at, action, modified, comment, took, d_sim,
        u_id, u_name, u_role, u_sim,
        e_id, position, start, end, before, after, intent, explanation, source, score, predicted, hidden, chash, ctx,
        r_id, depth, r_feedback, r_status, r_at, base_id, result_id,
        t_id, t_sim, doc_id, doc_title, p_id, p_name,
        s_id, s_kind, s_model, s_name, s_parent,
    ) = t  # fmt: skip
    base = texts.get(base_id)
    s0, s1 = sentence_window(base, start, end)
    offset = start - s0
    sentence = base[s0:s1]
    if ctx and ctx[offset : offset + len(before)] == before and len(ctx) >= offset + len(before):
        sentence = ctx  # the stored context is authoritative when it lines up with the base text
    tail = sentence[offset + len(before) :]
    head = sentence[:offset]
    return {
        "decision_id": d_id,
        "decided_at": _when(d_at),
        "action": action,
        "modified_text": modified,
        "comment": comment,
        "time_taken_ms": took,
        "simulated": bool(d_sim or u_sim or t_sim),
        "user_id": u_id,
        "user_name": u_name,
        "user_role": u_role,
        "edit_id": e_id,
        "position": position,
        "start": start,
        "end": end,
        "before": before,
        "after": after,
        "intent": intent,
        "explanation": explanation,
        "source": source,
        "score": score,
        "predicted_accept": predicted,
        "hidden_reason": hidden,
        "content_hash": chash,
        "sentence": sentence,
        "edit_offset": offset,
        "sentence_after": head + after + tail,
        "sentence_final": head + final_text(action, before, after, modified) + tail if action != _UNDO else None,
        "context_before": base[max(0, s0 - NEIGHBOUR_CHARS) : s0],
        "context_after": base[s1 : s1 + NEIGHBOUR_CHARS],
        "round_id": r_id,
        "depth": depth,
        "round_feedback": r_feedback,
        "round_intents": texts.intents(r_id),
        "round_status": r_status,
        "round_created_at": _when(r_at),
        "thread_id": t_id,
        "document_id": doc_id,
        "document_title": doc_title,
        "project_id": p_id,
        "project_name": p_name,
        "base_version_id": base_id,
        "result_version_id": result_id,
        "base_version": texts.version_number(doc_id, base_id),  # within the document: 1 is v1
        "result_version": texts.version_number(doc_id, result_id),
        "spec_id": s_id,
        "spec_kind": s_kind,
        "spec_model": s_model,
        "spec_name": s_name,
        "spec_params": texts.spec_params(s_id),
        "spec_parent_id": s_parent,
    }


def pair_key(row: dict[str, Any]) -> int:
    """A 64-bit hash of what a row teaches: sentence, change, action, rewrite (for de-duplication)."""
    parts = (
        row["sentence"],
        str(row["edit_offset"]),
        row["before"],
        row["after"],
        row["action"],
        row["modified_text"] or "",
    )
    return int.from_bytes(hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8).digest(), "big")


def standing_tuples(rows: Iterable[Any]) -> Iterator[Any]:
    """Of consecutive row tuples of one (edit, person), the one that stands (core.decisions)."""
    for _, group in groupby(rows, key=itemgetter(11, 7)):  # edit id, user id
        top = decisions.standing_row(group, action=itemgetter(2))
        if top is not None:
            yield top
