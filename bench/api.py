"""Benchmark: the API under load.

With 1,000,000 observations and their incidents in SQLite (or, with `--db`, in a database of
its own on a PostgreSQL server, built once and kept), 20 concurrent clients for 20 s on
`GET /api/v1/incidents` with a bbox and a day. Prints p50, p99 and requests/s beside the same
query run directly through the store in the same run, then the same load again with 20
live-event subscribers connected (`GET /api/v1/events`) and a case's verdict changing once a
second, beside the run without them. Targets: p99 under 100 ms; with the subscribers, p99
within 1.5× of the run without.

    python bench/api.py [--rows N] [--clients 20] [--seconds 20] [--subscribers 20]
                        [--db postgresql+psycopg://USER@HOST:PORT/]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import create_engine, make_url, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import generate

from truceline.demo import MISSION_FILE
from truceline.domain.timeutil import to_us
from truceline.services.accounts import add_user
from truceline.services.assess import assess
from truceline.services.ingest import ingest_observations
from truceline.services.missions import init_database
from truceline.services.verification import cases_of_findings
from truceline.store import tables as t
from truceline.store.compliance import list_incidents
from truceline.store.db import make_engine

PASSWORD = "bench-password"
LIVE_USERS = 8
BBOX = "46.3,39.5,47.0,40.2"


SCHEMA = "v12"  # the schema's revision: a database built with an older one is not used


def build(folder: Path, rows: int, server: str | None = None) -> str:
    """A database with the observations and their incidents (kept for later runs): a SQLite
    file in `folder`, or a database of its own on the PostgreSQL `server`."""
    if server is not None:
        return _build_postgresql(folder, rows, server)
    path = folder / f"api-{rows}-{SCHEMA}.db"
    url = f"sqlite:///{path}"
    if path.exists():
        return url
    building = folder / f"api-{rows}.building.db"  # renamed once complete
    for stale in folder.glob(f"{building.name}*"):
        stale.unlink()
    _fill(folder, rows, f"sqlite:///{building}")
    building.rename(path)
    return url


def _build_postgresql(folder: Path, rows: int, server: str) -> str:
    """`truceline_bench_api_<rows>_<schema>` on the server: made, filled, then renamed from
    its `_building` name, so that a run stopped half-way is never taken for a built one."""
    given = make_url(server)
    admin = create_engine(given.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"truceline_bench_api_{rows}_{SCHEMA}"
    try:
        with admin.connect() as conn:
            have = set(conn.execute(text("SELECT datname FROM pg_database")).scalars())
            if name not in have:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}_building" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}_building"'))
        if name not in have:
            building = given.set(database=f"{name}_building").render_as_string(False)
            _fill(folder, rows, building)
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}_building" RENAME TO "{name}"'))
    finally:
        admin.dispose()
    return given.set(database=name).render_as_string(hide_password=False)


def _fill(folder: Path, rows: int, url: str) -> None:
    csv_path = folder / f"observations-{rows}.csv"
    if not csv_path.exists():
        generate(csv_path, rows)
    engine = make_engine(url)
    init_database(engine, MISSION_FILE)
    began = time.perf_counter()
    ingest_observations(engine, csv_path)
    report = assess(engine)
    print(f"  (built in {time.perf_counter() - began:.0f} s: {report.incidents:,} incidents)")
    add_user(engine, "bench", role="officer", password=PASSWORD, contingent="blue")
    for n in range(LIVE_USERS):  # a user holds a few streams at most: the subscribers' own
        add_user(engine, f"live-{n}", role="officer", password=PASSWORD, contingent="blue")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:  # the planner's statistics of the tables just filled
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def serve(url: str) -> tuple[int, subprocess.Popen[bytes]]:
    """`truceline serve` with 2 workers on a free port, once it answers: its port and process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("truceline")), "serve", "--port", str(port),
         "--workers", "2", "--db", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ},
    )  # fmt: skip
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return port, server


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(label: str, latencies: list[float], seconds: float) -> str:
    ms = [v * 1000 for v in latencies]
    return (
        f"  {label:<34} p50 {statistics.median(ms):7.1f} ms   p99 {percentile(ms, 0.99):7.1f} ms"
        f"   {len(ms) / seconds:8.0f} requests/s"
    )


RAMP_S = 4.0


def run(
    port: int,
    request: bytes,
    clients: int,
    ramp: float,
    seconds: float,
    subscribe: list[bytes] | None = None,
) -> tuple[list[float], int]:
    """`clients` keep-alive connections, each sending the request again as soon as the answer
    is in. They join one after another over `ramp` seconds (as users arrive, not all in the
    same millisecond: a connection goes to whichever worker is free to accept it), then all
    run for `seconds`, the only requests measured: their latencies and the number of answers
    that were not 200. One event loop drives them all (client threads would fight over the
    GIL and add their own waits to the figures)."""
    latencies: list[float] = []
    errors = 0

    async def client(delay: float, measured: float, deadline: float) -> None:
        nonlocal errors
        await asyncio.sleep(delay)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            length = next(
                int(line.split(":", 1)[1]) for line in lines
                if line.lower().startswith("content-length:")
            )  # fmt: skip
            await reader.readexactly(length)
            if began >= measured:
                latencies.append(time.perf_counter() - began)
                errors += lines[0].split(" ")[1] != "200"
        writer.close()

    received = 0

    async def subscriber(request: bytes, deadline: float) -> None:
        """A live-event stream held open, its events read as they come."""
        nonlocal received
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        while time.perf_counter() < deadline:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), timeout=0.5)
            except TimeoutError:
                continue
            if not chunk:
                break
            received += chunk.count(b"event: verdict")
        writer.close()

    async def every() -> None:
        measured = time.perf_counter() + ramp
        deadline = measured + seconds
        await asyncio.gather(
            *(subscriber(r, deadline) for r in subscribe or []),
            *(client(k * ramp / clients, measured, deadline) for k in range(clients)),
        )

    asyncio.run(every())
    if subscribe:
        print(f"  ({len(subscribe)} subscribers received {received} verdict events)")
    return latencies, errors


