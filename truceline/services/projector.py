"""The one projector: every joint state is derived from the entries by applying each entry's
action (`domain/actions/`) to the tables. A local use case appends its entry and applies it
(`record`); an imported entry is applied the same way; `derive` re-applies every entry in
memory, for `ledger verify` to compare with the tables, and `rebuild` writes what it derives."""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection

from truceline.domain import actions
from truceline.domain.actions.base import Refused
from truceline.domain.ledger import Entry, Fault
from truceline.errors import TrucelineError
from truceline.i18n.message import M, joined
from truceline.mission import Mission
from truceline.services.ledger import Signer
from truceline.store import ledger as repo
from truceline.store import projection

US = 1_000_000


def state_of(
    rows: projection.Rows, mission: Mission, evidence: Connection
) -> projection.ProjectedState:
    return projection.ProjectedState(
        rows,
        evidence=evidence,
        contingents=list(mission.contingents),
        parties=set(mission.parties),
        response_us=int(mission.response_hours * 3600 * US),
    )


def apply_entry(conn: Connection, mission: Mission, entry: Entry) -> None:
    """Apply one entry to the tables; refused (naming why) when it cannot take effect."""
    try:
        actions.apply(state_of(projection.SqlRows(conn), mission, conn), entry)
    except Refused as exc:
        raise TrucelineError(exc.args[0] if exc.args else "") from None


def record(
    conn: Connection,
    mission: Mission,
    sign: Signer | None,
    action: str,
    payload: dict[str, Any],
    *,
    acting: str,
    actor: str | None = None,
) -> Entry:
    """A local change: appended to the acting contingent's log (once the logs are started),
    then applied by the projector like any entry. Before the logs start, the same entry is
    applied unsigned and not kept."""
    if sign is not None:
        entry = sign.log(conn, mission, action, payload, actor=actor)
    else:
        body = Entry(acting, 0, None, {}, time.time_ns() // 1000, actor or acting, action, payload)
        entry = replace(body, hash=body.computed_hash())
    apply_entry(conn, mission, entry)
    return entry


def causal_order(entries: Iterable[Entry]) -> list[Entry]:
    """The entries in an order every node computes alike: each after its log's previous entry
    and after every entry it had seen; among those ready, by (time, contingent, seq)."""
    entries = list(entries)
    by_hash = {(e.contingent, e.hash): e for e in entries}
    waiting: dict[int, int] = {}
    dependants: dict[int, list[Entry]] = {}
    by_seq = {(e.contingent, e.seq): e for e in entries}
    ready: list[tuple[int, str, int, int]] = []
    index = {id(e): e for e in entries}
    for entry in entries:
        needs = []
        before = by_seq.get((entry.contingent, entry.seq - 1)) if entry.seq > 0 else None
        if before is not None:
            needs.append(before)
        needs += [by_hash[(c, h)] for c, h in entry.seen.items() if (c, h) in by_hash]
        waiting[id(entry)] = len(needs)
        for need in needs:
            dependants.setdefault(id(need), []).append(entry)
        if not needs:
            heapq.heappush(ready, (entry.time, entry.contingent, entry.seq, id(entry)))
    ordered = []
    while ready:
        *_, ident = heapq.heappop(ready)
        entry = index[ident]
        ordered.append(entry)
        for after in dependants.get(ident, []):
            waiting[id(after)] -= 1
            if waiting[id(after)] == 0:
                heapq.heappush(ready, (after.time, after.contingent, after.seq, id(after)))
    if len(ordered) != len(entries):  # a cycle of `seen` (only a forged log can make one)
        placed = {id(e) for e in ordered}
        ordered += sorted(
            (e for e in entries if id(e) not in placed), key=lambda e: (e.contingent, e.seq)
        )
    return ordered


@dataclass
class Replay:
    applied: int = 0
    faults: list[Fault] = field(default_factory=list)


def _replay(state: projection.ProjectedState, entries: list[Entry]) -> Replay:
    result = Replay()
    for entry in causal_order(entries):
        try:
            actions.apply(state, entry)
            result.applied += 1
        except Refused as exc:
            result.faults.append(
                Fault(
                    entry.contingent,
                    entry.seq,
                    M("cannot take effect: {reason}", reason=exc.args[0] if exc.args else ""),
                )
            )
    return result


def rebuild(conn: Connection, mission: Mission) -> Replay:
    """Re-derive every projection from the entries alone and write it to the tables (in the
    caller's transaction). Accounts keep their local password hashes; an account that no entry
    made is removed."""
    entries = repo.all_entries(conn)
    if not entries:
        raise TrucelineError(M("the logs are not started: there is nothing to rebuild from"))
    rows, result = _derive_rows(conn, mission, entries)
    projection.write(conn, rows)
    return result


def _derive_rows(
    conn: Connection, mission: Mission, entries: list[Entry]
) -> tuple[projection.MemoryRows, Replay]:
    rows = projection.MemoryRows()
    return rows, _replay(state_of(rows, mission, conn), entries)


def derive(
    conn: Connection, mission: Mission, entries: list[Entry]
) -> tuple[dict[str, Any], Replay]:
    """The projections as the entries alone make them, derived in memory (the database
    verified is only read), with whatever could not take effect."""
    rows, replay = _derive_rows(conn, mission, entries)
    return rows.snapshot(), replay


def differences(actual: dict[str, Any], derived: dict[str, Any]) -> list[Fault]:
    """Where the tables differ from what the entries make: table, row, and how."""
    faults = []
    for name, rows in derived.items():
        held = actual[name]
        columns = projection.PROJECTIONS[name][0]
        for key in sorted(set(held) | set(rows), key=repr):
            mine, theirs = held.get(key), rows.get(key)
            row = f"{name} {'/'.join(str(k) for k in key)}"  # a table and a row's key
            if mine is None:
                faults.append(
                    Fault(name, None, M("{row}: made by the entries, missing here", row=row))
                )
            elif theirs is None:
                faults.append(
                    Fault(name, None, M("{row}: in the table, made by no entry", row=row))
                )
            elif mine != theirs:
                changed = [
                    M("{column} is {held!r}, the entries make {made!r}", column=c, held=a, made=b)
                    for c, a, b in zip(columns, mine, theirs, strict=True)
                    if a != b
                ]
                faults.append(
                    Fault(name, None, M("{row}: {changes}", row=row, changes=joined(changed)))
                )
    return faults
