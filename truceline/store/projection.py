"""The joint state: the one implementation of the actions' `State` (`ProjectedState`), over
rows kept either in the tables (`SqlRows`: every local change and every import; a transition is
a conditional `UPDATE … WHERE state IN (…)` whose row count is checked) or in memory
(`MemoryRows`: `ledger verify` re-derives every projection there and compares, and `ledger
rebuild` writes what it derived back in bulk). Both stores hold the same rows, named by the
same natural keys, so a rebuild from every entry and the incremental tables can be compared."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any, Protocol

from sqlalchemy import Connection, and_, delete, insert, or_, select, true, update

from truceline.domain.actions.base import CaseRec, FilingRec, Refused, RoundRec, UserRec
from truceline.domain.cases import Position
from truceline.i18n.message import M
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
SEALED = "sealed_positions"  # local: the positions filed here and not revealed yet
KEYS = {**{name: keys for name, (_, keys) in PROJECTIONS.items()}, SEALED: ("commitment",)}
Key = tuple[Any, ...]
Row = dict[str, Any]


def _compared(name: str, row: Row) -> tuple[Key, tuple[Any, ...]]:
    columns, keys = PROJECTIONS[name]
    values = tuple(bool(row.get(c)) if c == "disabled" else row.get(c) for c in columns)
    return tuple(row[k] for k in keys), values


def snapshot(conn: Connection) -> dict[str, dict[Key, tuple[Any, ...]]]:
    """Every projection's rows as compared: table → {row's key → its compared values}."""
    result: dict[str, dict[Key, tuple[Any, ...]]] = {}
    for name, (columns, _) in PROJECTIONS.items():
        table = t.metadata.tables[name]
        rows = conn.execute(select(*[table.c[c] for c in columns]))
        result[name] = dict(_compared(name, row._asdict()) for row in rows)
    return result


class SqlRows:
    """Rows in the tables, by their natural keys."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _where(self, name: str, equal: dict[str, Any]) -> Any:
        table = t.metadata.tables[name]
        return and_(true(), *[table.c[c] == v for c, v in equal.items()])

    def _keyed(self, name: str, key: Key) -> dict[str, Any]:
        return dict(zip(KEYS[name], key, strict=True))

    def get(self, name: str, key: Key) -> Row | None:
        table = t.metadata.tables[name]
        row = self.conn.execute(select(table).where(self._where(name, self._keyed(name, key))))
        found = row.first()
        return None if found is None else found._asdict()

    def find(self, name: str, **equal: Any) -> list[Row]:
        table = t.metadata.tables[name]
        order = table.c.id if "id" in table.c else table.c[KEYS[name][0]]
        rows = self.conn.execute(select(table).where(self._where(name, equal)).order_by(order))
        return [row._asdict() for row in rows]

    def insert(self, name: str, row: Row) -> None:
        self.conn.execute(insert(t.metadata.tables[name]).values(**row))

    def update(
        self, name: str, key: Key, values: Row, expect: dict[str, Collection[Any]] | None = None
    ) -> bool:
        table = t.metadata.tables[name]
        where = self._where(name, self._keyed(name, key))
        for column, allowed in (expect or {}).items():
            values_allowed = [v for v in allowed if v is not None]
            test = table.c[column].in_(values_allowed)
            where = and_(where, or_(test, table.c[column].is_(None)) if None in allowed else test)
        return bool(self.conn.execute(update(table).where(where).values(**values)).rowcount == 1)

    def delete(self, name: str, key: Key) -> None:
        table = t.metadata.tables[name]
        self.conn.execute(delete(table).where(self._where(name, self._keyed(name, key))))


