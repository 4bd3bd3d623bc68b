"""The rows an export writes: observations, incidents, violations (findings confirmed by a
joint verdict) or zones, read from the store (`truceline export`) or taken from a published
report's signed content only (its downloads: anyone may read them)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import shapely
from sqlalchemy import Connection, select

from truceline.errors import FieldError
from truceline.i18n.message import M
from truceline.mission import Mission
from truceline.services.reports import Document
from truceline.services.reports.content import mission_names
from truceline.services.verification import case_view, cases_on_findings
from truceline.store import tables as t
from truceline.store.compliance import incident_columns, incident_dicts, list_findings
from truceline.store.observations import list_observations

KINDS = ("observations", "incidents", "violations", "zones")


@dataclass(frozen=True)
class Records:
    kind: str  # one of KINDS
    rows: list[dict[str, Any]]
    mission_id: str
    mission_name: str
    names: Mapping[str, Any] = field(default_factory=dict)  # as a report's content holds them
    mission: Mission | None = None  # (zones as CoT drawing shapes need the zones themselves)


def _first(names: Any, default: str) -> str:
    if isinstance(names, Mapping) and names:
        return str(next(iter(names.values())))
    return str(names) if isinstance(names, str) and names else default


def _observation_row(x: Mapping[str, Any]) -> dict[str, Any]:
    """An observation as the observations CSV's columns (it re-imports to the same row)."""
    row: dict[str, Any] = {"id": x["record_id"]}
    if x["observed_from"] == x["observed_to"]:
        row["observed_at"] = x["observed_from"]
    else:
        row["observed_from"], row["observed_to"] = x["observed_from"], x["observed_to"]
    row.update(lat=x["lat"], lon=x["lon"], uncertainty_m=x["uncertainty_m"])
    for name in ("observer_lat", "observer_lon", "bearing_deg", "distance_min_m",
                 "distance_max_m"):  # fmt: skip
        row[name] = x[name]
    for name in ("kind", "subtype", "count", "actor", "source_kind", "source", "reporter",
                 "description"):  # fmt: skip
        row[name] = x[name]
    return row


def _violation_rows(
    findings: list[dict[str, Any]], cases: Mapping[int, dict[str, Any]], at: Mapping[int, Any]
) -> list[dict[str, Any]]:
    rows = []
    for f in findings:
        case = cases.get(int(f["id"]))
        if case is None or case.get("verdict") != "confirmed":
            continue  # a violation is what a joint verdict confirmed
        point = at.get(int(f["id"]))
        if point is None:
            continue
        # the attribution the joint verdict rests on: its deciding round's, when every
        # contingent gave the same one (else none can be said to be joint)
        rounds = [r for r in case.get("rounds", []) if r.get("assessments")]
        deciding = rounds[-1]["assessments"] if rounds else []
        agreed = {a.get("attribution") for a in deciding}
        attribution = next(iter(agreed)) if len(agreed) == 1 else "undetermined"
        rows.append({
            "id": f["id"], "clause": f["clause"], "rule": f["rule"], "zone": f.get("zone"),
            "subject": f.get("subject"), "start": f["start"], "end": f["end"],
            "lat": float(point[1]), "lon": float(point[0]), "verdict": "confirmed",
            "attribution": attribution or "undetermined",
            "case": case.get("case"), "kind": f.get("incident_kind") or f["rule"],
            "subtype": f.get("incident_subtype"),
        })  # fmt: skip
    return rows


