"""Helpers shared by CLI commands."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy.engine import Engine

from core.access import Actor, actor_for
from core.db import open_database
from core.errors import InputError


def engine_for(args: argparse.Namespace) -> Engine:
    """The migrated database for this invocation (--database-url, DATABASE_URL or the SQLite default)."""
    return open_database(getattr(args, "database_url", None))


def actor_for_args(args: argparse.Namespace, engine: Engine) -> Actor:
    """Who the command acts as: --as NAME, or the local user of the embedded setup."""
    from core import users
    from core.db import read_scope
    from core.documents import default_user

    with read_scope(engine) as s:
        name = getattr(args, "as_user", None)
        user = users.get_by_name(s, name) if name else default_user(s)
        return actor_for(s, user.id or 0)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, default=_default) + "\n")


def parse_when(text: str | None, *, end_of_day: bool = False) -> datetime | None:
    """A --since/--until value: an ISO date or datetime, UTC unless it carries an offset."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"Cannot read the date {text!r}; write it as 2026-03-01 or 2026-03-01T14:00.") from exc
    if len(text) <= 10 and end_of_day:  # a bare date: the whole day
        value = datetime.combine(value.date(), time.max)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
