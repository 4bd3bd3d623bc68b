"""Benchmark: the compliance engine.

(a) Excursions: 10,000,000 positions of 1,000 units against 50 zones (50 clauses, half
    `confined_to`, half `excluded_from`, each about one of 10 subjects), arrays in memory.
    Our figure is end to end (every clause's findings); the baseline is the raw shapely STRtree
    query of the same points against the same zones, in the same run. Targets: at least
    2,000,000 positions/s and at least 50% of the raw query's rate. Where PostGIS is installed,
    the same containment in PostGIS with a GiST index is printed as a peer figure.
(b) Correlation of 100,000, 300,000 and 1,000,000 observations: the times, and the time divided
    by n log n (flat for n log n growth); 1,000,000 in under 30 s.

    python bench/compliance.py [--positions N] [--skip-postgis]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry import Point

from truceline.domain.correlation import FAMILY_CODE, Observations, correlate
from truceline.domain.findings import Facts
from truceline.domain.rules import confined_to, evaluate, excluded_from
from truceline.domain.tracks import Tracks
from truceline.mission.geometry import buffer_metres

PG_ADMIN = os.environ.get(
    "TRUCELINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
T0 = 1_605_852_000_000_000


@dataclass(frozen=True)
class Version:
    version: int
    effective: datetime | None
    params: Any


@dataclass(frozen=True)
class Clause:
    id: str
    rule: str
    versions: tuple[Version, ...]


@dataclass(frozen=True)
class Zone:
    geometry: Any


def scenario(n_positions: int, n_units: int = 1000, n_zones: int = 50, seed: int = 11) -> tuple:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    zones = {
        f"z{k}": Zone(
            buffer_metres(
                Point(46.0 + rng.random() * 2.5, 39.5 + rng.random() * 1.5),
                float(rng.uniform(3_000, 15_000)),
            )
        )
        for k in range(n_zones)
    }
    per_unit = n_positions // n_units
    unit = np.repeat(np.arange(n_units, dtype=np.int64), per_unit)
    actor = unit % 10  # 10 subjects of 100 units each
    order = np.lexsort((unit, actor))  # sorted by actor, unit (time within a unit ascends)
    start_lon = 46.0 + rng.random(n_units) * 2.5
    start_lat = 39.5 + rng.random(n_units) * 1.5
    steps = rng.normal(0, 0.0004, size=(2, n_units * per_unit))
    lon = (
        np.repeat(start_lon, per_unit)
        + np.cumsum(steps[0].reshape(n_units, per_unit), axis=1).ravel()
    )
    lat = (
        np.repeat(start_lat, per_unit)
        + np.cumsum(steps[1].reshape(n_units, per_unit), axis=1).ravel()
    )
    t = T0 + np.tile(np.arange(per_unit, dtype=np.int64) * 30_000_000, n_units)
    ids = np.arange(1, len(t) + 1, dtype=np.int64)
    columns = tuple(a[order] for a in (ids, unit, actor, t, lon, lat))
    clauses = []
    for k in range(n_zones):
        module = confined_to if k % 2 else excluded_from
        rule = "confined_to" if k % 2 else "excluded_from"
        params = module.Params(id=f"c{k}", rule=rule, subject=f"s{k % 10}", zone=f"z{k}")
        clauses.append(Clause(f"c{k}", rule, (Version(1, None, params),)))
    return zones, columns, clauses


def report(label: str, n: int, seconds: float, note: str) -> None:
    print(f"  {label:<40} {n / seconds:>13,.0f} positions/s  ({seconds:.2f} s, {note})")


def excursions_benchmark(n_positions: int, skip_postgis: bool) -> None:
    zones, (ids, unit, actor, t, lon, lat), clauses = scenario(n_positions)
    n = len(t)
    print(
        f"(a) excursions: {n:,} positions of 1,000 units, {len(zones)} zones, "
        f"{len(clauses)} clauses"
    )
    began = time.perf_counter()
    units, actors = [f"u{k}" for k in range(1000)], [f"s{k}" for k in range(10)]
    tracks = Tracks.from_codes(ids, unit, actor, t, lon, lat, units, actors)
    found = evaluate(clauses, Facts([], [], tracks, zones, 600))
    ours = time.perf_counter() - began

    began = time.perf_counter()
    tree = STRtree([z.geometry for z in zones.values()])
    pairs = tree.query(shapely.points(lon, lat), predicate="intersects")
    raw = time.perf_counter() - began

    began = time.perf_counter()
    inside = {}
    for zone_id, zone in zones.items():
        minx, miny, maxx, maxy = zone.geometry.bounds
        candidates = np.flatnonzero((lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy))
        shapely.prepare(zone.geometry)
        mask = np.zeros(n, dtype=bool)
        mask[candidates] = shapely.intersects_xy(zone.geometry, lon[candidates], lat[candidates])
        inside[zone_id] = mask
    prepared = time.perf_counter() - began

    # Cross-check: the fixes in our findings are exactly the breaching fixes by the baseline.
    expected = 0
    for clause in clauses:
        params = clause.versions[0].params
        in_zone = inside[params.zone]
        breaching = in_zone if clause.rule == "excluded_from" else ~in_zone
        expected += int(((actor == int(params.subject[1:])) & breaching).sum())
    ours_fixes = sum(f.evidence["fixes"] for f in found)

    report("truceline, every clause's excursions", n, ours, f"{len(found):,} findings")
    report("shapely STRtree query (points + query)", n, raw, f"{pairs.shape[1]:,} point-zone pairs")
    pairs_prepared = sum(int(m.sum()) for m in inside.values())
    report("shapely, box + prepared zone, each zone", n, prepared, f"{pairs_prepared:,} pairs")
    same = "the same" if ours_fixes == expected else "DIFFERENT"
    print(
        f"  cross-check: breaching fixes {ours_fixes:,} in our findings, {expected:,} by the "
        f"baseline: {same}"
    )
    print("  (the baselines test every point against every zone; each clause is about one subject,")
    print("   so truceline tests a zone against that subject's fixes only)")
    ok = n / ours >= 2_000_000 and raw / ours >= 0.5
    verdict = "met" if ok else "NOT MET"
    print(
        f"  {raw / ours:.1%} of the raw query's rate; targets (>= 2,000,000/s, >= 50%): {verdict}"
    )
    if not skip_postgis:
        sample = min(n, 2_000_000)  # loading PostGIS takes minutes per ten million rows
        postgis(zones, lon[:sample], lat[:sample])


def postgis(zones: dict[str, Zone], lon: np.ndarray, lat: np.ndarray) -> None:  # type: ignore[type-arg]
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"truceline_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        engine = create_engine(admin.url.set(database=name))
        with engine.begin() as conn:
            try:
                conn.execute(text("CREATE EXTENSION postgis"))
            except Exception:
                print("  PostGIS: not installed here (apt-get install postgresql-15-postgis-3)")
                return
        raw = engine.raw_connection()
        cur = raw.driver_connection.cursor()
        cur.execute("CREATE TABLE zones (id int, geom geometry(Polygon, 4326))")
        cur.execute("CREATE TABLE positions (id bigint, lon float8, lat float8)")
        for k, zone in enumerate(zones.values()):
            cur.execute(
                "INSERT INTO zones VALUES (%s, ST_GeomFromText(%s, 4326))", (k, zone.geometry.wkt)
            )
        with cur.copy("COPY positions (id, lon, lat) FROM STDIN") as copy:
            for row in zip(range(len(lon)), lon.tolist(), lat.tolist(), strict=True):
                copy.write_row(row)
        cur.execute("ALTER TABLE positions ADD COLUMN geom geometry(Point, 4326)")
        cur.execute("UPDATE positions SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326)")
        cur.execute("CREATE INDEX ON positions USING gist (geom)")
        cur.execute("CREATE INDEX ON zones USING gist (geom)")
        cur.execute("ANALYZE")
        raw.driver_connection.commit()
        began = time.perf_counter()
        cur.execute(
            "SELECT count(*) FROM zones z JOIN positions p ON ST_Intersects(z.geom, p.geom)"
        )
        pairs = cur.fetchone()[0]
        elapsed = time.perf_counter() - began
        note = f"the first {len(lon):,} positions, {pairs:,} point-zone pairs"
        report("PostGIS, GiST indexes (a peer figure)", len(lon), elapsed, note)
        raw.close()
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def observations(n: int, seed: int = 5) -> Observations:
    """n observations at a steady rate (one event every 4 s), a fifth of the events seen by
    two or three sources."""
    rng = np.random.default_rng(seed)
    events = int(n / 1.3)
    event_t = T0 + np.sort(rng.integers(0, events * 4_000_000, size=events))
    event_lat = 39.5 + rng.random(events) * 1.0
    event_lon = 46.0 + rng.random(events) * 1.2
    copies = np.where(rng.random(events) < 0.2, rng.integers(2, 4, size=events), 1)
    which = np.repeat(np.arange(events), copies)[:n]
    if len(which) < n:
        which = np.concatenate([which, rng.integers(0, events, size=n - len(which))])
    t = event_t[which] + rng.integers(-60_000_000, 60_000_000, size=n)
    families = np.array([FAMILY_CODE[f] for f in ("fire", "fire", "fire", "flare", "movement")])
    return Observations(
        ids=np.arange(1, n + 1, dtype=np.int64),
        t_from=t,
        t_to=t,
        lat=event_lat[which] + rng.normal(0, 0.001, size=n),
        lon=event_lon[which] + rng.normal(0, 0.001, size=n),
        uncertainty=rng.choice([0.0, 100.0, 300.0, 2000.0], p=[0.3, 0.4, 0.29, 0.01], size=n),
        family=families[which % len(families)],
        source=rng.integers(0, 60, size=n),
        count=rng.integers(1, 20, size=n),
    )


def correlation_benchmark() -> None:
    print("(b) correlation (time_s 300, distance_m 500)")
    base = None
    for n in (100_000, 300_000, 1_000_000):
        data = observations(n)
        began = time.perf_counter()
        anchors = correlate(data, 300, 500)
        elapsed = time.perf_counter() - began
        incidents = len(np.unique(anchors[anchors >= 0]))
        per = elapsed / (n * math.log(n))
        base = base or per
        print(
            f"  {n:>9,} observations  {elapsed:6.2f} s  {incidents:>9,} incidents  "
            f"time / (n log n) = {per / base:.2f} × the 100,000 figure"
        )
        if n == 1_000_000:
            print(f"  1,000,000 in under 30 s: {'met' if elapsed < 30 else 'NOT MET'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--positions", type=int, default=10_000_000)
    parser.add_argument("--skip-postgis", action="store_true")
    args = parser.parse_args()
    excursions_benchmark(args.positions, args.skip_postgis)
    correlation_benchmark()
    return 0


if __name__ == "__main__":
    sys.exit(main())
