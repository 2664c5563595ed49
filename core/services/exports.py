"""Exporting decisions (the log, TRL datasets, R3 files) and importing R3 logs, for the acting person.

Researchers and admins export everyone's decisions of the projects they belong to; everyone else
exports only their own: the filters are narrowed to the person's projects and, unless they read
everyone's in all of them, to the person (asking for another person's decisions is refused); R3
files are written only for threads they may read. This is checked here, whatever a page offers.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core import access
from core.access import Actor
from core.config import load_settings
from core.data import export, r3
from core.data.export import ExportFilters, ExportResult, ExportSummary, FilterOptions
from core.db import read_scope
from core.errors import InputError
from core.models import Document, Thread

PREVIEW_ROWS = 20


def reads_everyone(actor: Actor, filters: ExportFilters) -> bool:
    """Whether the filters' projects (all the person's, when none is chosen) are all ones where the
    person reads everyone's decisions."""
    if actor.is_admin:
        return True
    wanted = filters.project_ids or actor.project_ids
    return bool(wanted) and all(actor.reads_all_in(p) for p in wanted)


def scoped(actor: Actor, filters: ExportFilters) -> ExportFilters:
    """The filters narrowed to the decisions this person may export."""
    if actor.is_admin:
        return filters
    wanted = filters.project_ids or actor.project_ids
    if not wanted:
        raise access.deny(actor, "export decisions: you are not a member of any project")
    for pid in wanted:
        access.authorize(actor, access.Action.DECISIONS_READ_OWN, access.ProjectRef(pid))
    filters = replace(filters, project_ids=tuple(wanted))
    if reads_everyone(actor, filters):
        return filters
    if set(filters.user_ids) - {actor.user_id}:
        raise access.deny(actor, access.Action.DECISIONS_READ_ALL.value)
    return replace(filters, user_ids=(actor.user_id,))


def filter_options(engine: Engine, actor: Actor) -> FilterOptions:
    """What the filters offer: the people are only the person themself unless they read everyone's."""
    with read_scope(engine) as s:
        options = export.filter_options(s)
    return filter_options_for(actor, options)


def filter_options_for(actor: Actor, options: FilterOptions) -> FilterOptions:
    """Filter choices narrowed to the person's projects, and to them unless they read everyone's."""
    if actor.is_admin:
        return options
    mine = set(actor.project_ids)
    options = replace(options, projects=[p for p in options.projects if p[0] in mine])
    if reads_everyone(actor, ExportFilters()):
        return options
    return replace(options, users=[u for u in options.users if u[0] == actor.user_id])


@dataclass(frozen=True)
class Overview:
    summary: ExportSummary
    preview: list[dict[str, Any]]  # the first rows of the export


def overview(engine: Engine, actor: Actor, filters: ExportFilters, preview_rows: int = PREVIEW_ROWS) -> Overview:
    """Counts (by action, intent, depth) and the first rows, in one read."""
    filters = scoped(actor, filters)
    with read_scope(engine) as s:
        return Overview(export.summarize(s, filters), export.preview(s, filters, preview_rows))


def decision_count(engine: Engine, actor: Actor, filters: ExportFilters) -> int:
    with read_scope(engine) as s:
        return export.summarize(s, scoped(actor, filters)).decisions


def log_bytes(engine: Engine, actor: Actor, filters: ExportFilters, fmt: str) -> bytes:
    """The decision log as jsonl, csv or parquet bytes, for a browser download."""
    filters = scoped(actor, filters)
    with read_scope(engine) as s:
        return export.log_bytes(s, filters, fmt)


def save_log(
    engine: Engine, actor: Actor, filters: ExportFilters, fmt: str, *, test_fraction: float = 0.0
) -> ExportResult:
    """Write the decision log in the server's exports folder (a big export, or a DatasetDict)."""
    filters = scoped(actor, filters)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    suffix = "" if fmt == "hf" else f".{fmt}"
    target = load_settings().exports_dir / f"decisions-{stamp}{suffix}"
    return export.export_log(engine, filters, fmt, target, test_fraction=test_fraction)


