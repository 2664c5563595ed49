"""Analytics over the decision log: pure functions on flat edit records, plus the loaders that make them.

One `EditRecord` per proposed edit: where it was proposed (project, document, thread, round depth,
proposer, rule, intent), what the preference model predicted, whether it was hidden and why, and the
thread owner's final decision after undos. Everything the Analytics page and `python -m core stats`
show is computed from a list of records by the pure functions below, so they are tested on known
inputs without a database.

Acceptance rate = (accepted + rewritten) / decided. "Shown" edits are those not hidden, plus hidden
ones the person chose to look at and decided.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from statistics import mean, median
from typing import Any, NamedTuple

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core import decisions
from core.bulk import collector_paused
from core.decisions import EditStatus
from core.learning import hidden
from core.models import Document, Project, ProposerSpec, Round, Thread, User, Version
from core.models import Edit as EditRow
from core.text.distance import token_distance, words

GROUP_KEYS = ("depth", "intent", "source", "rule", "engine", "user", "proposer", "document", "project", "round")
PENDING = EditStatus.PENDING.value
ACCEPTED = (EditStatus.ACCEPT, EditStatus.MODIFY)


class EditRecord(NamedTuple):
    """One proposed edit. A named tuple, not a frozen dataclass: the Analytics page builds 100,000 of
    these on the first visit after each decision, and a frozen dataclass's init took 0.3 s of it."""

    edit_id: int
    round_id: int
    depth: int
    thread_id: int
    document_id: int
    project_id: int
    user_id: int
    status: str = PENDING  # the thread owner's final decision: pending | accept | reject | modify
    source: str | None = None
    intent: str | None = None
    proposer: str = ""
    document: str = ""
    user: str = ""
    simulated: bool = False
    predicted_accept: float | None = None
    hidden_reason: str | None = None
    hidden_kind: str | None = None
    hidden_value: str | None = None
    proposed_at: datetime | None = None
    decided_at: datetime | None = None
    time_taken_ms: int | None = None

    @property
    def decided(self) -> bool:
        return self.status != PENDING

    @property
    def accepted(self) -> bool:
        return self.status in ACCEPTED

    @property
    def hidden(self) -> bool:
        """Hidden from the person and not looked at (a hidden edit they decided counts as shown)."""
        return self.hidden_reason is not None and not self.decided

    @property
    def engine(self) -> str:
        return _engine_of(self.source)


@dataclass(frozen=True)
class Filters:
    project_id: int | None = None
    project_ids: tuple[int, ...] | None = None  # None: any project; narrowed by core.services.analytics
    document_id: int | None = None
    user_id: int | None = None
    proposer: str | None = None  # a proposer label, or a prefix of the edit's source ("harper", "lingotweaker:X")
    since: datetime | None = None
    until: datetime | None = None
    simulated: bool | None = None  # None: both


# --- loading ---------------------------------------------------------------------------------------


def _proposer_label(spec: ProposerSpec | None) -> str:
    if spec is None:
        return ""
    if spec.name:
        return spec.name
    from core.proposers.registry import spec_label
    from core.specs import spec_from_row

    return spec_label(spec_from_row(spec))


_ROUND_COLUMNS = (
    col(Round.id), col(Round.depth), col(Thread.id), col(Document.id), col(Document.project_id),
    col(Thread.user_id), col(Round.spec_id), col(Document.title), col(User.name),
    col(User.simulated), col(Thread.simulated), col(Round.created_at),
)  # fmt: skip
_EDIT_COLUMNS = (
    col(EditRow.id), col(EditRow.round_id), col(EditRow.source), col(EditRow.intent),
    col(EditRow.predicted_accept), col(EditRow.hidden_reason), col(EditRow.hidden_kind), col(EditRow.hidden_value),
)  # fmt: skip


def _conditions(filters: Filters) -> list[Any]:
    """The filters as conditions on Round, Thread and Document (every query below joins those)."""
    f = filters
    out: list[Any] = []
    if f.project_id is not None:
        out.append(col(Document.project_id) == f.project_id)
    if f.project_ids is not None:
        out.append(col(Document.project_id).in_(list(f.project_ids)))
    if f.document_id is not None:
        out.append(col(Document.id) == f.document_id)
    if f.user_id is not None:
        out.append(col(Thread.user_id) == f.user_id)
    if f.since is not None:
        out.append(col(Round.created_at) >= f.since)
    if f.until is not None:
        out.append(col(Round.created_at) < f.until)
    if f.simulated is not None:
        out.append(col(Thread.simulated) == f.simulated)
    return out