class MemoryRows:
    """Rows in memory, in the order they were made, by their natural keys; an index per set
    of columns looked up (those are never changed once made)."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[Key, Row]] = {name: {} for name in KEYS}
        self.indexes: dict[tuple[str, tuple[str, ...]], dict[Key, list[Key]]] = {}

    def get(self, name: str, key: Key) -> Row | None:
        return self.tables[name].get(key)

    def _index(self, name: str, columns: tuple[str, ...]) -> dict[Key, list[Key]]:
        index = self.indexes.get((name, columns))
        if index is None:
            index = {}
            for key, row in self.tables[name].items():
                index.setdefault(tuple(row.get(c) for c in columns), []).append(key)
            self.indexes[(name, columns)] = index
        return index

    def find(self, name: str, **equal: Any) -> list[Row]:
        columns = tuple(sorted(equal))
        keys = self._index(name, columns).get(tuple(equal[c] for c in columns), [])
        return [self.tables[name][k] for k in keys]

    def insert(self, name: str, row: Row) -> None:
        key = tuple(row[k] for k in KEYS[name])
        if key in self.tables[name]:
            raise Refused(M("{table} {key} exists already", table=name, key=key))
        self.tables[name][key] = dict(row)
        for (table, columns), index in self.indexes.items():
            if table == name:
                index.setdefault(tuple(row.get(c) for c in columns), []).append(key)

    def update(
        self, name: str, key: Key, values: Row, expect: dict[str, Collection[Any]] | None = None
    ) -> bool:
        row = self.tables[name].get(key)
        if row is None or any(row.get(c) not in allowed for c, allowed in (expect or {}).items()):
            return False
        row.update(values)
        return True

    def delete(self, name: str, key: Key) -> None:
        self.tables[name].pop(key, None)  # only sealed positions are deleted (never indexed)

    def snapshot(self) -> dict[str, dict[Key, tuple[Any, ...]]]:
        return {
            name: dict(_compared(name, row) for row in self.tables[name].values())
            for name in PROJECTIONS
        }


class Rows(Protocol):
    def get(self, name: str, key: Key) -> Row | None: ...
    def find(self, name: str, **equal: Any) -> list[Row]: ...
    def insert(self, name: str, row: Row) -> None: ...
    def update(
        self, name: str, key: Key, values: Row, expect: dict[str, Collection[Any]] | None = None
    ) -> bool: ...
    def delete(self, name: str, key: Key) -> None: ...


def clear(conn: Connection) -> None:
    """Empty every projection, keeping what is local: an account's row stays with its password
    hash but is no account until an entry makes it again (`logged_by` cleared); sealed
    positions stay."""
    for name in PROJECTIONS:
        if name != "users":
            conn.execute(delete(t.metadata.tables[name]))
    conn.execute(update(t.users).values(logged_by=None))


def write(conn: Connection, rows: MemoryRows) -> None:
    """Replace the projections in the tables by rows derived in memory (in bulk, in the order
    they were made, so local numbers follow that order); accounts keep their password hash,
    an account no entry made is removed; positions sealed here that the entries reveal go."""
    clear(conn)
    for name in PROJECTIONS:
        if name == "users":
            continue
        made = list(rows.tables[name].values())
        if made:
            conn.execute(insert(t.metadata.tables[name]), made)
    u = t.users
    for user in rows.tables["users"].values():
        values = {k: v for k, v in user.items() if k not in ("name", "created_at_us")}
        if not conn.execute(update(u).where(u.c.name == user["name"]).values(**values)).rowcount:
            conn.execute(insert(u).values(**user))
    drop_unlogged_users(conn)
    revealed = [row["commitment"] for row in rows.tables["assessments"].values()
                if row.get("revealed_at_us") is not None]  # fmt: skip
    s = t.sealed_positions
    for part in range(0, len(revealed), 5000):
        conn.execute(delete(s).where(s.c.commitment.in_(revealed[part : part + 5000])))


def drop_unlogged_users(conn: Connection) -> int:
    """Remove the account rows that no entry made (and their tokens and reads); how many."""
    u = t.users
    stale = [int(i) for i in conn.execute(select(u.c.id).where(u.c.logged_by.is_(None))).scalars()]
    if stale:
        conn.execute(delete(t.tokens).where(t.tokens.c.user_id.in_(stale)))
        conn.execute(delete(t.report_reads).where(t.report_reads.c.user_id.in_(stale)))
        conn.execute(delete(u).where(u.c.id.in_(stale)))
    return len(stale)


def _case(row: Row) -> CaseRec:
    return CaseRec(
        row["key"], row["subject_key"], json.loads(row["subject"]), int(row["opened_at_us"]),
        row["opened_by"], row["state"], row["duplicate_of"], int(row["round"]), row["verdict"],
    )  # fmt: skip


def _filing(row: Row) -> FilingRec:
    known = row.get("verdict") is not None
    return FilingRec(
        row["case_key"], int(row["round"]), row["contingent"], row["commitment"],
        int(row["filed_at_us"]), row["actor"],
        Position(row["verdict"], row["attribution"], row["rationale"]) if known else None,
    )  # fmt: skip


class ProjectedState:
    """The actions' `State` over rows; evidence (who reported an observation) is read from the
    database the entries are about."""

    def __init__(
        self,
        rows: Rows,
        *,
        evidence: Connection,
        contingents: Sequence[str],
        parties: Collection[str],
        response_us: int,
    ) -> None:
        self.rows = rows
        self.evidence = evidence
        self.contingents = contingents
        self.parties = parties
        self.response_us = response_us

    # cases
    def case(self, key: str) -> CaseRec | None:
        row = self.rows.get("cases", (key,))
        return None if row is None else _case(row)

    def cases_on(self, subject_key: str) -> list[CaseRec]:
        return [_case(row) for row in self.rows.find("cases", subject_key=subject_key)]

    def add_case(self, case: CaseRec) -> None:
        self.rows.insert("cases", {
            "key": case.key, "subject_key": case.subject_key,
            "subject": json.dumps(case.subject, sort_keys=True), "opened_at_us": case.opened_at,
            "opened_by": case.opened_by, "state": case.state, "duplicate_of": case.duplicate_of,
            "round": case.round, "verdict": case.verdict,
        })  # fmt: skip

    def set_duplicate(self, key: str, of: str | None) -> None:
        self.rows.update("cases", (key,), {"duplicate_of": of})

    def move_case(self, key: str, expect: Collection[str], **values: Any) -> None:
        if not self.rows.update("cases", (key,), values, {"state": expect}):
            raise Refused(
                M(
                    "case {case}… is not {states}: it changed meanwhile",
                    case=key[:12],
                    states=" or ".join(expect),
                )
            )

    # rounds
    def round(self, case: str, number: int) -> RoundRec | None:
        row = self.rows.get("rounds", (case, number))
        if row is None:
            return None
        return RoundRec(
            row["case_key"], int(row["number"]), row["state"], int(row["opened_at_us"]),
            row["opened_by"], row["reason"], row.get("verdict"),
        )  # fmt: skip

    def add_round(self, rec: RoundRec) -> None:
        self.rows.insert("rounds", {
            "case_key": rec.case, "number": rec.number, "state": rec.state,
            "opened_at_us": rec.opened_at, "opened_by": rec.opened_by, "reason": rec.reason,
            "verdict": None, "revealed_at_us": None,
        })  # fmt: skip

    def move_round(self, case: str, number: int, expect: str, **values: Any) -> None:
        if not self.rows.update("rounds", (case, number), values, {"state": (expect,)}):
            raise Refused(
                M(
                    "round {round} of case {case}… is not {state}",
                    round=number,
                    case=case[:12],
                    state=expect,
                )
            )

    # filings
    def filings(self, case: str, number: int) -> dict[str, FilingRec]:
        found = self.rows.find("assessments", case_key=case, round=number)
        return {row["contingent"]: _filing(row) for row in found}

    def add_filing(self, rec: FilingRec) -> None:
        self.rows.insert("assessments", {
            "case_key": rec.case, "round": rec.round, "contingent": rec.contingent,
            "commitment": rec.commitment, "filed_at_us": rec.filed_at, "actor": rec.actor,
            "verdict": None, "attribution": None, "rationale": None, "salt": None,
            "revealed_at_us": None,
        })  # fmt: skip

    def reveal_filing(self, commitment: str, position: Position, salt: str, at: int) -> None:
        values = {
            "verdict": position.verdict, "attribution": position.attribution,
            "rationale": position.rationale, "salt": salt, "revealed_at_us": at,
        }  # fmt: skip
        self.rows.update("assessments", (commitment,), values, {"revealed_at_us": (None,)})
        self.rows.delete(SEALED, (commitment,))

    # complaints
    def complaint_known(self, key: str) -> bool:
        return self.rows.get("complaints", (key,)) is not None

    def add_complaint(self, key: str, document: dict[str, Any], at: int, by: str) -> None:
        d = document
        self.rows.insert("complaints", {
            "key": key, "party": d["party"], "received_at_us": at, "due_us": at + self.response_us,
            "observed_from_us": d["observed_from"], "observed_to_us": d["observed_to"],
            "lat_e7": d.get("lat_e7"), "lon_e7": d.get("lon_e7"), "zone": d.get("zone"),
            "kind": d["kind"], "against": d["against"], "narrative": d["narrative"],
            "attachments": json.dumps(d.get("attachments", []), sort_keys=True),
            "filed_by": d["filed_by"], "received_by": by,
        })  # fmt: skip

    def receipts(self, key: str) -> dict[str, int]:
        found = self.rows.find("complaint_receipts", complaint_key=key)
        return {row["contingent"]: int(row["received_at_us"]) for row in found}

    def add_receipt(self, key: str, contingent: str, at: int) -> None:
        self.rows.insert("complaint_receipts", {
            "complaint_key": key, "contingent": contingent, "received_at_us": at,
        })  # fmt: skip
        complaint = self.rows.get("complaints", (key,))
        # The clock runs from the first receipt, whichever node's arrives first here.
        if complaint is not None and complaint["received_at_us"] > at:
            self.rows.update("complaints", (key,), {
                "received_at_us": at, "due_us": at + self.response_us, "received_by": contingent,
            })  # fmt: skip

    # accounts
    def user(self, name: str) -> UserRec | None:
        row = self.rows.get("users", (name,))
        if row is None or row.get("logged_by") is None:
            return None  # a row no entry made is no account of the joint record
        return UserRec(
            row["name"], row["role"], row["contingent"], row["party"], bool(row["disabled"]),
            row["logged_by"],
        )  # fmt: skip

    def put_user(self, rec: UserRec, at: int) -> None:
        values = {
            "role": rec.role, "contingent": rec.contingent, "party": rec.party,
            "disabled": rec.disabled, "logged_by": rec.logged_by,
        }  # fmt: skip
        if not self.rows.update("users", (rec.name,), values):
            self.rows.insert("users", {"name": rec.name, "created_at_us": at, **values})

    # corrections
    def observation_reporter(self, uid: str) -> str | None:
        o = t.observations
        found = self.evidence.execute(select(o.c.reporter).where(o.c.uid == uid)).scalar()
        return None if found is None else str(found)

    def retracted(self, uid: str) -> bool:
        return self.rows.get("retractions", (uid,)) is not None

    def add_retraction(self, uid: str, contingent: str, reason: str, at: int) -> None:
        self.rows.insert("retractions", {
            "observation_uid": uid, "contingent": contingent, "reason": reason, "at_us": at,
        })  # fmt: skip
