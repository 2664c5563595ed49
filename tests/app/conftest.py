"""AppTest runs pages in this process: each test must start from its own database, not a cached engine."""

from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from core import db
from tests.conftest import REPO


@pytest.fixture(autouse=True)
def fresh_app_resources():
    from ui.state import engine

    engine.clear()
    st.cache_data.clear()  # summaries cached by ui.cached belong to the test that made them
    yield
    engine.clear()
    db.dispose_engines()


@pytest.fixture
def app_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """A migrated SQLite file in tmp_path that the app opens (DATABASE_URL), with its data folder there too."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("REDRAFT_DATA_DIR", str(tmp_path))
    st.cache_resource.clear()  # cached resources outlive an AppTest: never reuse another test's engine
    return db.open_database(url)


def app_test(timeout: float = 30) -> AppTest:
    """The whole app (app.py, its navigation and login) in AppTest, not yet run."""
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=timeout)


def metric(at: AppTest, label: str) -> str:
    """The shown value of the `st.metric` labelled `label`."""
    return next(m.value for m in at.metric if m.label == label)
