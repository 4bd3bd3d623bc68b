"""Writing import batches: rows in bulk, duplicates counted, conflicts named.

SQLite takes rows with `executemany` and PostgreSQL with `COPY` into a staging table; both add
rows with `ON CONFLICT … DO NOTHING` on its identity (its uid; a position's time and uid), so
a row already stored (by an earlier import or
earlier in the same file) is a duplicate. A row whose identity is stored with other content is
a conflict: it is not stored, and the importer reports it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, select, tuple_, update

from truceline.domain import observations as obs
from truceline.domain import positions as pos
from truceline.domain.records import LAST_US
from truceline.i18n.message import M, Mn
from truceline.store import tables as t
from truceline.store.db import is_sqlite


@dataclass(frozen=True)
class TableSpec:
    table: Table
    fields: tuple[str, ...]  # the hashed fields, in canonical order
    rehash: Callable[[tuple[Any, ...]], str]  # a row's content hash from its fields
    # the unique index a row's identity is found by: its uid, or for a position (whose uid
    # is the hash of its row, time included) its time and uid (0011)
    identity: tuple[str, ...] = ("uid",)

    @property
    def columns(self) -> tuple[str, ...]:
        """The stored tuple's columns, in order (batch_id is added)."""
        return ("uid", *self.fields)


OBSERVATIONS = TableSpec(t.observations, obs.FIELDS, obs.row_hash)
POSITIONS = TableSpec(t.positions, pos.FIELDS, pos.row_hash, ("time_us", "uid"))


@dataclass
class ChunkOutcome:
    inserted: int = 0
    duplicates: int = 0
    conflicts: list[int] = field(default_factory=list)  # indexes into the chunk's rows
    hashes: Sequence[str] = ()  # hashes of the inserted rows, in id order


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
    conn: Connection,
    spec: TableSpec,
    batch_id: int,
    columns: Sequence[Sequence[Any]],
    hashes: Sequence[str],
) -> ChunkOutcome:
    """Store records given column by column (uid, then the spec's fields) whose content
    hashes are `hashes`."""
    if not hashes:
        return ChunkOutcome()
    if is_sqlite(conn):
        return _insert_sqlite(conn, spec, batch_id, columns, hashes)
    return _insert_postgresql(conn, spec, batch_id, columns, hashes)


def _present(spec: TableSpec, columns: Sequence[Sequence[Any]]) -> list[int]:
    """The columns to write: a column that is empty (NULL) throughout the chunk is left to
    its default, NULL, which saves binding it for every row."""
    return [k for k, column in enumerate(columns) if k == 0 or column.count(None) != len(column)]


def _max_id(conn: Connection, table: Table) -> int:
    value = conn.execute(select(table.c.id).order_by(table.c.id.desc()).limit(1)).scalar()
    return int(value or 0)


def _insert_sqlite(
    conn: Connection,
    spec: TableSpec,
    batch_id: int,
    columns: Sequence[Sequence[Any]],
    hashes: Sequence[str],
) -> ChunkOutcome:
    before = _max_id(conn, spec.table)
    present = _present(spec, columns)
    names = ", ".join(spec.columns[k] for k in present)
    marks = ", ".join("?" * len(present))
    sql = (
        f"INSERT INTO {spec.table.name} ({names}, batch_id) VALUES ({marks}, {int(batch_id)}) "
        f"ON CONFLICT ({', '.join(spec.identity)}) DO NOTHING"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, zip(*(columns[k] for k in present), strict=True))
        inserted = cursor.rowcount
    finally:
        cursor.close()
    if inserted == len(hashes):  # the common case: ids before+1 … in row order
        return ChunkOutcome(inserted=inserted, hashes=hashes)
    return _reconcile(conn, spec, batch_id, columns, hashes, before, inserted_ids=None)


