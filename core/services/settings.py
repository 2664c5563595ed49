"""Project settings that shape every round: rules switched off and seq2seq instructions (admins change them)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core import access
from core import projects as project_settings
from core.access import Action, Actor
from core.db import read_scope, session_scope
from core.models import Project


@dataclass(frozen=True)
class ProjectSettings:
    disabled_rules: list[str]  # sorted
    prefixes: dict[str, str]  # the project's instruction per intent (overrides of the defaults)


def project_names(engine: Engine, actor: Actor) -> dict[int, str]:
    """The projects this person belongs to (every one, for an admin) by id, in the order they were made."""
    with read_scope(engine) as s:
        rows = s.exec(select(Project).order_by(col(Project.id))).all()
    return {p.id or 0: p.name for p in rows if actor.is_admin or (p.id or 0) in actor.memberships}


def project_settings_of(engine: Engine, actor: Actor, project_id: int) -> ProjectSettings:
    access.authorize(actor, Action.DOCUMENT_LIST, access.ProjectRef(project_id))
    with read_scope(engine) as s:
        return ProjectSettings(
            sorted(project_settings.disabled_rules(s, project_id)), project_settings.instruction_prefixes(s, project_id)
        )


def may_change(actor: Actor, project_id: int) -> bool:
    """For pages: whether to show the project's settings as a form (admins) or as text."""
    return access.allowed(actor, Action.SETTINGS_CHANGE, access.ProjectRef(project_id))


def may_mute_for_project(actor: Actor, project_id: int) -> bool:
    return access.allowed(actor, Action.MUTE_FOR_PROJECT, access.ProjectRef(project_id))


def update_project_settings(
    engine: Engine,
    actor: Actor,
    project_id: int,
    *,
    disabled: list[str] | None = None,
    prefixes: dict[str, str] | None = None,
) -> None:
    """Change what later rounds in the project run and ask for: admins only."""
    access.authorize(actor, Action.SETTINGS_CHANGE, access.ProjectRef(project_id))
    with session_scope(engine) as s:
        project_settings.update_settings(s, project_id, by_user_id=actor.user_id, disabled=disabled, prefixes=prefixes)
