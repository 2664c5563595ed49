"""Importing IteraTeR / R3 edit actions as Edits."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from core.data.iterater import edits_from_actions
from core.errors import InputError
from core.text.edits import apply_edits
from core.text.segment import tokenize

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "iterater"


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _rows() -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / "human_doc_level_dev_sample.jsonl").open()]


def _r3_docs() -> list[dict]:
    session = json.loads((FIXTURES / "r3_ann1_2106.02927.json").read_text())
    docs = []
    for depth in range(1, 4):
        value = session.get(f"rev_depth_{depth}")
        if isinstance(value, str):  # R3 stores some depths as a Python literal
            value = ast.literal_eval(value)
        if value and value["doc"].get("edit_actions"):
            docs.append(value["doc"])
    return docs


def test_iterater_actions_rebuild_the_revision_and_keep_intents() -> None:
    for row in _rows():
        found = edits_from_actions(row["before_revision"], row["edit_actions"])
        assert len(found) == len(row["edit_actions"])
        assert [e.start for e in found] == sorted(e.start for e in found)
        # the release says: applying all edits gives after_revision up to whitespace
        assert _squash(apply_edits(row["before_revision"], found)) == _squash(row["after_revision"])
        by_span = {(a["start_char_pos"], a["end_char_pos"]): a for a in row["edit_actions"]}
        for e in found:
            action = by_span[(e.start, e.end)]
            assert e.intent == action["major_intent"] and e.source == "iterater"
            assert e.after == (action["after"] or "") and e.before == (action["before"] or "")


def test_r3_accepted_actions_rebuild_the_text_after_human_evaluation() -> None:
    docs = _r3_docs()
    assert len(docs) == 3
    for doc in docs:
        actions = doc["edit_actions"]
        found = edits_from_actions(doc["before_revision"], actions, source="r3")
        assert len(found) == len(actions) and all(e.source == "r3" for e in found)
        accepted = {
            (a["start_char_pos"], a["end_char_pos"], a["after"]) for a in actions if a["accept_or_reject"] == "Accept"
        }
        chosen = [e for e in found if (e.start, e.end, e.after) in accepted]
        assert len(chosen) == len(accepted)
        # the annotator's decisions, applied to this round's text, give exactly what R3 recorded
        assert apply_edits(doc["before_revision"], chosen) == doc["after_human_evaluation"]


def test_word_aligned_import_never_cuts_words_and_changes_the_same_text() -> None:
    cases = [(d["before_revision"], d["edit_actions"]) for d in _r3_docs()]
    cases += [(r["before_revision"], r["edit_actions"]) for r in _rows()]
    cut_any = False
    for before, actions in cases:
        raw = edits_from_actions(before, actions)
        aligned = edits_from_actions(before, actions, word_aligned=True)
        assert apply_edits(before, aligned) == apply_edits(before, raw)
        cuts = {p for t in tokenize(before) if t.kind != "space" for p in range(t.start + 1, t.end)}
        cut_any |= any(e.start in cuts or e.end in cuts for e in raw)
        assert not any(e.start in cuts or e.end in cuts for e in aligned)
        assert all(e.intent for e in aligned)
    assert cut_any  # the R3 sample does contain character-level model edits ("This pap" -> "W")


def test_bad_actions_raise_input_errors() -> None:
    text = "the cat sat"
    with pytest.raises(InputError, match="expects 'dog'"):
        edits_from_actions(
            text, [{"type": "R", "before": "dog", "after": "cow", "start_char_pos": 4, "end_char_pos": 7}]
        )
    with pytest.raises(InputError, match="overlap"):
        edits_from_actions(
            text,
            [
                {"type": "R", "before": "the cat", "after": "a", "start_char_pos": 0, "end_char_pos": 7},
                {"type": "D", "before": "cat", "after": None, "start_char_pos": 4, "end_char_pos": 7},
            ],
        )
    with pytest.raises(InputError, match="11 characters"):
        edits_from_actions(
            text, [{"type": "A", "before": None, "after": "x", "start_char_pos": 20, "end_char_pos": 20}]
        )
    with pytest.raises(InputError, match="start_char_pos"):
        edits_from_actions(text, [{"type": "A", "after": "x"}])


def test_null_texts_and_missing_intent() -> None:
    found = edits_from_actions(
        "a b",
        [
            {"type": "A", "before": None, "after": " new", "start_char_pos": 1, "end_char_pos": 1},
            {
                "type": "D",
                "before": "b",
                "after": None,
                "start_char_pos": 2,
                "end_char_pos": 3,
                "major_intent": "Fluency",
            },
        ],
    )
    assert [(e.before, e.after, e.intent) for e in found] == [("", " new", None), ("b", "", "fluency")]
