"""R3 / IteraTeR logs into Redraft: each (annotator, document) session becomes one finished thread,
one applied round per depth, its edits exactly as logged and the annotator's Accept/Reject as
decisions (see core.data.r3 for the format and what is kept aside for the way back).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import decisions, documents, users
from core.data.iterater import edits_from_actions
from core.data.r3_format import KNOWN_ACTION_KEYS, SessionLog, action_type, intent_of, read_paths, representation
from core.db import session_scope
from core.decisions import Action
from core.errors import InputError, NotFoundError
from core.files import clean_title
from core.models import (
    Document,
    ProposerSpec,
    Role,
    Round,
    RoundStatus,
    Thread,
    ThreadStatus,
    User,
    Version,
    VersionOrigin,
    id_of,
    utcnow,
)
from core.models import Edit as EditRow
from core.proposers.base import SpecData
from core.proposers.registry import spec_fingerprint
from core.revision import feedback
from core.text.clean import shorten

IMPORTED_KIND = "imported"  # a spec that only labels where edits came from; it cannot propose
STOP_IMPORTED = "imported from an R3 log"


def _decision_action(value: Any) -> Action | None:  # noqa: ANN401
    text = str(value or "").strip().lower()
    if text in ("accept", "accepted"):
        return Action.ACCEPT
    if text in ("reject", "rejected"):
        return Action.REJECT
    return None


def _user(session: Session, annotator: str, user_map: Mapping[str, str]) -> User:
    """The user an annotator's decisions are filed under: the person named for it in user_map, else the
    import's own user for it (import_key "r3:NAME"), never an existing person who shares the name."""
    if annotator in user_map:
        try:
            return users.get_by_name(session, user_map[annotator])
        except NotFoundError as exc:
            raise InputError(f"--map-user {annotator}={user_map[annotator]}: {exc}") from None
    key = f"r3:{annotator}"[:300]
    user = session.exec(select(User).where(User.import_key == key)).first()
    if user is not None:
        return user
    base = users.user_name(annotator)
    name = base
    for n in range(1, 1000):
        if session.exec(select(User).where(User.name == name)).first() is None:
            break
        suffix = " (R3 import)" if n == 1 else f" (R3 import {n})"
        name = shorten(base, users.MAX_NAME_CHARS - len(suffix)) + suffix
    user = User(name=name, role=Role.ANNOTATOR, import_key=key)
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
    project_id = project_id or id_of(documents.default_project(session))
    candidates = session.exec(
        select(Document)
        .where(Document.project_id == project_id, Document.title == clean_title(log.doc_id))
        .order_by(col(Document.id))
    ).all()
    for doc in candidates:
        first = session.exec(select(Version).where(Version.document_id == doc.id).order_by(col(Version.id))).first()
        if first is not None and first.text == log.initial_text:
            return doc, first, False
    doc = documents.create_document(
        session, log.doc_id, log.initial_text, project_id=project_id, user_id=user_id,
        source_filename=log.source, origin=VersionOrigin.IMPORT,
    )  # fmt: skip
    first = documents.head_version(session, id_of(doc))
    if first.text != log.initial_text:
        raise InputError(
            f"{log.source}: the text changed when stored ({first.note}); the logged character offsets would not fit."
        )
    return doc, first, True


def _already_imported(session: Session, document_id: int, user_id: int, key: str) -> bool:
    rounds = session.exec(
        select(Round.request).join(Thread, col(Thread.id) == col(Round.thread_id))
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
    skipped: list[str] = field(default_factory=list)  # already imported
    refused: list[str] = field(default_factory=list)  # files not imported, with the reason
    by_depth: dict[int, dict[str, int]] = field(default_factory=dict)

    def merge(self, other: ImportCounts) -> None:
        self.sessions += other.sessions
        self.threads += other.threads
        self.rounds += other.rounds
        self.edits += other.edits
        self.accepted += other.accepted
        self.rejected += other.rejected
        self.undecided += other.undecided
        self.skipped += other.skipped
        for depth, tally in other.by_depth.items():
            mine = self.by_depth.setdefault(depth, {})
            for k, v in tally.items():
                mine[k] = mine.get(k, 0) + v

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
            "refused": self.refused,
        }


