"""The R3 / IteraTeR log format: reading files and folders into sessions, and the small rules both
directions (core.data.r3_import, core.data.r3_export) share. See core.data.r3 for the format.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.config import load_settings
from core.data.r3_schema import (
    Limits,
    RoundModel,
    RoundRecordModel,
    SessionTopModel,
    check_rounds,
    check_strings,
    parse_json,
    parse_literal,
    read_log_text,
    validate,
)
from core.errors import InputError

DEFAULT_ANNOTATOR = "r3-annotator"
# R3's colours per intent in `representation` (from the released logs).
INTENT_COLOURS = {
    "clarity": "#affae0",
    "coherence": "#fcdea7",
    "fluency": "#c2ffc2",
    "style": "#ffcfe9",
    "meaning-changed": "#ffd2d2",
    "others": "#e8e8e8",
}
KNOWN_ACTION_KEYS = {"type", "before", "after", "start_char_pos", "end_char_pos", "major_intent", "accept_or_reject"}
ANNOTATOR_NAME = re.compile(r"^([A-Za-z]+\d+)[-_]")
_MODEL = re.compile(r"^[A-Za-z]+\d+-([A-Za-z0-9_.]+)-")
_STAMP = re.compile(r"(\d{2})-(\d{2})-(\d{4})-(\d{2})-(\d{2})-(\d{2})")
_DEPTH_KEY = re.compile(r"^rev_depth_(\d+)$")
_FILE_DEPTH = re.compile(r"(?:rev_depth|round)[-_](\d+)", re.IGNORECASE)


def action_type(before: str, after: str) -> str:
    return "A" if not before else "D" if not after else "R"


def intent_of(action: Mapping[str, Any]) -> str | None:
    return action.get("major_intent")


def representation(before: str, after: str, intent: str | None) -> list[list[str]]:
    colour = INTENT_COLOURS.get(intent or "", "#e8e8e8")
    return [[before, "before", colour], ["\u2192", intent or "", colour], [after, "after", colour]]


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


def _literal(value: Any, where: str, limits: Limits) -> Any:  # noqa: ANN401 - JSON value
    """A JSON value, or a string holding a Python literal of one (as R3 saved some rounds)."""
    if isinstance(value, str):
        return parse_literal(value, where, limits)
    return value


def _load_records(path: Path, limits: Limits) -> list[Any]:
    text = read_log_text(path, limits)
    try:
        return [parse_json(text, path.name, limits)]
    except ValueError:
        pass
    records = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(parse_json(line, f"{path.name}:{n}", limits))
        except ValueError:
            records.append(parse_literal(line, f"{path.name}:{n}", limits))
    if not records:
        raise InputError(f"{path.name} holds no records.")
    return records


def default_limits() -> Limits:
    return Limits.for_documents(load_settings().max_document_bytes)


def annotator_from(path: Path) -> str:
    m = ANNOTATOR_NAME.match(path.name)
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
        before=doc["before_revision"],
        after_revision=doc.get("after_revision"),
        after_human=doc.get("after_human_evaluation"),
        actions=[dict(a) for a in actions],
        meta=meta,
        doc_extra={k: v for k, v in doc.items() if k not in known},
    )


def parse_session(data: Mapping[str, Any], path: Path, limits: Limits | None = None) -> SessionLog:
    """A whole-session record (top-level rev_depth_k keys), validated (InputError naming the field)."""
    limits = limits or default_limits()
    validate(SessionTopModel, data, path.name)
    depths = sorted((int(m.group(1)), k) for k in data if (m := _DEPTH_KEY.match(k)))
    check_rounds(len(depths), path.name, limits)
    rounds: list[RoundLog] = []
    initial: str | None = None
    doc_id = None
    zero_meta: dict[str, Any] = {}
    for depth, key in depths:
        value = _literal(data[key], f"{path.name} {key}", limits)
        validate(RoundModel, value, path.name, key)
        check_strings(value, path.name, limits, key)
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
    check_strings(top, path.name, limits)
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
        return sorted(rounds, key=lambda r: r.depth or 0)
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


def read_paths(paths: Iterable[str | Path], limits: Limits | None = None) -> tuple[list[SessionLog], list[str]]:
    """Sessions in the given files and folders (folders: every .json/.jsonl inside), and the problems met:
    one per refused file, naming it and the field (a file is read whole or not at all)."""
    limits = limits or default_limits()
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
        found: list[SessionLog] = []
        rounds: list[tuple[tuple[str, str], RoundLog]] = []
        try:
            records = _load_records(path, limits)
            check_rounds(len(records), path.name, limits)
            for rec in records:
                rec = _literal(rec, path.name, limits)
                if not isinstance(rec, Mapping):
                    raise InputError(f"{path.name}: a record is not an object.")
                if any(_DEPTH_KEY.match(k) for k in rec):
                    s = parse_session(rec, path, limits)
                    s.key = _content_key(rec)
                    found.append(s)
                    continue
                validate(RoundRecordModel, rec, path.name)
                if "doc" in rec:
                    doc = _literal(rec["doc"], path.name, limits)
                    validate(RoundModel, {**rec, "doc": doc}, path.name)
                else:
                    doc = rec
                    validate(RoundModel, {"doc": doc}, path.name)
                check_strings(doc, path.name, limits, "doc")
                check_strings({k: v for k, v in rec.items() if k != "doc"}, path.name, limits)
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
                rounds.append(((str(annotator), str(doc.get("doc_id") or path.stem)), rlog))
        except (InputError, OSError, KeyError, TypeError, ValueError) as exc:
            message = str(exc)  # most already start with the file's name
            problems.append(f"{path.parent / message}" if message.startswith(path.name) else f"{path}: {message}")
            continue  # nothing from a refused file
        sessions += found
        for group, rlog in rounds:
            per_round.setdefault(group, []).append((rlog, path))
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
