"""Text with NUL and control characters on every path into the database: never a DataError on PostgreSQL,
never stored on SQLite (the engine's last guard, core.db), on ORM writes and conditional UPDATEs alike."""

from sqlalchemy import update
from sqlmodel import col, select

from core import documents
from core.db import session_scope
from core.models import Decision, Document, Job, User, Version


def test_nul_and_controls_never_reach_the_database(engine):
    with session_scope(engine) as s:
        doc = documents.create_document(s, "Title", "Plain text.")
        version = documents.head_version(s, doc.id)
        # A path that forgot to clean: the guard still keeps NUL out (PostgreSQL would raise DataError).
        version.note = "note\x00 with\x07 bell\tand tab\nline"
        s.add(version)
        s.add(User(name="bad\x00name"))
        s.add(Job(kind="propose", target_kind="thread", target_id=1, params={"k\x00": ["v\x00", 1]}))
    with session_scope(engine) as s:
        s.execute(update(Document).where(col(Document.id) == doc.id).values(title="T\x00itle\x1b[31m"))
    with session_scope(engine) as s:
        assert s.get(Version, version.id).note == "note with bell\tand tab\nline"
        assert s.exec(select(User.name).where(User.name == "badname")).one() == "badname"
        assert s.exec(select(Job)).one().params == {"k": ["v", 1]}
        assert s.get(Document, doc.id).title == "Title[31m"
        assert Decision  # the decision log goes through the same engine
