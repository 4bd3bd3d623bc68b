"""Benchmark: the compliance engine.

(a) Excursions: 10,000,000 positions of 1,000 units against 50 zones (50 clauses, half
    `confined_to`, half `excluded_from`, each about one of 10 subjects), arrays in memory.
    Every figure does the work truceline does: each clause's subject's fixes against that
    clause's zone. Our figure is end to end (every clause's findings); the baselines, in the
    same run: shapely's STRtree (per subject, a tree of its clauses' zones queried with its
    fixes) and prepared zones (per clause, a box test then the exact test). Targets: at least
    2,000,000 positions/s and at least 50% of the STRtree's rate. Where PostGIS is installed,
    the same per-clause containment with a GiST index, on a sample of every subject's fixes,
    is printed beside our figure on the same sample.
(b) Correlation of 100,000, 300,000 and 1,000,000 observations: the times, and the time divided
    by n log n (flat for n log n growth); 1,000,000 in under 30 s.
(c) Correlation's worst cases, each in a process of its own, with time and peak memory:
    20,000 observations of 200 sources at one point and one time beside 20,000 spread out
    (targets: at most 5x the time, peak under 1 GB); 1,000,000 observations of 1,000 sources in
    one 500 m cell over one hour.

    python bench/compliance.py [--positions N] [--skip-postgis]
                               [--only excursions|correlation|worst]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
import tracemalloc
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
    print(f"  {label:<52} {n / seconds:>13,.0f} positions/s  ({seconds:.2f} s, {note})")


def beside(ours: float, theirs: float, name: str) -> None:
    print(f"  {'':<52} truceline's rate / {name}'s (this run): {theirs / ours:.2f}x")


def subjects_of(
    clauses: list[Clause],
    actor: np.ndarray,  # type: ignore[type-arg]
) -> dict[int, tuple[int, int, list[Any]]]:
    """Each subject's slice of the fixes (sorted by actor, as truceline's tracks are) and the
    parameters of the clauses about it: the work truceline does is each clause's subject's
    fixes against that clause's zone."""
    by_subject: dict[int, tuple[int, int, list[Any]]] = {}
    for clause in clauses:
        params = clause.versions[0].params
        code = int(params.subject[1:])
        if code not in by_subject:
            start = int(np.searchsorted(actor, code, side="left"))
            end = int(np.searchsorted(actor, code, side="right"))
            by_subject[code] = (start, end, [])
        by_subject[code][2].append(params)
    return by_subject


def ours(
    clauses: list[Clause],
    zones: dict[str, Zone],
    columns: tuple[np.ndarray, ...],  # type: ignore[type-arg]
) -> tuple[float, list[Any]]:
    ids, unit, actor, t, lon, lat = columns
    began = time.perf_counter()
    units, actors = [f"u{k}" for k in range(1000)], [f"s{k}" for k in range(10)]
    tracks = Tracks.from_codes(ids, unit, actor, t, lon, lat, units, actors)
    found = evaluate(clauses, Facts([], [], tracks, zones, 600))
    return time.perf_counter() - began, found