def load_records(session: Session, filters: Filters = Filters(), *, decided_at: bool = True) -> list[EditRecord]:
    """Every proposed edit matching the filters (oldest round first, in document order), with the
    thread owner's final decision; without `decided_at` (figures that do not show it) that time is
    left None and not read."""
    with collector_paused():
        return _load_records(session, filters, decided_at)


def _load_records(session: Session, filters: Filters, decided_at: bool) -> list[EditRecord]:
    where = _conditions(filters)
    # Two plain-tuple reads rather than one wide join: the round, thread, document and person columns
    # are read once per round (not once per edit), and no ORM row processing runs on 100,000 rows.
    rounds_q = (
        sa_select(*_ROUND_COLUMNS)
        .join(Thread, col(Thread.id) == col(Round.thread_id))
        .join(Document, col(Document.id) == col(Thread.document_id))
        .join(User, col(User.id) == col(Thread.user_id))
        .where(*where)
    )
    edits_q = (
        sa_select(*_EDIT_COLUMNS)
        .join(Round, col(Round.id) == col(EditRow.round_id))
        .join(Thread, col(Thread.id) == col(Round.thread_id))
        .join(Document, col(Document.id) == col(Thread.document_id))
        .join(User, col(User.id) == col(Thread.user_id))
        .where(*where)
        .order_by(col(Round.created_at), col(Round.id), col(EditRow.position), col(EditRow.id))
    )
    specs = {s.id: _proposer_label(s) for s in session.exec(select(ProposerSpec)).all()}
    # per round: (round, depth, thread, document, project, owner), (proposer, title, name, simulated), when
    rounds = {
        r[0]: (r[:6], (specs.get(r[6], ""), r[7], r[8], bool(r[9] or r[10])), r[11])
        for r in session.connection().execute(rounds_q)
    }
    out: list[EditRecord] = []
    new = tuple.__new__  # EditRecord._make without its length check: the fields are listed right here
    pending = (PENDING, None, None)
    for row, st in decisions.with_owner_standing(session, edits_q, decided_at=decided_at):
        edit_id, round_id, source, intent = row[:4]  # then the prediction and the hidden reason, kind, value
        proposed_in, labels, proposed_at = rounds[round_id]
        status, time_taken, when = pending if st is None else st
        fields = (edit_id, *proposed_in, status, source, intent, *labels, *row[4:8], proposed_at, when, time_taken)
        out.append(new(EditRecord, fields))  # in EditRecord's field order
    if filters.proposer:
        out = filter_records(out, Filters(proposer=filters.proposer))
    return out


def seen_in_project(session: Session, project_id: int) -> tuple[list[str], list[str]]:
    """The rules (sources) and intents proposed in a project, sorted: what can be muted there."""
    query = (
        sa_select(col(EditRow.source), col(EditRow.intent))
        .distinct()
        .join(Round, col(Round.id) == col(EditRow.round_id))
        .join(Thread, col(Thread.id) == col(Round.thread_id))
        .join(Document, col(Document.id) == col(Thread.document_id))
        .where(col(Document.project_id) == project_id)
    )
    pairs = session.execute(query).all()
    return sorted({s for s, _ in pairs if s}), sorted({i for _, i in pairs if i})


def filter_records(records: Iterable[EditRecord], filters: Filters) -> list[EditRecord]:
    """The same filters as load_records, on records already loaded."""
    f = filters

    def keep(r: EditRecord) -> bool:
        if f.project_id is not None and r.project_id != f.project_id:
            return False
        if f.document_id is not None and r.document_id != f.document_id:
            return False
        if f.user_id is not None and r.user_id != f.user_id:
            return False
        if f.simulated is not None and r.simulated != f.simulated:
            return False
        if f.since is not None and (r.proposed_at is None or r.proposed_at < f.since):
            return False
        if f.until is not None and (r.proposed_at is None or r.proposed_at >= f.until):
            return False
        if f.proposer:
            p = f.proposer.casefold()
            if r.proposer.casefold() != p and not (r.source or "").casefold().startswith(p):
                return False
        return True

    return [r for r in records if keep(r)]


# --- acceptance ------------------------------------------------------------------------------------