@dataclass(frozen=True)
class TrlBuild:
    kind: str
    counts: dict[str, int]  # train, test
    stats: dict[str, int]  # decisions, skipped_no_change, skipped_no_prompt, duplicates
    zip_bytes: bytes  # train.jsonl, test.jsonl, stats.json


def trl_dataset(
    engine: Engine,
    actor: Actor,
    filters: ExportFilters,
    kind: str,
    *,
    style: str = "auto",
    messages: bool = False,
    test_fraction: float = 0.1,
) -> TrlBuild:
    """A TRL dataset (sft, dpo, kto, reward) from the decisions that stand, zipped as JSON Lines."""
    from core.data.trl_data import PromptFormat, make_splits, save_splits

    filters = replace(scoped(actor, filters), latest_only=True)
    fmt = None if style == "auto" else PromptFormat.parse(style)
    with read_scope(engine) as s:
        live = list(export.iter_decision_rows(s, filters))
    splits = make_splits(kind, live, fmt, messages=messages, test_fraction=test_fraction)
    with tempfile.TemporaryDirectory() as tmp:
        save_splits(splits, tmp, "jsonl")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(Path(tmp).glob("*.jsonl")):
                zf.write(path, path.name)
            zf.writestr("stats.json", json.dumps({**splits.counts(), **splits.stats.as_dict()}, indent=2))
    return TrlBuild(kind, splits.counts(), splits.stats.as_dict(), buf.getvalue())


# --- R3 logs ------------------------------------------------------------------------------------------


def r3_threads(engine: Engine, actor: Actor, filters: ExportFilters) -> list[int]:
    """The threads with decisions under the filters that this person may export (their own, or all)."""
    filters = scoped(actor, filters)
    with read_scope(engine) as s:
        ids = export.thread_ids(s, filters)
        if reads_everyone(actor, filters) or not ids:
            return ids
        own = s.exec(select(Thread.id).where(col(Thread.id).in_(ids), Thread.user_id == actor.user_id)).all()
    return sorted(int(i) for i in own if i is not None)


def r3_zip(engine: Engine, actor: Actor, thread_ids: Iterable[int]) -> bytes:
    """The threads as R3 whole-session JSON files in a zip."""
    ids = sorted(set(thread_ids))
    if not actor.is_admin and ids:
        with read_scope(engine) as s:
            rows = s.exec(
                select(Thread.id, Thread.user_id, Document.project_id)
                .join(Document, col(Document.id) == col(Thread.document_id))
                .where(col(Thread.id).in_(ids))
            ).all()
        found = {int(t or 0): (u, p) for t, u, p in rows}
        for i in ids:
            owner, project = found.get(i, (None, None))
            if project is None or not (owner == actor.user_id or actor.reads_all_in(project)):
                raise access.deny(actor, "export another person's revision")
    with tempfile.TemporaryDirectory() as tmp:
        written = r3.export_threads(engine, ids, tmp)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in written:
                zf.write(path, path.name)
    return buf.getvalue()


def import_r3(engine: Engine, actor: Actor, files: Iterable[tuple[str, bytes]]) -> dict[str, Any]:
    """Import uploaded R3 / IteraTeR logs (JSON or JSON Lines): counts, and the files skipped with why.
    Imports make people and projects: admins only."""
    access.authorize(actor, access.Action.PROJECTS_MANAGE)
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files:
            safe = Path(name).name
            if not safe:
                raise InputError(f"Not a file name: {name!r}.")
            (Path(tmp) / safe).write_bytes(data)
        # Each uploaded file whole or not at all; the good ones are imported, the refused ones listed.
        return r3.import_r3_paths(engine, [tmp], skip_bad=True)
