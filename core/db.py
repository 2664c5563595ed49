"""Engine, sessions and schema migrations.

One engine per process and URL. SQLite gets WAL, a busy timeout and foreign keys
in a `connect` event (measured: without the busy timeout concurrent writers fail
with "database is locked"). PostgreSQL is used when DATABASE_URL says so.

Transactions on SQLite: the driver's own transaction handling is switched off and
SQLAlchemy emits BEGIN itself, so SAVEPOINTs nest inside the transaction (with the
driver's handling, a SAVEPOINT's release committed on its own: a bulk decision was
not all-or-nothing). `session_scope` begins IMMEDIATE: it takes the write lock at
once, so a read-then-write transaction can never act on a snapshot another process
has since changed. `read_scope` begins DEFERRED for pages that only read.

Writers of one process queue on a lock per SQLite file before they ask SQLite for its write
lock: SQLite's busy handler polls with growing sleeps and lets a newcomer overtake a writer that
has waited long, so 16 threads of one process each ran out of a 5 s timeout now and then (measured
with bench/concurrency.py); in a queue they wait their turn. Between processes the busy timeout
still applies.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, create_engine, select

from core.config import ROOT, load_settings
from core.errors import RedraftError
from core.models import Project, User, id_of
from core.text.clean import clean_text, clean_value

DEFAULT_USER = "local"
DEFAULT_PROJECT = "Default"
SQLITE_BUSY_TIMEOUT_MS = 15000

_engines: dict[str, Engine] = {}
_lock = threading.Lock()
_write_locks: dict[str, threading.RLock] = {}


class DatabaseBusy(RedraftError):
    """Another writer held the database for longer than the busy timeout."""


# PostgreSQL: serialization failure, deadlock (the transaction may simply be run again)
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def is_transient(exc: BaseException) -> bool:
    """Whether a failed write may succeed if simply tried again: the database was busy (SQLite's lock
    held past the busy timeout) or chose this transaction as a deadlock or serialization victim."""
    if isinstance(exc, DatabaseBusy):
        return True
    if isinstance(exc, OperationalError) and any(
        word in str(exc.orig).lower() for word in ("database is locked", "database is busy")
    ):
        return True
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES


def _sqlite_write_lock(engine: Engine) -> threading.RLock:
    key = str(engine.url)
    with _lock:
        return _write_locks.setdefault(key, threading.RLock())


def normalise_url(url: str) -> str:
    """SQLAlchemy 2.1 maps postgresql:// to psycopg 3; accept the old postgres:// spelling too."""
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API connection
    dbapi_conn.isolation_level = None  # BEGIN comes from _sqlite_begin
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn) -> None:  # noqa: ANN001 - sqlalchemy Connection
    mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


SQLITE_BEGIN_OPTION = "redraft_sqlite_begin"


def _no_control_characters(
    _conn: Any,
    _cursor: Any,
    statement: str,
    parameters: Any,
    _context: Any,
    _executemany: bool,  # noqa: ANN401
) -> tuple[str, Any]:
    """The last guard on every path into the database: NUL and control characters (not tab, newline) are
    removed from every text parameter of every statement (ORM flushes and conditional UPDATEs alike).
    PostgreSQL refuses NUL outright (DataError: the transaction lost, a round stuck) and SQLite stores it to
    fail later. Entry points clean first and tell the person what changed; this catches any path that forgot."""
    return statement, _clean_parameters(parameters)


def _clean_parameters(parameters: Any) -> Any:  # noqa: ANN401 - DB-API parameters
    if isinstance(parameters, str):
        return clean_text(parameters).text
    if isinstance(parameters, dict):
        return {k: _clean_parameters(v) for k, v in parameters.items()}
    if isinstance(parameters, list | tuple):
        return type(parameters)(_clean_parameters(v) for v in parameters)
    return parameters


def _clean_json(value: Any) -> str:  # noqa: ANN401 - any JSON value
    """JSON columns get the same guard: a JSON "\\u0000" escape would slip past the text check."""
    return json.dumps(clean_value(value))


def make_engine(url: str) -> Engine:
    """A new engine for `url` (use get_engine for the shared one)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            json_serializer=_clean_json,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, json_serializer=_clean_json)
    event.listen(engine, "before_cursor_execute", _no_control_characters, retval=True)
    return engine


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for `url` (default: the configured database)."""
    url = normalise_url(url or load_settings().database_url)
    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error, so nothing is half-written.

    On SQLite it holds the write lock from its first statement on: keep model calls and other slow
    work outside it."""
    engine = engine or get_engine()
    queue = _sqlite_write_lock(engine) if engine.dialect.name == "sqlite" else None
    if queue is not None and not queue.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
        raise DatabaseBusy("The database is busy with other writers; try again in a moment.")
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if queue is not None:
            queue.release()


@contextmanager
def read_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session for reading only: on SQLite it takes no write lock, so it never waits for writers."""
    engine = engine or get_engine()
    bind = engine.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"}) if engine.dialect.name == "sqlite" else engine
    session = Session(bind, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()  # ends the transaction without expiring what was read


def alembic_config(url: str):  # noqa: ANN201 - alembic.config.Config
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


_migrated: set[str] = set()


def migrate(engine: Engine) -> None:
    """Bring the schema to head (once per process and URL) and make the default user and project."""
    from alembic import command

    url = engine.url.render_as_string(hide_password=False)
    with _lock:
        if url in _migrated:
            return
        cfg = alembic_config(url)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        _migrated.add(url)
    ensure_defaults(engine)


def ensure_defaults(engine: Engine) -> tuple[int, int]:
    """The default local user and project, so a single writer needs no setup. Returns their ids."""
    with session_scope(engine) as s:
        user = s.exec(select(User).where(User.name == DEFAULT_USER)).first()
        if user is None:
            user = User(name=DEFAULT_USER, role="admin")
            s.add(user)
            s.flush()
        project = s.exec(select(Project).where(Project.name == DEFAULT_PROJECT)).first()
        if project is None:
            project = Project(name=DEFAULT_PROJECT, owner_id=user.id, settings={})
            s.add(project)
            s.flush()
        return id_of(user), id_of(project)


def open_database(url: str | None = None) -> Engine:
    """The engine for `url`, migrated to head with defaults in place: what the app and CLI call on start."""
    engine = get_engine(url)
    migrate(engine)
    return engine
