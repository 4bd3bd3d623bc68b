"""Engines and migrations. SQLite: WAL, foreign keys, busy timeout; PostgreSQL via psycopg 3."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from truceline.errors import TrucelineError
from truceline.i18n.message import M

MIGRATIONS = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` as psycopg 3 URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


POOL_SIZE = 40  # as many as a worker's request threads
MMAP_BYTES = 1 << 30


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise TrucelineError(M("not a database URL: {url!r}", url=url)) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            parent = Path(database).expanduser().resolve().parent
            if not parent.is_dir():
                raise TrucelineError(
                    M(
                        "cannot create database {database}: no folder {folder}",
                        database=database,
                        folder=str(parent),
                    )
                )
        # A web worker serves many requests at once: keep their connections open (a new
        # SQLite connection starts with a cold page cache and its pragmas to run again), the
        # one used last (its cache warmest) first.
        engine = create_engine(
            url,
            connect_args={"timeout": 30},
            pool_size=POOL_SIZE,
            max_overflow=POOL_SIZE,
            pool_use_lifo=True,
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True)
    raise TrucelineError(
        M(
            "unsupported database {backend!r}: use SQLite or PostgreSQL",
            backend=parsed.get_backend_name(),
        )
    )


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute(f"PRAGMA mmap_size={MMAP_BYTES}")  # readers share the OS's page cache
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # A transaction that will write takes the write lock at once: one that read first and
    # then found its snapshot stale could only fail, where waiting for the lock succeeds.
    immediate = connection.get_execution_options().get("write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes: committed at the end, rolled back on any error."""
    with engine.connect().execution_options(write=True) as connection, connection.begin():
        yield connection


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read transaction that sees one state of the database throughout (PostgreSQL:
    REPEATABLE READ; SQLite in WAL mode: from its first read), and holds up no writer."""
    connection = engine.connect()
    try:
        if not is_sqlite(engine):
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection
    finally:
        connection.close()


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
    except OperationalError as exc:
        raise TrucelineError(
            M("cannot open database {url!r}: {reason}", url=engine.url, reason=str(exc.orig))
        ) from None


def schema_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def require_schema(engine: Engine) -> None:
    """Fail clearly when the database was never initialised or is behind the code."""
    try:
        with engine.connect() as connection:
            current = schema_revision(connection)
            has_tables = inspect(connection).has_table("missions")
    except OperationalError as exc:
        raise TrucelineError(
            M("cannot open database {url!r}: {reason}", url=engine.url, reason=str(exc.orig))
        ) from None
    if current is None or not has_tables:
        raise TrucelineError(
            M(
                "database {url!r} is not initialised: run `truceline init MISSION` first",
                url=engine.url,
            )
        )
    if current != head_revision():
        raise TrucelineError(
            M(
                "database {url!r} is at schema {current}: run `truceline init MISSION` to "
                "migrate it",
                url=engine.url,
                current=current,
            )
        )
