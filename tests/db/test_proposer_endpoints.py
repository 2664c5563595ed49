"""Adding an openai proposer (training.add_proposer, the Models page's service): admins only, and never
an endpoint at a link-local or cloud metadata address; nothing is stored when it is refused."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from core import access, users
from core.access import Actor, PermissionDenied
from core.db import session_scope
from core.errors import InputError
from core.models import ProposerSpec, Role
from core.proposers.endpoints import DENY_ENV, EndpointRefused
from core.services import training

LOCAL_SERVER = "openai:http://127.0.0.1:8000/v1#qwen2.5"


@pytest.fixture(autouse=True)
def default_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDRAFT_ENDPOINTS_ALLOW", DENY_ENV):
        monkeypatch.delenv(name, raising=False)


def actor(engine: Engine, name: str, role: str) -> Actor:
    with session_scope(engine) as s:
        user = users.get_or_create_user(s, name, role)
        return access.actor_for(s, user.id)


def openai_rows(engine: Engine) -> list[ProposerSpec]:
    with session_scope(engine) as s:
        return list(s.exec(select(ProposerSpec).where(ProposerSpec.kind == "openai")).all())


@pytest.mark.parametrize("role", [Role.ANNOTATOR, Role.WRITER, Role.RESEARCHER])
def test_only_admins_add_openai_endpoints(engine, role):
    person = actor(engine, f"a-{role}", role)
    with pytest.raises(PermissionDenied, match=f"You \\(a-{role}, {role}\\) may not add a proposer"):
        training.add_proposer(engine, person, LOCAL_SERVER, "local vLLM")
    with pytest.raises(PermissionDenied):  # refused before the endpoint is even looked at
        training.add_proposer(engine, person, "openai:http://169.254.169.254/latest/v1#x")
    assert openai_rows(engine) == []


@pytest.mark.parametrize(
    ("spec", "shown"),
    [
        ("openai:http://169.254.169.254/latest/v1#x", "169.254.169.254 is a cloud metadata address"),
        ("openai:http://[::ffff:169.254.169.254]/v1#x", "is 169.254.169.254, a cloud metadata address"),
        ("openai:http://2852039166/v1#x", "2852039166 is 169.254.169.254, a cloud metadata address"),
        ("openai:http://[fd00:ec2::254]/v1#x", "a cloud metadata address (AWS"),
        ("openai:http://metadata.google.internal./computeMetadata/v1#x", "a cloud metadata host name"),
        ('{"kind": "openai", "model": "x", "params": {"base_url": "http://100.100.100.200/v1"}}', "(Alibaba Cloud)"),
    ],
)
def test_an_admin_cannot_add_a_metadata_endpoint(engine, spec, shown):
    admin = actor(engine, "root", Role.ADMIN)
    with pytest.raises(EndpointRefused) as refused:
        training.add_proposer(engine, admin, spec, "creds")
    assert isinstance(refused.value, InputError)
    assert str(refused.value).startswith("Refused the proposer endpoint http")
    assert shown in str(refused.value)
    assert openai_rows(engine) == []


def test_an_admin_adds_a_loopback_server_unless_the_deployment_denies_it(engine, monkeypatch):
    admin = actor(engine, "root", Role.ADMIN)
    monkeypatch.setenv(DENY_ENV, "127.0.0.0/8,::1")
    with pytest.raises(EndpointRefused, match=r"127\.0\.0\.1 is in 127\.0\.0\.0/8, which REDRAFT_ENDPOINTS_DENY"):
        training.add_proposer(engine, admin, LOCAL_SERVER, "local vLLM")
    assert openai_rows(engine) == []
    monkeypatch.delenv(DENY_ENV)
    row = training.add_proposer(engine, admin, LOCAL_SERVER, "local vLLM")
    assert (row.kind, row.model, row.params["base_url"], row.name) == (
        "openai",
        "qwen2.5",
        "http://127.0.0.1:8000/v1",
        "local vLLM",
    )
    assert [r.id for r in openai_rows(engine)] == [row.id]


def test_only_admins_point_rounds_at_a_new_model_server(engine) -> None:
    """A writer's round settings cannot name a server no admin stored; a stored one is fine."""
    from core import documents
    from core.access import PermissionDenied
    from core.db import session_scope
    from core.proposers.registry import parse_spec
    from core.revision.rounds import RoundSettings
    from core.services import accounts, revision, training
    from core.users import create_user

    with session_scope(engine) as s:
        doc_id = documents.create_document(s, "Essay", "Some text here.").id
        writer_id = create_user(s, "wendy", "writer").id
        admin_id = documents.default_user(s).id
    writer = accounts.actor(engine, writer_id)
    spec = parse_spec("openai:http://127.0.0.1:9/v1#m")
    with pytest.raises(PermissionDenied, match="model server"):
        revision.propose(engine, writer, doc_id, RoundSettings(spec=spec))
    training.add_proposer(engine, accounts.actor(engine, admin_id), "openai:http://127.0.0.1:9/v1#m")
    job = revision.propose(engine, writer, doc_id, RoundSettings(spec=spec))
    assert job.owner_id == writer_id