def from_document(document: Document, kind: str) -> Records:
    """Incidents or violations of a published report, from its signed content only."""
    content = document.content
    names = content.get("names", {})
    ident = str(content.get("mission", ""))
    base: dict[str, Any] = {"mission_id": ident,
                            "mission_name": _first(names.get("mission"), ident)}  # fmt: skip
    incidents = {int(x["id"]): x for x in content.get("incidents", [])}
    if kind == "incidents":
        rows = [
            {"id": x["id"], "kind": x["kind"], "subtype": x.get("subtype"), "start": x["start"],
             "lat": float(x["lat"]), "lon": float(x["lon"]), "zone": x.get("zone"),
             "count": x["count"], "actor": x.get("actor")}
            for x in content.get("incidents", [])
        ]  # fmt: skip
        return Records("incidents", rows, names=names, **base)
    if kind == "violations":
        findings = [dict(f) for f in content.get("findings", [])]
        for f in findings:
            inc = incidents.get(int(f["incident"])) if f.get("incident") else None
            f["incident_kind"] = inc["kind"] if inc else None
            f["incident_subtype"] = inc.get("subtype") if inc else None
        cases = {int(f["id"]): f["case"] for f in findings if f.get("case")}
        at = {int(f["id"]): (f["lon"], f["lat"]) for f in findings if f.get("lon") is not None}
        return Records("violations", _violation_rows(findings, cases, at), names=names, **base)
    raise FieldError(
        "kind", M("a published report exports incidents or violations, not {kind!r}", kind=kind)
    )


def from_store(
    conn: Connection,
    mission: Mission,
    kind: str,
    *,
    since_us: int | None = None,
    until_us: int | None = None,
) -> Records:
    """What the store holds of `kind` in [since, until)."""
    names = mission_names(mission)
    base: dict[str, Any] = {"mission_id": mission.id, "mission_name": mission.name,
                            "names": names, "mission": mission}  # fmt: skip
    if kind == "observations":
        listed = list_observations(conn, since_us=since_us, until_us=until_us)
        rows = [_observation_row(x) for x in listed if x.get("retracted") is None]
        return Records("observations", rows, **base)
    if kind == "incidents":
        i = t.incidents
        query = select(*incident_columns()).where(i.c.status == "active")
        if since_us is not None:
            query = query.where(i.c.start_us >= since_us)
        if until_us is not None:
            query = query.where(i.c.start_us < until_us)
        found = incident_dicts(conn.execute(query.order_by(i.c.start_us, i.c.id)).all())
        rows = [
            {"id": x["id"], "kind": x["kind"], "subtype": (x["subtypes"] or [None])[0],
             "start": x["start"], "end": x["end"], "lat": x["lat"], "lon": x["lon"],
             "count": x["count"], "actor": x["actor"], "observations": len(x["observations"])}
            for x in found
        ]  # fmt: skip
        return Records("incidents", rows, **base)
    if kind == "violations":
        findings = list_findings(conn, since_us=since_us, until_us=until_us)
        cases: dict[int, dict[str, Any]] = {}
        for case_id in cases_on_findings(conn, [int(f["id"]) for f in findings]):
            view = case_view(conn, mission, int(case_id), viewer=None)
            cases[int(view["finding"])] = {
                "case": view["key"], "verdict": view["verdict"],
                "rounds": [{"assessments": [a for a in r["assessments"] if a["revealed"]]}
                           for r in view["rounds"]],
            }  # fmt: skip
        incident_ids = [int(f["incident"]) for f in findings if f.get("incident")]
        i = t.incidents
        spots = {
            int(r.id): r
            for r in conn.execute(
                select(i.c.id, i.c.lon_e7, i.c.lat_e7, i.c.kind, i.c.subtypes).where(
                    i.c.id.in_(incident_ids)
                )
            )
        }
        at: dict[int, Any] = {}
        for f in findings:
            spot = spots.get(int(f["incident"])) if f.get("incident") else None
            if spot is not None:
                at[int(f["id"])] = (spot.lon_e7 / 1e7, spot.lat_e7 / 1e7)
                f["incident_kind"] = spot.kind
                f["incident_subtype"] = (json.loads(spot.subtypes) or [None])[0]
            elif isinstance(f["evidence"].get("first"), list):
                at[int(f["id"])] = tuple(f["evidence"]["first"][:2])
        return Records("violations", _violation_rows(findings, cases, at), **base)
    if kind == "zones":
        rows = [
            {"id": z.id, "name": z.name, "area_km2": round(z.area_km2, 3),
             "geometry": json.loads(shapely.to_geojson(shapely.set_precision(z.geometry, 1e-7)))}
            for z in mission.zones.values()
        ]  # fmt: skip
        return Records("zones", rows, **base)
    raise FieldError("kind", M("{kind!r} is not one of {kinds}", kind=kind, kinds=", ".join(KINDS)))
