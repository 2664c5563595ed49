"""Alembic environment: runs on the connection the app hands over, or on the configured URL."""

from alembic import context
from sqlmodel import SQLModel

import core.models  # noqa: F401 - registers the tables on SQLModel.metadata
from core.config import load_settings
from core.db import make_engine, normalise_url

target_metadata = SQLModel.metadata


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTERs need batch mode
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.config.get_main_option("sqlalchemy.url") or load_settings().database_url
    engine = make_engine(normalise_url(url))
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
