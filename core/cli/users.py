"""User commands: add and list people (annotators each get their own revision threads)."""

from __future__ import annotations

import argparse
import getpass

from core import users
from core.cli._common import engine_for
from core.db import session_scope
from core.models import ROLES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("user", help="add or list users")
    actions = p.add_subparsers(dest="user_command", required=True)
    add = actions.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="writer")
    add.add_argument("--password", action="store_true", help="ask for a password (needed when login is on)")
    add.set_defaults(func=cmd_add)
    ls = actions.add_parser("list", help="list users")
    ls.set_defaults(func=cmd_list)


def cmd_add(args: argparse.Namespace) -> int:
    password = getpass.getpass("Password: ") if args.password else None
    with session_scope(engine_for(args)) as s:
        user = users.create_user(s, args.name, args.role, password)
        print(f"{user.id}\t{user.name}\t{user.role}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with session_scope(engine_for(args)) as s:
        for user in users.list_users(s):
            print(f"{user.id}\t{user.name}\t{user.role}\t{'password' if user.password_hash else 'no password'}")
    return 0
