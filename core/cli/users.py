"""User commands: add and list people (annotators each get their own revision threads); invite an
email to join by signing in, list and withdraw invitations, give a person a role in a project."""

from __future__ import annotations

import argparse
import getpass
import sys

from core import users
from core.cli._common import actor_for_args, engine_for
from core.db import session_scope
from core.models import ROLES
from core.services import people


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("user", aliases=["users"], help="add or list users, invite people, set project roles")
    actions = p.add_subparsers(dest="user_command", required=True)
    add = actions.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="writer")
    add.add_argument("--password", action="store_true", help="ask for a password (REDRAFT_SIGNIN=password)")
    add.add_argument("--email", help="the email they sign in with (REDRAFT_SIGNIN=oidc)")
    add.set_defaults(func=cmd_add)
    ls = actions.add_parser("list", help="list users")
    ls.set_defaults(func=cmd_list)
    inv = actions.add_parser("invite", help="invite an email: they join with the role on first sign-in (OIDC)")
    inv.add_argument("email")
    inv.add_argument("--role", choices=ROLES, default="annotator")
    inv.add_argument("--project", help="project name or id (default: the default project)")
    inv.set_defaults(func=cmd_invite)
    invs = actions.add_parser("invitations", help="list invitations")
    invs.set_defaults(func=cmd_invitations)
    un = actions.add_parser("uninvite", help="withdraw an invitation")
    un.add_argument("email")
    un.set_defaults(func=cmd_uninvite)
    role = actions.add_parser("role", help="give a person a role in a project")
    role.add_argument("name")
    role.add_argument("--role", choices=ROLES, required=True)
    role.add_argument("--project", required=True, help="project name or id")
    role.set_defaults(func=cmd_role)


def cmd_add(args: argparse.Namespace) -> int:
    password = getpass.getpass("Password: ") if args.password else None
    with session_scope(engine_for(args)) as s:
        user = users.create_user(s, args.name, args.role, password, email=args.email)
        print(f"{user.id}\t{user.name}\t{user.role}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with session_scope(engine_for(args)) as s:
        for user in users.list_users(s):
            print(f"{user.id}\t{user.name}\t{user.role}\t{'password' if user.password_hash else 'no password'}")
    return 0


def cmd_invite(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    project_id = people.project_id_by_name(engine, args.project) if args.project else None
    row = people.invite(engine, actor_for_args(args, engine), args.email, args.role, project_id)
    print(f"{row.id}\t{row.email}\t{row.role}\t{row.project or '(default project)'}")
    return 0


def cmd_invitations(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    for row in people.list_invitations(engine, actor_for_args(args, engine)):
        joined = f"joined {row.accepted_at:%Y-%m-%d}" if row.accepted_at else "not yet joined"
        print(f"{row.id}\t{row.email}\t{row.role}\t{row.project or '(default project)'}\t{joined}")
    return 0


def cmd_uninvite(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    me = actor_for_args(args, engine)
    wanted = users.normalise_email(args.email)
    found = [row for row in people.list_invitations(engine, me) if row.email == wanted]
    if not found:
        print(f"error: no invitation for {wanted}", file=sys.stderr)
        return 1
    people.remove_invitation(engine, me, found[0].id)
    return 0


def cmd_role(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    me = actor_for_args(args, engine)
    with session_scope(engine) as s:
        user_id = users.get_by_name(s, args.name).id or 0
    people.set_project_role(engine, me, user_id, people.project_id_by_name(engine, args.project), args.role)
    return 0
