"""Benchmark: the published report, at scale.

A fresh SQLite store of the demo mission holds 1,000,000 observations spread over 30
reporting days (imported with `ingest observations`, then assessed); both contingents' chiefs
sign every day. Then, each timed (median of `--repeat` runs):
- the HTML and the PDF of one day, and of the 30-day period (`report period`);
- `report verify` of each of the four;
beside the time to read that day's observation rows from the store, in the same run.
Targets on this machine: day HTML under 1 s, PDF under 5 s, verify under 1 s.

    python bench/report.py [--rows 1000000] [--days 30] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select

from truceline.demo import MISSION_FILE
from truceline.services.assess import assess
from truceline.services.ingest import ingest_observations
from truceline.services.ledger import KeyRing
from truceline.services.missions import init_database
from truceline.services.reports import Document, renderer_for
from truceline.services.reports.period import period_content
from truceline.services.reports.verify import verify_document
from truceline.services.signing import published_document, report_document, sign_report
from truceline.store import tables as t
from truceline.store.db import make_engine, snapshot
from truceline.store.missions import load_mission

HEADER = ["id", "observed_at", "lat", "lon", "uncertainty_m", "kind", "subtype", "count", "actor",
          "source_kind", "source", "reporter", "description"]  # fmt: skip
BAKU = timezone(timedelta(hours=4))
FIRST = date(2020, 11, 20)  # the first reporting day: from 19:30 on the 19th, Baku time


def generate(path: Path, rows: int, days: int, seed: int = 7) -> None:
    """`rows` observations at an even pace over `days` reporting days, in the mission area."""
    rng = random.Random(seed)
    start = datetime(2020, 11, 19, 19, 31, tzinfo=BAKU)
    step = days * 86_400 / rows
    kinds = ["explosion", "explosion", "shot", "burst", "projectile", "movement", "presence",
             "flare", "restriction"]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            kind = rng.choice(kinds)
            subtype = {"explosion": rng.choice(("impact", "airburst", "outgoing")),
                       "restriction": "denied"}.get(kind, "")  # fmt: skip
            writer.writerow([
                f"r{n}", (start + timedelta(seconds=n * step)).isoformat(timespec="seconds"),
                f"{39.6 + rng.random():.6f}", f"{46.4 + rng.random() * 1.2:.6f}",
                rng.choice(("100", "250", "500")), kind, subtype, rng.randint(1, 20),
                rng.choice(("unknown", "east", "west")), "observation_post", f"OP-{n % 60}",
                rng.choice(("blue", "green")), "synthetic report",
            ])  # fmt: skip


def median(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path,
                        help="build the store here and keep it (kept: used again)")  # fmt: skip
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="truceline-report-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
        keyring = KeyRing(folder / "keys")
        csv_path = folder / "observations.csv"
        began = time.perf_counter()
        days = [FIRST + timedelta(days=k) for k in range(args.days)]
        if args.keep is not None and (folder / "built").exists():
            print(f"store: the one built before in {folder}")
        else:
            generate(csv_path, args.rows, args.days)
            init_database(engine, MISSION_FILE, keyring=keyring, generate_keys=True)
            imported = ingest_observations(engine, csv_path, keyring=keyring, acting="blue")
            assessed = assess(engine, keyring=keyring, acting="blue")
            for day in days:
                sha = report_document(engine, day).sha256
                for contingent in ("blue", "green"):
                    sign_report(engine, day, sha256=sha, contingent=contingent, actor="chief",
                                keyring=keyring)  # fmt: skip
            (folder / "built").touch()
            print(f"store: {imported.accepted:,} observations over {args.days} days, "
                  f"{assessed.active_incidents:,} incidents; every day signed by both "
                  f"chiefs ({time.perf_counter() - began:.0f} s to build)")  # fmt: skip

        day = days[len(days) // 2]
        with engine.connect() as conn:
            mission = load_mission(conn)
        s, e = (int(x.timestamp() * 1_000_000) for x in (
            datetime.combine(day - timedelta(days=1), datetime.min.time(), BAKU).replace(
                hour=19, minute=30),
            datetime.combine(day, datetime.min.time(), BAKU).replace(hour=19, minute=30),
        ))  # fmt: skip
        o = t.observations

        def read_rows() -> int:
            with engine.connect() as conn:
                return len(conn.execute(select(o).where(
                    o.c.observed_from_us >= s, o.c.observed_from_us < e)).all())  # fmt: skip

        read_s, n_rows = median(read_rows, args.repeat)
        content_s, _ = median(lambda: report_document(engine, day), args.repeat)
        with engine.connect() as conn:  # what the published page and report export render
            public = published_document(conn, mission, day)
        assert public is not None
        document = public

        def period() -> Document:
            with snapshot(engine) as conn:
                return Document.of(period_content(conn, mission, days[0], days[-1]))

        period_s, whole = median(period, args.repeat)
        print(
            f"baseline: reading the day's {n_rows:,} observation rows from the store: "
            f"{read_s:.2f} s"
        )
        print(
            f"  the day's content ({len(document.content['incidents']):,} incidents): "
            f"{content_s:.2f} s; the period's content from its {len(whole.content['days'])} "
            f"published days: {period_s:.2f} s"
        )
        targets = {"html": 1.0, "pdf": 5.0}
        for label, doc in (("day", document), (f"{args.days}-day period", whole)):
            for fmt in ("html", "pdf"):
                seconds, data = median(lambda d=doc, f=fmt: renderer_for(f).report(d, "ru"),
                                       args.repeat)  # fmt: skip
                note = f" (target < {targets[fmt]:.0f} s)" if label == "day" else ""
                print(
                    f"{label} {fmt.upper()}: {seconds:.2f} s, {len(data) / 1e6:.1f} MB; "
                    f"{seconds / read_s:.1f}x the read{note}"
                )
                if doc.published is not None:
                    verify_s, result = median(lambda x=data: verify_document(x), args.repeat)
                    assert result.ok, result.problems
                    print(f"  report verify of it: {verify_s:.2f} s (target < 1 s)")
        engine.dispose()
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
