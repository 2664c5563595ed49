"""The decision log as a file or a download: JSONL, CSV, Parquet or a Hugging Face DatasetDict.

The pieces live beside this module: `export_query` (filters, the streamed query, counts, preview),
`export_rows` (what one row holds) and `export_formats` (the writers). This module puts them together
and keeps the names the pages and services import from it.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.data.export_formats import (
    csv_value,
    json_default,
    log_schema,
    save_dataset_dict,
    write_csv,
    write_jsonl,
    write_parquet,
)
from core.data.export_query import (
    ExportFilters,
    ExportSummary,
    FilterOptions,
    document_ids,
    filter_options,
    iter_decision_rows,
    preview,
    split_documents,
    summarize,
    thread_ids,
)
from core.data.export_rows import ROW_FIELDS, sentence_window
from core.data.manual_rows import iter_manual_rows
from core.errors import InputError

# Imported by pages, services and benchmarks from here (they predate the split).
__all__ = [
    "LOG_FORMATS",
    "ROW_FIELDS",
    "ExportFilters",
    "ExportResult",
    "ExportSummary",
    "FilterOptions",
    "action_counts",
    "export_log",
    "filter_options",
    "iter_decision_rows",
    "log_bytes",
    "preview",
    "sentence_window",
    "summarize",
    "thread_ids",
]

LOG_FORMATS = ("jsonl", "csv", "parquet", "hf")


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
            return ExportResult(path, fmt, write_jsonl(log_rows(s, filters), path))
        if fmt == "csv":
            return ExportResult(path, fmt, write_csv(log_rows(s, filters), path, ROW_FIELDS))
        if fmt == "parquet":
            return ExportResult(path, fmt, write_parquet(log_rows(s, filters), path))
        test_docs = split_documents(document_ids(s, filters), test_fraction, seed)

        def part(is_test: bool) -> Callable[[], Iterator[dict[str, Any]]]:
            return lambda: (r for r in iter_decision_rows(s, filters) if (r["document_id"] in test_docs) == is_test)

        splits = {"train": part(False)}
        if test_docs:
            splits["test"] = part(True)
        counts = save_dataset_dict(splits, path, schema=log_schema(), push_to_hub=push_to_hub)
        return ExportResult(path, fmt, sum(counts.values()), counts)


def log_rows(session: Session, filters: ExportFilters) -> Iterator[dict[str, Any]]:
    """The edit log: every decision, then every change made by hand (action "manual")."""
    return chain(iter_decision_rows(session, filters), iter_manual_rows(session, filters))


def log_bytes(session: Session, filters: ExportFilters, fmt: str) -> bytes:
    """The log as bytes in jsonl or csv, for a download button (small exports; files for big ones)."""
    rows = log_rows(session, filters)
    if fmt == "jsonl":
        dumps = json.JSONEncoder(ensure_ascii=False, default=json_default).encode
        return "".join(dumps(r) + "\n" for r in rows).encode("utf-8")
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(ROW_FIELDS))
        writer.writeheader()
        for r in rows:
            writer.writerow({k: csv_value(v) for k, v in r.items()})
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
