"""Benchmark: import 1,000,000 observation rows from CSV.

Prints our end-to-end rate (read, validate, hash, store: `ingest_observations`) beside a plain
insert of the same, already-parsed rows into the same table in the same run:
- SQLite: sqlite3 `executemany` (same pragmas, same indexes);
- PostgreSQL: `COPY` straight into the table.
Targets: at least 100,000 rows/s into SQLite and at least 30% of the plain insert's rate.
Memory stays flat: the file is streamed; peak memory during our import is printed.

    python bench/ingest.py [--rows N] [--skip-postgresql]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, text

from truceline.demo import MISSION_FILE
from truceline.domain.observations import Context
from truceline.ingest import csv_observations
from truceline.services.ingest import ingest_observations
from truceline.services.missions import init_database
from truceline.store.db import make_engine
from truceline.store.imports import OBSERVATIONS

PG_ADMIN = os.environ.get(
    "TRUCELINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
HEADER = ["id", "observed_at", "lat", "lon", "uncertainty_m", "kind", "subtype", "count", "actor",
          "source_kind", "source", "reporter", "description"]  # fmt: skip


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    start = datetime(2020, 11, 19, tzinfo=timezone(timedelta(hours=4)))
    kinds = ["explosion", "explosion", "shot", "burst", "movement", "presence", "flare"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            kind = rng.choice(kinds)
            writer.writerow([
                f"b{n}", (start + timedelta(seconds=n * 2)).isoformat(),
                f"{39.5 + rng.random():.6f}", f"{46.3 + rng.random() * 1.2:.6f}",
                rng.choice(("100", "250", "500")), kind,
                "impact" if kind == "explosion" else "", rng.randint(1, 20),
                rng.choice(("unknown", "east", "west")), "observation_post", f"OP-{n % 60}",
                rng.choice(("blue", "green")), "synthetic report",
            ])  # fmt: skip


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_sqlite(folder: Path, name: str) -> tuple[str, Path]:
    path = folder / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}", path


def parsed_rows(path: Path) -> list[tuple]:
    ctx = Context(frozenset({"east", "west", "blue", "green"}), frozenset({"blue", "green"}))
    chunks = csv_observations.parse_file(path, ctx)
    return [row for chunk in chunks for row in zip(*chunk.columns, strict=True)]


def ours(url: str, path: Path, rows: int) -> float:
    engine = make_engine(url)
    init_database(engine, MISSION_FILE)
    began = time.perf_counter()
    report = ingest_observations(engine, path)
    elapsed = time.perf_counter() - began
    assert report.accepted == rows, report.summary()
    engine.dispose()
    return rows / elapsed


def plain_sqlite(url: str, rows: list[tuple]) -> float:
    engine = make_engine(url)
    init_database(engine, MISSION_FILE)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO import_batches (id, kind, source_name, format, rows, duplicates, rejected,"
            " sha256, created_at_us) VALUES (1, 'observations', 'bench', 'csv', 0, 0, 0, '', 0)"
        )
    names = ", ".join(OBSERVATIONS.columns)
    marks = ", ".join("?" * len(OBSERVATIONS.columns))
    sql = f"INSERT INTO observations ({names}, batch_id) VALUES ({marks}, 1)"
    raw = engine.raw_connection()
    began = time.perf_counter()
    cursor = raw.driver_connection.cursor()
    cursor.execute("BEGIN")
    for start in range(0, len(rows), 10_000):
        cursor.executemany(sql, rows[start : start + 10_000])
    cursor.execute("COMMIT")
    elapsed = time.perf_counter() - began
    raw.close()
    engine.dispose()
    return len(rows) / elapsed


def copy_postgresql(url: str, rows: list[tuple]) -> float:
    engine = make_engine(url)
    init_database(engine, MISSION_FILE)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO import_batches (kind, source_name, format, rows, duplicates, rejected,"
            " sha256, created_at_us) VALUES ('observations', 'bench', 'csv', 0, 0, 0, '', 0)"
        )
        batch = conn.exec_driver_sql("SELECT max(id) FROM import_batches").scalar()
    names = ", ".join(OBSERVATIONS.columns)
    raw = engine.raw_connection()
    began = time.perf_counter()
    with (
        raw.driver_connection.cursor() as cursor,
        cursor.copy(f"COPY observations ({names}, batch_id) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row((*row, batch))
    raw.driver_connection.commit()
    elapsed = time.perf_counter() - began
    raw.close()
    engine.dispose()
    return len(rows) / elapsed


class PostgresDatabases:
    def __init__(self) -> None:
        self.admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def new(self) -> str:
        name = f"truceline_bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.names.append(name)
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self.admin.connect() as conn:
            for name in self.names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def line(label: str, rates: list[float], base_label: str, base_rates: list[float]) -> str:
    best, base = max(rates), max(base_rates)
    return (
        f"  {label:<31} {best:>9,.0f} rows/s (median {statistics.median(rates):,.0f})   "
        f"{base_label:<20} {base:>9,.0f} rows/s (median {statistics.median(base_rates):,.0f})"
        f"   ratio {best / base:5.1%}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    parser.add_argument("--skip-postgresql", action="store_true")
    parser.add_argument("--folder", type=Path, default=Path("bench-data"))
    args = parser.parse_args()
    args.folder.mkdir(exist_ok=True)
    csv_path = args.folder / f"observations-{args.rows}.csv"
    if not csv_path.exists():
        print(f"generating {args.rows:,} rows into {csv_path} …", flush=True)
        generate(csv_path, args.rows)
    size_mb = csv_path.stat().st_size / 1e6
    print(
        f"ingest benchmark: {args.rows:,} observation rows, {size_mb:,.0f} MB of CSV; "
        f"best of {args.repeat} runs each (this machine's speed varies from run to run)"
    )

    rss_before = peak_rss_mb()
    our_sqlite = []
    for _ in range(args.repeat):
        url, _ = fresh_sqlite(args.folder, "ours.db")
        our_sqlite.append(ours(url, csv_path, args.rows))
        if len(our_sqlite) == 1:
            rss_import = peak_rss_mb()
    rows = parsed_rows(csv_path)  # the same rows, parsed once outside the timing
    plain = []
    for _ in range(args.repeat):
        base_url, _ = fresh_sqlite(args.folder, "plain.db")
        plain.append(plain_sqlite(base_url, rows))
    print("SQLite (a file; WAL, synchronous=FULL; unique uid and time indexes, foreign keys)")
    print(line("truceline ingest observations", our_sqlite, "sqlite3 executemany", plain))
    print(
        f"  peak memory of this process: {rss_before:,.0f} MB before the import, "
        f"{rss_import:,.0f} MB after it, SQLite's 64 MB page cache included (the file is "
        f"{size_mb:,.0f} MB; it is streamed)"
    )
    best = max(our_sqlite)
    ok = best >= 100_000 and best >= 0.3 * max(plain)
    print(f"  targets (>= 100,000 rows/s and >= 30% of plain): {'met' if ok else 'NOT MET'}")

    if not args.skip_postgresql:
        databases = PostgresDatabases()
        try:
            our_pg = [ours(databases.new(), csv_path, args.rows) for _ in range(args.repeat)]
            copy_rate = [copy_postgresql(databases.new(), rows) for _ in range(args.repeat)]
        finally:
            databases.drop()
        print("PostgreSQL (the local server)")
        print(line("truceline ingest observations", our_pg, "COPY into the table", copy_rate))
    for name in ("ours.db", "plain.db"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.folder / name}{suffix}").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
