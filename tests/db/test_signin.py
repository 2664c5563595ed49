"""Password sign-in and OIDC joining, on SQLite and PostgreSQL: one timing for every refusal, attempt
limits every process sees, sessions that survive a reload, and who may join by email."""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from core import access, documents, joining, signin, users
from core.data.export import ExportFilters
from core.db import read_scope, session_scope
from core.errors import InputError
from core.joining import JoinRules, NotInvited
from core.models import Invitation, Membership, Project, SignInSession, SignInThrottle, User, utcnow
from core.revision import review, rounds, threads
from core.services import accounts, exports
from tests.proposers_for_tests import ReplaceProposer

PASSWORD = "correct horse"


@pytest.fixture
def alice(engine: Engine) -> int:
    with session_scope(engine) as s:
        return users.create_user(s, "alice", "annotator", PASSWORD).id or 0


@pytest.fixture
def scrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the scrypt computations (the real function still runs)."""
    calls: list[int] = []
    real = hashlib.scrypt

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(users.hashlib, "scrypt", counting)
    return calls


def test_unknown_name_and_wrong_password_do_the_same_work(engine, alice, scrypt_calls):
    with pytest.raises(InputError) as wrong:
        accounts.sign_in(engine, "alice", "wrong password")
    assert len(scrypt_calls) == 1
    with pytest.raises(InputError) as unknown:
        accounts.sign_in(engine, "nobody", "wrong password")
    assert len(scrypt_calls) == 2
    with pytest.raises(InputError) as no_password:
        accounts.sign_in(engine, "local", "")  # the embedded admin has no password: never signs in by one
    assert len(scrypt_calls) == 3
    assert str(wrong.value) == str(unknown.value) == str(no_password.value) == signin.WRONG_PASSWORD


def test_account_blocked_after_five_failures_then_waits_double(engine, alice):
    for _ in range(signin.ACCOUNT_FREE_ATTEMPTS):
        with pytest.raises(InputError):
            accounts.sign_in(engine, "alice", "wrong password")
    with pytest.raises(signin.TooManyAttempts) as refused:
        accounts.sign_in(engine, "ALICE ", PASSWORD)  # even the right password, in any case and spacing
    assert 0 < refused.value.wait_s <= signin.FIRST_WAIT_S
    assert "try again in" in str(refused.value)
    _expire_blocks(engine)
    with pytest.raises(InputError):
        accounts.sign_in(engine, "alice", "wrong again")
    with pytest.raises(signin.TooManyAttempts) as longer:
        accounts.sign_in(engine, "alice", PASSWORD)
    assert signin.FIRST_WAIT_S < longer.value.wait_s <= 2 * signin.FIRST_WAIT_S
    _expire_blocks(engine)
    assert accounts.sign_in(engine, "alice", PASSWORD).user_id == alice
    with read_scope(engine) as s:  # a success clears the account's count
        assert s.get(SignInThrottle, signin.throttle_key("account", "alice")) is None


def test_one_address_trying_many_names_is_blocked(engine, alice):
    for i in range(signin.ADDRESS_FREE_ATTEMPTS):
        with pytest.raises(InputError):
            accounts.sign_in(engine, f"guess{i}", "password", address="203.0.113.9")
    with pytest.raises(signin.TooManyAttempts):
        accounts.sign_in(engine, "alice", PASSWORD, address="203.0.113.9")
    assert accounts.sign_in(engine, "alice", PASSWORD, address="198.51.100.7").user_id == alice


def test_throttle_stores_neither_name_nor_address(engine, alice):
    with pytest.raises(InputError):
        accounts.sign_in(engine, "alice", "wrong password", address="203.0.113.9")
    with read_scope(engine) as s:
        keys = [row.key for row in s.exec(select(SignInThrottle)).all()]
    assert sorted(keys) == sorted(
        [signin.throttle_key("account", "alice"), signin.throttle_key("address", "203.0.113.9")]
    )
    assert all(len(k) == 64 and "alice" not in k and "203" not in k for k in keys)


def test_parallel_attempts_cannot_pass_the_limit(engine, alice, scrypt_calls):
    """Ten tries at once (threads, each its own transaction): only the free ones reach the password."""
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            accounts.sign_in(engine, "alice", "wrong password")
        except signin.TooManyAttempts:
            result = "blocked"
        except InputError:
            result = "wrong"
        with lock:
            outcomes.append(result)

    workers = [threading.Thread(target=attempt) for _ in range(10)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert outcomes.count("wrong") == signin.ACCOUNT_FREE_ATTEMPTS
    assert outcomes.count("blocked") == 10 - signin.ACCOUNT_FREE_ATTEMPTS
    assert len(scrypt_calls) == signin.ACCOUNT_FREE_ATTEMPTS


def test_session_token_survives_a_reload_until_sign_out(engine, alice):
    signed = accounts.sign_in(engine, "alice", PASSWORD)
    assert accounts.resume(engine, signed.token) == alice  # a reload: a new session, the cookie's token
    assert accounts.resume(engine, signed.token + "x") is None
    assert accounts.resume(engine, None) is None
    with read_scope(engine) as s:
        row = s.exec(select(SignInSession)).one()
    assert row.token_hash == hashlib.sha256(signed.token.encode()).hexdigest()
    assert _database_holds(engine, signed.token) is False  # only its hash is stored
    accounts.sign_out(engine, signed.token)
    assert accounts.resume(engine, signed.token) is None


def test_a_handoff_code_is_exchanged_once_for_the_cookie_token(engine, alice):
    """serve.py's cookie route: the page holds only a one-time code; the token is made at the exchange."""
    signed = accounts.sign_in(engine, "alice", PASSWORD, handoff=True)
    code = signed.token
    assert accounts.resume(engine, code) is None  # the code itself signs nobody in
    token = accounts.exchange_handoff(engine, code)
    assert token is not None and token != code
    assert accounts.resume(engine, token) == alice
    assert accounts.exchange_handoff(engine, code) is None  # once
    for bad in (None, "", "x" * 500, code + "x"):
        assert accounts.exchange_handoff(engine, bad) is None
    with read_scope(engine) as s:
        row = s.exec(select(SignInSession)).one()
    assert (row.handoff_hash, row.handoff_expires_at) == (None, None)
    assert _database_holds(engine, token) is False and _database_holds(engine, code) is False
    accounts.sign_out(engine, token)
    assert accounts.resume(engine, token) is None


