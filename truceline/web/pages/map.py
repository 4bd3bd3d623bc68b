"""The offline map and its data (the layers of one reporting day)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import shapely
from fastapi import Query, Request
from fastapi.responses import JSONResponse, Response

from truceline.domain.vocabulary import KINDS
from truceline.services import verification
from truceline.store import compliance
from truceline.store.missions import load_mission
from truceline.web.deps import PageUser, TheCentre
from truceline.web.pages.days import chosen_day
from truceline.web.pages.render import N_, render

MAP_VERDICTS = ("confirmed", "rejected", "inconclusive", "disputed", "pending", "none")
MAP_INCIDENTS = 5000
Filter = Annotated[str | None, Query(max_length=64)]


def map_page(
    request: Request, centre: TheCentre, user: PageUser, date: Filter = None,
    kind: Filter = None, verdict: Filter = None,
) -> Response:  # fmt: skip
    day, _, _ = chosen_day(centre.engine, date)
    return render(
        request, "map.html", user=user, title=N_("Map"), day=day.isoformat(), kind=kind or "",
        verdict=verdict or "", kinds=sorted(KINDS), verdicts=MAP_VERDICTS,
    )  # fmt: skip


def map_data(
    centre: TheCentre, user: PageUser, date: Filter = None, kind: Filter = None,
    verdict: Filter = None,
) -> Response:  # fmt: skip
    """The map's layers for one reporting day: zones, incidents (of a kind, of a verdict:
    `none` for those without a case) and every unit's track. Text, never markup: the page
    inserts every name as text."""
    day, since, until = chosen_day(centre.engine, date)
    with centre.engine.connect() as conn:
        mission = load_mission(conn)
        incidents = compliance.list_incidents(
            conn, since_us=since, until_us=until, kind=kind or None, limit=MAP_INCIDENTS
        )
        _, verdicts = verification.verdicts(conn, mission)
        tracks = compliance.unit_tracks(conn, since, until)
    zones = [
        {"type": "Feature", "properties": {"id": z.id, "name": z.name},
         "geometry": json.loads(shapely.to_geojson(z.geometry))}
        for z in mission.zones.values()
    ]  # fmt: skip
    points = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [i["lon"], i["lat"]]},
         "properties": {"id": i["id"], "kind": i["kind"], "start": i["start"],
                        "verdict": verdicts.get(i["id"], "none")}}
        for i in incidents
        if not verdict or verdicts.get(i["id"], "none") == verdict
    ]  # fmt: skip
    lines: list[dict[str, Any]] = [
        {"type": "Feature",
         "geometry": {"type": "LineString", "coordinates": [[x, y] for y, x in tr["points"]]},
         "properties": {k: tr[k] for k in ("unit", "actor", "start", "end")}}
        for tr in tracks
    ]  # fmt: skip
    return JSONResponse({
        "day": day.isoformat(),
        "zones": {"type": "FeatureCollection", "features": zones},
        "incidents": {"type": "FeatureCollection", "features": points},
        "tracks": {"type": "FeatureCollection", "features": lines},
    })  # fmt: skip
