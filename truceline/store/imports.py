"""Writing import batches: rows in bulk, duplicates counted, conflicts named.

SQLite takes rows with `executemany` and PostgreSQL with `COPY` into a staging table; both add
rows with `ON CONFLICT (uid) DO NOTHING`, so a row already stored (by an earlier import or
earlier in the same file) is a duplicate. A row whose identity is stored with other content is
a conflict: it is not stored, and the importer reports it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, select, update

from truceline.domain import observations as obs
from truceline.domain import positions as pos
from truceline.store import tables as t
from truceline.store.db import is_sqlite


@dataclass(frozen=True)
class TableSpec:
    table: Table
    columns: tuple[str, ...]  # the stored tuple's columns, in order (batch_id is added)
    hash_column: str  # the row's content hash

    def hash_of(self, row: Sequence[Any]) -> str:
        return str(row[self.columns.index(self.hash_column)])


OBSERVATIONS = TableSpec(t.observations, ("uid", "row_hash", *obs.FIELDS), "row_hash")
POSITIONS = TableSpec(t.positions, ("uid", *pos.FIELDS), "uid")


@dataclass
class ChunkOutcome:
    inserted: int = 0
    duplicates: int = 0
    conflicts: list[int] = field(default_factory=list)  # indexes into the chunk's rows
    hashes: list[tuple[int, str]] = field(default_factory=list)  # (id, hash) of inserted rows


class BatchHash:
    """sha256 over the hashes of a batch's rows in id order (so `ledger verify` can recompute
    it from the stored rows)."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def add(self, row_hashes: Sequence[str]) -> None:
        if row_hashes:
            self._digest.update(("\n".join(row_hashes) + "\n").encode("ascii"))

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def begin_batch(conn: Connection, *, kind: str, source_name: str, fmt: str, now_us: int) -> int:
    result = conn.execute(
        t.import_batches.insert().values(
            kind=kind,
            source_name=source_name,
            format=fmt,
            rows=0,
            duplicates=0,
            rejected=0,
            sha256="",
            created_at_us=now_us,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def finish_batch(
    conn: Connection, batch_id: int, *, rows: int, duplicates: int, rejected: int, sha256: str
) -> None:
    if rows == 0:  # nothing new: the import leaves no trace
        conn.execute(delete(t.import_batches).where(t.import_batches.c.id == batch_id))
        return
    conn.execute(
        update(t.import_batches)
        .where(t.import_batches.c.id == batch_id)
        .values(rows=rows, duplicates=duplicates, rejected=rejected, sha256=sha256)
    )


def insert_chunk(
    conn: Connection, spec: TableSpec, batch_id: int, rows: Sequence[Sequence[Any]]
) -> ChunkOutcome:
    if not rows:
        return ChunkOutcome()
    if is_sqlite(conn):
        return _insert_sqlite(conn, spec, batch_id, rows)
    return _insert_postgresql(conn, spec, batch_id, rows)


def _max_id(conn: Connection, table: Table) -> int:
    value = conn.execute(select(table.c.id).order_by(table.c.id.desc()).limit(1)).scalar()
    return int(value or 0)


def _insert_sqlite(
    conn: Connection, spec: TableSpec, batch_id: int, rows: Sequence[Sequence[Any]]
) -> ChunkOutcome:
    before = _max_id(conn, spec.table)
    names = ", ".join(spec.columns)
    marks = ", ".join("?" * len(spec.columns))
    sql = (
        f"INSERT INTO {spec.table.name} ({names}, batch_id) VALUES ({marks}, {int(batch_id)}) "
        "ON CONFLICT (uid) DO NOTHING"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
        inserted = cursor.rowcount
    finally:
        cursor.close()
    if inserted == len(rows):  # the common case: ids before+1 … in row order
        hash_index = spec.columns.index(spec.hash_column)
        return ChunkOutcome(
            inserted=inserted,
            hashes=[(before + 1 + i, row[hash_index]) for i, row in enumerate(rows)],
        )
    return _reconcile(conn, spec, batch_id, rows, before, inserted_ids=None)


def _insert_postgresql(
    conn: Connection, spec: TableSpec, batch_id: int, rows: Sequence[Sequence[Any]]
) -> ChunkOutcome:
    stage = f"stage_{spec.table.name}"
    names = ", ".join(spec.columns)
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS "
        f"SELECT 0::bigint AS seq, {names} FROM {spec.table.name} WITH NO DATA"
    )
    conn.exec_driver_sql(f"TRUNCATE {stage}")
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(f"COPY {stage} (seq, {names}) FROM STDIN") as copy:
            for seq, row in enumerate(rows):
                copy.write_row((seq, *row))
        cursor.execute(
            f"INSERT INTO {spec.table.name} ({names}, batch_id) "
            f"SELECT {names}, {int(batch_id)} FROM {stage} ORDER BY seq "
            "ON CONFLICT (uid) DO NOTHING RETURNING id, uid"
        )
        returned = {uid: int(ident) for ident, uid in cursor.fetchall()}
    return _reconcile(conn, spec, batch_id, rows, None, inserted_ids=returned)


def _reconcile(
    conn: Connection,
    spec: TableSpec,
    batch_id: int,
    rows: Sequence[Sequence[Any]],
    before: int | None,
    inserted_ids: dict[str, int] | None,
) -> ChunkOutcome:
    """Sort a chunk's rows into inserted, duplicate and conflicting by what is stored now."""
    uids = sorted({row[0] for row in rows})
    table = spec.table
    stored: dict[str, tuple[int, int, str]] = {}
    query = select(table.c.uid, table.c.id, table.c.batch_id, table.c[spec.hash_column]).where(
        table.c.uid.in_(bindparam("uids", expanding=True))
    )
    for start in range(0, len(uids), 5000):
        for uid, ident, batch, digest in conn.execute(query, {"uids": uids[start : start + 5000]}):
            stored[uid] = (int(ident), int(batch), digest)
    outcome = ChunkOutcome()
    claimed: set[str] = set()
    for index, row in enumerate(rows):
        uid, digest = row[0], spec.hash_of(row)
        ident, batch, stored_digest = stored[uid]
        if inserted_ids is not None:
            fresh = inserted_ids.get(uid) == ident
        else:
            fresh = batch == batch_id and before is not None and ident > before
        if fresh and uid not in claimed:
            claimed.add(uid)
            outcome.inserted += 1
            outcome.hashes.append((ident, digest))
        elif stored_digest == digest:
            outcome.duplicates += 1
        else:
            outcome.conflicts.append(index)
    outcome.hashes.sort()
    return outcome
