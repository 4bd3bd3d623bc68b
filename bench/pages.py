"""Benchmark: the pages officers work in, under load.

With 1,000,000 observations and their incidents in the store (the API bench's database, built
once and kept), `truceline serve` with 2 workers, and 20 concurrent logged-in clients for 20 s
on each of: the dashboard of a day in the middle of the data, that day's map data and a case
page, each after six views outside the measure (each worker's first view of a page makes
what it keeps, as after any change to the record: the steady state is measured); then, in
the same run, the API's incidents query of that day (what bench/api.py measures) as the
baseline. Prints p50, p99 and requests/s of each. Target: p99 under 150 ms
for each page.

    python bench/pages.py [--rows N] [--clients 20] [--seconds 20]
                          [--db postgresql+psycopg://USER@HOST:PORT/]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import BBOX, PASSWORD, RAMP_S, build, percentile, run, serve

from truceline.store import tables as t
from truceline.store.db import make_engine

TARGET_MS = 150.0


def _warm(base: str, path: str, cookie: str) -> None:
    """The first views of a page, outside the measure: each worker compiles its templates and
    makes what it keeps (the day's counts, the map's layers) on its first view, as after any
    change to the record; what is measured is the steady state. Each view on a connection
    of its own, so that both workers take some."""
    for _ in range(6):
        reply = httpx.get(base + path, headers={"Cookie": cookie}, timeout=120)
        if reply.status_code != 200:
            raise SystemExit(f"{path}: {reply.status_code} before the measure")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--folder", type=Path, default=Path("bench-data"))
    parser.add_argument("--db", metavar="URL", help="a PostgreSQL server, as bench/api.py")
    args = parser.parse_args()
    args.folder.mkdir(exist_ok=True)
    print(f"Pages benchmark: {args.rows:,} observations, {args.clients} clients for "
          f"{args.seconds:.0f} s a page, on {'PostgreSQL' if args.db else 'SQLite'}")  # fmt: skip
    url = build(args.folder, args.rows, args.db)
    day = datetime(2020, 11, 19, tzinfo=UTC) + timedelta(days=int(args.rows * 2 / 86_400 / 2))
    port, server = serve(url)
    base = f"http://127.0.0.1:{port}"
    runs: dict[str, tuple[list[float], int]] = {}
    try:
        with httpx.Client(base_url=base) as web:  # a session, as a browser logs in
            form = web.get("/login").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
            web.post("/login", data={"username": "bench", "password": PASSWORD, "csrf": csrf})
            cookie = "; ".join(f"{k}={v}" for k, v in web.cookies.items())
            token = httpx.post(f"{base}/api/v1/auth/token",
                               json={"username": "bench", "password": PASSWORD}).json()  # fmt: skip
            case = _a_case(url, base, token["access_token"])
        date = day.date().isoformat()
        pages = {
            f"dashboard /?date={date}": f"/?date={date}",
            f"map data of {date}": f"/map/data.json?date={date}",
            f"case page /cases/{case}": f"/cases/{case}",
        }
        for label, path in pages.items():
            _warm(base, path, cookie)
            request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n"
            runs[label] = run(port, request.encode(), args.clients, RAMP_S, args.seconds)
        params = {"bbox": BBOX, "since": day.isoformat(),
                  "until": (day + timedelta(days=1)).isoformat(), "limit": 100}  # fmt: skip
        api = (f"GET /api/v1/incidents?{urlencode(params)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {token['access_token']}\r\n\r\n")  # fmt: skip
        runs["API incidents query (baseline)"] = run(
            port, api.encode(), args.clients, RAMP_S, args.seconds
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    met = True
    for label, (latencies, errors) in runs.items():
        ms = [v * 1000 for v in latencies]
        p99 = percentile(ms, 0.99) if ms else float("inf")
        page = not label.startswith("API")
        met &= not page or (p99 < TARGET_MS and errors == 0)
        print(f"  {label:<34} p50 {statistics.median(ms) if ms else float('nan'):7.1f} ms   "
              f"p99 {p99:7.1f} ms   {len(ms) / args.seconds:7.0f} requests/s   "
              f"errors {errors}")  # fmt: skip
    print(f"  target (each page's p99 under {TARGET_MS:.0f} ms, no error): "
          f"{'met' if met else 'NOT MET'}")  # fmt: skip
    return 0


def _a_case(url: str, base: str, token: str) -> int:
    """A case to show: the first open one, else one opened now on the first finding."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(select(t.cases.c.id).order_by(t.cases.c.id).limit(1)).scalar()
            finding = conn.execute(select(t.findings.c.id).order_by(t.findings.c.id).limit(1))
            first = finding.scalar()
    finally:
        engine.dispose()
    if found is not None:
        return int(found)
    reply = httpx.post(f"{base}/api/v1/cases", json={"finding": first},
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    reply.raise_for_status()
    return int(reply.json()["id"])


if __name__ == "__main__":
    sys.exit(main())
