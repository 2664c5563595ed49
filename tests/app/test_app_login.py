from streamlit.testing.v1 import AppTest

from core import db
from core.db import session_scope
from core.users import create_user
from tests.conftest import REPO


def make_app(tmp_path, monkeypatch, login: bool) -> AppTest:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("REDRAFT_DATA_DIR", str(tmp_path))
    if login:
        monkeypatch.setenv("REDRAFT_LOGIN", "1")
    eng = db.open_database(url)
    with session_scope(eng) as s:
        create_user(s, "ann1", "annotator", "correct horse")
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=30)


def test_documents_page_runs_without_login(tmp_path, monkeypatch):
    at = make_app(tmp_path, monkeypatch, login=False).run()
    assert not at.exception
    assert at.title[0].value == "Documents"
    # the person can switch who is working
    assert at.sidebar.selectbox(key="user_pick").options == ["ann1 (annotator)", "local (admin)"]


def test_paste_creates_a_document(tmp_path, monkeypatch):
    at = make_app(tmp_path, monkeypatch, login=False).run()
    at.text_input(key="paste_title").input("Essay")
    at.text_area(key="paste_text").input("Some text.\r\nMore.")
    at.button[0].click().run()  # the form's submit button
    assert not at.exception
    assert any("Created" in s.value for s in at.success)


def test_empty_paste_shows_an_error_and_writes_nothing(tmp_path, monkeypatch):
    at = make_app(tmp_path, monkeypatch, login=False).run()
    at.text_input(key="paste_title").input("Empty")
    at.text_area(key="paste_text").input("   ")
    at.button[0].click().run()
    assert any("empty" in e.value for e in at.error)
    with session_scope(db.open_database(f"sqlite:///{tmp_path / 'app.db'}")) as s:
        from core.documents import list_documents

        assert list_documents(s) == []


def test_login_required_when_enabled(tmp_path, monkeypatch):
    at = make_app(tmp_path, monkeypatch, login=True).run()
    assert at.title[0].value == "Sign in to Redraft"
    at.text_input[0].input("ann1")
    at.text_input[1].input("wrong password")
    at.button[0].click().run()
    assert any("Wrong user name or password" in e.value for e in at.error)
    at.text_input[1].input("correct horse")
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Documents"
