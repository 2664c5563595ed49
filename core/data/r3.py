"""R3 / IteraTeR interaction logs in and out.

Reads (a file or a folder of them):
- whole-session files, as in the R3 system evaluation (`rev_depth_0` … `rev_depth_k`, each a JSON
  object or a string holding a Python literal of one, whose `doc` has `before_revision`,
  `after_revision`, `edit_actions` with `accept_or_reject`, and `after_human_evaluation`);
- per-round files or JSON Lines: one such `doc` per record (optionally wrapped as {"doc": ...}), its
  depth from `revision_depth`/`depth`/`rev_depth`, else from the order its texts chain in.

Each (annotator, document) becomes one finished thread: one applied round per depth, its edits
exactly as logged (character offsets, one edit per action), and the annotator's Accept/Reject as
decisions. The annotator comes from the file name ("ann1-MODEL-…json" → "ann1"), else from an
"annN" folder. What Redraft has no column for (the UI's chunks, the model's full output, the file's
own fields) is kept in each round's `request["r3"]`, so exporting an imported thread gives the log
back; any thread, imported or not, exports to the same format.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core import documents
from core.data.iterater import edits_from_actions
from core.db import session_scope
from core.decisions import standing
from core.errors import InputError, NotFoundError
from core.models import Decision, Document, ProposerSpec, Round, Thread, User, Version, utcnow
from core.models import Edit as EditRow
from core.proposers.base import SpecData
from core.proposers.registry import spec_fingerprint
from core.revision import feedback

IMPORTED_KIND = "imported"  # a spec that only labels where edits came from; it cannot propose
DEFAULT_ANNOTATOR = "r3-annotator"
STOP_IMPORTED = "imported from an R3 log"
# R3's colours per intent in `representation` (from the released logs).
INTENT_COLOURS = {
    "clarity": "#affae0",
    "coherence": "#fcdea7",
    "fluency": "#c2ffc2",
    "style": "#ffcfe9",
    "meaning-changed": "#ffd2d2",
    "others": "#e8e8e8",
}
_KNOWN_ACTION_KEYS = {"type", "before", "after", "start_char_pos", "end_char_pos", "major_intent", "accept_or_reject"}
_ANNOTATOR = re.compile(r"^([A-Za-z]+\d+)[-_]")
_MODEL = re.compile(r"^[A-Za-z]+\d+-([A-Za-z0-9_.]+)-")
_STAMP = re.compile(r"(\d{2})-(\d{2})-(\d{4})-(\d{2})-(\d{2})-(\d{2})")
_DEPTH_KEY = re.compile(r"^rev_depth_(\d+)$")
_FILE_DEPTH = re.compile(r"(?:rev_depth|round)[-_](\d+)", re.IGNORECASE)


# --- reading -------------------------------------------------------------------------


@dataclass
class RoundLog:
    depth: int | None
    before: str
    after_revision: str | None
    after_human: str | None
    actions: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)  # fields outside `doc` (chunks, annot index, ...)
    doc_extra: dict[str, Any] = field(default_factory=dict)  # unknown keys inside `doc`


@dataclass
class SessionLog:
    annotator: str
    doc_id: str
    source: str  # file name
    rounds: list[RoundLog]
    initial_text: str
    meta: dict[str, Any] = field(default_factory=dict)  # doc_no, curr_rev_depth, rejected_edit_actions, ...
    timestamp: datetime | None = None
    model: str = "MODEL"
    key: str = ""  # content hash: the same session imported twice is found and skipped


def _literal(value: Any, where: str) -> Any:  # noqa: ANN401 - JSON value
    """A JSON value, or a string holding a Python literal of one (as R3 saved some rounds)."""
    if isinstance(value, str):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError) as exc:
            raise InputError(f"{where} is a string but not a Python literal: {exc}") from exc
    return value


def _load_records(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8")
    try:
        return [json.loads(text)]
    except ValueError:
        pass
    records = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            try:
                records.append(ast.literal_eval(line))
            except (ValueError, SyntaxError) as exc:
                raise InputError(f"{path.name}:{n} is neither JSON nor a Python literal ({exc}).") from exc
    if not records:
        raise InputError(f"{path.name} holds no records.")
    return records


def annotator_from(path: Path) -> str:
    m = _ANNOTATOR.match(path.name)
    if m:
        return m.group(1)
    for parent in path.parents:
        if re.fullmatch(r"ann\w*\d", parent.name):
            return parent.name
    return DEFAULT_ANNOTATOR


def _timestamp(name: str) -> datetime | None:
    m = _STAMP.search(name)
    if not m:
        return None
    month, day, year, hh, mm, ss = (int(g) for g in m.groups())
    try:
        return datetime(year, month, day, hh, mm, ss, tzinfo=UTC)
    except ValueError:
        return None


def _round_from_doc(doc: Mapping[str, Any], depth: int | None, meta: dict[str, Any], where: str) -> RoundLog:
    if "before_revision" not in doc:
        raise InputError(f"{where} has no before_revision.")
    actions = doc.get("edit_actions") or []
    if not isinstance(actions, list):
        raise InputError(f"{where}: edit_actions must be a list.")
    known = {"doc_id", "before_revision", "after_revision", "edit_actions", "after_human_evaluation"}
    return RoundLog(
        depth=depth,
        before=str(doc["before_revision"]),
        after_revision=doc.get("after_revision"),
        after_human=doc.get("after_human_evaluation"),
        actions=[dict(a) for a in actions],
        meta=meta,
        doc_extra={k: v for k, v in doc.items() if k not in known},
    )


def parse_session(data: Mapping[str, Any], path: Path) -> SessionLog:
    """A whole-session record (top-level rev_depth_k keys)."""
    depths = sorted((int(m.group(1)), k) for k in data if (m := _DEPTH_KEY.match(k)))
    rounds: list[RoundLog] = []
    initial: str | None = None
    doc_id = None
    zero_meta: dict[str, Any] = {}
    for depth, key in depths:
        value = _literal(data[key], f"{path.name} {key}")
        if not isinstance(value, Mapping) or not isinstance(value.get("doc"), Mapping):
            raise InputError(f"{path.name} {key} has no `doc` object.")
        doc = value["doc"]
        doc_id = doc_id or doc.get("doc_id")
        meta = {k: v for k, v in value.items() if k != "doc"}
        if depth == 0 and not doc.get("edit_actions"):
            initial = str(doc.get("before_revision", ""))
            zero_meta = {
                "meta": meta,
                "doc_extra": {k: v for k, v in doc.items() if k not in ("doc_id", "before_revision")},
            }
            continue
        rounds.append(_round_from_doc(doc, depth, meta, f"{path.name} {key}"))
    if not rounds:
        raise InputError(f"{path.name} has no rounds with edit actions.")
    top = {k: v for k, v in data.items() if not _DEPTH_KEY.match(k)}
    top["rev_depth_0"] = zero_meta
    top["depth_keys_as_strings"] = [k for _, k in depths if isinstance(data[k], str)]
    return SessionLog(
        annotator=annotator_from(path),
        doc_id=str(doc_id or path.stem),
        source=path.name,
        rounds=rounds,
        initial_text=initial if initial is not None else rounds[0].before,
        meta=top,
        timestamp=_timestamp(path.name),
        model=(m.group(1) if (m := _MODEL.match(path.name)) else "MODEL"),
    )


def _chain(rounds: list[RoundLog]) -> list[RoundLog]:
    """Order per-round records: by depth when given, else by following after_human -> before texts."""
    if all(r.depth is not None for r in rounds):
        return sorted(rounds, key=lambda r: r.depth)
    results = {r.after_human for r in rounds if r.after_human is not None}
    starts = [r for r in rounds if r.before not in results] or rounds[:1]
    ordered = [starts[0]]
    left = [r for r in rounds if r is not starts[0]]
    while left:
        nxt = next((r for r in left if r.before == ordered[-1].after_human), left[0])
        ordered.append(nxt)
        left.remove(nxt)
    for depth, r in enumerate(ordered, 1):
        r.depth = depth
    return ordered


def read_paths(paths: Iterable[str | Path]) -> tuple[list[SessionLog], list[str]]:
    """Sessions in the given files and folders (folders: every .json/.jsonl inside), and the problems met."""
    files: list[Path] = []
    problems: list[str] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix in (".json", ".jsonl") and f.is_file())
        elif p.is_file():
            files.append(p)
        else:
            problems.append(f"{p}: no such file or folder")
    sessions: list[SessionLog] = []
    per_round: dict[tuple[str, str], list[tuple[RoundLog, Path]]] = {}
    for path in files:
        try:
            for rec in _load_records(path):
                rec = _literal(rec, path.name)
                if not isinstance(rec, Mapping):
                    raise InputError(f"{path.name}: a record is not an object.")
                if any(_DEPTH_KEY.match(k) for k in rec):
                    s = parse_session(rec, path)
                    s.key = _content_key(rec)
                    sessions.append(s)
                    continue
                doc = _literal(rec["doc"], path.name) if "doc" in rec else rec
                depth = next(
                    (
                        doc.get(k) or rec.get(k)
                        for k in ("revision_depth", "rev_depth", "depth")
                        if (doc.get(k) or rec.get(k)) is not None
                    ),
                    None,
                )
                if depth is None and (m := _FILE_DEPTH.search(path.stem)):
                    depth = m.group(1)
                meta = {k: v for k, v in rec.items() if k != "doc"} if "doc" in rec else {}
                rlog = _round_from_doc(doc, int(depth) if depth is not None else None, meta, path.name)
                rlog.meta["_file"] = path.name
                annotator = rec.get("annotator") or annotator_from(path)
                per_round.setdefault((str(annotator), str(doc.get("doc_id") or path.stem)), []).append((rlog, path))
        except (InputError, OSError, KeyError, TypeError, ValueError) as exc:
            problems.append(f"{path}: {exc}")
    for (annotator, doc_id), items in per_round.items():
        ordered = _chain([r for r, _ in items])
        first_path = items[0][1]
        sessions.append(
            SessionLog(
                annotator=annotator,
                doc_id=doc_id,
                source=first_path.name,
                rounds=ordered,
                initial_text=ordered[0].before,
                meta={"per_round": True},
                timestamp=_timestamp(first_path.name),
                key=_content_key([(r.depth, r.before, r.actions) for r in ordered] + [annotator, doc_id]),
            )
        )
    return sessions, problems


def _content_key(value: Any) -> str:  # noqa: ANN401
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:32]


# --- importing ---------------------------------------------------------------------------


def _decision_action(value: Any) -> str | None:  # noqa: ANN401
    text = str(value or "").strip().lower()
    if text in ("accept", "accepted"):
        return "accept"
    if text in ("reject", "rejected"):
        return "reject"
    return None


def _user(session: Session, name: str) -> User:
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        user = User(name=name, role="annotator")
        session.add(user)
        session.flush()
    return user


def imported_spec(session: Session, model: str) -> ProposerSpec:
    """The spec row labelling edits imported from R3 logs of `model` (kind "imported": it cannot propose)."""
    data = SpecData(kind=IMPORTED_KIND, model=f"R3:{model}", params={"format": "r3"})
    fp = spec_fingerprint(data)
    row = session.exec(select(ProposerSpec).where(ProposerSpec.fingerprint == fp)).first()
    if row is None:
        row = ProposerSpec(
            name=f"R3 log ({model})", kind=IMPORTED_KIND, model=data.model, params=data.params, fingerprint=fp
        )
        session.add(row)
        session.flush()
    return row


def _document(
    session: Session, log: SessionLog, project_id: int | None, user_id: int
) -> tuple[Document, Version, bool]:
    """The document this session revised (found by title and first text, so annotators share it), its
    first version, and whether it was created now."""
    project_id = project_id or documents.default_project(session).id
    candidates = session.exec(
        select(Document).where(Document.project_id == project_id, Document.title == log.doc_id).order_by(Document.id)
    ).all()
    for doc in candidates:
        first = session.exec(select(Version).where(Version.document_id == doc.id).order_by(Version.id)).first()
        if first is not None and first.text == log.initial_text:
            return doc, first, False
    doc = documents.create_document(
        session, log.doc_id, log.initial_text, project_id=project_id, user_id=user_id,
        source_filename=log.source, origin="import",
    )  # fmt: skip
    first = session.get(Version, doc.head_version_id)
    if first.text != log.initial_text:
        raise InputError(
            f"{log.source}: the text changed when stored ({first.note}); the logged character offsets would not fit."
        )
    return doc, first, True


def _already_imported(session: Session, document_id: int, user_id: int, key: str) -> bool:
    rounds = session.exec(
        select(Round.request).join(Thread, Thread.id == Round.thread_id)
        .where(Thread.document_id == document_id, Thread.user_id == user_id, Round.depth == 1)
    ).all()  # fmt: skip
    return any((r or {}).get("r3", {}).get("session_key") == key for r in rounds)


@dataclass
class ImportCounts:
    sessions: int = 0
    threads: list[int] = field(default_factory=list)
    rounds: int = 0
    edits: int = 0
    accepted: int = 0
    rejected: int = 0
    undecided: int = 0
    skipped: list[str] = field(default_factory=list)
    by_depth: dict[int, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "threads": len(self.threads),
            "thread_ids": self.threads,
            "rounds": self.rounds,
            "edits": self.edits,
            "decisions": self.accepted + self.rejected,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "undecided": self.undecided,
            "by_depth": {str(k): v for k, v in sorted(self.by_depth.items())},
            "skipped": self.skipped,
        }


def import_session(
    session: Session, log: SessionLog, counts: ImportCounts, project_id: int | None = None
) -> Thread | None:
    """Store one session as a finished thread; None (and a note in counts.skipped) if it was imported before."""
    user = _user(session, log.annotator)
    doc, first, created = _document(session, log, project_id, user.id)
    if _already_imported(session, doc.id, user.id, log.key):
        counts.skipped.append(f"{log.source}: already imported ({log.annotator}, {log.doc_id})")
        return None
    when = log.timestamp or utcnow()
    spec = imported_spec(session, log.model)
    thread = Thread(
        document_id=doc.id,
        user_id=user.id,
        status="finished",
        stop_reason=STOP_IMPORTED,
        created_at=when,
        finished_at=when,
    )
    session.add(thread)
    session.flush()
    base = first
    for n, rlog in enumerate(log.rounds):
        if base.text != rlog.before:  # the log's next round did not start from the previous result
            note = f"R3 log {log.source}: text before depth {rlog.depth}."
            base = Version(
                document_id=doc.id, parent_id=base.id, text=rlog.before, origin="import", created_by_id=user.id,
                note=note,
            )  # fmt: skip
            session.add(base)
            session.flush()
        edits = edits_from_actions(rlog.before, rlog.actions, source=f"r3:{log.model}")
        order = sorted(
            range(len(rlog.actions)),
            key=lambda k: (int(rlog.actions[k]["start_char_pos"]), int(rlog.actions[k]["end_char_pos"]), k),
        )
        extras = []
        for k in order:
            a = rlog.actions[k]
            extra = {key: v for key, v in a.items() if key not in _KNOWN_ACTION_KEYS}
            if extra.get("representation") == representation(
                a.get("before") or "", a.get("after") or "", _intent_of(a)
            ):
                extra.pop("representation")
            if a.get("type") != action_type(a.get("before") or "", a.get("after") or ""):
                extra["type"] = a.get("type")
            for key in ("before", "after"):
                if a.get(key) is None:
                    extra[f"{key}_is_null"] = True
            extras.append(extra)
        r3_meta: dict[str, Any] = {
            "meta": rlog.meta,
            "doc_extra": rlog.doc_extra,
            "after_revision": rlog.after_revision,
            "action_extras": extras,
            "action_order": order,
        }
        if n == 0:
            r3_meta.update(session_key=log.key, source=log.source, model=log.model, top=log.meta)
        intents = sorted({e.intent for e in edits if e.intent})
        rnd = Round(
            thread_id=thread.id, depth=int(rlog.depth or n + 1), base_version_id=base.id, spec_id=spec.id,
            request={"intents": intents, "r3": r3_meta}, status="applied", created_at=when, finished_at=when,
        )  # fmt: skip
        session.add(rnd)
        session.flush()
        rows = []
        for position, e in enumerate(edits):
            rows.append(
                EditRow(
                    round_id=rnd.id, position=position, start=e.start, end=e.end, before=e.before, after=e.after,
                    intent=e.intent, source=e.source or None, content_hash=e.content_hash,
                    context=feedback.edit_context(rlog.before, e),
                )
            )  # fmt: skip
        session.add_all(rows)
        session.flush()
        tally = counts.by_depth.setdefault(rnd.depth, {"accept": 0, "reject": 0})
        for row, k in zip(rows, order, strict=True):
            action = _decision_action(rlog.actions[k].get("accept_or_reject"))
            if action is None:
                counts.undecided += 1
                continue
            session.add(Decision(edit_id=row.id, user_id=user.id, action=action, created_at=when,
                                 idempotency_key=f"r3:{log.key}:{rnd.depth}:{k}"))  # fmt: skip
            tally[action] += 1
            counts.accepted += action == "accept"
            counts.rejected += action == "reject"
        result_text = rlog.after_human
        if result_text is None:  # no human result logged: the accepted actions applied
            from core.text.edits import apply_edits

            accepted = [
                e
                for e, k in zip(edits, order, strict=True)
                if _decision_action(rlog.actions[k].get("accept_or_reject")) == "accept"
            ]
            result_text = apply_edits(rlog.before, accepted)
        result = Version(document_id=doc.id, parent_id=base.id, text=result_text, origin="round", round_id=rnd.id,
                         created_by_id=user.id)  # fmt: skip
        session.add(result)
        session.flush()
        rnd.result_version_id = result.id
        session.add(rnd)
        base = result
        counts.rounds += 1
        counts.edits += len(rows)
    if created:
        doc.head_version_id = base.id
        doc.updated_at = utcnow()
        session.add(doc)
    session.flush()
    counts.sessions += 1
    counts.threads.append(thread.id)
    return thread


def import_r3_paths(engine: Engine, paths: Iterable[str | Path], project_id: int | None = None) -> dict[str, Any]:
    """Import every R3/IteraTeR log in the given files and folders; one transaction per session, so a bad
    file is reported and skipped without losing the others. Returns a summary (counts, per-depth
    accept/reject tallies, skipped files with reasons)."""
    sessions, problems = read_paths(paths)
    counts = ImportCounts(skipped=list(problems))
    for log in sessions:
        try:
            with session_scope(engine) as s:
                import_session(s, log, counts, project_id)
        except InputError as exc:
            counts.skipped.append(f"{log.source}: {exc}")
    if not sessions and not problems:
        raise InputError("No R3 logs found in the given paths (.json or .jsonl files).")
    return counts.as_dict()


# --- exporting ----------------------------------------------------------------------------


def action_type(before: str, after: str) -> str:
    return "A" if not before else "D" if not after else "R"


def _intent_of(action: Mapping[str, Any]) -> str | None:
    return action.get("major_intent")


def representation(before: str, after: str, intent: str | None) -> list[list[str]]:
    colour = INTENT_COLOURS.get(intent or "", "#e8e8e8")
    return [[before, "before", colour], ["\u2192", intent or "", colour], [after, "after", colour]]


def _state(decisions: list[Decision]) -> tuple[str, str | None]:
    return standing(decisions).pair


def export_thread(session: Session, thread_id: int) -> dict[str, Any]:
    """A thread as an R3 whole-session object (what `import_r3_paths` reads back).

    A rewrite (modify) has no R3 equivalent: it is written as Accept of the rewritten text, with the
    model's proposal under `model_after`. An edit nobody decided has `accept_or_reject: null`."""
    thread = session.get(Thread, thread_id)
    if thread is None:
        raise NotFoundError(f"No thread with id {thread_id}.")
    doc = session.get(Document, thread.document_id)
    rounds = session.exec(select(Round).where(Round.thread_id == thread_id).order_by(Round.depth, Round.id)).all()
    rounds = [r for r in rounds if r.status in ("applied", "reviewing", "finished")]
    edits_by_round: dict[int, list[EditRow]] = {}
    if rounds:
        for e in session.exec(
            select(EditRow)
            .where(EditRow.round_id.in_([r.id for r in rounds]))
            .order_by(EditRow.round_id, EditRow.position)
        ).all():
            edits_by_round.setdefault(e.round_id, []).append(e)
    decisions: dict[int, list[Decision]] = {}
    edit_ids = [e.id for es in edits_by_round.values() for e in es]
    if edit_ids:
        query = select(Decision).where(Decision.edit_id.in_(edit_ids), Decision.user_id == thread.user_id)
        for d in session.exec(query.order_by(Decision.created_at, Decision.id)).all():
            decisions.setdefault(d.edit_id, []).append(d)
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
    initial = (
        session.get(Version, rounds[0].base_version_id).text
        if rounds
        else session.get(Version, doc.head_version_id).text
    )
    out["curr_rev_depth"] = top.get("curr_rev_depth", (max((r.depth for r in rounds), default=0) + 1))
    zero_doc = {"doc_id": doc_id, "before_revision": initial, **(zero.get("doc_extra") or {})}
    out["rev_depth_0"] = {
        **(zero.get("meta") or {"curr_annot_index": 0, "doc_chunks": [], "edit_idx_to_doc_chunk_idx": {}}),
        "doc": zero_doc,
    }
    rejected: list[list[str]] = []
    for rnd in rounds:
        meta = (rnd.request or {}).get("r3", {})
        base = session.get(Version, rnd.base_version_id).text
        rows = edits_by_round.get(rnd.id, [])
        extras = meta.get("action_extras") or [{} for _ in rows]
        if len(extras) != len(rows):
            extras = [{} for _ in rows]
        actions: list[dict[str, Any]] = []
        for row, extra in zip(rows, extras, strict=True):
            state, text = _state(decisions.get(row.id, []))
            after = text if state == "modify" and text is not None else row.after
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
            a["accept_or_reject"] = {"accept": "Accept", "modify": "Accept", "reject": "Reject"}.get(state)
            if state == "modify":
                a["model_after"] = row.after
            if state == "reject":
                rejected.append([row.before, row.after, row.intent or "", action_type(row.before, row.after)])
            actions.append(a)
        order = meta.get("action_order")
        if order and sorted(order) == list(range(len(actions))):  # the log's own order of actions
            restored: list[dict[str, Any]] = [{}] * len(actions)
            for a, k in zip(actions, order, strict=True):
                restored[k] = a
            actions = restored
        result = session.get(Version, rnd.result_version_id).text if rnd.result_version_id else None
        if result is None:
            from core.revision.rounds import apply_decided, edit_states

            result = apply_decided(base, edit_states(session, rnd.id, thread.user_id))
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
    thread = session.get(Thread, thread_id)
    if thread is None:
        raise NotFoundError(f"No thread with id {thread_id}.")
    first = session.exec(select(Round).where(Round.thread_id == thread_id).order_by(Round.depth, Round.id)).first()
    meta = (first.request or {}).get("r3", {}) if first else {}
    if meta.get("source") and not (meta.get("top") or {}).get("per_round"):
        return meta["source"]
    user = session.get(User, thread.user_id)
    doc = session.get(Document, thread.document_id)
    safe = lambda s: re.sub(r"[^A-Za-z0-9_.]+", "_", s).strip("_") or "x"  # noqa: E731
    name = safe(user.name)
    if not _ANNOTATOR.match(name + "-"):
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
