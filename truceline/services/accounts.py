"""Accounts: who may do what (roles), passwords (scrypt, with a strength policy), sessions and
API tokens (stored as their sha256 only, revoked by logout, `revoke` and `disable`)."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, bindparam, delete, false, func, insert, select, update
from zxcvbn import zxcvbn

from truceline.domain import actions
from truceline.domain.limits import PASSWORD_MAX, USER_NAME_MAX
from truceline.domain.passwords import check_password, hash_password
from truceline.errors import Conflict, FieldError, NotFound, Unauthenticated
from truceline.i18n.message import M
from truceline.services import throttle
from truceline.services.ledger import KeyRing, signer
from truceline.services.projector import record
from truceline.store import tables as t
from truceline.store.db import require_schema, writing
from truceline.store.missions import load_mission

ROLES = ("officer", "chief", "liaison", "admin")
TOKEN_HOURS = 12
SESSION, BEARER = "session", "bearer"  # a page's session cookie; the API's bearer token
PASSWORD_MIN = 10
PASSWORD_SCORE = 3  # zxcvbn's estimate: 3 is "safely unguessable" for an online attack


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
        raise FieldError(
            "role", M("{role!r} is not one of {roles}", role=role, roles=", ".join(ROLES))
        )
    if not re.fullmatch(r"[A-Za-z0-9._-]{2,64}", name):
        raise FieldError("name", M("{name!r}: 2 to 64 of A-Z a-z 0-9 . _ -", name=name[:80]))
    check_password_policy(password, name)
    if role in ("officer", "chief") and (contingent is None or party is not None):
        raise FieldError("contingent", M("a {role} belongs to a contingent: name it", role=role))
    if role == "liaison" and (party is None or contingent is not None):
        raise FieldError("party", M("a liaison belongs to a party: name it"))
    if role == "admin" and (party is not None or contingent is not None):
        raise FieldError("role", M("an admin belongs to no contingent or party"))
    require_schema(engine)
    with writing(engine) as conn:
        mission = load_mission(conn)
        if contingent is not None and contingent not in mission.contingents:
            raise FieldError(
                "contingent", M("{contingent!r} is not a contingent", contingent=contingent)
            )
        if party is not None and party not in mission.parties:
            raise FieldError("party", M("{party!r} is not a party", party=party))
        if conn.execute(select(t.users.c.id).where(t.users.c.name == name)).first() is not None:
            raise Conflict(M("user {name!r} exists already", name=name))
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
            raise NotFound(M("no user {name!r}", name=name))
        sign = signer(conn, mission, keyring, row.logged_by)
        record(
            conn, mission, sign, actions.USER_CHANGED, {"user": name, "disabled": disabled},
            acting=row.logged_by or next(iter(mission.contingents)),
        )  # fmt: skip
        if disabled:
            conn.execute(delete(t.tokens).where(t.tokens.c.user_id == row.id))
        return _user(row)


def check_password_policy(password: str, name: str = "") -> None:
    """Refuse a password that is short or easy to guess (zxcvbn: common passwords, words,
    sequences, repeats, the user's own name), saying why and what would do."""
    if len(password) < PASSWORD_MIN:
        raise FieldError("password", M("needs at least {n} characters", n=PASSWORD_MIN))
    if len(password) > PASSWORD_MAX:
        raise FieldError("password", M("is longer than {n} characters", n=PASSWORD_MAX))
    # zxcvbn's time grows with the length; what a longer password adds cannot lower its score
    estimate = zxcvbn(password[:100], user_inputs=[name, "truceline"])
    if estimate["score"] < PASSWORD_SCORE:
        feedback = estimate["feedback"]
        # zxcvbn's warning and suggestions are its own (English) words
        warning, suggestions = feedback.get("warning"), feedback.get("suggestions")
        why = warning.rstrip(".") if warning else M("it is easy to guess")
        advice = " ".join(suggestions) if suggestions else M("Use a few uncommon words.")
        raise FieldError(
            "password", M("too easy to guess ({why}). {advice}", why=why, advice=advice)
        )


def authenticate(conn: Connection, name: str, password: str) -> User | None:
    if len(name) > USER_NAME_MAX or len(password) > PASSWORD_MAX:
        return None  # refused before any work: such a name or password cannot exist
    row = conn.execute(select(t.users).where(t.users.c.name == name)).first()
    if row is None or row.password_hash is None or row.disabled or row.logged_by is None:
        check_password(password, "scrypt$16384$8$1$00$00")  # the same work for unknown names
        return None
    return _user(row) if check_password(password, row.password_hash) else None


def login(engine: Engine, name: str, password: str, *, address: str, kind: str = BEARER) -> str:
    """A new session or token for the user, after the throttle of (name, address) and the
    password; every failure counts towards the throttle, in the database."""
    with writing(engine) as conn:  # committed first: attempts made at once all count
        throttle.attempt(conn, name, address)
    with engine.connect() as conn:
        throttle.check(conn, name, address)
        user = authenticate(conn, name, password)
    if user is None:
        raise Unauthenticated(M("wrong user name or password"))
    with writing(engine) as conn:
        throttle.succeeded(conn, name, address)
        return issue_token(conn, user, kind=kind)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def issue_token(conn: Connection, user: User, *, kind: str = BEARER) -> str:
    token = secrets.token_urlsafe(32)
    now = time.time_ns() // 1000
    conn.execute(delete(t.tokens).where(t.tokens.c.expires_at_us < now))
    conn.execute(
        insert(t.tokens).values(
            digest=_digest(token), user_id=user.id, kind=kind, issued_at_us=now,
            expires_at_us=now + TOKEN_HOURS * 3_600_000_000,
        )
    )  # fmt: skip
    return token


def end_session(engine: Engine, token: str) -> None:
    """Log out: the session (or token) stops working now, on every worker."""
    with writing(engine) as conn:
        conn.execute(delete(t.tokens).where(t.tokens.c.digest == _digest(token)))


def revoke(engine: Engine, name: str) -> int:
    """End every session and token of a user now (it may log in again); how many ended."""
    with writing(engine) as conn:
        ident = _user_id(conn, name)
        return conn.execute(delete(t.tokens).where(t.tokens.c.user_id == ident)).rowcount


def set_password(engine: Engine, name: str, password: str) -> None:
    """A new password (this node's own, never logged); the user's sessions and tokens end."""
    check_password_policy(password, name)
    with writing(engine) as conn:
        ident = _user_id(conn, name)
        conn.execute(
            update(t.users)
            .where(t.users.c.id == ident)
            .values(password_hash=hash_password(password))
        )
        conn.execute(delete(t.tokens).where(t.tokens.c.user_id == ident))


def _user_id(conn: Connection, name: str) -> int:
    ident = conn.execute(select(t.users.c.id).where(t.users.c.name == name)).scalar()
    if ident is None:
        raise NotFound(M("no user {name!r}", name=name[:80]))
    return int(ident)


@dataclass(frozen=True)
class Account:
    """A user as `users list` and the admin page show it."""

    name: str
    role: str
    contingent: str | None
    party: str | None
    disabled: bool
    can_log_in: bool  # has a password on this node
    sessions: int  # sessions and tokens that work now
    logged_by: str | None


def list_users(conn: Connection) -> list[Account]:
    now = time.time_ns() // 1000
    live = (
        select(t.tokens.c.user_id, func.count().label("n"))
        .where(t.tokens.c.expires_at_us > now)
        .group_by(t.tokens.c.user_id)
        .subquery()
    )
    u = t.users
    rows = conn.execute(
        select(u, live.c.n).outerjoin(live, live.c.user_id == u.c.id).order_by(u.c.name)
    )
    return [
        Account(
            r.name,
            r.role,
            r.contingent,
            r.party,
            bool(r.disabled),
            r.password_hash is not None,
            int(r.n or 0),
            r.logged_by,
        )
        for r in rows
        if r.logged_by is not None
    ]


# Built once: every API request runs it (building a statement costs more than running it).
_BY_TOKEN = (
    select(t.users)
    .join(t.tokens, t.tokens.c.user_id == t.users.c.id)
    .where(
        t.tokens.c.digest == bindparam("digest"),
        t.tokens.c.kind == bindparam("kind"),
        t.tokens.c.expires_at_us > bindparam("now"),
        t.users.c.disabled == false(),
        t.users.c.logged_by.is_not(None),
    )
)


def user_for_token(conn: Connection, token: str, *, kind: str = BEARER) -> User | None:
    """The user of a session (kind SESSION) or an API token (BEARER): the one never works as
    the other."""
    if len(token) > 256:
        return None
    now = time.time_ns() // 1000
    row = conn.execute(_BY_TOKEN, {"digest": _digest(token), "kind": kind, "now": now}).first()
    return None if row is None else _user(row)