def excursions_benchmark(n_positions: int, skip_postgis: bool) -> None:
    zones, columns, clauses = scenario(n_positions)
    _ids, _unit, actor, t, lon, lat = columns
    n = len(t)
    print(
        f"(a) excursions: {n:,} positions of 1,000 units, {len(zones)} zones, "
        f"{len(clauses)} clauses, each about one of 10 subjects"
    )
    print("    every figure: each clause's subject's fixes against that clause's zone")
    mine, found = ours(clauses, zones, columns)
    by_subject = subjects_of(clauses, actor)

    # STRtree: per subject, a tree of its clauses' zones, queried with its fixes.
    began = time.perf_counter()
    tree_pairs = 0
    for start, end, params in by_subject.values():
        tree = STRtree([zones[p.zone].geometry for p in params])
        pairs = tree.query(shapely.points(lon[start:end], lat[start:end]), predicate="intersects")
        tree_pairs += pairs.shape[1]
    raw = time.perf_counter() - began

    # Prepared zones: per clause, a box test then the exact test of its subject's fixes.
    began = time.perf_counter()
    inside: dict[str, np.ndarray] = {}  # type: ignore[type-arg]
    for start, end, params in by_subject.values():
        x, y = lon[start:end], lat[start:end]
        for p in params:
            geometry = zones[p.zone].geometry
            minx, miny, maxx, maxy = geometry.bounds
            candidates = np.flatnonzero((x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy))
            shapely.prepare(geometry)
            mask = np.zeros(end - start, dtype=bool)
            mask[candidates] = shapely.intersects_xy(geometry, x[candidates], y[candidates])
            inside[p.id] = mask
    prepared = time.perf_counter() - began

    # Cross-check: the fixes in our findings are exactly the breaching fixes by the baseline.
    expected = 0
    for _start, _end, params in by_subject.values():
        for p in params:
            expected += int((inside[p.id] if p.rule == "excluded_from" else ~inside[p.id]).sum())
    ours_fixes = sum(f.evidence["fixes"] for f in found)

    report("truceline, every clause's excursions", n, mine, f"{len(found):,} findings")
    report("shapely STRtree (points + query), per subject", n, raw, f"{tree_pairs:,} pairs")
    beside(mine, raw, "STRtree")
    pairs_prepared = sum(int(m.sum()) for m in inside.values())
    report("shapely, box + prepared zone, per clause", n, prepared, f"{pairs_prepared:,} pairs")
    beside(mine, prepared, "prepared zones")
    same = "the same" if ours_fixes == expected else "DIFFERENT"
    print(
        f"  cross-check: breaching fixes {ours_fixes:,} in our findings, {expected:,} by the "
        f"baseline: {same}"
    )
    ok = n / mine >= 2_000_000 and raw / mine >= 0.5
    verdict = "met" if ok else "NOT MET"
    print(f"  {raw / mine:.2f}x the STRtree's rate; targets (>= 2,000,000/s, >= 0.5x): {verdict}")
    if not skip_postgis:
        # Loading PostGIS takes minutes per ten million rows: every k-th fix (all subjects).
        step = max(1, math.ceil(n / 2_000_000))
        sample = tuple(a[::step] for a in columns)
        postgis(zones, clauses, sample)


def postgis(
    zones: dict[str, Zone],
    clauses: list[Clause],
    columns: tuple[np.ndarray, ...],  # type: ignore[type-arg]
) -> None:
    from sqlalchemy import create_engine, text

    ids, _unit, actor, _t, lon, lat = columns
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
        cur.execute("CREATE TABLE zones (id text, geom geometry(Polygon, 4326))")
        cur.execute("CREATE TABLE clauses (id text, rule text, subject int, zone text)")
        cur.execute("CREATE TABLE positions (id bigint, actor int, lon float8, lat float8)")
        for zone_id, zone in zones.items():
            cur.execute(
                "INSERT INTO zones VALUES (%s, ST_GeomFromText(%s, 4326))",
                (zone_id, zone.geometry.wkt),
            )
        for clause in clauses:
            p = clause.versions[0].params
            cur.execute(
                "INSERT INTO clauses VALUES (%s, %s, %s, %s)",
                (clause.id, clause.rule, int(p.subject[1:]), p.zone),
            )
        with cur.copy("COPY positions (id, actor, lon, lat) FROM STDIN") as copy:
            rows = zip(ids.tolist(), actor.tolist(), lon.tolist(), lat.tolist(), strict=True)
            for row in rows:
                copy.write_row(row)
        cur.execute("ALTER TABLE positions ADD COLUMN geom geometry(Point, 4326)")
        cur.execute("UPDATE positions SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326)")
        cur.execute("CREATE INDEX ON positions USING gist (geom)")
        cur.execute("CREATE INDEX ON positions (actor)")
        cur.execute("CREATE INDEX ON zones USING gist (geom)")
        cur.execute("ANALYZE")
        raw.driver_connection.commit()
        # The same work: each clause's subject's fixes inside that clause's zone.
        began = time.perf_counter()
        cur.execute(
            "SELECT c.id, c.rule, count(p.id) FROM clauses c JOIN zones z ON z.id = c.zone "
            "LEFT JOIN positions p ON p.actor = c.subject AND ST_Intersects(z.geom, p.geom) "
            "GROUP BY c.id, c.rule"
        )
        per_clause = cur.fetchall()
        elapsed = time.perf_counter() - began
        raw.close()
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    n = len(lon)
    mine, found = ours(clauses, zones, columns)
    subject_fixes = np.bincount(actor, minlength=10)
    by_id = {c.id: int(c.versions[0].params.subject[1:]) for c in clauses}
    expected = sum(
        inside if rule == "excluded_from" else int(subject_fixes[by_id[cid]]) - inside
        for cid, rule, inside in per_clause
    )
    pairs = sum(inside for _cid, _rule, inside in per_clause)
    note = f"a sample of {n:,} fixes of every subject, {pairs:,} pairs"
    report("PostGIS, GiST index, per clause", n, elapsed, note)
    report("truceline on the same fixes", n, mine, f"{len(found):,} findings")
    beside(mine, elapsed, "PostGIS")
    same = "the same" if sum(f.evidence["fixes"] for f in found) == expected else "DIFFERENT"
    print(f"  cross-check with PostGIS: breaching fixes {same}")


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


