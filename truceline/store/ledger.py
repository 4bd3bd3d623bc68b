"""Log entries in the database. Entries are only ever inserted; a log's head advances by a
conditional update, so two writers can never give one log two entries with the same seq."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from truceline.domain.ledger import GENESIS, Entry
from truceline.store import tables as t


def all_entries(conn: Connection) -> list[Entry]:
    e = t.ledger_entries
    return entries_of(conn.execute(select(e).order_by(e.c.contingent, e.c.seq, e.c.id)))


def genesis_entries(conn: Connection) -> list[Entry]:
    """The first entry of every log (they pin the keys the mission file does not)."""
    e = t.ledger_entries
    return entries_of(conn.execute(select(e).where(e.c.seq == 0, e.c.action == GENESIS)))


def entries_of(rows: Any) -> list[Entry]:
    return [
        Entry(
            contingent=row.contingent,
            seq=int(row.seq),
            prev=row.prev,
            seen=json.loads(row.seen),
            time=int(row.time_us),
            actor=row.actor,
            action=row.action,
            payload=json.loads(row.payload),
            hash=row.hash,
            sig=row.sig,
            v=int(row.v),
        )
        for row in rows
    ]


def heads(conn: Connection) -> dict[str, tuple[int, str]]:
    h = t.ledger_heads
    return {row.contingent: (int(row.seq), row.hash) for row in conn.execute(select(h))}


def started(conn: Connection) -> bool:
    e = t.ledger_entries
    return conn.execute(select(e.c.id).where(e.c.action == GENESIS).limit(1)).first() is not None


def insert_entry(conn: Connection, entry: Entry) -> None:
    conn.execute(
        insert(t.ledger_entries).values(
            contingent=entry.contingent,
            seq=entry.seq,
            prev=entry.prev,
            seen=json.dumps(dict(entry.seen), sort_keys=True),
            time_us=entry.time,
            actor=entry.actor,
            action=entry.action,
            payload=json.dumps(dict(entry.payload), sort_keys=True, ensure_ascii=False),
            hash=entry.hash,
            sig=entry.sig,
            v=entry.v,
            subject=subject_of(entry),
        )
    )


SUBJECTS = {"report_signed": "date"}  # action -> the payload field an entry is found by


def subject_of(entry: Entry) -> str | None:
    field = SUBJECTS.get(entry.action)
    value = entry.payload.get(field) if field is not None else None
    return value[:64] if isinstance(value, str) else None


def lock_head(conn: Connection, contingent: str) -> None:
    """Hold the log's head row until the transaction ends (PostgreSQL: `FOR UPDATE`; a SQLite
    write transaction holds the whole database already): a second writer of the same log
    waits, then reads the head this one wrote, instead of losing race after race."""
    h = t.ledger_heads
    conn.execute(select(h.c.seq).where(h.c.contingent == contingent).with_for_update())


def advance_head(
    conn: Connection, contingent: str, expected: tuple[int, str] | None, new: tuple[int, str]
) -> bool:
    """Move the log's head from `expected` to `new`; False if another writer moved it first."""
    h = t.ledger_heads
    if expected is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(h).values(contingent=contingent, seq=new[0], hash=new[1]))
        except IntegrityError:
            return False
        return True
    result = conn.execute(
        update(h)
        .where(h.c.contingent == contingent, h.c.seq == expected[0], h.c.hash == expected[1])
        .values(seq=new[0], hash=new[1])
    )
    return result.rowcount == 1


def time_of(conn: Connection, contingent: str, head: tuple[int, str] | None) -> int:
    """The time of a log's head entry (0 for a log not started)."""
    if head is None:
        return 0
    e = t.ledger_entries
    found = conn.execute(
        select(e.c.time_us).where(e.c.contingent == contingent, e.c.hash == head[1])
    ).scalar()
    return 0 if found is None else int(found)
