"""History page logic in AppTest: versions with their origins, the diff payload, restore."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from core import documents
from core.db import session_scope
from core.revision import apply, review, rounds, threads
from core.services import review_payload
from core.text.edits import apply_edits
from tests.app.conftest import app_test
from tests.proposers_for_tests import ReplaceProposer

TEXT = "We recieve teh report untill noon. It is teh one wich we read."


@pytest.fixture
def app(app_engine):
    at = app_test()
    at.switch_page("app_pages/history.py")
    return at, app_engine


def revised(engine) -> tuple[int, str]:
    """A document with one applied round (two edits accepted): (document id, the new text)."""
    with session_scope(engine) as s:
        doc = documents.create_document(s, "Essay", TEXT)
        user_id = documents.default_user(s).id
        thread_id = threads.active_thread(s, doc.id, user_id).id
        doc_id = doc.id
    rnd = rounds.propose_round(
        engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer({"teh": "the", "wich": "which"})
    )
    with session_scope(engine) as s:
        for st in review.round_view(s, rnd.id, user_id).edits[:2]:
            review.decide(s, st.row.id, user_id, "accept")
        return doc_id, apply.apply_round(s, rnd.id, user_id).text


def diff_data(at: AppTest) -> dict:
    (component,) = at.get("bidi_component")
    return json.loads(component.proto.json)


def test_versions_with_origins_and_a_diff_of_the_last_change(app):
    at, engine = app
    _, new_text = revised(engine)
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["Origin"]) == ["round 1", "pasted"]
    assert list(table["Current"]) == [True, False]
    data = diff_data(at)
    assert data["mode"] == "diff"
    assert [(e["b"], e["a"]) for e in data["edits"]] == [("teh", "the"), ("teh", "the")]
    assert data["summary"] == {"inserted": 6, "deleted": 6}
    # the payload rebuilds both texts: gaps + before = old, gaps + after = new
    old = "".join(g + (e.get("b", "")) for g, e in zip(data["segs"], data["edits"] + [{}], strict=True))
    new = "".join(g + (e.get("a", "")) for g, e in zip(data["segs"], data["edits"] + [{}], strict=True))
    assert (old, new) == (TEXT, new_text)


def test_the_same_version_twice_shows_no_diff(app):
    at, engine = app
    revised(engine)
    at.run()
    at.selectbox(key="history_old").set_value(at.selectbox(key="history_new").value).run()
    assert not at.exception
    assert len(at.get("bidi_component")) == 0
    assert any("two different versions" in c.value for c in at.caption)


def test_restore_makes_a_new_head_and_keeps_history(app):
    at, engine = app
    doc_id, _ = revised(engine)
    at.run()
    assert all(b.key != "history_restore_btn" for b in at.button)  # in a box drawn once opened
    at.session_state["history_restore_open"] = True  # as a click on it does
    at.run()
    (older,) = at.selectbox(key="history_restore").options
    assert older.startswith("v1 · pasted")
    at.button(key="history_restore_btn").click().run()
    assert not at.exception
    assert any("restored as the new current version" in m.value for m in at.success)
    with session_scope(engine) as s:
        versions = documents.versions(s, doc_id)
        assert [v.origin for v in versions] == ["paste", "round", "restore"]
        assert versions[-1].text == TEXT and documents.head_version(s, doc_id).id == versions[-1].id
    # the restored head is compared with what it replaced by default
    data = diff_data(at)
    assert [(e["b"], e["a"]) for e in data["edits"]] == [("the", "teh"), ("the", "teh")]


def test_diff_payload_keeps_non_bmp_text_intact():
    # Offsets are Python code points; the browser gets gap strings, never offsets to slice with.
    from core.text.edits import diff

    old, new = "😀 teh cat 😀 sat", "😀 the cat 😀 sat down"
    edits = diff(old, new)
    data = review_payload.diff_payload(old, new, edits)
    assert apply_edits(old, edits) == new
    rebuilt = "".join(g + e.get("a", "") for g, e in zip(data["segs"], data["edits"] + [{}], strict=True))
    assert rebuilt == new


def test_versions_are_named_by_their_number_in_the_document(app):
    """Versions made in turns across two documents: the second document's are v1 and v2, not their ids."""
    at, engine = app
    with session_scope(engine) as s:
        first = documents.create_document(s, "First", "One text.")
        second = documents.create_document(s, "Second", "Another text.")
        documents.add_version(s, first.id, "One text, changed.", origin="manual")
        documents.add_version(s, second.id, "Another text, changed.", origin="manual")
        second_id, ids = second.id, [v.id for v in documents.versions(s, second.id)]
    assert ids[1] == 4
    at.query_params["doc"] = str(second_id)
    at.run()
    assert not at.exception
    assert list(at.dataframe[0].value["Version"]) == ["v2", "v1"]
    assert list(at.dataframe[0].value["Parent"]) == ["v1", ""]
    assert [label.split(" · ")[0] for label in at.selectbox(key="history_new").options] == ["v2", "v1"]
    revise = app_test()
    revise.query_params["doc"] = str(second_id)
    revise.switch_page("app_pages/revise.py").run()
    assert not revise.exception
    assert any("version v2 ·" in c.value for c in revise.caption), [c.value for c in revise.caption]


def test_picker_offers_the_most_recent_documents_and_the_linked_one(app):
    """Thousands of documents: the picker lists the most recently changed ones (the Documents page lists
    every one), and a link to an older document still opens it, picked in the list."""
    from ui.pickers import PICKER_LIMIT

    at, engine = app
    with session_scope(engine) as s:
        ids = [documents.create_document(s, "Same title", f"Text number {i}.").id for i in range(PICKER_LIMIT + 5)]
    at.query_params["doc"] = str(ids[0])  # the oldest: not among the most recent
    at.run()
    assert not at.exception
    picker = at.selectbox(key="history_doc")
    assert picker.value == ids[0]
    shown = [int(o.rsplit("#", 1)[1].split(" ")[0]) for o in picker.options]
    assert len(shown) == PICKER_LIMIT + 1 and shown[-1] == ids[0]
    assert shown[:PICKER_LIMIT] == sorted(ids, reverse=True)[:PICKER_LIMIT]  # newest first
    assert len(set(picker.options)) == len(picker.options)  # equal titles, unique labels
    assert "most recently changed" in (picker.help or "")