def dense_point(n: int = 20_000, sources: int = 200) -> Observations:
    """n reports of one event: one point, one time, `sources` sources, no uncertainty."""
    return Observations(
        ids=np.arange(1, n + 1, dtype=np.int64),
        t_from=np.full(n, T0, dtype=np.int64),
        t_to=np.full(n, T0, dtype=np.int64),
        lat=np.full(n, 40.0),
        lon=np.full(n, 46.9),
        uncertainty=np.zeros(n),
        family=np.full(n, FAMILY_CODE["fire"], dtype=np.int64),
        source=np.arange(n, dtype=np.int64) % sources,
        count=np.ones(n, dtype=np.int64),
    )


def dense_cell(n: int = 1_000_000, sources: int = 1_000, seed: int = 9) -> Observations:
    """n reports of `sources` sources anywhere in one 500 m square over one hour."""
    rng = np.random.default_rng(seed)
    t = T0 + rng.integers(0, 3_600 * 1_000_000, size=n)
    metres_lat = 111_195.0
    return Observations(
        ids=np.arange(1, n + 1, dtype=np.int64),
        t_from=t,
        t_to=t,
        lat=40.0 + rng.random(n) * 500 / metres_lat,
        lon=46.9 + rng.random(n) * 500 / (metres_lat * math.cos(math.radians(40.0))),
        uncertainty=np.zeros(n),
        family=np.full(n, FAMILY_CODE["fire"], dtype=np.int64),
        source=rng.integers(0, sources, size=n),
        count=np.ones(n, dtype=np.int64),
    )


WORST_CASES = {
    "point": ("20,000 of 200 sources at one point and time", lambda: dense_point()),
    "spread": ("20,000 spread out (as in (b))", lambda: observations(20_000)),
    "cell": ("1,000,000 of 1,000 sources, one 500 m cell, 1 hour", lambda: dense_cell()),
}


def peak_rss() -> int:
    """This process's peak resident memory in bytes: VmHWM, which starts anew at exec (the
    ru_maxrss of a child keeps its parent's peak at fork)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def worst_case_child(case: str) -> None:
    """One case in a process of its own: the best of a few runs' times, the peak of memory
    traced (numpy's arrays included) during one more run, and the process's peak RSS."""
    data = WORST_CASES[case][1]()
    times = []
    for _ in range(7 if len(data) <= 20_000 else 1):
        began = time.perf_counter()
        anchors = correlate(data, 300, 500)
        times.append(time.perf_counter() - began)
    tracemalloc.start()
    correlate(data, 300, 500)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = peak_rss()
    incidents = len(np.unique(anchors[anchors >= 0]))
    print(json.dumps({"seconds": min(times), "peak": peak, "rss": rss, "incidents": incidents}))


def run_child(case: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--worst-case", case],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def worst_cases_benchmark() -> None:
    print(
        "(c) correlation's worst cases, each in a process of its own (time_s 300, distance_m 500)"
    )
    figures = {}
    for case, (label, _) in WORST_CASES.items():
        f = run_child(case)
        figures[case] = f
        print(
            f"  {label:<52} {f['seconds']:8.3f} s  peak {f['peak'] / 2**20:7.1f} MiB traced, "
            f"{f['rss'] / 2**20:7.1f} MiB RSS  {int(f['incidents']):,} incidents"
        )
    ratio = figures["point"]["seconds"] / figures["spread"]["seconds"]
    ok = ratio <= 5 and figures["point"]["peak"] < 2**30
    print(
        f"  one point / spread out: {ratio:.2f}x the time; targets (<= 5x, peak < 1 GB): "
        f"{'met' if ok else 'NOT MET'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--positions", type=int, default=10_000_000)
    parser.add_argument("--skip-postgis", action="store_true")
    parser.add_argument(
        "--only", choices=["excursions", "correlation", "worst"], help="run one part only"
    )
    parser.add_argument("--worst-case", choices=sorted(WORST_CASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worst_case:
        worst_case_child(args.worst_case)
        return 0
    if args.only in (None, "excursions"):
        excursions_benchmark(args.positions, args.skip_postgis)
    if args.only in (None, "correlation"):
        correlation_benchmark()
    if args.only in (None, "worst"):
        worst_cases_benchmark()
    return 0


if __name__ == "__main__":
    sys.exit(main())
