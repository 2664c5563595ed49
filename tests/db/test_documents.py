import pytest
from sqlmodel import select

from core import db, documents
from core.db import session_scope
from core.errors import InputError, NotFoundError
from core.models import Document, Project, User, Version


def count(engine, model):
    with session_scope(engine) as s:
        return len(s.exec(select(model)).all())


def test_defaults_exist_once(engine):
    db.ensure_defaults(engine)  # idempotent
    assert count(engine, User) == 1 and count(engine, Project) == 1


def test_create_list_rename_and_versions(engine):
    with session_scope(engine) as s:
        doc = documents.create_document(s, "  My <b>essay</b>  ", "Line one.\r\nLine two.")
        doc_id = doc.id
    with session_scope(engine) as s:
        rows = documents.list_documents(s)
        assert [(r.title, r.versions, r.characters) for r in rows] == [("My <b>essay</b>", 1, 19)]
        (v,) = documents.versions(s, doc_id)
        assert v.text == "Line one.\nLine two." and v.origin == "paste" and "CRLF" in v.note
        assert v.created_at.tzinfo is not None
        documents.rename_document(s, doc_id, "Renamed")
    with session_scope(engine) as s:
        assert documents.get_document(s, doc_id).title == "Renamed"


def test_bad_input_writes_nothing(engine):
    for title, text in [("t", ""), ("t", "   \n"), ("", "text"), ("t", "a\x00b")]:
        with pytest.raises(InputError):
            with session_scope(engine) as s:
                documents.create_document(s, title, text)
    with pytest.raises(InputError):
        with session_scope(engine) as s:
            documents.import_file(s, "x.docx", b"PK\x03\x04garbage")
    assert count(engine, Document) == 0 and count(engine, Version) == 0


def test_versions_restore_makes_a_new_head(engine):
    with session_scope(engine) as s:
        doc = documents.create_document(s, "d", "one")
        v1 = doc.head_version_id
        v2 = documents.add_version(s, doc.id, "two", origin="manual").id
        restored = documents.restore_version(s, v1)
        assert restored.text == "one" and restored.parent_id == v2 and restored.origin == "restore"
        assert documents.head_version(s, doc.id).id == restored.id
        assert [v.text for v in documents.versions(s, doc.id)] == ["one", "two", "one"]
        with pytest.raises(InputError, match="already the current"):
            documents.restore_version(s, restored.id)


def test_delete_is_soft(engine):
    """A deleted document leaves lists and lookups; its versions (and decisions) stay for exports."""
    with session_scope(engine) as s:
        doc = documents.create_document(s, "d", "text")
        documents.add_version(s, doc.id, "text 2", origin="manual")
        doc_id = doc.id
    with session_scope(engine) as s:
        documents.delete_document(s, doc_id)
    assert count(engine, Version) == 2
    with session_scope(engine) as s:
        assert doc_id not in {d.id for d in documents.list_documents(s)}
        assert documents.get_document(s, doc_id, include_deleted=True).deleted_at is not None
    with pytest.raises(NotFoundError):
        with session_scope(engine) as s:
            documents.get_document(s, doc_id)
    with pytest.raises(NotFoundError):  # deleting twice
        with session_scope(engine) as s:
            documents.delete_document(s, doc_id)


def test_documents_survive_a_restart(db_url):
    eng = db.open_database(db_url)
    with session_scope(eng) as s:
        documents.create_document(s, "kept", "Persistent text ✓")
    db.dispose_engines()
    db._migrated.clear()  # a new process: migrate again on open
    eng = db.open_database(db_url)
    with session_scope(eng) as s:
        (row,) = documents.list_documents(s)
        assert row.title == "kept"
        assert documents.head_version(s, row.id).text == "Persistent text ✓"


def test_users_and_passwords(engine):
    from core.services.accounts import sign_in
    from core.users import create_user, list_users

    with session_scope(engine) as s:
        create_user(s, "ann1", "annotator", "long enough pw")
        with pytest.raises(InputError, match="exists already"):
            create_user(s, "ann1")
        with pytest.raises(InputError, match="Unknown role"):
            create_user(s, "x", "boss")
    signed = sign_in(engine, "ann1", "long enough pw")
    with pytest.raises(InputError, match="Wrong user name or password"):
        sign_in(engine, "ann1", "nope")
    with pytest.raises(InputError, match="Wrong user name or password"):
        sign_in(engine, "local", "")  # no password set: cannot sign in
    with session_scope(engine) as s:
        assert s.get(User, signed.user_id).role == "annotator"
        assert [u.name for u in list_users(s)] == ["ann1", "local"]
