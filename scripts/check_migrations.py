"""Fail when the SQLModel tables and the Alembic migrations drift apart, on SQLite and PostgreSQL.

Each check runs on a fresh database (a temp SQLite file; a new PostgreSQL database when a server
URL is given), so an old local database never hides a difference.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.db import alembic_config  # noqa: E402


def check(url: str) -> None:
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    command.check(cfg)  # raises when autogenerate finds operations
    print(f"models match migrations on {url.split('://', 1)[0]}")


def main(postgres_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        check(f"sqlite:///{tmp}/check.db")
    if not postgres_url:
        return
    name = f"redraft_check_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        check(postgres_url.rsplit("/", 1)[0] + "/" + name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
