"""Property-based fuzzing (hypothesis) of every importer and the model-reply parser: whatever the input,
the answer is a result or a clear RedraftError, never another exception, and what is accepted is clean
text. Bounded (a few hundred examples, no deadline) so CI stays fast."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.data.iterater import edits_from_actions
from core.data.r3_format import read_paths
from core.errors import InputError, RedraftError
from core.files import read_upload
from core.proposers.prompts import parse_reply
from core.proposers.replies import BadReply, Reply, read_completion, read_stream
from core.text.clean import clean_name, clean_text, has_control, terminal_safe
from tests.hostile_inputs import docx_bytes

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SAMPLE = json.loads(next((Path(__file__).parents[1] / "fixtures" / "r3").glob("ann1-*.json")).read_text())

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip


def _texts_clean(sessions) -> bool:
    return all(
        isinstance(r.before, str)
        and not has_control(r.before)
        and (r.after_human is None or isinstance(r.after_human, str))
        for s in sessions
        for r in s.rounds
    )


def _read(content: str | bytes, name: str = "ann1-fuzz.json"):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
        return read_paths([path])


@FUZZ
@given(json_values)
def test_r3_reader_any_json_is_a_session_or_a_named_refusal(value):
    sessions, problems = _read(json.dumps(value))
    assert _texts_clean(sessions)
    assert all("ann1-fuzz.json" in p for p in problems)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["rev_depth_1", "rev_depth_2", "doc_no", "curr_rev_depth"]),
                          st.lists(st.text(max_size=8), max_size=3), json_values), max_size=4))  # fmt: skip
def test_r3_reader_mutated_real_logs(mutations):
    data = copy.deepcopy(SAMPLE)
    for key, path, value in mutations:
        target = data.get(key)
        for step in path[:-1]:
            target = target.get(step) if isinstance(target, dict) else None
        if isinstance(target, dict) and path:
            target[path[-1]] = value
        else:
            data[key] = value
    sessions, problems = _read(json.dumps(data))
    assert len(sessions) + len(problems) == 1
    assert _texts_clean(sessions)


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_r3_reader_any_bytes(content):
    sessions, problems = _read(content, "ann1-fuzz.jsonl")
    assert _texts_clean(sessions)


action_keys = st.sampled_from(["start_char_pos", "end_char_pos", "before", "after", "major_intent"])
any_bytes = st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass"))


@FUZZ
@given(st.text(max_size=60), st.lists(st.dictionaries(action_keys, scalars, max_size=5), max_size=4))
def test_iterater_actions_are_edits_or_a_clear_error(text, actions):
    try:
        edits = edits_from_actions(text, actions)
    except InputError:
        return
    for e in edits:
        assert isinstance(e.before, str) and isinstance(e.after, str) and text[e.start : e.end] == e.before


@FUZZ
@given(st.text(max_size=40), any_bytes)
def test_document_files_any_name_and_bytes(name, data):
    for suffix in (".txt", ".md", ".docx", ""):
        try:
            upload = read_upload(name + suffix, data, 10_000)
        except RedraftError:
            continue
        assert not has_control(upload.text.replace("\r", "")) and "\x00" not in upload.text
        assert upload.title and "\n" not in upload.title and len(upload.title) <= 200


@FUZZ
@given(st.text(max_size=200))
def test_docx_with_any_paragraph_text(text):
    from xml.sax.saxutils import escape

    body = f"<w:p><w:r><w:t>{escape(clean_text(text).text)}</w:t></w:r></w:p>".encode("utf-8", "surrogatepass")
    try:
        upload = read_upload("fuzz.docx", docx_bytes(body), 10_000)
    except RedraftError:
        return
    assert "\x00" not in upload.text


choice = st.fixed_dictionaries(
    {"message": st.fixed_dictionaries({"content": json_values})}, optional={"finish_reason": json_values}
)
chunks = st.fixed_dictionaries({"choices": st.lists(choice, max_size=2)})
replies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    chunks.map(lambda v: json.dumps(v).encode()),
)


@FUZZ
@given(replies)
def test_model_reply_parser_never_raises(raw):
    for reply in (read_completion(raw), read_stream(b"data: " + raw + b"\n\ndata: [DONE]\n")):
        assert isinstance(reply, Reply | BadReply)
        if isinstance(reply, Reply):
            assert isinstance(reply.text, str)
            parse_reply(reply.text, "He go home.")


@FUZZ
@given(st.text(max_size=300), st.integers(min_value=1, max_value=120))
def test_cleaning_is_total(text, limit):
    assert not has_control(clean_text(text).text)
    name = clean_name(text, limit)
    assert len(name) <= limit and "\n" not in name and not has_control(name)
    shown = terminal_safe(text, one_line=True)
    assert "\x1b" not in shown and "\n" not in shown
