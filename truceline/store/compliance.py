"""Incidents, findings and assessment runs in the database."""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from truceline.domain.findings import Finding
from truceline.domain.incidents import Incident, ObservationFact
from truceline.domain.selection import Box, box_e7, narrowed, pick
from truceline.domain.timeutil import iso, iso_many
from truceline.domain.tracks import Tracks
from truceline.i18n.message import M
from truceline.store import tables as t


def _overlapping(start: Any, end: Any, f0: int | None, f1: int | None) -> ColumnElement[bool]:
    conditions = []
    if f0 is not None:
        conditions.append(end >= f0)
    if f1 is not None:
        conditions.append(start <= f1)
    return and_(True, *conditions)


def _within(start: Any, end: Any, f0: int | None, f1: int | None) -> ColumnElement[bool]:
    conditions = []
    if f0 is not None:
        conditions.append(start >= f0)
    if f1 is not None:
        conditions.append(end <= f1)
    return and_(True, *conditions)


def load_observation_facts(
    conn: Connection, f0: int | None, f1: int | None
) -> list[ObservationFact]:
    o = t.observations
    query = select(
        o.c.id, o.c.observed_from_us, o.c.observed_to_us, o.c.lat_e7, o.c.lon_e7,
        o.c.uncertainty_m, o.c.kind, o.c.subtype, o.c.count, o.c.actor, o.c.source_kind,
        o.c.source, o.c.reporter, o.c.uid,
    ).where(
        _overlapping(o.c.observed_from_us, o.c.observed_to_us, f0, f1),
        ~o.c.uid.in_(select(t.retractions.c.observation_uid)),  # a retraction stops it counting
    )  # fmt: skip
    return [
        ObservationFact(
            r[0],
            r[1],
            r[2],
            r[3] / 1e7,
            r[4] / 1e7,
            r[5],
            r[6],
            r[7],
            r[8],
            r[9],
            r[10],
            r[11],
            r[12],
            r[13],
        )
        for r in conn.execute(query)
    ]


def load_tracks(conn: Connection, f0: int | None, f1: int | None) -> Tracks:
    p = t.positions
    query = select(p.c.id, p.c.unit, p.c.actor, p.c.time_us, p.c.lon_e7, p.c.lat_e7).where(
        _within(p.c.time_us, p.c.time_us, f0, f1)
    )
    rows = conn.execute(query).all()
    if not rows:
        return Tracks.empty()
    ids, units, actors, times, lon, lat = zip(*rows, strict=True)
    return Tracks.from_columns(
        ids, units, actors, times, np.asarray(lon) / 1e7, np.asarray(lat) / 1e7
    )


def data_extent(conn: Connection) -> tuple[int | None, int | None]:
    """The earliest and latest time of any observation or position."""
    o, p = t.observations, t.positions
    a = conn.execute(select(func.min(o.c.observed_from_us), func.max(o.c.observed_to_us))).one()
    b = conn.execute(select(func.min(p.c.time_us), func.max(p.c.time_us))).one()
    lows = [v for v in (a[0], b[0]) if v is not None]
    highs = [v for v in (a[1], b[1]) if v is not None]
    return (min(lows) if lows else None, max(highs) if highs else None)


def latest_start(conn: Connection) -> int | None:
    """The latest time at which any observation starts or any position is taken: what the
    pages call "the latest data". One aggregate a query, each read from the end of its
    index (a query of `min` and `max` together, or of an unindexed column, reads every row:
    110 ms at a million observations, on every page that names no day)."""
    o, p = t.observations, t.positions
    a = conn.execute(select(func.max(o.c.observed_from_us))).scalar()
    b = conn.execute(select(func.max(p.c.time_us))).scalar()
    found = [int(v) for v in (a, b) if v is not None]
    return max(found) if found else None


def max_ids(conn: Connection) -> tuple[int, int]:
    o = conn.execute(select(func.max(t.observations.c.id))).scalar()
    p = conn.execute(select(func.max(t.positions.c.id))).scalar()
    return int(o or 0), int(p or 0)


def last_run(conn: Connection) -> Any:
    r = t.assessment_runs
    return conn.execute(select(r).order_by(r.c.id.desc()).limit(1)).first()


