"""Reading observations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from truceline.domain.selection import Box, box_e7, narrowed, pick
from truceline.domain.timeutil import iso
from truceline.store import tables as t


def list_observations(
    conn: Connection,
    *,
    since_us: int | None = None,
    until_us: int | None = None,
    kind: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    bbox: Box | None = None,
    within: Any | None = None,
) -> list[dict[str, Any]]:
    """Observations in time order; `bbox` is (min lon, min lat, max lon, max lat), `within`
    a zone's geometry."""
    o = t.observations
    bbox = narrowed(bbox, within)
    query = _with_retraction(select(o)).order_by(o.c.observed_from_us, o.c.id)
    if bbox is not None:
        west, south, east, north = box_e7(bbox)
        query = query.where(o.c.lon_e7.between(west, east), o.c.lat_e7.between(south, north))
    if since_us is not None:  # observations that start in [since, until)
        query = query.where(o.c.observed_from_us >= since_us)
    if until_us is not None:
        query = query.where(o.c.observed_from_us < until_us)
    if kind is not None:
        query = query.where(o.c.kind == kind)
    if within is not None:
        places = conn.execute(query.with_only_columns(o.c.id, o.c.lon_e7, o.c.lat_e7)).all()
        chosen = pick(places, within=within, among=None, offset=offset, limit=limit)
        return list_observations_by_id(conn, chosen)
    query = query.offset(offset).limit(limit)
    return [observation_dict(row._mapping) for row in conn.execute(query)]


def observation_dict(row: Any) -> dict[str, Any]:
    def degrees(value: int | None) -> float | None:
        return None if value is None else value / 1e7

    return {
        "id": row["id"],
        "record_id": row["record_id"],
        "observed_from": iso(row["observed_from_us"]),
        "observed_to": iso(row["observed_to_us"]),
        "lat": degrees(row["lat_e7"]),
        "lon": degrees(row["lon_e7"]),
        "uncertainty_m": row["uncertainty_m"],
        "kind": row["kind"],
        "subtype": row["subtype"],
        "count": row["count"],
        "actor": row["actor"],
        "source_kind": row["source_kind"],
        "source": row["source"],
        "reporter": row["reporter"],
        "description": row["description"],
        "observer_lat": degrees(row["observer_lat_e7"]),
        "observer_lon": degrees(row["observer_lon_e7"]),
        "bearing_deg": row["bearing_deg"],
        "distance_min_m": row["distance_min_m"],
        "distance_max_m": row["distance_max_m"],
        "batch": row["batch_id"],
        # A correction: it stays here, shown as retracted with its reason, and counts no more.
        "retracted": None if row.get("retracted_by") is None else {
            "by": row["retracted_by"], "reason": row["retracted_reason"],
            "at": iso(row["retracted_at_us"]),
        },
    }  # fmt: skip


def _with_retraction(query: Any) -> Any:
    o, r = t.observations, t.retractions
    return query.add_columns(
        r.c.contingent.label("retracted_by"), r.c.reason.label("retracted_reason"),
        r.c.at_us.label("retracted_at_us"),
    ).outerjoin(r, r.c.observation_uid == o.c.uid)  # fmt: skip


def list_observations_by_id(conn: Connection, ids: list[int]) -> list[dict[str, Any]]:
    o = t.observations
    query = _with_retraction(select(o)).where(o.c.id.in_(ids))
    query = query.order_by(o.c.observed_from_us, o.c.id)
    return [observation_dict(row._mapping) for row in conn.execute(query)]