def import_session(
    session: Session,
    log: SessionLog,
    counts: ImportCounts,
    project_id: int | None = None,
    user_map: Mapping[str, str] | None = None,
) -> Thread | None:
    """Store one session as a finished thread; None (and a note in counts.skipped) if it was imported before."""
    user_id = id_of(_user(session, log.annotator, user_map or {}))
    doc, first, created = _document(session, log, project_id, user_id)
    doc_id = id_of(doc)
    if _already_imported(session, doc_id, user_id, log.key):
        counts.skipped.append(f"{log.source}: already imported ({log.annotator}, {log.doc_id})")
        return None
    when = log.timestamp or utcnow()
    spec = imported_spec(session, log.model)
    thread = Thread(
        document_id=doc_id,
        user_id=user_id,
        status=ThreadStatus.FINISHED,
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
                document_id=doc_id, parent_id=base.id, text=rlog.before, origin=VersionOrigin.IMPORT,
                created_by_id=user_id, note=note,
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
            extra = {key: v for key, v in a.items() if key not in KNOWN_ACTION_KEYS}
            if extra.get("representation") == representation(a.get("before") or "", a.get("after") or "", intent_of(a)):
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
            thread_id=id_of(thread), depth=int(rlog.depth or n + 1), base_version_id=id_of(base), spec_id=spec.id,
            request={"intents": intents, "r3": r3_meta}, status=RoundStatus.APPLIED, created_at=when, finished_at=when,
        )  # fmt: skip
        session.add(rnd)
        session.flush()
        round_id = id_of(rnd)
        rows = []
        for position, e in enumerate(edits):
            rows.append(
                EditRow(
                    round_id=round_id, position=position, start=e.start, end=e.end, before=e.before, after=e.after,
                    intent=e.intent, source=e.source or None, content_hash=e.content_hash,
                    context=feedback.edit_context(rlog.before, e),
                )
            )  # fmt: skip
        session.add_all(rows)
        session.flush()
        tally = counts.by_depth.setdefault(rnd.depth, {Action.ACCEPT.value: 0, Action.REJECT.value: 0})
        for row, k in zip(rows, order, strict=True):
            action = _decision_action(rlog.actions[k].get("accept_or_reject"))
            if action is None:
                counts.undecided += 1
                continue
            decisions.append_imported(
                session, edit_id=id_of(row), round_id=round_id, user_id=user_id, action=action, created_at=when,
                idempotency_key=f"r3:{log.key}:{rnd.depth}:{k}",
            )  # fmt: skip
            tally[action.value] += 1
            counts.accepted += action == Action.ACCEPT
            counts.rejected += action == Action.REJECT
        result_text = rlog.after_human
        if result_text is None:  # no human result logged: the accepted actions applied
            from core.text.edits import apply_edits

            accepted = [
                e
                for e, k in zip(edits, order, strict=True)
                if _decision_action(rlog.actions[k].get("accept_or_reject")) == Action.ACCEPT
            ]
            result_text = apply_edits(rlog.before, accepted)
        result = Version(document_id=doc_id, parent_id=base.id, text=result_text, origin=VersionOrigin.ROUND,
                         round_id=round_id, created_by_id=user_id)  # fmt: skip
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
    counts.threads.append(id_of(thread))
    return thread


def import_r3_paths(
    engine: Engine,
    paths: Iterable[str | Path],
    project_id: int | None = None,
    *,
    skip_bad: bool = False,
    user_map: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Import every R3/IteraTeR log in the given files and folders, each file whole or not at all.

    Every file is read and validated first. By default one refused file means nothing is imported (the
    summary's "refused" names each file and field); with skip_bad the others are imported, one
    transaction per file. Annotators get their own users unless user_map maps a log's annotator name to
    an existing person. Returns a summary (counts, per-depth tallies, refused and skipped files)."""
    sessions, problems = read_paths(paths)
    if not sessions and not problems:
        raise InputError("No R3 logs found in the given paths (.json or .jsonl files).")
    counts = ImportCounts(refused=list(problems))
    if problems and not skip_bad:
        counts.refused.append("nothing was imported (use --skip-bad to import the other files)")
        return counts.as_dict()
    by_file: dict[str, list[SessionLog]] = {}
    for log in sessions:
        by_file.setdefault(log.source, []).append(log)
    groups = list(by_file.values()) if skip_bad else [sessions]
    for group in groups:
        done = ImportCounts()
        try:
            with session_scope(engine) as s:
                for log in group:
                    try:
                        import_session(s, log, done, project_id, user_map)
                    except InputError as exc:
                        raise InputError(f"{log.source}: {exc}") from exc
        except InputError as exc:
            counts.refused.append(str(exc))
            if not skip_bad:
                counts.refused.append("nothing was imported (use --skip-bad to import the other files)")
                return counts.as_dict()
            continue
        counts.merge(done)
    return counts.as_dict()
