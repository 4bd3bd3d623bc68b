"""The login throttle: failed logins kept in the database, so that every worker of a node (and
the login page as well as the API) counts the same failures.

Failures are counted per (user name, client address) pair: five in a quarter of an hour
refuse that pair until the quarter has passed, so a guesser is slowed and the real user,
logging in from elsewhere, is not. An address that fails with many names (more than
`ADDRESS_FAILURES` in the window) is refused for every name. A name is kept as its sha256 and
an address cut to 64 characters: the table's rows have a fixed size, whatever was typed, and
rows older than the window are deleted as new failures come in.
"""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import Connection, delete, func, insert, select

from truceline.errors import Throttled
from truceline.store import tables as t

PAIR_FAILURES = 5  # failed logins of one name from one address within WINDOW_S, then refused
ADDRESS_FAILURES = 50  # failed logins of any names from one address within WINDOW_S
WINDOW_S = 900
ADDRESS_MAX = 64
NAME_KEPT = 256  # more than any account's name: what is hashed of what was typed

_f = t.login_failures


def _key(name: str, address: str) -> tuple[str, str]:
    named = name[:NAME_KEPT].encode("utf-8", "replace")
    return hashlib.sha256(named).hexdigest(), address[:ADDRESS_MAX]


def _now_us() -> int:
    return time.time_ns() // 1000


def check(conn: Connection, name: str, address: str) -> None:
    """Refuse (Throttled) when this pair, or this address, has failed too often lately."""
    digest, where = _key(name, address)
    since = _now_us() - WINDOW_S * 1_000_000
    pair = conn.execute(
        select(func.count()).where(
            _f.c.name_digest == digest, _f.c.address == where, _f.c.at_us > since
        )
    ).scalar_one()
    if pair >= PAIR_FAILURES:
        raise Throttled(
            f"too many failed logins for this name from here: wait {WINDOW_S // 60} minutes"
        )
    overall = conn.execute(
        select(func.count()).where(_f.c.address == where, _f.c.at_us > since)
    ).scalar_one()
    if overall >= ADDRESS_FAILURES:
        raise Throttled(f"too many failed logins from here: wait {WINDOW_S // 60} minutes")


def failed(conn: Connection, name: str, address: str) -> None:
    digest, where = _key(name, address)
    now = _now_us()
    conn.execute(delete(_f).where(_f.c.at_us <= now - WINDOW_S * 1_000_000))
    conn.execute(insert(_f).values(name_digest=digest, address=where, at_us=now))


def succeeded(conn: Connection, name: str, address: str) -> None:
    digest, where = _key(name, address)
    conn.execute(delete(_f).where(_f.c.name_digest == digest, _f.c.address == where))
