"""`truceline assess`: correlate observations into incidents, evaluate every clause, store
incidents and findings.

Idempotent and incremental. A run re-assesses a time *window*: the span of the data stored since
the last run (or everything, the first time and after the mission file changed, or the span
given by --since/--until). The window grows until no incident or excursion found in it comes
within reach of its edges (the correlation time, the track gap), so what lies outside cannot
change what lies inside; then the incidents and findings within the window are replaced by
what the run found. Re-assessing data that did not change changes nothing, and an observation
that arrives late joins the incident it belongs to, exactly as if it had been there all along.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

from truceline.domain import actions
from truceline.domain.canonical import canonical_sha256
from truceline.domain.findings import Facts, Finding
from truceline.domain.incidents import Incident, build_incidents
from truceline.domain.rules import evaluate
from truceline.mission import Mission
from truceline.services.ledger import KeyRing, Signer, node_id, signer
from truceline.store import compliance as repo
from truceline.store.db import is_sqlite, require_schema, snapshot, writing
from truceline.store.missions import load_mission

US = 1_000_000


@dataclass
class AssessReport:
    up_to_date: bool = False
    run_id: int | None = None
    window: tuple[int | None, int | None] = (None, None)
    incidents: int = 0  # found in the window
    findings: list[Finding] = field(default_factory=list)  # found in the window
    changes: int = 0
    active_incidents: int = 0  # in the whole database after the run
    active_findings: dict[str, int] = field(default_factory=dict)  # per clause, whole database


@dataclass
class Assessment:
    window: tuple[int | None, int | None]
    incidents: list[Incident]
    findings: list[Finding]


def assess_window(conn: Connection, mission: Mission, f0: int | None, f1: int | None) -> Assessment:
    """Assess [f0, f1] (None: unbounded), growing it until nothing found reaches its edges."""
    pad = int(mission.correlation.time_s * US)
    gap = int(mission.max_gap_s * US)
    low, high = repo.data_extent(conn)
    while True:
        facts = repo.load_observation_facts(conn, f0, f1)
        events = [f for f in facts if f.kind != "count"]
        incidents = build_incidents(
            events, mission.correlation.time_s, mission.correlation.distance_m
        )
        context = Facts(
            incidents=incidents,
            counts=[f for f in facts if f.kind == "count"],
            tracks=repo.load_tracks(conn, f0, f1),
            zones=mission.zones,
            max_gap_s=mission.max_gap_s,
        )
        found = evaluate(mission.clauses.values(), context)
        spans = [(i.start - pad, i.end + pad) for i in incidents]
        spans += [(f.start - gap, f.end + gap) for f in found if f.unit is not None]
        g0, g1 = f0, f1
        for start, end in spans:
            if g0 is not None and start < g0:
                g0 = start
            if g1 is not None and end > g1:
                g1 = end
        # Beyond the data there is nothing to reach.
        if g0 is not None and (low is None or g0 <= low):
            g0 = None
        if g1 is not None and (high is None or g1 >= high):
            g1 = None
        if (g0, g1) == (f0, f1):
            return Assessment((f0, f1), incidents, found)
        f0, f1 = g0, g1


def findings_digest(found: list[Finding]) -> str:
    """sha256 over the canonical JSON of a run's findings (for the contingent's log), by the
    global names only: any node holding the same evidence computes the same digest."""
    return canonical_sha256(
        sorted([f.key, f.rule, f.zone, f.subject, f.start, f.end, f.unit] for f in found)
    )


@dataclass
class Planned:
    """What a run computed in a read snapshot, to be written if no other run wrote meanwhile."""

    mission: Mission
    last_id: int | None  # the latest run when the snapshot was read
    marks: tuple[int, int]  # the newest observation and position the run has looked at
    result: Assessment
    sign: Signer | None


ASSESS_LOCK = 0x74727563  # the advisory lock that assessment runs take on PostgreSQL
ATTEMPTS = 3  # snapshots computed before a run computes under the write lock instead


def plan_run(
    conn: Connection,
    *,
    since_us: int | None,
    until_us: int | None,
    full: bool,
    keyring: KeyRing | None,
    acting: str | None,
) -> Planned | AssessReport:
    """The run's window and its incidents and findings, read from `conn` (a snapshot, or the
    write transaction itself); an AssessReport when there is nothing new to assess."""
    mission = load_mission(conn)
    last = repo.last_run(conn)
    last_obs, last_pos = repo.max_ids(conn)
    explicit = since_us is not None or until_us is not None
    if explicit or full or last is None or last.mission_sha256 != mission.sha256:
        window: tuple[int | None, int | None] = (since_us, until_us)
    else:
        changed = repo.new_data_window(conn, last.last_observation_id, last.last_position_id)
        if changed is None:
            report = AssessReport(up_to_date=True)
            report.active_incidents, report.active_findings = repo.count_active(conn)
            return report
        window = changed
    sign = signer(conn, mission, keyring, acting)  # before the work: a missing key stops it
    result = assess_window(conn, mission, *window)
    # An explicit window does not move the incremental mark past data it did not look at.
    marks = (last.last_observation_id, last.last_position_id) if explicit and last else (
        last_obs, last_pos)  # fmt: skip
    if explicit and last is None:
        marks = (0, 0)
    return Planned(mission, None if last is None else int(last.id), marks, result, sign)


def _write(conn: Connection, planned: Planned) -> AssessReport:
    mission, result = planned.mission, planned.result
    run_id = repo.begin_run(conn, now_us=time.time_ns() // 1000, mission_sha256=mission.sha256)
    f0, f1 = result.window
    ids, changes = repo.replace_incidents(conn, run_id, f0, f1, result.incidents)
    changes += repo.replace_findings(conn, run_id, f0, f1, result.findings, ids)
    repo.finish_run(
        conn,
        run_id,
        last_observation_id=planned.marks[0],
        last_position_id=planned.marks[1],
        window_from_us=f0,
        window_to_us=f1,
        incidents=len(result.incidents),
        findings=len(result.findings),
        changes=changes,
        sha256=findings_digest(result.findings),
    )
    if planned.sign is not None:
        payload = {
            "node": node_id(conn), "run": run_id, "window_from": f0, "window_to": f1,
            "incidents": len(result.incidents), "findings": len(result.findings),
            "changes": changes, "sha256": findings_digest(result.findings),
        }  # fmt: skip
        planned.sign.log(conn, mission, actions.ASSESSMENT_RUN, payload)
    report = AssessReport(
        run_id=run_id,
        window=(f0, f1),
        incidents=len(result.incidents),
        findings=result.findings,
        changes=changes,
    )
    report.active_incidents, report.active_findings = repo.count_active(conn)
    return report


def write_if_current(engine: Engine, planned: Planned) -> AssessReport | None:
    """Write a run computed in a snapshot, unless another run was written since (None)."""
    with writing(engine) as conn:
        _one_writer(conn)
        latest = repo.last_run(conn)
        if (None if latest is None else int(latest.id)) != planned.last_id:
            return None
        return _write(conn, planned)


def _one_writer(conn: Connection) -> None:
    """One run is written at a time: SQLite's write transaction is already exclusive; on
    PostgreSQL, a transaction-scoped advisory lock (two feeds' assessors, a posted record)."""
    if not is_sqlite(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ASSESS_LOCK})


def assess(
    engine: Engine,
    *,
    since_us: int | None = None,
    until_us: int | None = None,
    full: bool = False,
    keyring: KeyRing | None = None,
    acting: str | None = None,
) -> AssessReport:
    """Assess what is new (or the window given): the work is done in a read snapshot, and
    only its result is written, in a short write transaction that first checks that no other
    run was written meanwhile (else the run is computed again), so that a feed or an import
    is never held up for the length of an assessment. After `ATTEMPTS` such races, the run
    is computed under the write lock."""
    require_schema(engine)
    plan = functools.partial(plan_run, since_us=since_us, until_us=until_us, full=full,
                             keyring=keyring, acting=acting)  # fmt: skip
    for _ in range(ATTEMPTS):
        with snapshot(engine) as conn:
            planned = plan(conn)
        if isinstance(planned, AssessReport):
            return planned
        written = write_if_current(engine, planned)
        if written is not None:
            return written
    with writing(engine) as conn:
        _one_writer(conn)
        planned = plan(conn)
        return planned if isinstance(planned, AssessReport) else _write(conn, planned)