class Changer:
    """Opens a case once a second through the API (each a log entry: the live feed's state
    changes and its subscribers are told), in a thread of its own."""

    def __init__(self, base: str, token: str, findings: list[int]) -> None:
        self.base, self.token, self.findings = base, token, findings
        self.opened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {self.token}"}) as client:
            for finding in self.findings:
                if self._stop.wait(1.0):
                    return
                reply = client.post(f"{self.base}/api/v1/cases", json={"finding": finding})
                self.opened += reply.status_code == 201


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--folder", type=Path, default=Path("bench-data"))
    parser.add_argument(
        "--db",
        metavar="URL",
        help="a PostgreSQL server (postgresql+psycopg://"
        "USER@HOST:PORT/): the bench builds its own database there and keeps it",
    )
    args = parser.parse_args()
    if args.db is not None and not args.db.startswith("postgresql"):
        raise SystemExit(f"--db: a postgresql+psycopg://USER@HOST:PORT/ URL, not {args.db}")
    args.folder.mkdir(exist_ok=True)
    print(
        f"API benchmark: {args.rows:,} observations, {args.clients} clients "
        f"for {args.seconds:.0f} s, on {'PostgreSQL' if args.db else 'SQLite'}"
    )
    url = build(args.folder, args.rows, args.db)
    # A day in the middle of the data (one observation every 2 s from 19 November 2020).
    day = datetime(2020, 11, 19, tzinfo=UTC) + timedelta(days=int(args.rows * 2 / 86_400 / 2))
    since, until = day.isoformat(), (day + timedelta(days=1)).isoformat()

    engine = make_engine(url)
    direct: list[float] = []
    stop = time.perf_counter() + args.seconds / 2
    with engine.connect() as conn:
        while time.perf_counter() < stop:
            began = time.perf_counter()
            found = list_incidents(
                conn, since_us=to_us(day), until_us=to_us(day + timedelta(days=1)),
                bbox=tuple(float(v) for v in BBOX.split(",")), limit=100,  # type: ignore[arg-type]
            )  # fmt: skip
            direct.append(time.perf_counter() - began)
    print(f"  (the query answers {len(found)} incidents)")

    port, server = serve(url)
    base = f"http://127.0.0.1:{port}"
    try:
        token = httpx.post(
            f"{base}/api/v1/auth/token", json={"username": "bench", "password": PASSWORD}
        ).json()
        live = [
            httpx.post(
                f"{base}/api/v1/auth/token", json={"username": f"live-{n}", "password": PASSWORD}
            ).json()["access_token"]
            for n in range(LIVE_USERS)
        ]
        params = {"bbox": BBOX, "since": since, "until": until, "limit": 100}
        request = (
            f"GET /api/v1/incidents?{urlencode(params)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token['access_token']}\r\n\r\n"
        ).encode()
        # The ramp also warms the page cache and the connection pools; it is not measured.
        with engine.connect() as conn:  # findings with no case yet (the file is kept)
            ids = [int(f) for f in conn.execute(
                select(t.findings.c.id).order_by(t.findings.c.id).limit(20_000)
            ).scalars()]  # fmt: skip
            taken = cases_of_findings(conn, ids)
        findings = [f for f in ids if f not in taken]
        runs = {}
        for label, subscribers in (("", 0), (f", {args.subscribers} live subscribers",
                                              args.subscribers)):  # fmt: skip
            changing = Changer(base, token["access_token"], findings[len(runs) * 500 :])
            changing.start()
            streams = [
                (
                    f"GET /api/v1/events?seconds={RAMP_S + args.seconds + 5:.0f} HTTP/1.1\r\n"
                    f"Host: 127.0.0.1\r\nAuthorization: Bearer {live[n % len(live)]}\r\n\r\n"
                ).encode()
                for n in range(subscribers)
            ]
            runs[label] = run(port, request, args.clients, RAMP_S, args.seconds, streams)
            changing.stop()
            print(f"  (cases opened meanwhile, one a second: {changing.opened})")
        elapsed = args.seconds
    finally:
        server.terminate()
        server.wait(timeout=10)
    p99s = {}
    for label, (latencies, errors) in runs.items():
        print(
            line(f"API, {args.clients} clients{label}", latencies, elapsed) + f"  errors {errors}"
        )
        p99s[label] = percentile([v * 1000 for v in latencies], 0.99)
    print(line("the store directly, one caller", direct, args.seconds / 2))
    plain, live_p99 = list(p99s.values())
    print(
        f"  target (p99 under 100 ms): {'met' if plain < 100 else 'NOT MET'}; with the "
        f"subscribers p99 is {live_p99 / plain:.2f}× the run without (target ≤ 1.5×): "
        f"{'met' if live_p99 <= 1.5 * plain else 'NOT MET'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
