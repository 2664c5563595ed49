"""Stored proposer specs: one row per fingerprint, also under concurrent creation."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from core.db import session_scope
from core.errors import NotFoundError
from core.models import ProposerSpec
from core.proposers.base import SpecData
from core.proposers.registry import parse_spec, spec_fingerprint, spec_label
from core.specs import get_or_create_spec, spec_from_row


def rows(engine):
    with session_scope(engine) as s:
        return list(s.exec(select(ProposerSpec).order_by(ProposerSpec.id)).all())


def test_same_settings_map_to_one_row(engine):
    spec = parse_spec('hf-chat:/models/tiny?max_new_tokens=64&stop=["\\n"]')
    with session_scope(engine) as s:
        first = get_or_create_spec(s, spec)
        first_id = first.id
    with session_scope(engine) as s:
        again = get_or_create_spec(s, SpecData("hf-chat", "/models/tiny", {"stop": ["\n"], "max_new_tokens": 64}))
        assert again.id == first_id
        other = get_or_create_spec(s, SpecData("hf-chat", "/models/tiny", {"max_new_tokens": 32}))
        assert other.id != first_id
    stored = rows(engine)
    assert len(stored) == 2
    row = stored[0]
    assert row.fingerprint == spec_fingerprint(spec)
    assert row.name == spec_label(spec)
    assert spec_from_row(row) == SpecData("hf-chat", "/models/tiny", {"max_new_tokens": 64, "stop": ["\n"]}, row.name)
    assert spec_fingerprint(spec_from_row(row)) == row.fingerprint
    assert row.created_at.tzinfo is not None


def test_display_name_is_kept_but_not_part_of_identity(engine):
    with session_scope(engine) as s:
        named = get_or_create_spec(s, SpecData("builtin", name="House rules"))
        same = get_or_create_spec(s, SpecData("builtin", name="Another name"))
        assert same.id == named.id and named.name == "House rules"
        plain = get_or_create_spec(s, parse_spec("builtin?engines=harper"))
        assert plain.name == "builtin?engines=harper"


def test_parent_spec(engine):
    with session_scope(engine) as s:
        base = get_or_create_spec(s, parse_spec("hf-seq2seq:/models/base"))
        tuned = get_or_create_spec(s, parse_spec("hf-seq2seq:/models/tuned-1"), parent_id=base.id)
        assert tuned.parent_id == base.id
        with pytest.raises(NotFoundError, match="parent"):
            get_or_create_spec(s, parse_spec("hf-seq2seq:/models/tuned-2"), parent_id=99_999)


def test_duplicate_insert_does_not_spoil_the_callers_transaction(engine):
    spec = parse_spec("openai:http://127.0.0.1:9/v1#m")
    with session_scope(engine) as s:
        row = get_or_create_spec(s, spec)
        row_id = row.id
    # A second session that read nothing yet inserts the same spec: ON CONFLICT DO NOTHING, then reads it.
    with session_scope(engine) as s:
        s.add(ProposerSpec(kind="builtin", params={"marker": 1}, fingerprint="x" * 64))
        assert get_or_create_spec(s, spec).id == row_id
    assert {r.fingerprint for r in rows(engine)} == {"x" * 64, spec_fingerprint(spec)}


def test_concurrent_creation_makes_one_row(engine):
    spec = parse_spec("hf-chat:/models/concurrent?max_new_tokens=8")
    barrier = threading.Barrier(8)
    ids: list[int] = []
    errors: list[BaseException] = []

    def create():
        try:
            barrier.wait()
            with session_scope(engine) as s:
                ids.append(get_or_create_spec(s, spec).id)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(ids) == 8 and len(set(ids)) == 1
    assert len(rows(engine)) == 1
