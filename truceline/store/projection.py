"""The joint state in the tables: the one place that writes the projections of the entries.
`SqlState` implements the actions' `State` over a connection; a transition is a conditional
`UPDATE … WHERE state IN (…)` whose row count is checked."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from truceline.domain.actions.base import CaseRec, FilingRec, Refused, RoundRec, UserRec
from truceline.domain.cases import Position
from truceline.store import tables as t

# What `ledger rebuild` re-derives and `ledger verify` compares, with the columns compared
# (local numbers and local secrets left out) and the columns that order the rows.
PROJECTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cases": (
        ("key", "subject_key", "subject", "opened_at_us", "opened_by", "state", "duplicate_of",
         "round", "verdict"),
        ("key",),
    ),
    "rounds": (
        ("case_key", "number", "state", "opened_at_us", "opened_by", "reason", "verdict",
         "revealed_at_us"),
        ("case_key", "number"),
    ),
    "assessments": (
        ("case_key", "round", "contingent", "commitment", "filed_at_us", "actor", "verdict",
         "attribution", "rationale", "salt", "revealed_at_us"),
        ("commitment",),
    ),
    "complaints": (
        ("key", "party", "received_at_us", "due_us", "observed_from_us", "observed_to_us",
         "lat_e7", "lon_e7", "zone", "kind", "against", "narrative", "attachments", "filed_by",
         "received_by"),
        ("key",),
    ),
    "complaint_receipts": (
        ("complaint_key", "contingent", "received_at_us"), ("complaint_key", "contingent"),
    ),
    "retractions": (("observation_uid", "contingent", "reason", "at_us"), ("observation_uid",)),
    "users": (("name", "role", "contingent", "party", "disabled", "logged_by"), ("name",)),
}  # fmt: skip


def snapshot(conn: Connection) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """Every projection's rows as compared: table → {row's key → its compared values}."""
    result: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = {}
    for name, (columns, keys) in PROJECTIONS.items():
        table = t.metadata.tables[name]
        rows = conn.execute(select(*[table.c[c] for c in columns]))
        at = [columns.index(k) for k in keys]
        result[name] = {
            tuple(row[i] for i in at): tuple(
                bool(v) if columns[j] == "disabled" else v for j, v in enumerate(row)
            )
            for row in rows
        }
    return result


def clear(conn: Connection) -> None:
    """Empty every projection, keeping what is local: an account's row stays with its password
    hash but is no account until an entry makes it again (`logged_by` cleared); sealed
    positions stay."""
    for name in PROJECTIONS:
        if name != "users":
            conn.execute(delete(t.metadata.tables[name]))
    conn.execute(update(t.users).values(logged_by=None))


def drop_unlogged_users(conn: Connection) -> int:
    """Remove the account rows that no entry made (and their tokens); how many."""
    u = t.users
    stale = [int(i) for i in conn.execute(select(u.c.id).where(u.c.logged_by.is_(None))).scalars()]
    if stale:
        conn.execute(delete(t.tokens).where(t.tokens.c.user_id.in_(stale)))
        conn.execute(delete(u).where(u.c.id.in_(stale)))
    return len(stale)


class SqlState:
    """The joint state over `conn`; evidence (observations) is read from `evidence` (the same
    connection, or the database being verified when rebuilding elsewhere)."""

    def __init__(
        self,
        conn: Connection,
        *,
        contingents: Sequence[str],
        parties: Collection[str],
        response_us: int,
        evidence: Connection | None = None,
    ) -> None:
        self.conn = conn
        self.evidence = evidence or conn
        self.contingents = contingents
        self.parties = parties
        self.response_us = response_us

    # cases
    def _case(self, row: Any) -> CaseRec:
        return CaseRec(
            row.key, row.subject_key, json.loads(row.subject), int(row.opened_at_us),
            row.opened_by, row.state, row.duplicate_of, int(row.round), row.verdict,
        )  # fmt: skip

    def case(self, key: str) -> CaseRec | None:
        row = self.conn.execute(select(t.cases).where(t.cases.c.key == key)).first()
        return None if row is None else self._case(row)

    def cases_on(self, subject_key: str) -> list[CaseRec]:
        c = t.cases
        rows = self.conn.execute(select(c).where(c.c.subject_key == subject_key).order_by(c.c.id))
        return [self._case(row) for row in rows]

    def add_case(self, case: CaseRec) -> None:
        self.conn.execute(
            insert(t.cases).values(
                key=case.key, subject_key=case.subject_key,
                subject=json.dumps(case.subject, sort_keys=True), opened_at_us=case.opened_at,
                opened_by=case.opened_by, state=case.state, duplicate_of=case.duplicate_of,
                round=case.round, verdict=case.verdict,
            )
        )  # fmt: skip

    def set_duplicate(self, key: str, of: str | None) -> None:
        self.conn.execute(update(t.cases).where(t.cases.c.key == key).values(duplicate_of=of))

    def move_case(self, key: str, expect: Collection[str], **values: Any) -> None:
        c = t.cases
        moved = self.conn.execute(
            update(c).where(c.c.key == key, c.c.state.in_(list(expect))).values(**values)
        )
        if moved.rowcount != 1:
            raise Refused(f"case {key[:12]}… is not {' or '.join(expect)}: it changed meanwhile")

    # rounds
    def round(self, case: str, number: int) -> RoundRec | None:
        r = t.rounds
        row = self.conn.execute(select(r).where(r.c.case_key == case, r.c.number == number)).first()
        if row is None:
            return None
        return RoundRec(
            row.case_key, int(row.number), row.state, int(row.opened_at_us), row.opened_by,
            row.reason, row.verdict,
        )  # fmt: skip

    def add_round(self, rec: RoundRec) -> None:
        self.conn.execute(
            insert(t.rounds).values(
                case_key=rec.case, number=rec.number, state=rec.state,
                opened_at_us=rec.opened_at, opened_by=rec.opened_by, reason=rec.reason,
            )
        )  # fmt: skip

    def move_round(self, case: str, number: int, expect: str, **values: Any) -> None:
        r = t.rounds
        moved = self.conn.execute(
            update(r)
            .where(r.c.case_key == case, r.c.number == number, r.c.state == expect)
            .values(**values)
        )
        if moved.rowcount != 1:
            raise Refused(f"round {number} of case {case[:12]}… is not {expect}")

    # filings
    def filings(self, case: str, number: int) -> dict[str, FilingRec]:
        a = t.assessments
        rows = self.conn.execute(
            select(a).where(a.c.case_key == case, a.c.round == number).order_by(a.c.id)
        )
        return {
            row.contingent: FilingRec(
                row.case_key, int(row.round), row.contingent, row.commitment,
                int(row.filed_at_us), row.actor,
                None if row.verdict is None
                else Position(row.verdict, row.attribution, row.rationale),
            )
            for row in rows
        }  # fmt: skip

    def add_filing(self, rec: FilingRec) -> None:
        self.conn.execute(
            insert(t.assessments).values(
                case_key=rec.case, round=rec.round, contingent=rec.contingent,
                commitment=rec.commitment, filed_at_us=rec.filed_at, actor=rec.actor,
            )
        )  # fmt: skip

    def reveal_filing(self, commitment: str, position: Position, salt: str, at: int) -> None:
        a = t.assessments
        self.conn.execute(
            update(a)
            .where(a.c.commitment == commitment, a.c.revealed_at_us.is_(None))
            .values(
                verdict=position.verdict, attribution=position.attribution,
                rationale=position.rationale, salt=salt, revealed_at_us=at,
            )
        )  # fmt: skip
        self.conn.execute(
            delete(t.sealed_positions).where(t.sealed_positions.c.commitment == commitment)
        )

    # complaints
    def complaint_known(self, key: str) -> bool:
        c = t.complaints
        return self.conn.execute(select(c.c.id).where(c.c.key == key)).first() is not None

    def add_complaint(self, key: str, document: dict[str, Any], at: int, by: str) -> None:
        d = document
        self.conn.execute(
            insert(t.complaints).values(
                key=key, party=d["party"], received_at_us=at, due_us=at + self.response_us,
                observed_from_us=d["observed_from"], observed_to_us=d["observed_to"],
                lat_e7=d.get("lat_e7"), lon_e7=d.get("lon_e7"), zone=d.get("zone"),
                kind=d["kind"], against=d["against"], narrative=d["narrative"],
                attachments=json.dumps(d.get("attachments", []), sort_keys=True),
                filed_by=d["filed_by"], received_by=by,
            )
        )  # fmt: skip

    def receipts(self, key: str) -> dict[str, int]:
        r = t.complaint_receipts
        rows = self.conn.execute(
            select(r.c.contingent, r.c.received_at_us).where(r.c.complaint_key == key)
        )
        return {c: int(at) for c, at in rows}

    def add_receipt(self, key: str, contingent: str, at: int) -> None:
        self.conn.execute(
            insert(t.complaint_receipts).values(
                complaint_key=key, contingent=contingent, received_at_us=at
            )
        )
        c = t.complaints
        # The clock runs from the first receipt, whichever node's arrives first here.
        self.conn.execute(
            update(c)
            .where(c.c.key == key, c.c.received_at_us > at)
            .values(received_at_us=at, due_us=at + self.response_us, received_by=contingent)
        )

    # accounts
    def user(self, name: str) -> UserRec | None:
        u = t.users
        row = self.conn.execute(select(u).where(u.c.name == name)).first()
        if row is None or row.logged_by is None:
            return None  # a row no entry made is no account of the joint record
        return UserRec(
            row.name, row.role, row.contingent, row.party, bool(row.disabled), row.logged_by
        )

    def put_user(self, rec: UserRec, at: int) -> None:
        u = t.users
        values = {
            "role": rec.role, "contingent": rec.contingent, "party": rec.party,
            "disabled": rec.disabled, "logged_by": rec.logged_by,
        }  # fmt: skip
        moved = self.conn.execute(update(u).where(u.c.name == rec.name).values(**values))
        if moved.rowcount == 0:
            self.conn.execute(insert(u).values(name=rec.name, created_at_us=at, **values))

    # corrections
    def observation_reporter(self, uid: str) -> str | None:
        o = t.observations
        found = self.evidence.execute(select(o.c.reporter).where(o.c.uid == uid)).scalar()
        return None if found is None else str(found)

    def retracted(self, uid: str) -> bool:
        r = t.retractions
        return (
            self.conn.execute(select(r.c.at_us).where(r.c.observation_uid == uid)).first()
            is not None
        )

    def add_retraction(self, uid: str, contingent: str, reason: str, at: int) -> None:
        self.conn.execute(
            insert(t.retractions).values(
                observation_uid=uid, contingent=contingent, reason=reason, at_us=at
            )
        )
