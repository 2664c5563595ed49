"""The policy table itself (core.access.allowed): every action, for every project role, on a resource
of the person's own, of another person, and of a project the person is not in."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from core import access
from core.access import SITE, Action, Actor, DocumentRef, JobRef, ProjectRef, ThreadRef

ME, OTHER, P, ELSEWHERE = 10, 11, 1, 2
ROLES = ("admin", "researcher", "annotator", "writer")


def member(role: str) -> Actor:
    """A person with `role` in project P only (a project admin is an admin through membership)."""
    return Actor(ME, role, "annotator" if role == "admin" else role, MappingProxyType({P: role}))


SITE_ADMIN = Actor(ME, "root", "admin")

# action -> (resource, the roles allowed) for the person's own resource in P ...
OWN = {
    Action.DOCUMENT_LIST: (ProjectRef(P), set(ROLES)),
    Action.DOCUMENT_READ: (DocumentRef(P, 1, OTHER), set(ROLES)),
    Action.DOCUMENT_CREATE: (ProjectRef(P), {"admin", "researcher", "writer"}),
    Action.DOCUMENT_RENAME: (DocumentRef(P, 1, ME), {"admin", "researcher", "writer"}),
    Action.DOCUMENT_DELETE: (DocumentRef(P, 1, ME), {"admin", "researcher", "writer"}),
    Action.DOCUMENT_RESTORE: (DocumentRef(P, 1, ME), {"admin", "researcher", "writer"}),
    Action.THREAD_READ: (ThreadRef(P, 1, ME), set(ROLES)),
    Action.THREAD_PROPOSE: (ThreadRef(P, 1, ME), set(ROLES)),
    Action.THREAD_DECIDE: (ThreadRef(P, 1, ME), set(ROLES)),
    Action.THREAD_APPLY: (ThreadRef(P, 1, ME), set(ROLES)),
    Action.THREAD_FINISH: (ThreadRef(P, 1, ME), set(ROLES)),
    Action.DECISIONS_READ_OWN: (ProjectRef(P), set(ROLES)),
    Action.DECISIONS_READ_ALL: (ProjectRef(P), {"admin", "researcher"}),
    Action.FINETUNE: (ProjectRef(P), {"admin", "researcher"}),
    Action.SETTINGS_CHANGE: (ProjectRef(P), {"admin"}),
    Action.MUTE_FOR_PROJECT: (ProjectRef(P), {"admin"}),
    Action.JOB_CANCEL: (JobRef(ME), set(ROLES)),
    Action.CAMPAIGN_RUN: (ProjectRef(P), {"admin", "researcher"}),
    Action.CAMPAIGN_ADJUDICATE: (ProjectRef(P), {"admin", "researcher"}),
    Action.TERMS_PROTECT: (DocumentRef(P, 1, OTHER), {"admin", "researcher", "writer"}),
    Action.TERMS_PROTECT_PROJECT: (ProjectRef(P, ME), set(ROLES)),  # the project's owner
    Action.USERS_MANAGE: (SITE, set()),  # site-wide: only a person whose own role is admin
    Action.PROJECTS_MANAGE: (SITE, set()),
    Action.PROPOSERS_MANAGE: (SITE, set()),
}

# ... and on another person's resource in P.
OTHERS = {
    Action.DOCUMENT_RENAME: (DocumentRef(P, 1, OTHER), {"admin"}),
    Action.DOCUMENT_DELETE: (DocumentRef(P, 1, OTHER), {"admin"}),
    Action.DOCUMENT_RESTORE: (DocumentRef(P, 1, OTHER), {"admin"}),
    Action.THREAD_READ: (ThreadRef(P, 1, OTHER), {"admin"}),
    Action.THREAD_PROPOSE: (ThreadRef(P, 1, OTHER), {"admin"}),
    Action.THREAD_DECIDE: (ThreadRef(P, 1, OTHER), {"admin"}),
    Action.THREAD_APPLY: (ThreadRef(P, 1, OTHER), {"admin"}),
    Action.THREAD_FINISH: (ThreadRef(P, 1, OTHER), {"admin"}),
    Action.JOB_CANCEL: (JobRef(OTHER), set()),
    Action.TERMS_PROTECT_PROJECT: (ProjectRef(P, OTHER), {"admin"}),
}


def test_every_action_is_in_the_table() -> None:
    assert set(OWN) == set(Action)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(Action))
def test_own_resources(role: str, action: Action) -> None:
    resource, allowed_roles = OWN[action]
    assert access.allowed(member(role), action, resource) == (role in allowed_roles)
    assert access.allowed(SITE_ADMIN, action, resource)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(OTHERS))
def test_other_peoples_resources(role: str, action: Action) -> None:
    resource, allowed_roles = OTHERS[action]
    assert access.allowed(member(role), action, resource) == (role in allowed_roles)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", [a for a, (res, _) in OWN.items() if hasattr(res, "project_id")])
def test_nothing_in_a_project_one_is_not_in(role: str, action: Action) -> None:
    resource, _ = OWN[action]
    elsewhere = type(resource)(**{**resource.__dict__, "project_id": ELSEWHERE})
    assert not access.allowed(member(role), action, elsewhere)
    with pytest.raises(access.PermissionDenied, match="not a member of project 2"):
        access.authorize(member(role), action, elsewhere)


def test_a_refusal_is_logged_and_says_what(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(access.PermissionDenied, match=r"annotator\) may not delete this document"):
        access.authorize(member("annotator"), Action.DOCUMENT_DELETE, DocumentRef(P, 1, ME))
    assert "refused: annotator (user 10, annotator) may not delete this document" in caplog.text
