"""People and invitations (core.services.people, `python -m core user …`) on SQLite and PostgreSQL:
admins only; an invitation becomes a membership on first sign-in, or at once for someone who joined."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from core import access, joining, users
from core.access import Actor, PermissionDenied
from core.cli import main
from core.db import read_scope, session_scope
from core.errors import InputError, NotFoundError
from core.models import Project
from core.services import accounts, people

RULES = joining.JoinRules(frozenset(), frozenset(), "annotator")


def _actor(engine: Engine, name: str) -> Actor:
    with read_scope(engine) as s:
        return access.actor_for(s, users.get_by_name(s, name).id or 0)


@pytest.fixture
def world(engine: Engine) -> tuple[Actor, Actor, int]:
    """The local admin, a researcher, and a second project."""
    with session_scope(engine) as s:
        users.create_user(s, "rita", "researcher")
        project = Project(name="Essays", settings={})
        s.add(project)
        s.flush()
        pid = project.id or 0
    return _actor(engine, "local"), _actor(engine, "rita"), pid


def test_only_admins_manage_people(engine, world):
    admin, researcher, pid = world
    for call in (
        lambda: people.list_people(engine, researcher),
        lambda: people.list_invitations(engine, researcher),
        lambda: people.invite(engine, researcher, "x@example.org", "admin", pid),
        lambda: people.set_project_role(engine, researcher, researcher.user_id, pid, "admin"),
    ):
        with pytest.raises(PermissionDenied, match="manage people and invitations"):
            call()
    assert people.list_invitations(engine, admin) == []  # nothing was stored by the refused calls


def test_invite_then_join_then_change_the_role(engine, world):
    admin, _, pid = world
    row = people.invite(engine, admin, "Nia@Uni.example", "annotator", pid)
    assert (row.email, row.role, row.project, row.accepted_at) == ("nia@uni.example", "annotator", "Essays", None)
    user_id = accounts_join(engine, "nia@uni.example")
    listed = {p.name: p for p in people.list_people(engine, admin)}
    assert listed["nia"].projects == {"Essays": "annotator"}
    assert listed["nia"].signs_in_by == "identity provider"
    assert people.list_invitations(engine, admin)[0].accepted_at is not None
    people.set_project_role(engine, admin, user_id, pid, "researcher")
    assert {p.name: p for p in people.list_people(engine, admin)}["nia"].projects == {"Essays": "researcher"}
    assert _actor(engine, "nia").reads_all_in(pid)


def test_bad_input_is_refused_and_nothing_stored(engine, world):
    admin, _, pid = world
    with pytest.raises(InputError, match="Not an email"):
        people.invite(engine, admin, "not-an-address", "annotator", pid)
    with pytest.raises(InputError, match="Unknown role"):
        people.invite(engine, admin, "a@b.example", "owner", pid)
    with pytest.raises(NotFoundError):
        people.invite(engine, admin, "a@b.example", "annotator", pid + 100)
    with pytest.raises(InputError, match="Unknown role"):
        people.set_project_role(engine, admin, admin.user_id, pid, "king")
    assert people.list_invitations(engine, admin) == []


def test_removed_invitation_no_longer_lets_in(engine, world):
    admin, _, pid = world
    row = people.invite(engine, admin, "gone@uni.example", "annotator", pid)
    people.remove_invitation(engine, admin, row.id)
    with pytest.raises(joining.NotInvited):
        accounts_join(engine, "gone@uni.example")
    with pytest.raises(NotFoundError):
        people.remove_invitation(engine, admin, row.id)


def test_cli_invite_role_and_list(engine, world, db_url, capsys):
    _, _, pid = world
    assert main(["--database-url", db_url, "users", "invite", "cli@uni.example", "--role", "researcher",
                 "--project", "Essays"]) == 0  # fmt: skip
    assert main(["--database-url", db_url, "user", "invitations"]) == 0
    assert "cli@uni.example\tresearcher\tEssays\tnot yet joined" in capsys.readouterr().out
    assert main(["--database-url", db_url, "user", "role", "rita", "--role", "annotator", "--project", "Essays"]) == 0
    assert _actor(engine, "rita").memberships[pid] == "annotator"
    assert main(["--database-url", db_url, "--as", "rita", "user", "invite", "x@uni.example"]) == 2  # refused
    assert "may not manage people" in capsys.readouterr().err
    assert main(["--database-url", db_url, "user", "add", "carl", "--email", "Carl@Uni.example"]) == 0
    assert accounts_join(engine, "carl@uni.example") == _actor(engine, "carl").user_id  # their sign-in is carl
    assert main(["--database-url", db_url, "user", "uninvite", "CLI@uni.example"]) == 0
    assert main(["--database-url", db_url, "user", "uninvite", "cli@uni.example"]) == 1


def accounts_join(engine: Engine, email: str) -> int:
    """A first sign-in through the identity provider, as app.py does it."""
    with session_scope(engine) as s:
        return joining.user_for_email(s, email, None, RULES).id or 0


def test_home_project_is_one_the_person_belongs_to(engine, world):
    admin, _, pid = world
    people.invite(engine, admin, "only@uni.example", "annotator", pid)
    accounts_join(engine, "only@uni.example")
    assert accounts.home_project_id(engine, _actor(engine, "only")) == pid
    assert accounts.home_project_id(engine, admin) == accounts.default_project_id(engine)
