"""AppTest runs pages in this process: each test must start from its own database, not a cached engine."""

import pytest

from core import db


@pytest.fixture(autouse=True)
def fresh_app_resources():
    from ui.state import engine

    engine.clear()
    yield
    engine.clear()
    db.dispose_engines()
