"""Project settings that shape every round in a project: rules switched off, model instructions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlmodel import Session

from core.errors import InputError, NotFoundError
from core.models import Project, Role, User
from core.proposers.base import ALL_INTENTS, SpecData

MAX_RULES = 500


def get_project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFoundError(f"No project with id {project_id}.")
    return project


def _require_admin(session: Session, user_id: int) -> None:
    user = session.get(User, user_id)
    if user is None or user.role != Role.ADMIN:
        raise InputError("Only an admin can change the project's settings.")


def disabled_rules(session: Session, project_id: int) -> frozenset[str]:
    """Rule ids (or categories) the builtin proposer does not run in this project."""
    return frozenset(get_project(session, project_id).settings.get("disabled_rules") or ())


def instruction_prefixes(session: Session, project_id: int) -> dict[str, str]:
    """The project's instruction prefixes per intent for seq2seq models (overrides of the defaults)."""
    return dict(get_project(session, project_id).settings.get("prefixes") or {})


def update_settings(
    session: Session,
    project_id: int,
    *,
    by_user_id: int,
    disabled: list[str] | None = None,
    prefixes: dict[str, str] | None = None,
) -> Project:
    """Change what rounds in the project ask for. Admins only; every later round records the result."""
    _require_admin(session, by_user_id)
    project = get_project(session, project_id)
    settings: dict[str, Any] = dict(project.settings or {})
    if disabled is not None:
        rules = sorted({r.strip() for r in disabled if r.strip()})
        if len(rules) > MAX_RULES:
            raise InputError(f"At most {MAX_RULES} rules can be switched off.")
        settings["disabled_rules"] = rules
    if prefixes is not None:
        unknown = sorted(set(prefixes) - set(ALL_INTENTS))
        if unknown:
            raise InputError(f"Unknown intent(s) {', '.join(unknown)}; choose from {', '.join(ALL_INTENTS)}.")
        settings["prefixes"] = {k: v for k, v in prefixes.items() if isinstance(v, str)}
    project.settings = settings  # a new dict, so the JSON column is seen as changed
    session.add(project)
    session.flush()
    return project


def spec_for_project(session: Session, project_id: int, spec: SpecData) -> SpecData:
    """The spec a round runs with: a seq2seq model gets the project's instruction prefixes (the spec
    records them, so every edit traces to the exact instructions); the spec's own prefixes win."""
    prefixes = instruction_prefixes(session, project_id)
    if spec.kind != "hf-seq2seq" or not prefixes:
        return spec
    merged = {**prefixes, **(spec.params.get("prefixes") or {})}
    return replace(spec, params={**spec.params, "prefixes": merged})