# For each grouping: the record's fields it reads, and the group's label from their values. Records
# are counted by the raw fields in one C-level pass (Counter over zip), then labelled once per value.
_GROUPINGS: dict[str, tuple[tuple[str, ...], Callable[..., object]]] = {
    "depth": (("depth",), lambda d: d),
    "intent": (("intent",), lambda i: i or "(none)"),
    "source": (("source",), lambda s: s or "(none)"),
    "rule": (("source",), lambda s: s or "(none)"),
    "engine": (("source",), lambda s: _engine_of(s) or "(none)"),
    "user": (("user", "user_id"), lambda name, uid: name or str(uid)),
    "proposer": (("proposer",), lambda p: p or "(unknown)"),
    "document": (("document", "document_id"), lambda title, did: title or str(did)),
    "project": (("project_id",), lambda p: p),
    "round": (("round_id",), lambda r: r),
}


def _engine_of(source: str | None) -> str:
    return source.split(":", 1)[0] if source else ""


def _grouping(by: str) -> tuple[tuple[str, ...], Callable[..., object]]:
    if by not in _GROUPINGS:
        raise ValueError(f"group by one of {', '.join(GROUP_KEYS)}, not {by!r}")
    return _GROUPINGS[by]


def group_key(by: str) -> Callable[[EditRecord], object]:
    """How records are grouped for `by` (one of GROUP_KEYS)."""
    fields, label = _grouping(by)
    get = attrgetter(*fields)
    if len(fields) == 1:
        return lambda r: label(get(r))
    return lambda r: label(*get(r))


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


# What a tally needs of a record: its status and hidden reason (hidden = a reason and still pending).
_STATUS, _REASON = attrgetter("status"), attrgetter("hidden_reason")
Kinds = Mapping[tuple[str, str | None], int]  # (status, hidden reason) -> how many records


def _kinds(records: Sequence[EditRecord]) -> Counter[tuple[str, str | None]]:
    return Counter(zip(map(_STATUS, records), map(_REASON, records), strict=True))


def _tally_of(kinds: Kinds) -> dict[str, object]:
    statuses: Counter[str] = Counter()
    hidden = pending = 0
    for (status, reason), n in kinds.items():
        statuses[status] += n
        if status == PENDING:
            if reason is None:
                pending += n
            else:
                hidden += n
    proposed = sum(statuses.values())
    t = decisions.tally_counts(statuses)
    return {
        "proposed": proposed,
        "shown": proposed - hidden,
        "hidden": hidden,
        "decided": t.decided,
        "accepted": t.accepted,
        "modified": t.modified,
        "rejected": t.rejected,
        "pending": pending,
        "acceptance": t.acceptance,
        "acceptance_of_shown": _rate(t.accepted + t.modified, proposed - hidden),
    }


def tally(records: Iterable[EditRecord]) -> dict[str, object]:
    """Counts and rates over records: proposed, shown, hidden, decided, accepted, rewritten, rejected.

    Decided, accepted, rewritten and rejected are core.decisions.tally_counts's, as on every page:
    a hidden edit the person chose to decide counts as decided too."""
    rows = records if isinstance(records, Sequence) else list(records)
    return _tally_of(_kinds(rows))


def _kinds_by(records: Sequence[EditRecord], bys: Sequence[str]) -> dict[str, dict[object, Kinds]]:
    """For each grouping in `bys`: group label -> the kinds of its records, all counted in one pass over
    the records (by the raw fields the groupings read), then labelled per distinct value."""
    groupings = {by: _grouping(by) for by in bys}
    fields = list(dict.fromkeys(f for fs, _ in groupings.values() for f in fs))
    at = {f: i for i, f in enumerate(fields)}
    columns = [*(map(attrgetter(f), records) for f in fields), map(_STATUS, records), map(_REASON, records)]
    raw = Counter(zip(*columns, strict=True))
    out: dict[str, dict[object, Counter[tuple[str, str | None]]]] = {by: defaultdict(Counter) for by in bys}
    k = len(fields)
    for key, n in raw.items():
        kind = key[k:]
        for by, (fs, label) in groupings.items():
            out[by][label(*(key[at[f]] for f in fs))][kind] += n
    return out  # type: ignore[return-value]


def _group_order(item: tuple[object, Any]) -> tuple[str, Any]:
    return str(type(item[0])), item[0]


