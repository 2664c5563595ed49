"""The Documents page lists documents a page at a time, with a search over all of them, and keeps a
pasted draft while the other tab is open."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from core import documents
from core.db import session_scope
from tests.app.conftest import app_test


def _seed(engine: Engine, n: int) -> list[int]:
    with session_scope(engine) as s:
        return [documents.create_document(s, f"Report {i:03d}", f"Text of report {i}.").id for i in range(n)]


def test_the_list_comes_a_page_at_a_time_and_search_reaches_every_document(app_engine: Engine) -> None:
    ids = _seed(app_engine, 230)
    at = app_test()
    at.run()
    assert not at.exception
    (table,) = at.dataframe
    assert list(table.value["ID"]) == sorted(ids, reverse=True)[:100]  # most recently changed first
    assert any(c.value.startswith("1–100 of 230 document(s)") for c in at.caption)
    at.number_input(key="doc_page").set_value(3).run()
    assert list(at.dataframe[0].value["ID"]) == sorted(ids, reverse=True)[200:]
    assert any(c.value.startswith("201–230 of 230") for c in at.caption)
    # the oldest report is on no first page; a search finds it, and the page starts again at 1
    at.text_input(key="doc_find").input("report 000").run()
    assert not at.exception
    assert list(at.dataframe[0].value["ID"]) == [ids[0]]
    assert any("1–1 of 1 document(s) matching" in c.value for c in at.caption)
    at.text_input(key="doc_find").input("no such title").run()
    assert not at.exception, at.exception
    assert at.dataframe[0].value.empty and any(c.value.startswith("0–0 of 0") for c in at.caption)


def test_a_small_list_has_no_pager(app_engine: Engine) -> None:
    _seed(app_engine, 3)
    at = app_test()
    at.run()
    assert len(at.dataframe[0].value) == 3
    assert not at.number_input
    assert all(t.key != "doc_find" for t in at.text_input)  # the table's own search is enough for one page
    assert "Select a document to open, rename or delete it." in [c.value for c in at.main.caption]


def test_the_uploader_is_drawn_only_while_its_tab_is_open(app_engine: Engine) -> None:
    at = app_test()
    at.run()
    assert at.text_area(key="paste_text") and not at.get("file_uploader")
    at.session_state["doc_tabs"] = "Upload files"  # as a click on the tab does
    at.run()
    assert not at.exception and at.get("file_uploader")
    assert at.text_area(key="paste_text")  # the paste form stays drawn: a draft typed in it is kept


def test_the_new_document_box_opens_by_itself_only_while_there_is_no_document(app_engine: Engine) -> None:
    at = app_test()
    at.run()
    assert at.text_input(key="paste_title")  # nothing yet: the box is open
    _seed(app_engine, 2)
    fresh = app_test()  # a new session, documents present: the box waits closed
    fresh.run()
    assert not fresh.exception and all(t.key != "paste_title" for t in fresh.text_input)
    fresh.session_state["doc_new_open"] = True  # as a click on "New document" does
    fresh.run()
    assert fresh.text_input(key="paste_title")
    at.run()  # the first session left it open: it stays open
    assert at.text_input(key="paste_title")


def test_the_selected_document_links_its_history_and_shows_its_text_once_asked(app_engine: Engine) -> None:
    (doc_id,) = _seed(app_engine, 1)
    at = app_test()
    at.session_state["document_id"] = doc_id  # as a click on its row does
    at.run()
    assert not at.exception
    assert f"1 version(s) · the current text has {len('Text of report 0.'):,} characters" in [
        c.value for c in at.main.caption
    ]
    (link,) = [e for e in at.get("page_link") if e.proto.label == "History"]
    assert f"doc={doc_id}" in link.proto.query_string
    assert "Text of report 0." not in [t.value for t in at.text]  # the text is read once its box is opened
    at.session_state["doc_current_text"] = True
    at.run()
    assert "Text of report 0." in [t.value for t in at.text]