def new_data_window(conn: Connection, after_obs: int, after_pos: int) -> tuple[int, int] | None:
    """The time span of observations and positions stored since a run, or None."""
    o, p = t.observations, t.positions
    a = conn.execute(
        select(func.min(o.c.observed_from_us), func.max(o.c.observed_to_us)).where(
            o.c.id > after_obs
        )
    ).one()
    b = conn.execute(
        select(func.min(p.c.time_us), func.max(p.c.time_us)).where(p.c.id > after_pos)
    ).one()
    lows = [v for v in (a[0], b[0]) if v is not None]
    highs = [v for v in (a[1], b[1]) if v is not None]
    return (min(lows), max(highs)) if lows else None


def begin_run(conn: Connection, *, now_us: int, mission_sha256: str) -> int:
    result = conn.execute(
        insert(t.assessment_runs).values(
            started_at_us=now_us,
            mission_sha256=mission_sha256,
            last_observation_id=0,
            last_position_id=0,
            incidents=0,
            findings=0,
            changes=0,
            sha256="",
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def finish_run(conn: Connection, run_id: int, **values: Any) -> None:
    conn.execute(update(t.assessment_runs).where(t.assessment_runs.c.id == run_id).values(**values))


def _incident_row(incident: Incident) -> dict[str, Any]:
    return {
        "anchor": incident.anchor,
        "family": incident.family,
        "kind": incident.kind,
        "kinds": json.dumps(list(incident.kinds)),
        "subtypes": json.dumps(list(incident.subtypes)),
        "start_us": incident.start,
        "end_us": incident.end,
        "lat_e7": round(incident.lat * 1e7),
        "lon_e7": round(incident.lon * 1e7),
        "count": incident.count,
        "actor": incident.actor,
        "observations": len(incident.observations),
        "sources": json.dumps([asdict(s) for s in incident.sources], sort_keys=True),
        "status": "active",
    }


def _chunks(values: Sequence[Any], size: int = 5000) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _upsert(
    conn: Connection, table: Any, key: str, run_id: int, wanted: dict[Any, dict[str, Any]]
) -> tuple[dict[Any, int], int]:
    """Insert the rows not stored yet, update those stored differently (in bulk); the id of
    every wanted row and the number of rows written."""
    columns = [c for c in table.c if c.name not in ("id", "run_id")]
    existing: dict[Any, Any] = {}
    for part in _chunks(list(wanted)):
        query = select(table.c.id, *columns).where(table.c[key].in_(part))
        existing.update({getattr(row, key): row for row in conn.execute(query)})
    fresh = [{**row, "run_id": run_id} for k, row in wanted.items() if k not in existing]
    changed = [
        {**{f"new_{name}": value for name, value in row.items()}, "new_run_id": run_id,
         "row_id": existing[k].id}
        for k, row in wanted.items()
        if k in existing and {c.name: getattr(existing[k], c.name) for c in columns} != row
    ]  # fmt: skip
    if fresh:
        conn.execute(insert(table), fresh)
    if changed:
        statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({c.name: bindparam(f"new_{c.name}") for c in [*columns, table.c.run_id]})
        )
        conn.execute(statement, changed)
    ids = {k: int(row.id) for k, row in existing.items()}
    if fresh:
        for part in _chunks([row[key] for row in fresh]):
            query = select(table.c.id, table.c[key]).where(table.c[key].in_(part))
            ids.update({k: int(ident) for ident, k in conn.execute(query)})
    return ids, len(fresh) + len(changed)


def _retire(
    conn: Connection,
    table: Any,
    key: str,
    run_id: int,
    scope: Any,
    wanted: dict[Any, Any],
    status: str,
) -> list[int]:
    """Mark the active rows in scope that are no longer wanted with `status`."""
    in_scope = conn.execute(
        select(table.c.id, table.c[key]).where(table.c.status == "active", scope)
    )
    gone = [int(ident) for ident, k in in_scope if k not in wanted]
    for part in _chunks(gone):
        conn.execute(update(table).where(table.c.id.in_(part)).values(status=status, run_id=run_id))
    return gone


def replace_incidents(
    conn: Connection, run_id: int, f0: int | None, f1: int | None, incidents: Sequence[Incident]
) -> tuple[dict[int, int], int]:
    """Make the active incidents lying within [f0, f1] exactly `incidents`: new ones are added,
    changed ones updated in place (an incident keeps its id while its anchor stays), and those
    no longer found (merged into another, or split) are marked superseded. Returns each
    anchor's incident id and the number of rows changed."""
    i = t.incidents
    wanted = {incident.anchor: _incident_row(incident) for incident in incidents}
    scope = _within(i.c.start_us, i.c.end_us, f0, f1)
    gone = _retire(conn, i, "anchor", run_id, scope, wanted, "superseded")
    ids, changes = _upsert(conn, i, "anchor", run_id, wanted)
    # Membership: each observation points at the incident it is in now.
    link = t.incident_observations
    for part in _chunks(sorted({*ids.values(), *gone})):
        conn.execute(delete(link).where(link.c.incident_id.in_(part)))
    members = [
        {"observation_id": n, "incident_id": ids[incident.anchor]}
        for incident in incidents
        for n in incident.observations
    ]
    for part in _chunks([m["observation_id"] for m in members]):
        conn.execute(delete(link).where(link.c.observation_id.in_(part)))
    if members:
        conn.execute(insert(link), members)
    return ids, changes + len(gone)


def _finding_row(finding: Finding, incident_ids: dict[int, int]) -> dict[str, Any]:
    return {
        "key": finding.key,
        "clause_id": finding.clause,
        "clause_version": finding.version,
        "rule": finding.rule,
        "zone": finding.zone,
        "subject": finding.subject,
        "start_us": finding.start,
        "end_us": finding.end,
        "incident_id": None if finding.incident is None else incident_ids[finding.incident],
        "unit": finding.unit,
        "observation_id": finding.observation,
        "evidence": json.dumps(dict(finding.evidence), sort_keys=True),
        "status": "active",
    }


def replace_findings(
    conn: Connection,
    run_id: int,
    f0: int | None,
    f1: int | None,
    found: Iterable[Finding],
    incident_ids: dict[int, int],
) -> int:
    """Make the active findings lying within [f0, f1] exactly `found`; findings no longer
    found are withdrawn (kept, since cases may refer to them). Returns rows changed."""
    f = t.findings
    wanted = {finding.key: _finding_row(finding, incident_ids) for finding in found}
    scope = _within(f.c.start_us, f.c.end_us, f0, f1)
    gone = _retire(conn, f, "key", run_id, scope, wanted, "withdrawn")
    _, changes = _upsert(conn, f, "key", run_id, wanted)
    return changes + len(gone)


INCIDENT_COLUMNS = (
    "id", "anchor", "family", "kind", "kinds", "subtypes", "start_us", "end_us", "lat_e7",
    "lon_e7", "count", "actor", "sources", "status",
)  # fmt: skip


def incident_dicts(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Incidents as plain JSON-ready dicts (times and JSON columns converted in one pass);
    `rows` hold the INCIDENT_COLUMNS in that order."""
    starts = iso_many([row[6] for row in rows])
    ends = iso_many([row[7] for row in rows])
    loads = orjson.loads
    listed = []
    for row, start, end in zip(rows, starts, ends, strict=True):
        (
            ident,
            anchor,
            family,
            kind,
            kinds,
            subtypes,
            _,
            _,
            lat,
            lon,
            count,
            actor,
            sources,
            status,
        ) = row
        held = loads(sources)
        listed.append({
            "id": ident, "anchor": anchor, "family": family, "kind": kind, "kinds": loads(kinds),
            "subtypes": loads(subtypes), "start": start, "end": end, "lat": lat / 1e7,
            "lon": lon / 1e7, "count": count, "actor": actor,
            "observations": [n for source in held for n in source["observations"]],
            "sources": held, "status": status,
        })  # fmt: skip
    return listed


def incident_columns() -> list[Any]:
    return [t.incidents.c[name] for name in INCIDENT_COLUMNS]


def list_incidents(
    conn: Connection,
    *,
    since_us: int | None = None,
    until_us: int | None = None,
    include_superseded: bool = False,
    bbox: Box | None = None,
    kind: str | None = None,
    within: Any | None = None,
    among: Collection[int] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Incidents in time order; `bbox` is (min lon, min lat, max lon, max lat), `kind` the
    incident's kind, `within` a zone's geometry, `among` a set of incident ids."""
    bbox = narrowed(bbox, within)
    values: dict[str, Any] = {"offset": offset, "limit": 2**62 if limit is None else limit}
    if bbox is not None:
        values.update(zip(("west", "south", "east", "north"), box_e7(bbox), strict=True))
    for name, value in (("since", since_us), ("until", until_us), ("kind", kind)):
        if value is not None:
            values[name] = value
    shape = (
        bbox is not None,
        include_superseded,
        *(n in values for n in ("since", "until", "kind")),
    )
    if within is None and among is None:
        return incident_dicts(conn.execute(_incidents_query(False, *shape), values).all())
    places = conn.execute(
        _incidents_query(True, *shape), {**values, "offset": 0, "limit": 2**62}
    ).all()
    chosen = pick(places, within=within, among=among, offset=offset, limit=limit)
    if not chosen:
        return []
    i = t.incidents
    rows = conn.execute(
        select(*incident_columns()).where(i.c.id.in_(chosen)).order_by(i.c.start_us, i.c.id)
    ).all()
    return incident_dicts(rows)


@functools.cache
def _incidents_query(
    keys: bool, bbox: bool, superseded: bool, since: bool, until: bool, kind: bool
) -> Any:
    """The statement for one combination of filters, built once (the API runs it often);
    with `keys`, only each incident's id and place."""
    i = t.incidents
    columns = [i.c.id, i.c.lon_e7, i.c.lat_e7] if keys else incident_columns()
    query = (
        select(*columns)
        .order_by(i.c.start_us, i.c.id)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )
    if bbox:
        query = query.where(
            i.c.lon_e7.between(bindparam("west"), bindparam("east")),
            i.c.lat_e7.between(bindparam("south"), bindparam("north")),
        )
    if not superseded:
        query = query.where(i.c.status == "active")
    if since:  # incidents that start in [since, until): the index serves both ends
        query = query.where(i.c.start_us >= bindparam("since"))
    if until:
        query = query.where(i.c.start_us < bindparam("until"))
    if kind:
        query = query.where(i.c.kind == bindparam("kind"))
    return query


def finding_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.key,
        "clause": row.clause_id,
        "clause_version": row.clause_version,
        "rule": row.rule,
        "zone": row.zone,
        "subject": row.subject,
        "start": iso(row.start_us),
        "end": iso(row.end_us),
        "incident": row.incident_id,
        "unit": row.unit,
        "observation": row.observation_id,
        "evidence": json.loads(row.evidence),
        "status": row.status,
    }


def finding_what(finding: dict[str, Any]) -> str:
    """What a finding is about: its incident, unit or reported count."""
    if finding["incident"]:
        return M("incident {incident}", incident=finding["incident"])
    if finding["unit"]:
        return M("unit {unit}", unit=finding["unit"])
    return M("observation {observation}", observation=finding["observation"])


def list_findings(
    conn: Connection,
    *,
    clause: str | None = None,
    since_us: int | None = None,
    until_us: int | None = None,
    include_withdrawn: bool = False,
    among: Collection[int] | None = None,
    limit: int | None = None,
    offset: int = 0,
    after_id: int | None = None,
) -> list[dict[str, Any]]:
    """Findings in time order; `among` a set of ids; `after_id`: only those newer than it."""
    f = t.findings
    query = select(f).order_by(f.c.start_us, f.c.id).offset(offset).limit(limit)
    if after_id is not None:
        query = query.where(f.c.id > after_id)
    if among is not None:
        query = query.where(f.c.id.in_(sorted(among)))
    if not include_withdrawn:
        query = query.where(f.c.status == "active")
    if clause is not None:
        query = query.where(f.c.clause_id == clause)
    if since_us is not None:  # findings that start in [since, until)
        query = query.where(f.c.start_us >= since_us)
    if until_us is not None:
        query = query.where(f.c.start_us < until_us)
    return [finding_dict(row) for row in conn.execute(query)]


def count_active(conn: Connection) -> tuple[int, dict[str, int]]:
    """Active incidents, and active findings per clause."""
    incidents = conn.execute(
        select(func.count()).select_from(t.incidents).where(t.incidents.c.status == "active")
    ).scalar_one()
    f = t.findings
    per_clause: dict[Any, Any] = dict(
        conn.execute(
            select(f.c.clause_id, func.count())
            .where(f.c.status == "active")
            .group_by(f.c.clause_id)
        ).all()
    )
    return int(incidents), {str(k): int(v) for k, v in per_clause.items()}


def unit_tracks(
    conn: Connection, since_us: int, until_us: int, max_points: int = 20_000
) -> list[dict[str, Any]]:
    """Each unit's positions in [since, until) as a line for a map, in time order; thinned
    evenly (first and last point kept) when there are more than `max_points` in all."""
    p = t.positions
    rows = conn.execute(
        select(p.c.unit, p.c.actor, p.c.time_us, p.c.lon_e7, p.c.lat_e7)
        .where(p.c.time_us >= since_us, p.c.time_us < until_us)
        .order_by(p.c.unit, p.c.time_us, p.c.id)
    ).all()
    if not rows:
        return []
    units, actors, times, lon, lat = (np.asarray(c) for c in zip(*rows, strict=True))
    keep = np.ones(len(rows), dtype=bool)
    if len(rows) > max_points:
        keep[:] = False
        keep[np.linspace(0, len(rows) - 1, max_points).astype(np.int64)] = True
    starts = np.flatnonzero(np.r_[True, units[1:] != units[:-1]])
    ends = np.r_[starts[1:], len(rows)]
    keep[starts] = keep[ends - 1] = True
    tracks = []
    for a, b in zip(starts, ends, strict=True):
        chosen = np.flatnonzero(keep[a:b]) + a
        tracks.append({
            "unit": str(units[a]), "actor": str(actors[a]),
            "start": iso(int(times[a])), "end": iso(int(times[b - 1])),
            "points": np.column_stack([lat[chosen] / 1e7, lon[chosen] / 1e7]).tolist(),
        })  # fmt: skip
    return tracks


def get_incident(conn: Connection, incident_id: int) -> dict[str, Any] | None:
    i = t.incidents
    row = conn.execute(select(*incident_columns()).where(i.c.id == incident_id)).first()
    return None if row is None else incident_dicts([row])[0]


def findings_of_incident(conn: Connection, incident_id: int) -> list[dict[str, Any]]:
    f = t.findings
    query = select(f).where(f.c.incident_id == incident_id).order_by(f.c.id)
    return [finding_dict(row) for row in conn.execute(query)]


def finding_ids_in_zone(conn: Connection, zone: str, geometry: Any) -> set[int]:
    """Findings that name the zone, or whose incident lies in it."""
    f, i = t.findings, t.incidents
    named = set(conn.execute(select(f.c.id).where(f.c.zone == zone)).scalars())
    box = narrowed(None, geometry)
    assert box is not None
    west, south, east, north = box_e7(box)
    rows = conn.execute(
        select(f.c.id, i.c.lon_e7, i.c.lat_e7)
        .join(i, f.c.incident_id == i.c.id)
        .where(i.c.lon_e7.between(west, east), i.c.lat_e7.between(south, north))
    ).all()
    placed = pick(rows, within=geometry, among=None, offset=0, limit=None)
    return named | set(placed)


def get_finding(conn: Connection, finding_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(t.findings).where(t.findings.c.id == finding_id)).first()
    return None if row is None else finding_dict(row)


# What `ledger verify` compares: the engine's findings and incidents as made from the evidence
# now, and the active rows stored (incidents named by their anchor, not by local ids).
def finding_facts(finding: Finding) -> tuple[Any, ...]:
    anchors = {} if finding.incident is None else {finding.incident: finding.incident}
    row = _finding_row(finding, anchors)
    return tuple(row[c] for c in _FINDING_FACTS)


_FINDING_FACTS = (
    "clause_id", "clause_version", "rule", "zone", "subject", "start_us", "end_us",
    "incident_id", "unit", "observation_id", "evidence",
)  # fmt: skip
_INCIDENT_FACTS = (
    "anchor", "family", "kind", "kinds", "subtypes", "start_us", "end_us", "lat_e7", "lon_e7",
    "count", "actor", "observations", "sources",
)  # fmt: skip


def active_findings_for_check(conn: Connection) -> dict[str, tuple[Any, ...]]:
    f, i = t.findings, t.incidents
    columns = [f.c[c] if c != "incident_id" else i.c.anchor for c in _FINDING_FACTS]
    rows = conn.execute(
        select(f.c.key, *columns)
        .join(i, i.c.id == f.c.incident_id, isouter=True)
        .where(f.c.status == "active")
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def incident_facts(incident: Incident) -> tuple[Any, ...]:
    row = _incident_row(incident)
    return tuple(row[c] for c in _INCIDENT_FACTS)


def active_incidents_for_check(conn: Connection) -> list[tuple[Any, ...]]:
    i = t.incidents
    rows = conn.execute(select(*[i.c[c] for c in _INCIDENT_FACTS]).where(i.c.status == "active"))
    return [tuple(row) for row in rows]