def acceptance_by_each(records: Iterable[EditRecord], bys: Sequence[str]) -> dict[str, list[dict[str, object]]]:
    """acceptance_by for several groupings, counted in one pass."""
    rows = records if isinstance(records, Sequence) else list(records)
    return {
        by: [{by: g, **_tally_of(k)} for g, k in sorted(groups.items(), key=_group_order)]
        for by, groups in _kinds_by(rows, bys).items()
    }


def acceptance_by(records: Iterable[EditRecord], by: str) -> list[dict[str, object]]:
    """One row per group (sorted by group), with `tally`'s counts and the acceptance rate."""
    return acceptance_by_each(records, (by,))[by]


def edits_per_round(records: Iterable[EditRecord]) -> list[dict[str, Any]]:
    """Per round: thread, depth, proposed, shown, hidden, decided, accepted."""
    rows = records if isinstance(records, Sequence) else list(records)
    kinds = _kinds_by(rows, ("round",))["round"]
    first = {r.round_id: r for r in reversed(rows)}  # each round's first record
    out = []
    for round_id in sorted(first):
        r, t = first[round_id], _tally_of(kinds[round_id])
        out.append(
            {
                "round": round_id,
                "thread": r.thread_id,
                "document": r.document,
                "depth": r.depth,
                "proposed_at": r.proposed_at,
                **{k: t[k] for k in ("proposed", "shown", "hidden", "decided", "accepted", "modified", "rejected")},
            }
        )
    return out


def per_depth_summary(records: Iterable[EditRecord]) -> list[dict[str, object]]:
    """Mean edits proposed and shown per round at each depth (R3's view of a run)."""
    return per_depth_of_rounds(edits_per_round(records))


def per_depth_of_rounds(rows: Iterable[dict[str, Any]]) -> list[dict[str, object]]:
    """per_depth_summary from edits_per_round's rows (when they are at hand already)."""
    by_depth: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_depth[row["depth"]].append(row)
    return [
        {
            "depth": d,
            "rounds": len(rs),
            "proposed_per_round": mean(r["proposed"] for r in rs),
            "shown_per_round": mean(r["shown"] for r in rs),
            "accepted_per_round": mean(r["accepted"] + r["modified"] for r in rs),
        }
        for d, rs in sorted(by_depth.items())
    ]


def decision_times(records: Iterable[EditRecord], by: str | None = None) -> list[dict[str, object]]:
    """Seconds taken per decision (those with a recorded time): count, median, mean, 90th percentile."""
    key = group_key(by) if by else (lambda r: "all")
    groups: dict[object, list[float]] = defaultdict(list)
    for r in records:
        if r.decided and r.time_taken_ms is not None:
            groups[key(r)].append(r.time_taken_ms / 1000)
    out = []
    for g, xs in sorted(groups.items(), key=lambda kv: str(kv[0])):
        xs.sort()
        out.append(
            {
                by or "group": g,
                "decisions": len(xs),
                "median_s": median(xs),
                "mean_s": mean(xs),
                "p90_s": xs[min(len(xs) - 1, int(0.9 * len(xs)))],
            }
        )
    return out


