"""core.data.downloads: the current text as .txt/.md/.docx, the document's edit log."""

from __future__ import annotations

import csv
import io
import json

import pytest
from docx import Document as DocxDocument

from core import documents
from core.data import downloads
from core.db import session_scope
from core.errors import InputError
from core.revision import apply, review, rounds, threads
from tests.proposers_for_tests import ReplaceProposer

TEXT = "We recieve teh report.\n\nIt is teh one."


def setup_round(engine, title="Essay", text=TEXT):
    with session_scope(engine) as s:
        doc = documents.create_document(s, title, text)
        user_id = documents.default_user(s).id
        thread_id = threads.active_thread(s, doc.id, user_id).id
        doc_id = doc.id
    rnd = rounds.propose_round(
        engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer({"teh": "the", "recieve": "receive"})
    )
    return doc_id, rnd.id, user_id


def test_text_formats_round_trip():
    text = "Title line\n\nA paragraph with “quotes” and émojis 😀.\nBad \x00\x07 control chars."
    assert downloads.text_bytes(text, "txt") == text.encode("utf-8")
    assert downloads.text_bytes(text, "md") == text.encode("utf-8")
    doc = DocxDocument(io.BytesIO(downloads.text_bytes(text, "docx", title="<b>Essay</b>")))
    assert [p.text for p in doc.paragraphs] == [
        "Title line",
        "",
        "A paragraph with “quotes” and émojis 😀.",
        "Bad  control chars.",  # characters XML cannot hold are dropped, the rest is kept
    ]
    assert doc.core_properties.title == "<b>Essay</b>"
    with pytest.raises(InputError, match="Unknown text format"):
        downloads.text_bytes(text, "pdf")


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("My essay", "My essay.txt"),
        ("../../etc/passwd", "etc_passwd.txt"),
        ("<img src=x onerror=alert(1)>", "img src_x onerror_alert_1.txt"),
        ("", "document.txt"),
        ("...", "document.txt"),
    ],
)
def test_safe_filename(title, name):
    assert downloads.safe_filename(title, "txt") == name


def test_current_text_includes_the_decisions_of_the_round_under_review(engine):
    doc_id, round_id, user_id = setup_round(engine)
    with session_scope(engine) as s:
        assert downloads.current_text(s, doc_id, user_id) == TEXT  # nothing decided yet
        first = review.round_view(s, round_id, user_id).edits[0]
        review.decide(s, first.row.id, user_id, "accept")
    with session_scope(engine) as s:
        assert downloads.current_text(s, doc_id, user_id) == TEXT.replace("recieve", "receive")
        apply.apply_round(s, round_id, user_id)
        threads.finish_thread(s, review.get_round(s, round_id).thread_id)
    with session_scope(engine) as s:
        assert downloads.current_text(s, doc_id, user_id) == documents.head_version(s, doc_id).text


def test_edit_log_has_this_documents_decisions_only(engine):
    doc_id, round_id, user_id = setup_round(engine)
    other_doc, other_round, _ = setup_round(engine, title="Other")
    with session_scope(engine) as s:
        mine = review.round_view(s, round_id, user_id).edits
        review.decide(s, mine[0].row.id, user_id, "accept", time_taken_ms=900)
        review.decide(s, mine[1].row.id, user_id, "modify", modified_text='a, "quoted"\nline')
        theirs = review.round_view(s, other_round, user_id).edits
        review.decide(s, theirs[0].row.id, user_id, "reject")
    with session_scope(engine) as s:
        rows = [json.loads(line) for line in downloads.edit_log_bytes(s, doc_id, "jsonl").decode().splitlines()]
        table = list(csv.DictReader(io.StringIO(downloads.edit_log_bytes(s, doc_id, "csv").decode())))
        with pytest.raises(InputError):
            downloads.edit_log_bytes(s, doc_id, "xlsx")
    assert [(r["action"], r["before"], r["document_id"]) for r in rows] == [
        ("accept", "recieve", doc_id),
        ("modify", "teh", doc_id),
    ]
    assert rows[0]["time_taken_ms"] == 900
    assert [r["modified_text"] for r in table] == ["", 'a, "quoted"\nline']
    assert other_doc not in {r["document_id"] for r in rows}
