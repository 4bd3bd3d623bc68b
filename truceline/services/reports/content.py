"""The content of a daily report: what every contingent signs. Language-free: ids, counts,
times and coordinates, with the mission's names in every one of its languages, so a reader
renders it in any language from the signed data alone, offline.

Words are kept apart: incidents and findings are *recorded* (not yet jointly verified); a
joint verdict of a case *confirms* (or does not). Each clause's statement is qualified by
coverage: "no violation was recorded" only where the contingents watched its zones that day.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, TypedDict

import numpy as np
import shapely
from sqlalchemy import Connection, select

from truceline.domain import coverage as cov
from truceline.domain.canonical import without_floats
from truceline.domain.reporting import day_bounds
from truceline.domain.rules import RULES
from truceline.domain.timeutil import iso, to_us
from truceline.domain.vocabulary import FIRE_KINDS
from truceline.mission import Mission
from truceline.mission.geometry import buffer_metres
from truceline.services.verification import case_view, cases_on_findings, complaint_dict
from truceline.store import tables as t
from truceline.store.compliance import finding_dict, incident_columns, incident_dicts

FORMAT = "truceline/report@2"
HISTORY_DAYS = 14
# The counting rule, stated once in every rendering (its words are the renderers').
COUNTING = "incidents"

NOT_OBSERVED, CLEAR, RECORDED = "not_observed", "no_violation_recorded", "recorded"


class ClauseLine(TypedDict):
    clause: str
    rule: str
    zones: list[str]
    findings: int
    status: str  # RECORDED, CLEAR (watched, nothing recorded) or NOT_OBSERVED
    coverage: dict[str, Any]  # {"joint_s": int, "by_contingent": {contingent: int}}


class AreaRow(TypedDict):
    zone: str | None  # None: outside every zone
    kind: str
    subtype: str | None
    incidents: int
    events: int


MAP_PRECISION = 1e-4  # degrees (about 10 m): the zones as the report's map draws them


def mission_names(mission: Mission, *, areas: bool = True) -> dict[str, Any]:
    """The mission's names in all its languages (and, unless `areas` is false, its zones'
    areas), as a report holds them."""
    names = {
        "mission": mission.names,
        "parties": {p.id: p.names for p in mission.parties.values()},
        "contingents": {c.id: c.names for c in mission.contingents.values()},
        "zones": {z.id: z.names for z in mission.zones.values()},
        "clauses": {
            c.id: {"rule": c.rule, "title": c.titles, "text": c.texts}
            for c in mission.clauses.values()
        },
        "posts": {p.id: p.names for p in mission.posts.values()},
        "places": [{"name": p.names, "lon": p.lon, "lat": p.lat} for p in mission.places],
    }
    if areas:  # each zone's area as GeoJSON text, simplified for the map (a string: no
        names["areas"] = {  # float in the signed content)
            z.id: shapely.to_geojson(
                shapely.set_precision(z.geometry.simplify(MAP_PRECISION), MAP_PRECISION)
            )
            for z in mission.zones.values()
        }
    return names


def _zones_of(lon: np.ndarray, lat: np.ndarray, mission: Mission) -> dict[str, np.ndarray]:
    return {
        zid: np.asarray(shapely.intersects_xy(z.geometry, lon, lat), dtype=bool)
        for zid, z in mission.zones.items()
    }


def _first_zone(masks: dict[str, np.ndarray], n: int) -> list[str | None]:
    """Each point's first zone in the mission's order (None outside every zone)."""
    ids: list[str | None] = [*masks, None]
    first = np.full(n, len(masks), dtype=np.int64)  # (the last slot: no zone)
    for k, mask in reversed(list(enumerate(masks.values()))):
        first[mask] = k
    return [ids[k] for k in first.tolist()]


def day_incidents(conn: Connection, s: int, e: int) -> list[dict[str, Any]]:
    """The active incidents that start in [s, e) µs, in time order."""
    i = t.incidents
    rows = conn.execute(
        select(*incident_columns())
        .where(i.c.status == "active", i.c.start_us >= s, i.c.start_us < e)
        .order_by(i.c.start_us, i.c.id)
    ).all()
    return incident_dicts(rows)


def day_findings(conn: Connection, s: int, e: int) -> list[dict[str, Any]]:
    """The active findings that start in [s, e) µs, in time order."""
    f = t.findings
    query = (
        select(f)
        .where(f.c.status == "active", f.c.start_us >= s, f.c.start_us < e)
        .order_by(f.c.start_us, f.c.id)
    )
    return [finding_dict(row) for row in conn.execute(query)]


def _by_area(incidents: list[dict[str, Any]], masks: dict[str, np.ndarray]) -> list[AreaRow]:
    """Recorded ceasefire events (the fire kinds) by zone, kind and subtype: each incident
    counted once in every zone it lies in, and once under "outside every zone" if in none."""
    fire = np.array([x["kind"] in FIRE_KINDS for x in incidents], dtype=bool)
    kinds = np.array([x["kind"] for x in incidents], dtype=object)
    subtypes = np.array([(x["subtypes"] or [""])[0] or "" for x in incidents], dtype=object)
    events = np.array([int(x["count"]) for x in incidents], dtype=np.int64)
    labels = np.array([f"{k}\x1f{st}" for k, st in zip(kinds, subtypes, strict=True)],
                      dtype=object)  # fmt: skip
    names, codes = np.unique(labels, return_inverse=True)
    codes = np.asarray(codes, dtype=np.int64).reshape(-1)
    in_any = np.zeros(len(incidents), dtype=bool)
    rows: list[AreaRow] = []

    def tally(zone: str | None, mask: np.ndarray) -> None:
        chosen = mask & fire
        counted = np.bincount(codes[chosen], minlength=len(names))
        reported = np.bincount(codes[chosen], weights=events[chosen], minlength=len(names))
        for k in np.flatnonzero(counted):  # (one row per kind and subtype, not per incident)
            kind, subtype = str(names[k]).split("\x1f")
            rows.append({"zone": zone, "kind": kind, "subtype": subtype or None,
                         "incidents": int(counted[k]), "events": int(reported[k])})  # fmt: skip

    for zid, mask in masks.items():
        in_any |= mask
        tally(zid, mask)
    tally(None, ~in_any)
    return rows


def _coverage(
    conn: Connection, mission: Mission, day: date, s: int, e: int
) -> tuple[dict[str, dict[str, cov.Intervals]], dict[str, cov.Intervals]]:
    """Intervals watched, by zone then contingent, and anywhere by contingent."""
    p = t.positions
    gap_us = int(mission.max_gap_s * 1_000_000)
    contingents = list(mission.contingents)
    rows = conn.execute(
        select(p.c.actor, p.c.unit, p.c.time_us, p.c.lon_e7, p.c.lat_e7)
        .where(p.c.actor.in_(contingents), p.c.time_us >= s - gap_us, p.c.time_us < e + gap_us)
        .order_by(p.c.actor, p.c.unit, p.c.time_us)
    ).all()
    actor = np.array([r[0] for r in rows], dtype=object)
    unit = np.array([f"{r[0]}\x1f{r[1]}" for r in rows], dtype=object)
    when = np.array([r[2] for r in rows], dtype=np.int64)
    lon = np.array([r[3] for r in rows], dtype=np.float64) / 1e7
    lat = np.array([r[4] for r in rows], dtype=np.float64) / 1e7
    everywhere = np.ones(len(rows), dtype=bool)
    anywhere = {
        c: cov.track_intervals(
            unit[actor == c], when[actor == c], everywhere[actor == c], mission.max_gap_s
        )
        for c in contingents
    }
    post_hours = {
        post.id: _post_intervals(mission, post.hours, day) for post in mission.posts.values()
    }
    for post in mission.posts.values():
        anywhere[post.contingent] = cov.concat([anywhere[post.contingent], post_hours[post.id]])
    by_zone: dict[str, dict[str, cov.Intervals]] = {}
    views = {
        post.id: buffer_metres(shapely.Point(post.lon, post.lat), post.view_m)
        for post in mission.posts.values()
    }
    for zid, zone in mission.zones.items():
        inside = np.asarray(shapely.intersects_xy(zone.geometry, lon, lat), dtype=bool)
        held: dict[str, cov.Intervals] = {}
        for c in contingents:
            mine = actor == c
            held[c] = cov.track_intervals(unit[mine], when[mine], inside[mine], mission.max_gap_s)
        for post in mission.posts.values():
            if views[post.id].intersects(zone.geometry):
                held[post.contingent] = cov.concat([held[post.contingent], post_hours[post.id]])
        by_zone[zid] = held
    return by_zone, anywhere


def _post_intervals(mission: Mission, hours: Any, day: date) -> cov.Intervals:
    """A post's local hours on the local dates that the reporting day touches."""
    from datetime import datetime

    tz = mission.timezone
    if hours is None:
        start, end = day_bounds(day, mission.report_cutoff, tz)
        return np.array([to_us(start)], dtype=np.int64), np.array([to_us(end)], dtype=np.int64)
    begin, finish = hours
    starts, ends = [], []
    for offset in (-1, 0, 1):
        local = day + timedelta(days=offset)
        a = datetime.combine(local, begin, tz)
        b = datetime.combine(local if finish > begin else local + timedelta(days=1), finish, tz)
        starts.append(to_us(a))
        ends.append(to_us(b))
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


