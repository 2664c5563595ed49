"""Password sign-in (issue 11): the time of a wrong password against an unknown name (ratio ~1.0: names
cannot be probed by timing), beside the first build's check (authenticate before hardening) measured
in the same run, and where the attempt limit refuses.

Usage: python bench/signin.py [--tries 30] [--database-url URL]   (a fresh SQLite file by default)

Each try is the whole service call (`accounts.sign_in`: count the attempt, look the name up, one
scrypt, answer); the throttle is cleared between tries so every try reaches the password check.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from sqlalchemy import delete  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import select  # noqa: E402

from core import signin, users  # noqa: E402
from core.db import open_database, read_scope, session_scope  # noqa: E402
from core.errors import RedraftError  # noqa: E402
from core.models import SignInThrottle, User  # noqa: E402
from core.services import accounts  # noqa: E402


def _clear(engine: Engine) -> None:
    with session_scope(engine) as s:
        s.execute(delete(SignInThrottle))


def medians_ms(engine: Engine, calls: list[Callable[[], object]], tries: int) -> list[float]:
    """The median time of each call, the calls interleaved try by try (so load drift hits all alike)."""
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(tries):
        for call, into in zip(calls, times, strict=True):
            _clear(engine)
            start = time.perf_counter()
            try:
                call()
            except RedraftError:
                pass
            into.append((time.perf_counter() - start) * 1000)
    return [statistics.median(t) for t in times]


def first_build_check(engine: Engine, name: str, password: str) -> None:
    """The check before this issue: an unknown name returned before any scrypt."""
    with read_scope(engine) as s:
        user = s.exec(select(User).where(User.name == name)).first()
        stored = user.password_hash if user else None
    if not stored:
        raise RedraftError("wrong")
    _, salt_hex, digest_hex = stored.split("$", 2)
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), n=2**14, r=8, p=1)
    if not hmac.compare_digest(digest.hex(), digest_hex):
        raise RedraftError("wrong")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tries", type=int, default=30)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    engine = open_database(args.database_url or f"sqlite:///{tmp}/bench.db")
    with session_scope(engine) as s:
        if s.exec(select(User).where(User.name == "bench-alice")).first() is None:
            users.create_user(s, "bench-alice", "annotator", "correct horse")

    old_wrong, old_unknown, wrong, unknown, right = medians_ms(
        engine,
        [
            lambda: first_build_check(engine, "bench-alice", "wrong"),
            lambda: first_build_check(engine, "bench-nobody", "wrong"),
            lambda: accounts.sign_in(engine, "bench-alice", "wrong"),
            lambda: accounts.sign_in(engine, "bench-nobody", "wrong"),
            lambda: accounts.sign_in(engine, "bench-alice", "correct horse"),
        ],
        args.tries,
    )
    print(f"database: {engine.dialect.name}; median of {args.tries} tries each")
    print(
        f"baseline (first build's check): wrong password {old_wrong:.1f} ms, unknown name {old_unknown:.2f} ms, "
        f"ratio {old_wrong / old_unknown:.1f}"
    )
    print(
        f"hardened sign_in: wrong password {wrong:.1f} ms, unknown name {unknown:.1f} ms, "
        f"ratio {wrong / unknown:.2f}; right password {right:.1f} ms"
    )

    _clear(engine)
    outcomes = []
    for _ in range(signin.ACCOUNT_FREE_ATTEMPTS + 3):
        start = time.perf_counter()
        try:
            accounts.sign_in(engine, "bench-alice", "wrong")
        except signin.TooManyAttempts as exc:
            outcomes.append(f"refused ({exc.wait_s:.0f} s to wait, {(time.perf_counter() - start) * 1000:.1f} ms)")
        except RedraftError:
            outcomes.append(f"wrong ({(time.perf_counter() - start) * 1000:.0f} ms)")
    print("one account, wrong password, back to back: " + "; ".join(outcomes))
    _clear(engine)


if __name__ == "__main__":
    main()