def histogram(values: Sequence[float], bins: int = 40) -> list[dict[str, float]]:
    """Counts of `values` in `bins` equal bins from the smallest to the largest: a chart draws these
    few bars instead of shipping every value to the browser."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    width = (hi - lo) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    return [{"start": lo + i * width, "end": lo + (i + 1) * width, "count": c} for i, c in enumerate(counts)]


def hidden_summary(records: Iterable[EditRecord]) -> list[dict[str, object]]:
    """Hidden edits per reason group and value (muted rule X, below threshold, ...), with how many the
    person chose to look at and decide anyway, and how many of those they accepted."""
    groups: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"hidden": 0, "shown_anyway": 0, "accepted_anyway": 0}
    )
    for r in records:
        if r.hidden_reason is None:
            continue
        label = hidden.group_label(r.hidden_kind)
        value = r.hidden_value or ""
        g = groups[(label, value)]
        if r.decided:
            g["shown_anyway"] += 1
            g["accepted_anyway"] += int(r.accepted)
        else:
            g["hidden"] += 1
    return [{"reason": k[0], "value": k[1], **v} for k, v in sorted(groups.items(), key=lambda kv: -kv[1]["hidden"])]


# --- the preference model ---------------------------------------------------------------------------


def preference_quality(records: Iterable[EditRecord], bins: int = 10) -> dict[str, object]:
    """How well stored predictions (made before each decision, so held out) matched the decisions:
    accuracy at 0.5, Brier score, expected calibration error, and the calibration curve.
    Hidden edits nobody decided are not counted (their outcome is unknown)."""
    from core.learning.preference_model import calibration_bins

    pairs = [(r.predicted_accept, r.accepted) for r in records if r.predicted_accept is not None and r.decided]
    if not pairs:
        return {"n": 0, "calibration": []}
    p = [x for x, _ in pairs]
    y = [bool(a) for _, a in pairs]
    curve = calibration_bins(p, y, bins)
    n = len(pairs)
    base = sum(y) / n
    return {
        "n": n,
        "accuracy": sum((pi >= 0.5) == yi for pi, yi in zip(p, y, strict=True)) / n,
        "majority_accuracy": max(base, 1 - base),
        "base_rate": base,
        "brier": sum((pi - yi) ** 2 for pi, yi in zip(p, y, strict=True)) / n,
        "ece": sum(b["count"] * abs(b["predicted"] - b["observed"]) for b in curve) / n,
        "calibration": curve,
    }


# --- simulated runs: distance to the reference ------------------------------------------------------


@dataclass(frozen=True)
class RoundText:
    document_id: int
    depth: int  # 0: the text before the first round
    text: str


def distance_by_round(texts: Sequence[RoundText], references: dict[int, str]) -> list[dict[str, object]]:
    """Mean token edit distance to the reference after each depth (a thread that stopped earlier
    keeps its last text), and its share of the starting distance."""
    by_doc: dict[int, dict[int, str]] = defaultdict(dict)
    for t in texts:
        if t.document_id in references:
            by_doc[t.document_id][t.depth] = t.text
    if not by_doc:
        return []
    max_depth = max(max(d) for d in by_doc.values())
    ref_words = {doc: words(references[doc]) for doc in by_doc}
    out: list[dict[str, object]] = []
    start_total = 0
    for depth in range(max_depth + 1):
        dists = []
        for doc, steps in by_doc.items():
            known = [d for d in steps if d <= depth]
            if not known:
                continue
            dists.append(token_distance(words(steps[max(known)]), ref_words[doc]))
        total = sum(dists)
        if depth == 0:
            start_total = total
        out.append(
            {
                "depth": depth,
                "documents": len(dists),
                "mean_distance": total / len(dists) if dists else None,
                "share_of_start": total / start_total if start_total else None,
            }
        )
    return out


def load_round_texts(session: Session, project_id: int) -> tuple[list[RoundText], dict[int, str]]:
    """Texts by depth of the project's threads, and the simulation references stored with the project."""
    project = session.get(Project, project_id)
    refs_raw = ((project.settings or {}).get("simulation") or {}).get("references") or {} if project else {}
    references = {int(k): v for k, v in refs_raw.items()}
    query = (
        select(Round.depth, Thread.document_id, Round.base_version_id, Round.result_version_id)
        .join(Thread, col(Thread.id) == col(Round.thread_id))
        .join(Document, col(Document.id) == col(Thread.document_id))
        .where(Document.project_id == project_id)
    )
    rows = session.exec(query).all()
    version_ids = {v for r in rows for v in (r[2], r[3]) if v is not None}
    texts_by_id = (
        dict(session.exec(select(Version.id, Version.text).where(col(Version.id).in_(version_ids))).all())
        if version_ids
        else {}
    )
    out = []
    for depth, doc_id, base_id, result_id in rows:
        if depth == 1 and base_id in texts_by_id:
            out.append(RoundText(doc_id, 0, texts_by_id[base_id]))
        if result_id in texts_by_id:
            out.append(RoundText(doc_id, depth, texts_by_id[result_id]))
    return out, references


# --- helpers for tables and downloads ---------------------------------------------------------------


@dataclass
class Report:
    """A named table (list of rows) ready to print, chart or download."""

    name: str
    rows: list[dict[str, object]] = field(default_factory=list)

    def as_csv(self) -> str:
        import csv
        import io

        buf = io.StringIO()
        if self.rows:
            fieldnames = list(dict.fromkeys(k for row in self.rows for k in row))
            writer = csv.DictWriter(buf, fieldnames=fieldnames)
            writer.writeheader()
            for row in self.rows:
                writer.writerow({k: _cell(v) for k, v in row.items()})
        return buf.getvalue()


def _cell(value: object) -> object:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def records_as_rows(records: Iterable[EditRecord]) -> list[dict[str, object]]:
    return [r._asdict() for r in records]
