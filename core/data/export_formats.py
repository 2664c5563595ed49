"""Writers for row iterators: JSONL, CSV, Parquet (one row group per batch) and a Hugging Face DatasetDict.

Each consumes its rows as they come, so an export streamed from the database stays bounded in
memory whatever its size; Parquet buffers one batch of column values at a time.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from core.data.export_rows import ROW_FIELDS
from core.errors import InputError

PARQUET_BATCH = 10_000


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_jsonl(rows: Iterable[dict[str, Any]], path: str | Path) -> int:
    """One JSON object a line (UTF-8, no ASCII escaping). Returns the row count."""
    n = 0
    dumps = json.JSONEncoder(ensure_ascii=False, default=json_default).encode
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


def csv_value(value: Any) -> Any:
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
            writer.writerow({k: csv_value(v) for k, v in row.items()})
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
            "depth", "thread_id", "document_id", "project_id", "base_version_id", "result_version_id", "base_version",
            "result_version", "spec_id",
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
    splits: Mapping[str, Callable[[], Iterable[dict[str, Any]]]],
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