def _clause_lines(
    mission: Mission,
    findings: list[dict[str, Any]],
    by_zone: dict[str, dict[str, cov.Intervals]],
    anywhere: dict[str, cov.Intervals],
    s: int,
    e: int,
) -> list[ClauseLine]:
    lines: list[ClauseLine] = []
    for clause in mission.clauses.values():
        params = clause.versions[-1].params
        zones = sorted({z for _, z in RULES[clause.rule].references(params).zones})
        if zones:
            parts: dict[str, list[cov.Intervals]] = {}
            for z in zones:
                for c, iv in by_zone.get(z, {}).items():
                    parts.setdefault(c, []).append(iv)
            watched = cov.coverage({c: cov.concat(v) for c, v in parts.items()}, s, e)
        else:
            watched = cov.coverage(anywhere, s, e)
        count = sum(1 for f in findings if f["clause"] == clause.id)
        status = RECORDED if count else (CLEAR if watched.covered else NOT_OBSERVED)
        lines.append({
            "clause": clause.id, "rule": clause.rule, "zones": zones, "findings": count,
            "status": status,
            "coverage": {"joint_s": watched.joint_s, "by_contingent": watched.by_contingent},
        })  # fmt: skip
    return lines


def _cases(conn: Connection, mission: Mission, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The case on each finding, as anyone may see it: every round, positions once revealed."""
    out: dict[int, dict[str, Any]] = {}
    for case_id in cases_on_findings(conn, ids):
        view = case_view(conn, mission, int(case_id), viewer=None)
        out[int(view["finding"])] = {
            "case": view["key"], "verdict": view["verdict"], "state": view["state"],
            "rounds": [
                {"number": r["number"], "state": r["state"], "verdict": r["verdict"],
                 "reason": r["reason"], "opened": r["opened"],
                 "assessments": [
                     {k: a[k] for k in ("contingent", "verdict", "attribution", "rationale")}
                     for a in r["assessments"] if a["revealed"]
                 ]}
                for r in view["rounds"]
            ],
        }  # fmt: skip
    return out


def _complaints(conn: Connection, s: int, e: int) -> list[dict[str, Any]]:
    """Complaints received in the day, with their status at its close (so the signed content
    does not change with the clock)."""
    p, c, r = t.complaints, t.cases, t.rounds
    rows = conn.execute(
        select(p, c.c.id.label("case_id"), c.c.verdict.label("case_verdict"),
               r.c.revealed_at_us.label("answered_at"))
        .join(c, (c.c.subject_key == "complaint:" + p.c.key) & c.c.duplicate_of.is_(None),
              isouter=True)
        .join(r, (r.c.case_key == c.c.key) & (r.c.number == 1), isouter=True)
        .where(p.c.received_at_us >= s, p.c.received_at_us < e)
        .order_by(p.c.id)
    ).all()  # fmt: skip
    listed = []
    for row in rows:
        answered = (
            None if row.answered_at is None or int(row.answered_at) >= e else int(row.answered_at)
        )
        item = complaint_dict(row, e, answered)
        listed.append({
            "id": item["id"], "sha256": item["sha256"], "party": item["party"],
            "kind": item["kind"], "against": item["against"], "received": item["received"],
            "due": item["due"], "zone": item["zone"], "lat": item["lat"], "lon": item["lon"],
            "status": item["status"],
            "case": None if row.case_id is None else int(row.case_id),
            "verdict": row.case_verdict if answered is not None else None,
        })  # fmt: skip
    return listed


def _history(conn: Connection, mission: Mission, day: date, masks_of: Any) -> dict[str, Any]:
    """Recorded ceasefire events (fire incidents) per day over the previous 14 days, by area."""
    first = day - timedelta(days=HISTORY_DAYS - 1)
    s = to_us(day_bounds(first, mission.report_cutoff, mission.timezone)[0])
    e = to_us(day_bounds(day, mission.report_cutoff, mission.timezone)[1])
    i = t.incidents
    rows = conn.execute(
        select(i.c.start_us, i.c.lon_e7, i.c.lat_e7).where(
            i.c.status == "active", i.c.start_us >= s, i.c.start_us < e,
            i.c.kind.in_(sorted(FIRE_KINDS)),
        )
    ).all()  # fmt: skip
    days = [first + timedelta(days=k) for k in range(HISTORY_DAYS)]
    edges = np.array(
        [to_us(day_bounds(d, mission.report_cutoff, mission.timezone)[0]) for d in days] + [e],
        dtype=np.int64,
    )
    when = np.array([r[0] for r in rows], dtype=np.int64)
    lon = np.array([r[1] for r in rows], dtype=np.float64) / 1e7
    lat = np.array([r[2] for r in rows], dtype=np.float64) / 1e7
    slot = np.searchsorted(edges, when, side="right") - 1
    masks = masks_of(lon, lat)
    in_any = np.zeros(len(rows), dtype=bool)
    by_zone: dict[str, list[int]] = {}
    for zid, mask in masks.items():
        in_any |= mask
        counts = np.bincount(slot[mask], minlength=HISTORY_DAYS)[:HISTORY_DAYS]
        if counts.any():
            by_zone[zid] = [int(x) for x in counts]
    rest = np.bincount(slot[~in_any], minlength=HISTORY_DAYS)[:HISTORY_DAYS]
    return {
        "days": [d.isoformat() for d in days],
        "by_zone": by_zone,
        "outside": [int(x) for x in rest],
    }


def day_content(conn: Connection, mission: Mission, day: date) -> dict[str, Any]:
    """The report of a reporting day as the store holds it now (read in the caller's
    snapshot): canonical data, floats as their shortest text."""
    start, end = day_bounds(day, mission.report_cutoff, mission.timezone)
    s, e = to_us(start), to_us(end)
    incidents = day_incidents(conn, s, e)
    lon = np.array([x["lon"] for x in incidents], dtype=np.float64)
    lat = np.array([x["lat"] for x in incidents], dtype=np.float64)
    masks = _zones_of(lon, lat, mission)
    first = _first_zone(masks, len(incidents))
    findings = day_findings(conn, s, e)
    by_zone, anywhere = _coverage(conn, mission, day, s, e)
    cases = _cases(conn, mission, [x["id"] for x in findings])
    at = {x["id"]: (x["lon"], x["lat"]) for x in incidents}
    listed_findings = []
    for x in findings:
        point = at.get(x["incident"]) if x["incident"] else None
        if point is None and isinstance(x["evidence"].get("first"), list):
            point = tuple(x["evidence"]["first"][:2])
        listed_findings.append({
            "id": x["id"], "key": x["key"], "clause": x["clause"], "rule": x["rule"],
            "zone": x["zone"], "subject": x["subject"], "start": x["start"], "end": x["end"],
            "incident": x["incident"], "unit": x["unit"], "observation": x["observation"],
            "lon": None if point is None else point[0], "lat": None if point is None else point[1],
            "case": cases.get(int(x["id"])),
        })  # fmt: skip
    restrictions = [
        {
            "incident": x["id"], "start": x["start"], "lon": x["lon"], "lat": x["lat"],
            "zone": z, "subtype": (x["subtypes"] or [None])[0], "actor": x["actor"],
            "contingents": sorted({src["reporter"] for src in x["sources"] if "reporter" in src}),
        }
        for x, z in zip(incidents, first, strict=True)
        if x["kind"] == "restriction"
    ]  # fmt: skip
    content = {
        "format": FORMAT,
        "mission": mission.id,
        "date": day.isoformat(),
        "from": iso(s),
        "to": iso(e),
        "timezone": mission.timezone.key,
        "languages": list(mission.languages),
        "names": mission_names(mission),
        "counting": COUNTING,
        "incidents": [
            {
                "id": x["id"],
                "kind": x["kind"],
                "subtype": (x["subtypes"] or [None])[0],
                "start": x["start"],
                "lon": x["lon"],
                "lat": x["lat"],
                "zone": z,
                "count": x["count"],
                "observations": len(x["observations"]),
                "actor": x["actor"],
            }
            for x, z in zip(incidents, first, strict=True)
        ],
        "by_area": _by_area(incidents, masks),
        "clauses": _clause_lines(mission, findings, by_zone, anywhere, s, e),
        "findings": listed_findings,
        "restrictions": restrictions,
        "complaints": _complaints(conn, s, e),
        "history": _history(conn, mission, day, lambda x, y: _zones_of(x, y, mission)),
    }
    result: dict[str, Any] = without_floats(content)
    return result
