"""Shared fixtures: real databases (a SQLite file and a PostgreSQL server), shared data paths."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from core import db

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEFAULT_PG_URL = "postgresql://redraft:redraft@127.0.0.1:5432/redraft_test"
_TEMPLATE = f"redraft_tmpl_{os.getpid()}"


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, skipping the test when the folder is absent (users' clones)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data {path} is not present (it lives in ../shared/data beside the repo)")
    return path


@pytest.fixture(autouse=True)
def _proposer_kinds_restored() -> Iterator[None]:
    """Test kinds registered by one test (register_test_kinds) do not leak into the next."""
    from core.proposers.registry import KINDS

    before = dict(KINDS)
    yield
    KINDS.clear()
    KINDS.update(before)


def _pg_admin_url() -> str:
    return os.environ.get("REDRAFT_TEST_POSTGRES_URL", DEFAULT_PG_URL)


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database; each test clones it (CREATE DATABASE … TEMPLATE is fast)."""
    admin_url = _pg_admin_url()
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means no server
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but not reachable at {admin_url}: {exc}")
        pytest.skip(f"no PostgreSQL server reachable at {admin_url} (start one with .ci/start_postgres.sh)")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{_TEMPLATE}"'))
        conn.execute(text(f'CREATE DATABASE "{_TEMPLATE}"'))
    tmpl_engine = db.make_engine(_with_database(admin_url, _TEMPLATE))
    db.migrate(tmpl_engine)
    tmpl_engine.dispose()
    db.dispose_engines()
    yield _TEMPLATE
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database URL: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'redraft.db'}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"redraft_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield _with_database(_pg_admin_url(), name)
    finally:
        db.dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """The migrated engine for a fresh database, with the default user and project."""
    eng = db.open_database(db_url)
    yield eng
    db.dispose_engines()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh SQLite-file database only, for tests whose subject is not the database."""
    eng = db.open_database(f"sqlite:///{tmp_path / 'redraft.db'}")
    yield eng
    db.dispose_engines()