def _insert_postgresql(
    conn: Connection,
    spec: TableSpec,
    batch_id: int,
    columns: Sequence[Sequence[Any]],
    hashes: Sequence[str],
) -> ChunkOutcome:
    stage = f"stage_{spec.table.name}"
    names = ", ".join(spec.columns)
    present = _present(spec, columns)
    written = ", ".join(spec.columns[k] for k in present)
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS "
        f"SELECT 0::bigint AS seq, {names} FROM {spec.table.name} WITH NO DATA"
    )
    conn.exec_driver_sql(f"TRUNCATE {stage}")
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(f"COPY {stage} (seq, {written}) FROM STDIN") as copy:
            for row in zip(range(len(hashes)), *(columns[k] for k in present), strict=True):
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {spec.table.name} ({names}, batch_id) "
            f"SELECT {names}, {int(batch_id)} FROM {stage} ORDER BY seq "
            f"ON CONFLICT ({', '.join(spec.identity)}) DO NOTHING RETURNING id, uid"
        )
        returned = {uid: int(ident) for ident, uid in cursor.fetchall()}
    if len(returned) == len(hashes):  # the common case: every row is new
        ids = [returned[uid] for uid in columns[0]]
        ordered = [digest for _, digest in sorted(zip(ids, hashes, strict=True))]
        return ChunkOutcome(inserted=len(hashes), hashes=ordered)
    return _reconcile(conn, spec, batch_id, columns, hashes, None, inserted_ids=returned)


def _reconcile(
    conn: Connection,
    spec: TableSpec,
    batch_id: int,
    columns: Sequence[Sequence[Any]],
    hashes: Sequence[str],
    before: int | None,
    inserted_ids: dict[str, int] | None,
) -> ChunkOutcome:
    """Sort a chunk's records into inserted, duplicate and conflicting by what is stored now."""
    chunk_uids = columns[0]
    table = spec.table
    stored: dict[str, tuple[int, int, str]] = {}
    fields = [table.c[name] for name in spec.fields]
    what = select(table.c.uid, table.c.id, table.c.batch_id, *fields)
    if spec.identity == ("uid",):
        keys: list[Any] = sorted(set(chunk_uids))
        query = what.where(table.c.uid.in_(bindparam("keys", expanding=True)))
    else:  # found by the unique index it is stored under: (time, uid), say
        key_columns = [columns[spec.columns.index(name)] for name in spec.identity]
        keys = sorted(set(zip(*key_columns, strict=True)))
        query = what.where(
            tuple_(*(table.c[name] for name in spec.identity)).in_(
                bindparam("keys", expanding=True)
            )
        )
    for start in range(0, len(keys), 2000):
        for found in conn.execute(query, {"keys": keys[start : start + 2000]}):
            uid, ident, batch, *values = found
            stored[uid] = (int(ident), int(batch), spec.rehash(tuple(values)))
    outcome = ChunkOutcome()
    claimed: set[str] = set()
    inserted: list[tuple[int, str]] = []
    for index, (uid, digest) in enumerate(zip(chunk_uids, hashes, strict=True)):
        ident, batch, stored_digest = stored[uid]
        if inserted_ids is not None:
            fresh = inserted_ids.get(uid) == ident
        else:
            fresh = batch == batch_id and before is not None and ident > before
        if fresh and uid not in claimed:
            claimed.add(uid)
            outcome.inserted += 1
            inserted.append((ident, digest))
        elif stored_digest == digest:
            outcome.duplicates += 1
        else:
            outcome.conflicts.append(index)
    outcome.hashes = [digest for _, digest in sorted(inserted)]
    return outcome


SPECS = {"observations": OBSERVATIONS, "positions": POSITIONS}


def local_batch(conn: Connection, here: str | None, node: str, batch: int) -> int | None:
    """This database's number for the import batch `batch` that node `node` logged: its own
    batch when `node` is this node, else the batch stored from a bundle."""
    b = t.import_batches
    if node == here:
        found = conn.execute(select(b.c.id).where(b.c.id == batch, b.c.origin_node.is_(None)))
    else:
        found = conn.execute(
            select(b.c.id).where(b.c.origin_node == node, b.c.origin_batch == batch)
        )
    value = found.scalar()
    return None if value is None else int(value)


def batch_rows(conn: Connection, spec: TableSpec, batch: int) -> list[tuple[Any, ...]]:
    """A batch's rows (the spec's fields) in the order they were logged: its own rows in id
    order, with the rows it shares with other batches put back at their places."""
    table = spec.table
    fields = [table.c[f] for f in spec.fields]
    rows = [
        tuple(row)
        for row in conn.execute(
            select(*fields).where(table.c.batch_id == batch).order_by(table.c.id)
        )
    ]
    shared_text = conn.execute(
        select(t.import_batches.c.shared).where(t.import_batches.c.id == batch)
    ).scalar()
    for index, uid, *when in json.loads(shared_text or "[]"):
        # a position is found by its time and uid (a batch stored before 0011: by its uid)
        where = [table.c.uid == uid] + ([table.c.time_us == int(when[0])] if when else [])
        found = conn.execute(select(*fields).where(*where)).one()
        rows.insert(int(index), tuple(found))
    return rows


