"""Stored proposer specs: the one owner of the ProposerSpec table.

Every edit can be traced to the exact model and settings that proposed it; the same settings
always map to one row (unique by fingerprint). The proposers themselves never touch the database.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.errors import NotFoundError, ProposerError
from core.models import ProposerSpec, utcnow
from core.proposers.base import SpecData
from core.proposers.endpoints import check_endpoint
from core.proposers.registry import KINDS, canonical_json, check_kind, parse_spec, spec_fingerprint, spec_label


def spec_from_row(row: ProposerSpec) -> SpecData:
    return SpecData(kind=row.kind, model=row.model, params=dict(row.params or {}), name=row.name or "")


def list_specs(session: Session) -> list[ProposerSpec]:
    """Stored specs that can propose, newest first (for choosing one). Records of other origins,
    such as edits imported from R3 logs, are left out: there is no proposer behind them."""
    query = select(ProposerSpec).where(col(ProposerSpec.kind).in_(tuple(KINDS))).order_by(col(ProposerSpec.id).desc())
    return list(session.exec(query).all())


def _find(session: Session, fingerprint: str) -> ProposerSpec | None:
    return session.exec(select(ProposerSpec).where(ProposerSpec.fingerprint == fingerprint)).first()


def get_or_create_spec(session: Session, spec: SpecData, parent_id: int | None = None) -> ProposerSpec:
    """The ProposerSpec row for spec, created if new. Rows are unique by fingerprint, so the same
    settings always map to one row, also when two processes create it at the same moment: the
    insert is `ON CONFLICT DO NOTHING` (SQLite, PostgreSQL) and the row is read back. Works inside
    the caller's transaction and leaves committing to it."""
    check_kind(spec.kind)
    fp = spec_fingerprint(spec)
    row = _find(session, fp)
    if row is None:
        if parent_id is not None and session.get(ProposerSpec, parent_id) is None:
            raise NotFoundError(f"No proposer spec with id {parent_id} to be the parent.")
        values = {
            "name": spec.name or spec_label(spec),
            "kind": spec.kind,
            "model": spec.model or None,
            "params": json.loads(canonical_json(spec))["params"],
            "parent_id": parent_id,
            "fingerprint": fp,
            "created_at": utcnow(),
        }
        _insert_ignoring_duplicate(session, values)
        row = _find(session, fp)
        if row is None:  # pragma: no cover - the insert or a concurrent one must have made it
            raise ProposerError(f"The proposer spec {spec_label(spec)!r} could not be stored.")
    elif parent_id is not None and row.parent_id is None and row.id != parent_id:
        row.parent_id = parent_id
        session.add(row)
        session.flush()
    return row


def _insert_ignoring_duplicate(session: Session, values: dict[str, Any]) -> None:
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            lite = sqlite_insert(ProposerSpec).values(**values)
            session.execute(lite.on_conflict_do_nothing(index_elements=["fingerprint"]))
        else:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            pg = pg_insert(ProposerSpec).values(**values)
            session.execute(pg.on_conflict_do_nothing(index_elements=["fingerprint"]))
        return
    # Other databases: a savepoint, so a duplicate does not abort the caller's transaction.
    try:
        with session.begin_nested():
            session.add(ProposerSpec(**values))
    except IntegrityError:
        pass


def register_spec(session: Session, text: str, name: str = "") -> ProposerSpec:
    """Store a proposer given as a spec string (e.g. "hf-seq2seq:grammarly/coedit-large") so it can be
    chosen for rounds and fine-tuned. Nothing is loaded here: a model loads on the first round using it.
    Registering the same settings again returns the same row (renamed when a name is given)."""
    spec = parse_spec(text)
    check_endpoint(spec)  # a server proposers may send text to (not a metadata address)
    row = get_or_create_spec(session, replace(spec, name=name.strip() or spec.name))
    if name.strip() and row.name != name.strip():
        row.name = name.strip()
        session.add(row)
        session.flush()
    return row
