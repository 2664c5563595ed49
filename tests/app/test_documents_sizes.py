"""The Documents page names the size limit in MiB and tells a writer to split a document that is too large."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from core.db import session_scope
from core.models import Document
from tests.app.conftest import app_test


def test_too_large_paste_says_split_in_mib_and_stores_nothing(
    app_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDRAFT_MAX_DOCUMENT_BYTES", str(1024 * 1024))
    at = app_test()
    at.run()
    assert not at.exception
    assert any(c.value == "Limit: 1 MiB of text per document." for c in at.caption)
    at.text_input(key="paste_title").input("Long essay")
    at.text_area(key="paste_text").input("word " * 300_000)  # 1.4 MiB
    at.button[[b.label for b in at.button].index("Create document")].click().run()
    assert not at.exception
    (error,) = at.error
    shown = error.value.replace("\\", "")  # as Markdown renders it (the page escapes the message)
    assert "1.4 MiB" in shown and "Split the document into parts of at most 1 MiB" in shown
    assert "REDRAFT" not in shown and " MB" not in shown
    assert at.text_area(key="paste_text").value.startswith("word word")  # the writer's text is kept
    with session_scope(app_engine) as s:
        assert s.exec(select(Document)).all() == []