def test_a_handoff_code_expires_and_two_exchanges_at_once_give_one_token(engine, alice):
    late = accounts.sign_in(engine, "alice", PASSWORD, handoff=True).token
    with session_scope(engine) as s:
        row = s.exec(select(SignInSession)).one()
        row.handoff_expires_at = utcnow() - timedelta(seconds=1)
        s.add(row)
    assert accounts.exchange_handoff(engine, late) is None
    code = accounts.sign_in(engine, "alice", PASSWORD, handoff=True).token
    got: list[str | None] = []
    workers = [threading.Thread(target=lambda: got.append(accounts.exchange_handoff(engine, code))) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    (token,) = [t for t in got if t is not None]
    assert got.count(None) == 5 and accounts.resume(engine, token) == alice
    # a code never exchanged goes with the next sign-in once it is over a minute old
    with session_scope(engine) as s:
        for row in s.exec(select(SignInSession)).all():
            if row.handoff_hash is not None:
                row.handoff_expires_at = utcnow() - signin.HANDOFF_TTL - timedelta(seconds=1)
                s.add(row)
    accounts.sign_in(engine, "alice", PASSWORD)
    with read_scope(engine) as s:
        assert all(r.handoff_hash is None for r in s.exec(select(SignInSession)).all())
        assert len(s.exec(select(SignInSession)).all()) == 2  # the exchanged one and the new one


def test_expired_session_does_not_sign_in(engine, alice):
    signed = accounts.sign_in(engine, "alice", PASSWORD)
    with session_scope(engine) as s:
        row = s.exec(select(SignInSession)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        s.add(row)
    assert accounts.resume(engine, signed.token) is None


def test_stale_sessions_and_counts_are_pruned_on_sign_in(engine, alice):
    old = accounts.sign_in(engine, "alice", PASSWORD)
    for name in ("stale", "blocked"):
        with pytest.raises(InputError):
            accounts.sign_in(engine, name, "wrong password")
    long_ago = utcnow() - signin.FORGET_AFTER - timedelta(hours=1)
    with session_scope(engine) as s:
        s.exec(select(SignInSession)).one().expires_at = long_ago
        for name, blocked in (("stale", None), ("blocked", utcnow() + timedelta(hours=1))):
            row = s.get(SignInThrottle, signin.throttle_key("account", name))
            row.updated_at, row.blocked_until = long_ago, blocked
            s.add(row)
    new = accounts.sign_in(engine, "alice", PASSWORD)
    with read_scope(engine) as s:
        assert [r.token_hash for r in s.exec(select(SignInSession)).all()] == [
            hashlib.sha256(new.token.encode()).hexdigest()
        ]
        assert [r.key for r in s.exec(select(SignInThrottle)).all()] == [signin.throttle_key("account", "blocked")]
    assert accounts.resume(engine, old.token) is None


def test_no_password_or_token_in_clear_anywhere(engine, alice, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(InputError):
        accounts.sign_in(engine, "alice", "typo horse")
    signed = accounts.sign_in(engine, "alice", PASSWORD)
    assert not _database_holds(engine, PASSWORD)
    assert not _database_holds(engine, "typo horse")
    secrets = (PASSWORD, "typo horse", signed.token, hashlib.sha256(signed.token.encode()).hexdigest(), "scrypt$")
    assert not any(x in caplog.text for x in secrets)
    with session_scope(engine) as s:  # a decision of alice's, so the export has her in it
        admin = access.actor_for(s, documents.default_user(s).id or 0)
        thread_id = threads.active_thread(s, documents.create_document(s, "Doc", "Teh cat.").id, alice).id
    rnd = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer({"Teh": "The"}))
    with session_scope(engine) as s:
        review.decide(s, review.round_view(s, rnd.id, alice).edits[0].row.id, alice, "accept")
    for fmt in ("jsonl", "csv"):
        exported = exports.log_bytes(engine, admin, ExportFilters(), fmt).decode()
        assert "alice" in exported and "The" in exported
        assert not any(x in exported for x in secrets)


@pytest.mark.parametrize(
    ("raw", "mode"),
    [({}, "local"), ({"REDRAFT_LOGIN": "1"}, "password"), ({"REDRAFT_SIGNIN": "OIDC", "REDRAFT_LOGIN": "1"}, "oidc")],
)
def test_sign_in_mode(raw, mode):
    assert signin.sign_in_mode(raw) == mode


def test_unknown_sign_in_mode_is_refused():
    with pytest.raises(InputError, match="REDRAFT_SIGNIN"):
        signin.sign_in_mode({"REDRAFT_SIGNIN": "ldap"})


# --- OIDC: who may join ---------------------------------------------------------------------------------

RULES = JoinRules(frozenset({"boss@example.org"}), frozenset({"uni.example"}), "annotator")


def _project(engine: Engine, name: str) -> int:
    with session_scope(engine) as s:
        project = Project(name=name, settings={})
        s.add(project)
        s.flush()
        return project.id or 0


def _join(engine: Engine, email: str, name: str | None = None, verified: bool = True) -> User:
    with session_scope(engine) as s:
        return joining.user_for_email(s, email, name, RULES, verified=verified)


def _memberships(engine: Engine, user_id: int) -> dict[int, str]:
    with read_scope(engine) as s:
        rows = s.exec(select(Membership).where(Membership.user_id == user_id)).all()
        return {m.project_id: m.role for m in rows}


def test_invited_email_joins_with_its_role_and_project_once(engine):
    pid = _project(engine, "Essays")
    with session_scope(engine) as s:
        joining.invite(s, " Res@Example.COM ", "researcher", pid, None)
    user = _join(engine, "res@example.com", "Rosa")
    assert (user.name, user.role, user.email) == ("Rosa", "researcher", "res@example.com")
    assert _memberships(engine, user.id) == {pid: "researcher"}
    with read_scope(engine) as s:
        assert s.exec(select(Invitation)).one().accepted_at is not None
    assert _join(engine, "RES@example.com").id == user.id  # the next sign-in is the same person


def test_invitation_to_a_person_who_joined_gives_the_role_now(engine):
    user = _join(engine, "ann@uni.example")
    pid = _project(engine, "Campaign")
    with session_scope(engine) as s:
        joining.invite(s, "ann@uni.example", "researcher", pid, None)
    assert _memberships(engine, user.id)[pid] == "researcher"


def test_admin_emails_and_allowed_domains_join(engine):
    boss = _join(engine, "boss@example.org")
    assert boss.role == "admin"
    member = _join(engine, "kim@UNI.example", "Kim")
    assert member.role == "annotator"
    with read_scope(engine) as s:
        default = users.default_project_id(s)
    assert _memberships(engine, member.id) == {default: "annotator"}
    twin = _join(engine, "kim2@uni.example", "Kim")
    assert twin.name == "Kim (2)"  # names stay unique


def test_a_person_listed_as_admin_after_joining_is_promoted_on_their_next_sign_in(engine):
    kim = _join(engine, "kim@uni.example", "Kim")
    assert kim.role == "annotator"
    again = _join(engine, "kim@uni.example", "Kim")  # not listed: nothing changes
    assert (again.id, again.role) == (kim.id, "annotator")
    listed = JoinRules(frozenset({"kim@uni.example"}), frozenset({"uni.example"}), "annotator")
    with session_scope(engine) as s:
        promoted = joining.user_for_email(s, "Kim@UNI.example", "Kim", listed)
        assert (promoted.id, promoted.role) == (kim.id, "admin")
    with read_scope(engine) as s:
        actor = access.actor_for(s, kim.id)
    assert actor.is_admin


@pytest.mark.parametrize(
    ("email", "verified", "says"),
    [
        ("stranger@elsewhere.example", True, "not invited"),
        ("kim@sub.uni.example.evil", True, "not invited"),
        ("kim@uni.example", False, "not verified"),
        (None, True, "did not send an email"),
    ],
)
def test_others_are_not_invited(engine, email, verified, says):
    with pytest.raises(NotInvited, match=says):
        _join(engine, email, verified=verified)
    with read_scope(engine) as s:
        assert [u.name for u in s.exec(select(User)).all()] == ["local"]


def test_join_rules_from_environment():
    rules = joining.join_rules(
        {"REDRAFT_ADMIN_EMAILS": "A@x.org, b@y.org", "REDRAFT_ALLOWED_DOMAINS": "@Uni.example", "REDRAFT_JOIN_ROLE": ""}
    )
    assert rules == JoinRules(frozenset({"a@x.org", "b@y.org"}), frozenset({"uni.example"}), "annotator")
    with pytest.raises(InputError, match="REDRAFT_JOIN_ROLE"):
        joining.join_rules({"REDRAFT_JOIN_ROLE": "king"})


# --- helpers --------------------------------------------------------------------------------------------


def _expire_blocks(engine: Engine) -> None:
    """Time passes: every block has run out (the counts stay)."""
    with session_scope(engine) as s:
        for row in s.exec(select(SignInThrottle)).all():
            row.blocked_until = utcnow() - timedelta(seconds=1)
            s.add(row)


def _database_holds(engine: Engine, secret: str) -> bool:
    """Whether any text column of the sign-in and user tables holds `secret`."""
    columns = {
        "signinsession": ["token_hash"],
        "signinthrottle": ["key"],
        "user": ["name", "password_hash", "email"],
    }
    with engine.connect() as conn:
        for table, cols in columns.items():
            for column in cols:
                rows = conn.execute(text(f'SELECT "{column}" FROM "{table}"')).all()
                if any(r[0] and secret in str(r[0]) for r in rows):
                    return True
    return False
