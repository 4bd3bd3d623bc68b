"""The login throttle: login attempts kept in the database, so that every worker of a node
(and the login page as well as the API) counts the same ones.

Attempts are counted per (user name, client address) pair: an attempt is recorded (and
committed) before its password is checked, and is refused if the pair has made more than
`PAIR_FAILURES` attempts in the window that did not succeed; a success clears the pair. So
guesses sent at the same time count as well as guesses one after another, a guesser is
slowed to five guesses a quarter, and the real user, logging in from elsewhere, is not
affected. There is deliberately no limit per address alone: clients behind one NAT (both
contingents at one centre) would lock each other out. A name is kept as its sha256 and an
address cut to 64 characters: rows have a fixed size whatever was typed, and rows older than
the window are deleted as new attempts come in.
"""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import Connection, delete, func, insert, select

from truceline.errors import Throttled
from truceline.i18n.message import M
from truceline.store import tables as t

PAIR_FAILURES = 5  # failed logins of one name from one address within WINDOW_S, then refused
WINDOW_S = 900
ADDRESS_MAX = 64
NAME_KEPT = 256  # more than any account's name: what is hashed of what was typed

_f = t.login_failures


def _key(name: str, address: str) -> tuple[str, str]:
    named = name[:NAME_KEPT].encode("utf-8", "replace")
    return hashlib.sha256(named).hexdigest(), address[:ADDRESS_MAX]


def _now_us() -> int:
    return time.time_ns() // 1000


def attempt(conn: Connection, name: str, address: str) -> None:
    """Record an attempt of this pair (call in its own, committed transaction), then refuse
    (Throttled) if the pair has made too many attempts lately that did not succeed."""
    digest, where = _key(name, address)
    now = _now_us()
    since = now - WINDOW_S * 1_000_000
    conn.execute(delete(_f).where(_f.c.at_us <= since))
    conn.execute(insert(_f).values(name_digest=digest, address=where, at_us=now))


def check(conn: Connection, name: str, address: str) -> None:
    """Refuse (Throttled) when this pair has made more than PAIR_FAILURES attempts in the
    window that did not succeed (the attempt being made included)."""
    digest, where = _key(name, address)
    since = _now_us() - WINDOW_S * 1_000_000
    made = conn.execute(
        select(func.count()).where(
            _f.c.name_digest == digest, _f.c.address == where, _f.c.at_us > since
        )
    ).scalar_one()
    if made > PAIR_FAILURES:
        raise Throttled(
            M(
                "too many failed logins for this name from here: wait {minutes} minutes",
                minutes=WINDOW_S // 60,
            )
        )


def succeeded(conn: Connection, name: str, address: str) -> None:
    digest, where = _key(name, address)
    conn.execute(delete(_f).where(_f.c.name_digest == digest, _f.c.address == where))
