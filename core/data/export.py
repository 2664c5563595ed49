"""The decision log as flat rows, streamed from the database, and written as JSONL, CSV, Parquet or a
Hugging Face DatasetDict.

One row per decision holds everything needed to reuse it without the database: document, version
and round ids, depth, the sentence around the edit (and the edit's offset in it), the edit, the
proposer spec, the person, the decision. Rows come from one Core `select` over joined tables read
in batches (`yield_per`: a server-side cursor on PostgreSQL), never ORM objects one at a time, so
memory stays bounded whatever the row count; the writers consume the iterator as it comes (Parquet
in row-group batches). The only per-export state is small LRU caches by id (base-version texts, to
cut the sentence and its neighbourhood; round intents; spec parameters) and, when de-duplicating,
one 64-bit hash per distinct pair.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Select, String, func, select, type_coerce
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import decisions
from core.decisions import ACTIONS
from core.errors import InputError
from core.models import Decision, Document, Edit, Project, ProposerSpec, Round, Thread, User, Version

# Characters of base text kept on each side of the sentence (the neighbourhood a model sees).
NEIGHBOUR_CHARS = 200
# How far from an edit the sentence is looked for (as in core.revision.feedback.edit_context).
SENTENCE_CHARS = 160
FETCH_BATCH = 2000
PARQUET_BATCH = 10_000
LOG_FORMATS = ("jsonl", "csv", "parquet", "hf")

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
    "spec_id",
    "spec_kind",
    "spec_model",
    "spec_name",
    "spec_params",
    "spec_parent_id",
)


@dataclass(frozen=True)
class ExportFilters:
    """Which decisions to export. Every field narrows; the defaults export everything.

    `latest_only` keeps one row per (edit, person): the state their decisions leave it in (undo steps
    back, as in core.revision.rounds.replay); edits left pending are dropped. `dedupe` drops rows that repeat
    an identical pair (same sentence, same change, same action and rewrite).
    """

    project_ids: tuple[int, ...] = ()
    user_ids: tuple[int, ...] = ()
    document_ids: tuple[int, ...] = ()
    thread_ids: tuple[int, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    intents: tuple[str, ...] = ()
    depths: tuple[int, ...] = ()
    spec_ids: tuple[int, ...] = ()
    actions: tuple[str, ...] = ()
    simulated: bool | None = None
    latest_only: bool = False
    dedupe: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.actions) - set(ACTIONS)
        if unknown:
            raise InputError(f"Unknown action(s) {', '.join(sorted(unknown))}; use {', '.join(ACTIONS)}.")
        if self.since and self.until and self.since > self.until:
            raise InputError("The start date is after the end date.")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InputError(f"`{name}` needs a timezone (timestamps are stored in UTC).")

    def describe(self) -> dict[str, Any]:
        """The filters as plain JSON values (for a TrainingRun's data snapshot)."""
        out = {k: v for k, v in asdict(self).items() if v not in ((), None, False) or k == "simulated" and v is False}
        for k in ("since", "until"):
            if k in out:
                out[k] = out[k].isoformat()
        for k, v in out.items():
            if isinstance(v, tuple):
                out[k] = list(v)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportFilters:
        """The inverse of describe()."""
        kwargs: dict[str, Any] = {}
        for k, v in data.items():
            if k in ("since", "until") and v is not None:
                kwargs[k] = datetime.fromisoformat(v)
            elif isinstance(v, list):
                kwargs[k] = tuple(v)
            else:
                kwargs[k] = v
        return cls(**kwargs)


# --- the query -----------------------------------------------------------------


def _ts(column: Any, raw: bool) -> Any:  # noqa: ANN401
    # SQLite keeps timestamps as text; parsing it with datetime.fromisoformat is several times faster than
    # SQLAlchemy's per-row DateTime processor, which dominated the export's cost.
    return type_coerce(column, String) if raw else column


def _columns(raw_timestamps: bool = False) -> list[Any]:
    return [
        Decision.id,
        _ts(Decision.created_at, raw_timestamps),
        Decision.action,
        Decision.modified_text,
        Decision.comment,
        Decision.time_taken_ms,
        Decision.simulated,
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


def _joined(stmt: Select) -> Select:
    return (
        stmt.select_from(Decision)
        .join(Edit, Edit.id == Decision.edit_id)
        .join(Round, Round.id == Edit.round_id)
        .join(Thread, Thread.id == Round.thread_id)
        .join(Document, Document.id == Thread.document_id)
        .join(Project, Project.id == Document.project_id)
        .join(User, User.id == Decision.user_id)
        .outerjoin(ProposerSpec, ProposerSpec.id == Round.spec_id)
    )


def _where(stmt: Select, f: ExportFilters) -> Select:
    if f.project_ids:
        stmt = stmt.where(Document.project_id.in_(f.project_ids))
    if f.user_ids:
        stmt = stmt.where(Decision.user_id.in_(f.user_ids))
    if f.document_ids:
        stmt = stmt.where(Thread.document_id.in_(f.document_ids))
    if f.thread_ids:
        stmt = stmt.where(Round.thread_id.in_(f.thread_ids))
    if f.since is not None:
        stmt = stmt.where(Decision.created_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(Decision.created_at <= f.until)
    if f.intents:
        stmt = stmt.where(Edit.intent.in_(f.intents))
    if f.depths:
        stmt = stmt.where(Round.depth.in_(f.depths))
    if f.spec_ids:
        stmt = stmt.where(Round.spec_id.in_(f.spec_ids))
    if f.actions and not f.latest_only:  # with latest_only the action filter applies to the final state
        stmt = stmt.where(Decision.action.in_(f.actions))
    if f.simulated is not None:
        simulated = Decision.simulated | User.simulated
        stmt = stmt.where(simulated if f.simulated else ~simulated)
    return stmt


def decision_query(filters: ExportFilters, raw_timestamps: bool = False) -> Select:
    """The Core select behind the log: one tuple per decision (see _columns for the order)."""
    stmt = _where(_joined(select(*_columns(raw_timestamps))), filters)
    if filters.latest_only:  # grouped by (edit, person) in decision order, so replay can stream
        return stmt.order_by(Decision.edit_id, Decision.user_id, Decision.created_at, Decision.id)
    return stmt.order_by(Decision.id)


def _stream(session: Session, stmt: Select, batch: int = FETCH_BATCH) -> Iterator[Any]:
    conn = session.connection()
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(stmt)
    try:
        yield from result
    finally:
        result.close()


# --- rows ----------------------------------------------------------------------


class _TextCache:
    """Base-version texts, round intents and spec parameters by id, looked up once, least recently used
    dropped first (bounded memory); JSON columns are not decoded once per row."""

    def __init__(self, session: Session, size: int = 32) -> None:
        self.session, self.size = session, size
        self.texts: OrderedDict[int, str] = OrderedDict()
        self._intents: OrderedDict[int, list[str]] = OrderedDict()
        self._params: dict[int, str | None] = {}

    def intents(self, round_id: int) -> list[str]:
        found = self._intents.get(round_id)
        if found is None:
            request = self.session.connection().execute(select(Round.request).where(Round.id == round_id)).scalar_one()
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
                .execute(select(ProposerSpec.params).where(ProposerSpec.id == spec_id))
                .scalar_one()
            )
            self._params[spec_id] = json.dumps(params, sort_keys=True) if params is not None else None
        return self._params[spec_id]

    def get(self, version_id: int) -> str:
        text = self.texts.get(version_id)
        if text is None:
            text = self.session.connection().execute(select(Version.text).where(Version.id == version_id)).scalar_one()
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
    if action == "accept":
        return after
    if action == "modify" and modified is not None:
        return modified
    return before


def _when(value: Any) -> datetime | None:  # noqa: ANN401
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _row(t: Any, texts: _TextCache) -> dict[str, Any]:  # noqa: ANN401
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
        "sentence_final": head + final_text(action, before, after, modified) + tail if action != "undo" else None,
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


def _latest(rows: Iterable[Any]) -> Iterator[Any]:
    """Of consecutive decisions of one (edit, person), the one that stands (core.decisions)."""
    for _, group in groupby(rows, key=itemgetter(11, 7)):  # edit id, user id
        top = decisions.standing_row(group, action=itemgetter(2))
        if top is not None:
            yield top


def iter_decision_rows(session: Session, filters: ExportFilters | None = None) -> Iterator[dict[str, Any]]:
    """The decision log, one dict per decision (fields: ROW_FIELDS), oldest first; streamed, bounded memory.

    With `filters.latest_only`, one row per (edit, person) holding the decision that stands.
    """
    filters = filters or ExportFilters()
    texts = _TextCache(session)
    raw = session.get_bind().dialect.name == "sqlite"
    tuples: Iterable[Any] = _stream(session, decision_query(filters, raw_timestamps=raw))
    if filters.latest_only:
        tuples = _latest(tuples)
        if filters.actions:
            tuples = (t for t in tuples if t[2] in filters.actions)
    seen: set[int] = set()
    for t in tuples:
        row = _row(t, texts)
        if filters.dedupe:
            k = pair_key(row)
            if k in seen:
                continue
            seen.add(k)
        yield row


# --- counts and preview --------------------------------------------------------


@dataclass(frozen=True)
class ExportSummary:
    """What an export would hold, shown before downloading."""

    decisions: int
    documents: int
    people: int
    by_action: dict[str, int] = field(default_factory=dict)
    by_intent: dict[str, int] = field(default_factory=dict)
    by_depth: dict[int, int] = field(default_factory=dict)


def summarize(session: Session, filters: ExportFilters | None = None) -> ExportSummary:
    """Counts by action, intent and depth, computed in SQL (raw decisions; latest_only/dedupe apply at export)."""
    filters = filters or ExportFilters()
    base = _where(_joined(select(Decision.id)), replace(filters, latest_only=False)).subquery()
    conn = session.connection()
    total = conn.execute(select(func.count()).select_from(base)).scalar_one()

    def grouped(col: Any) -> dict[Any, int]:
        stmt = _where(_joined(select(col, func.count(Decision.id))), replace(filters, latest_only=False)).group_by(col)
        return {k: n for k, n in conn.execute(stmt).all()}

    docs = conn.execute(
        _where(_joined(select(func.count(func.distinct(Thread.document_id)))), replace(filters, latest_only=False))
    ).scalar_one()
    people = conn.execute(
        _where(_joined(select(func.count(func.distinct(Decision.user_id)))), replace(filters, latest_only=False))
    ).scalar_one()
    return ExportSummary(
        decisions=total,
        documents=docs,
        people=people,
        by_action=grouped(Decision.action),
        by_intent={k or "(none)": n for k, n in grouped(Edit.intent).items()},
        by_depth=dict(sorted(grouped(Round.depth).items())),
    )


def preview(session: Session, filters: ExportFilters | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """The first `limit` rows of the export."""
    out = []
    for row in iter_decision_rows(session, filters):
        out.append(row)
        if len(out) >= limit:
            break
    return out


def document_ids(session: Session, filters: ExportFilters | None = None) -> list[int]:
    """Distinct documents that have decisions under these filters."""
    stmt = _where(
        _joined(select(Thread.document_id).distinct()), replace(filters or ExportFilters(), latest_only=False)
    )
    return sorted(session.connection().execute(stmt).scalars().all())


def thread_ids(session: Session, filters: ExportFilters | None = None) -> list[int]:
    """Distinct threads that have decisions under these filters."""
    stmt = _where(_joined(select(Round.thread_id).distinct()), replace(filters or ExportFilters(), latest_only=False))
    return sorted(session.connection().execute(stmt).scalars().all())


def split_documents(doc_ids: Iterable[int], test_fraction: float, seed: int = 0) -> frozenset[int]:
    """The documents that go to the test split: round(n * fraction), at least one when there are two or more
    documents and the fraction is above 0. Splitting by document keeps a document's edits on one side."""
    if not 0 <= test_fraction < 1:
        raise InputError("The test fraction must be at least 0 and below 1.")
    ids = sorted(set(doc_ids))
    if test_fraction == 0 or len(ids) < 2:
        return frozenset()
    n = min(len(ids) - 1, max(1, round(len(ids) * test_fraction)))
    rng = random.Random(seed)
    return frozenset(rng.sample(ids, n))


# --- writers -------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_jsonl(rows: Iterable[dict[str, Any]], path: str | Path) -> int:
    """One JSON object a line (UTF-8, no ASCII escaping). Returns the row count."""
    n = 0
    dumps = json.JSONEncoder(ensure_ascii=False, default=_json_default).encode
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        buf: list[str] = []
        for row in rows:
            buf.append(dumps(row))
            n += 1
            if len(buf) >= 1000:
                fh.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            fh.write("\n".join(buf) + "\n")
    return n


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def write_csv(rows: Iterable[dict[str, Any]], path: str | Path, fields: tuple[str, ...] | None = None) -> int:
    """CSV with a header (RFC 4180 quoting, so newlines inside text survive). Returns the row count."""
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer: csv.DictWriter | None = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(fh, fieldnames=list(fields or row.keys()), extrasaction="ignore")
                writer.writeheader()
            writer.writerow({k: _csv_value(v) for k, v in row.items()})
            n += 1
        if writer is None and fields:
            csv.DictWriter(fh, fieldnames=list(fields)).writeheader()
    return n


def log_schema():  # noqa: ANN201 - pyarrow.Schema (pyarrow imported lazily)
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    types: dict[str, Any] = {
        "decided_at": ts,
        "round_created_at": ts,
        "simulated": pa.bool_(),
        "score": pa.float64(),
        "predicted_accept": pa.float64(),
        "round_intents": pa.list_(pa.string()),
    }
    ints = {"decision_id", "time_taken_ms", "user_id", "edit_id", "position", "start", "end", "edit_offset", "round_id",
            "depth", "thread_id", "document_id", "project_id", "base_version_id", "result_version_id", "spec_id",
            "spec_parent_id"}  # fmt: skip
    return pa.schema([(f, types.get(f, pa.int64() if f in ints else pa.string())) for f in ROW_FIELDS])


def write_parquet(
    rows: Iterable[dict[str, Any]], path: str | Path, schema: Any = None, batch_rows: int = PARQUET_BATCH
) -> int:  # noqa: ANN401
    """Parquet written one row group per `batch_rows` rows: values are buffered per column (not as row
    dicts) and flushed as a row group, so memory holds one batch of values at a time. `schema` defaults
    to the decision-log schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = schema if schema is not None else log_schema()
    names = schema.names
    columns: list[list[Any]] = [[] for _ in names]
    n = 0
    with pq.ParquetWriter(str(path), schema, compression="zstd") as writer:

        def flush() -> None:
            writer.write_table(
                pa.Table.from_arrays(
                    [pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)], schema=schema
                )
            )
            for c in columns:
                c.clear()

        for row in rows:
            for column, name in zip(columns, names, strict=True):
                column.append(row.get(name))
            n += 1
            if n % batch_rows == 0:
                flush()
        if columns[0] or n == 0:
            flush()
    return n


def save_dataset_dict(
    splits: dict[str, Callable[[], Iterable[dict[str, Any]]]],
    out_dir: str | Path,
    schema: Any = None,
    push_to_hub: str | None = None,
    token: str | None = None,
) -> dict[str, int]:
    """A `datasets.DatasetDict` saved with save_to_disk (one split per entry; each is streamed to Parquet
    first, so memory stays bounded). `push_to_hub` names a Hub repo ("user/name") to upload to as well;
    it needs network access and a token with write access. Returns rows per split."""
    import tempfile

    from datasets import Dataset, DatasetDict

    counts: dict[str, int] = {}
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="redraft-hf-") as tmp:
        parts = {}
        for name, make_rows in splits.items():
            path = Path(tmp) / f"{name}.parquet"
            counts[name] = write_parquet(make_rows(), path, schema=schema)
            parts[name] = Dataset.from_parquet(str(path), cache_dir=str(Path(tmp) / "cache"))
        dd = DatasetDict(parts)
        dd.save_to_disk(str(out_dir))
        if push_to_hub:
            push_dataset(dd, push_to_hub, token)
    return counts


def push_dataset(dd: Any, repo_id: str, token: str | None = None) -> None:
    """Upload a DatasetDict to the Hugging Face Hub (private by default); errors say what to fix."""
    try:
        dd.push_to_hub(repo_id, token=token, private=True)
    except Exception as exc:  # noqa: BLE001 - the hub client raises many kinds; all mean the same to a user
        raise InputError(
            f"Could not push to the Hugging Face Hub as {repo_id!r}: {exc}. Log in with `hf auth login` or pass a "
            "token with write access, and check the network."
        ) from exc


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    rows: int
    splits: dict[str, int] = field(default_factory=dict)


def export_log(
    engine: Engine,
    filters: ExportFilters,
    fmt: str,
    path: str | Path,
    *,
    test_fraction: float = 0.0,
    seed: int = 0,
    push_to_hub: str | None = None,
) -> ExportResult:
    """Write the decision log to `path` as jsonl, csv, parquet or hf (a DatasetDict folder, split by document)."""
    from core.db import session_scope

    if fmt not in LOG_FORMATS:
        raise InputError(f"Unknown log format {fmt!r}; use one of {', '.join(LOG_FORMATS)}.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with session_scope(engine) as s:
        if fmt == "jsonl":
            return ExportResult(path, fmt, write_jsonl(iter_decision_rows(s, filters), path))
        if fmt == "csv":
            return ExportResult(path, fmt, write_csv(iter_decision_rows(s, filters), path, ROW_FIELDS))
        if fmt == "parquet":
            return ExportResult(path, fmt, write_parquet(iter_decision_rows(s, filters), path))
        test_docs = split_documents(document_ids(s, filters), test_fraction, seed)

        def part(is_test: bool) -> Callable[[], Iterator[dict[str, Any]]]:
            return lambda: (r for r in iter_decision_rows(s, filters) if (r["document_id"] in test_docs) == is_test)

        splits = {"train": part(False)}
        if test_docs:
            splits["test"] = part(True)
        counts = save_dataset_dict(splits, path, schema=log_schema(), push_to_hub=push_to_hub)
        return ExportResult(path, fmt, sum(counts.values()), counts)


def log_bytes(session: Session, filters: ExportFilters, fmt: str) -> bytes:
    """The log as bytes in jsonl or csv, for a download button (small exports; files for big ones)."""
    rows = iter_decision_rows(session, filters)
    if fmt == "jsonl":
        dumps = json.JSONEncoder(ensure_ascii=False, default=_json_default).encode
        return "".join(dumps(r) + "\n" for r in rows).encode("utf-8")
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(ROW_FIELDS))
        writer.writeheader()
        for r in rows:
            writer.writerow({k: _csv_value(v) for k, v in r.items()})
        return buf.getvalue().encode("utf-8")
    if fmt == "parquet":
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "log.parquet"
            write_parquet(rows, p)
            return p.read_bytes()
    raise InputError(f"Unknown format {fmt!r} for a download; use jsonl, csv or parquet.")


def action_counts(rows: Iterable[dict[str, Any]]) -> Counter:
    return Counter(r["action"] for r in rows)


@dataclass(frozen=True)
class FilterOptions:
    """What the filters can choose from, for the Export and Models pages."""

    projects: list[tuple[int, str]]
    users: list[tuple[int, str, bool]]  # id, name, simulated
    specs: list[tuple[int, str, str]]  # id, name, kind
    intents: list[str]
    depths: list[int]


def filter_options(session: Session) -> FilterOptions:
    conn = session.connection()
    return FilterOptions(
        projects=[tuple(r) for r in conn.execute(select(Project.id, Project.name).order_by(Project.name))],
        users=[tuple(r) for r in conn.execute(select(User.id, User.name, User.simulated).order_by(User.name))],
        specs=[
            tuple(r)
            for r in conn.execute(
                select(ProposerSpec.id, ProposerSpec.name, ProposerSpec.kind).order_by(ProposerSpec.id)
            )
        ],
        intents=sorted(i for i in conn.execute(select(Edit.intent).distinct()).scalars() if i),
        depths=sorted(conn.execute(select(Round.depth).distinct()).scalars()),
    )
