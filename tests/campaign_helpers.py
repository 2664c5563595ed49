"""Setting up a campaign for tests and the load bench: a researcher, annotators, documents whose
proposals come from the deterministic test proposer, the proposals job run to the end."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from core import access, documents, jobs, users
from core.access import Actor
from core.campaigns.model import CampaignSettings
from core.db import session_scope
from core.models import Role, id_of
from core.proposers.base import SpecData
from core.services import campaigns
from core.services import review as review_service
from tests.proposers_for_tests import register_test_kinds

RULES = {"teh": "the", "wich": "which", "recieve": "receive"}
SPEC = SpecData(kind="test-replace", params={"rules": RULES}, name="campaign test rules")
TEXT = "I recieve teh letter. It is the one wich came. Teh end of teh day."
_keys = itertools.count()


@dataclass
class Setup:
    researcher: Actor
    annotators: list[Actor]
    campaign_id: int
    document_ids: list[int]


def make_campaign(
    engine: Engine,
    *,
    docs: int = 3,
    annotators: int = 3,
    overlap: int = 2,
    gold_docs: int = 0,
    prefix: str = "c",
    text: str = TEXT,
    password: str | None = None,
    **settings: Any,  # noqa: ANN401
) -> Setup:
    register_test_kinds()
    with session_scope(engine) as s:
        r = users.create_user(s, f"{prefix}-researcher", Role.RESEARCHER, password)
        people = [users.create_user(s, f"{prefix}-ann{i}", Role.ANNOTATOR, password) for i in range(annotators)]
        project_id = id_of(documents.default_project(s))
        doc_ids = [id_of(documents.create_document(s, f"{prefix} doc {i}", text)) for i in range(docs + gold_docs)]
        researcher = access.actor_for(s, id_of(r))
        actors = [access.actor_for(s, id_of(p)) for p in people]
    campaign, _job = campaigns.create(
        engine,
        researcher,
        CampaignSettings(
            name=f"{prefix} campaign",
            project_id=project_id,
            document_ids=doc_ids[:docs],
            gold_document_ids=doc_ids[docs:],
            spec=SPEC,
            intents=("fluency",),
            overlap=overlap,
            annotator_ids=[a.user_id for a in actors],
            **settings,
        ),
    )
    while jobs.run_once(engine):
        pass
    return Setup(researcher, actors, id_of(campaign), doc_ids)


def decide_all(engine: Engine, actor: Actor, round_id: int, action: str = "accept") -> dict[str, str | None]:
    """Decide every edit of a round through the review component's outbox protocol."""
    view = review_service.round_view(engine, actor, round_id)
    items = [{"k": f"t{next(_keys)}", "a": action, "id": e.row.id, "ms": 900} for e in view.edits]
    return review_service.sync_outbox(engine, actor, round_id, {"seq": 1, "items": items}, {})
