"""Accounts: who may do what (roles), passwords (scrypt), bearer tokens (stored as hashes)."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, bindparam, delete, false, insert, select, update

from truceline.domain import actions
from truceline.domain.passwords import check_password, hash_password
from truceline.errors import TrucelineError
from truceline.services.ledger import KeyRing, signer
from truceline.services.projector import record
from truceline.store import tables as t
from truceline.store.db import require_schema, writing
from truceline.store.missions import load_mission

ROLES = ("officer", "chief", "liaison", "admin")
TOKEN_HOURS = 12


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    contingent: str | None
    party: str | None


def _user(row: object) -> User:
    return User(row.id, row.name, row.role, row.contingent, row.party)  # type: ignore[attr-defined]


def add_user(
    engine: Engine,
    name: str,
    *,
    role: str,
    password: str,
    contingent: str | None = None,
    party: str | None = None,
    keyring: KeyRing | None = None,
    acting: str | None = None,
) -> User:
    """A new account. Officers and chiefs belong to a contingent, liaisons to a party; an
    admin to neither (and cannot sign for any contingent)."""
    if role not in ROLES:
        raise TrucelineError(f"--role {role!r} is not one of {', '.join(ROLES)}")
    if not re.fullmatch(r"[A-Za-z0-9._-]{2,64}", name):
        raise TrucelineError(f"user name {name!r}: 2 to 64 of A-Z a-z 0-9 . _ -")
    if len(password) < 10:
        raise TrucelineError("the password needs at least 10 characters")
    if role in ("officer", "chief") and (contingent is None or party is not None):
        raise TrucelineError(f"a {role} belongs to a contingent: give --contingent")
    if role == "liaison" and (party is None or contingent is not None):
        raise TrucelineError("a liaison belongs to a party: give --party")
    if role == "admin" and (party is not None or contingent is not None):
        raise TrucelineError("an admin belongs to no contingent or party")
    require_schema(engine)
    with writing(engine) as conn:
        mission = load_mission(conn)
        if contingent is not None and contingent not in mission.contingents:
            raise TrucelineError(f"--contingent {contingent!r} is not a contingent")
        if party is not None and party not in mission.parties:
            raise TrucelineError(f"--party {party!r} is not a party")
        if conn.execute(select(t.users.c.id).where(t.users.c.name == name)).first() is not None:
            raise TrucelineError(f"user {name!r} exists already")
        sign = signer(conn, mission, keyring, contingent or acting)
        # The account is an entry of its contingent's log (or the acting one's); its password
        # hash is this node's own, never logged.
        by = sign.contingent if sign else (contingent or acting or next(iter(mission.contingents)))
        payload = {"user": name, "role": role, "contingent": contingent, "party": party}
        record(conn, mission, sign, actions.USER_ADDED, payload, acting=by)
        u = t.users
        conn.execute(
            update(u).where(u.c.name == name).values(password_hash=hash_password(password))
        )
        ident = conn.execute(select(u.c.id).where(u.c.name == name)).scalar_one()
        return User(int(ident), name, role, contingent, party)


def set_disabled(engine: Engine, name: str, *, disabled: bool, keyring: KeyRing | None) -> User:
    """Disable an account (it can no longer log in, its tokens stop working) or enable it; an
    entry of the log that holds the account."""
    require_schema(engine)
    with writing(engine) as conn:
        mission = load_mission(conn)
        row = conn.execute(select(t.users).where(t.users.c.name == name)).first()
        if row is None:
            raise TrucelineError(f"no user {name!r}")
        sign = signer(conn, mission, keyring, row.logged_by)
        record(
            conn, mission, sign, actions.USER_CHANGED, {"user": name, "disabled": disabled},
            acting=row.logged_by or next(iter(mission.contingents)),
        )  # fmt: skip
        if disabled:
            conn.execute(delete(t.tokens).where(t.tokens.c.user_id == row.id))
        return _user(row)


def authenticate(conn: Connection, name: str, password: str) -> User | None:
    row = conn.execute(select(t.users).where(t.users.c.name == name)).first()
    if row is None or row.password_hash is None or row.disabled or row.logged_by is None:
        check_password(password, "scrypt$16384$8$1$00$00")  # the same work for unknown names
        return None
    return _user(row) if check_password(password, row.password_hash) else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(conn: Connection, user: User) -> str:
    token = secrets.token_urlsafe(32)
    now = time.time_ns() // 1000
    conn.execute(delete(t.tokens).where(t.tokens.c.expires_at_us < now))
    conn.execute(
        insert(t.tokens).values(
            digest=_digest(token), user_id=user.id, expires_at_us=now + TOKEN_HOURS * 3_600_000_000
        )
    )
    return token


# Built once: every API request runs it (building a statement costs more than running it).
_BY_TOKEN = (
    select(t.users)
    .join(t.tokens, t.tokens.c.user_id == t.users.c.id)
    .where(
        t.tokens.c.digest == bindparam("digest"),
        t.tokens.c.expires_at_us > bindparam("now"),
        t.users.c.disabled == false(),
        t.users.c.logged_by.is_not(None),
    )
)


def user_for_token(conn: Connection, token: str) -> User | None:
    now = time.time_ns() // 1000
    row = conn.execute(_BY_TOKEN, {"digest": _digest(token), "now": now}).first()
    return None if row is None else _user(row)