def batch_digest(spec: TableSpec, rows: Sequence[tuple[Any, ...]]) -> tuple[int, str]:
    """(rows, sha256) of a batch's rows, as its log entry states them."""
    digest = BatchHash()
    digest.add([spec.rehash(row) for row in rows])
    return len(rows), digest.hexdigest()


def uid_of(spec: TableSpec, row: tuple[Any, ...]) -> str:
    """A row's identity, derived from its content as the importers derive it (so a bundle
    cannot name a row otherwise)."""
    digest = spec.rehash(row)
    if spec is POSITIONS:
        return digest
    fields = dict(zip(spec.fields, row, strict=True))
    return obs.identity(str(fields["source"]), fields["record_id"], digest)


def store_foreign_batch(
    conn: Connection,
    spec: TableSpec,
    *,
    node: str,
    batch: int,
    kind: str,
    rows: Sequence[tuple[Any, ...]],
    now_us: int,
) -> list[int]:
    """Store another node's batch (checked against its logged hash by the caller); rows held
    already with the same content are shared, not stored twice. The rows' indexes whose
    identity is held with other content (a conflict: nothing should be stored)."""
    local = begin_batch(conn, kind=kind, source_name=f"{node}:{batch}", fmt="bundle", now_us=now_us)
    uids = [uid_of(spec, row) for row in rows]
    columns = [uids, *[[row[k] for row in rows] for k in range(len(spec.fields))]]
    outcome = insert_chunk(conn, spec, local, columns, [spec.rehash(row) for row in rows])
    if outcome.conflicts:
        return outcome.conflicts
    mine = set(
        conn.execute(select(spec.table.c.uid).where(spec.table.c.batch_id == local)).scalars()
    )
    shared: list[list[Any]] = [[index, uid] for index, uid in enumerate(uids) if uid not in mine]
    if "time_us" in spec.identity:  # how the shared row is found again
        at = spec.fields.index("time_us")
        shared = [[index, uid, rows[index][at]] for index, uid in shared]
    conn.execute(
        update(t.import_batches)
        .where(t.import_batches.c.id == local)
        .values(
            rows=len(rows), duplicates=len(shared), rejected=0, origin_node=node,
            origin_batch=batch, shared=json.dumps(shared) if shared else None,
            sha256=batch_digest(spec, rows)[1],
        )
    )  # fmt: skip
    return []


def row_problem(spec: TableSpec, row: Any) -> str | None:
    """Why a row carried in a bundle cannot be stored (its shape and types, the ranges of
    coordinates and times), or None. Its content is the signer's testimony; its form is
    checked so that no peer can store what would break this node's pages or engine."""
    if not isinstance(row, list) or len(row) != len(spec.fields):
        return Mn(
            "not a list of the {n} fields {fields}",
            "not a list of the {n} fields {fields}",
            len(spec.fields),
            fields=", ".join(spec.fields),
        )
    for name, value in zip(spec.fields, row, strict=True):
        column = spec.table.c[name]
        if value is None:
            if not column.nullable:
                return M("{name} is missing", name=name)
            continue
        python = column.type.python_type
        if python is int and (type(value) is not int or not -(2**63) < value < 2**63):
            return M("{name} is not an integer", name=name)
        if python is float and (
            type(value) not in (int, float)
            or value != value
            or value in (float("inf"), float("-inf"))
        ):
            return M("{name} is not a finite number", name=name)
        if python is str and (type(value) is not str or len(value) > 100_000):
            return M("{name} is not a text", name=name)
        if name.endswith("_us") and not 0 <= value < LAST_US:
            return M("{name} is outside the years 1970–2099", name=name)
        if name.endswith("lat_e7") and not -900_000_000 <= value <= 900_000_000:
            return M("{name} is outside -90..90", name=name)
        if name.endswith("lon_e7") and not -1_800_000_000 <= value <= 1_800_000_000:
            return M("{name} is outside -180..180", name=name)
    return None
