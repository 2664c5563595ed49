"""Helpers shared by CLI commands."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from core.db import open_database


def engine_for(args: argparse.Namespace) -> Engine:
    """The migrated database for this invocation (--database-url, DATABASE_URL or the SQLite default)."""
    return open_database(getattr(args, "database_url", None))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, default=_default) + "\n")
