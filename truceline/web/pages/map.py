"""The map as a tool: the mission's zones labelled and styled by what their clauses require,
the incidents of a range of reporting days as symbols that differ in shape and colour by
kind (a legend on the map says which), popups instead of leaving the page, a time slider over
the range, layer toggles, a scale bar, and an offline basemap (an MBTiles file served by
truceline itself; the built-in country borders without one)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

import shapely
from fastapi import Query, Request
from fastapi.responses import JSONResponse, Response

from truceline.domain.reporting import day_bounds
from truceline.domain.timeutil import to_us
from truceline.domain.vocabulary import KIND_FAMILY, KINDS
from truceline.mission import Mission
from truceline.services import signing, verification
from truceline.services.report import parse_day
from truceline.store import compliance
from truceline.store.missions import load_mission
from truceline.web.deps import PageUser, TheCentre
from truceline.web.kept import Kept
from truceline.web.pages.days import chosen_day
from truceline.web.pages.render import N_, _words, page_language, render

MAP_VERDICTS = ("confirmed", "rejected", "inconclusive", "disputed", "pending", "none")
MAP_INCIDENTS = 5000
MAX_DAYS = 31  # the longest range the map shows at once
Filter = Annotated[str | None, Query(max_length=64)]
# What a zone's clauses require, strictest first: a zone is styled by the first that applies.
REQUIREMENTS = ("no_fire", "excluded_from", "confined_to", "withdrawn_by", "free_passage",
                "max_count", "monitor_access")  # fmt: skip
# Each kind's family is drawn as a shape and a colour of its own (the map's legend names
# them): never colour alone.
SHAPES = {"fire": "triangle", "flare": "star", "weapon": "hexagon", "movement": "square",
          "construction": "diamond", "restriction": "cross", "uav": "pentagon",
          "casualty": "plus", "count": "circle", "other": "circle"}  # fmt: skip


def _span(centre: TheCentre, first: str | None, last: str | None) -> tuple[Any, Any, int, int]:
    """The first and last reporting day asked for (the latest day with data when none is),
    at most MAX_DAYS, with their bounds in microseconds."""
    day, since, until = chosen_day(centre.engine, first)
    end = parse_day(last) if last else day
    if end < day:
        day, end = end, day
    end = min(end, day + timedelta(days=MAX_DAYS - 1))
    with centre.engine.connect() as conn:
        mission = load_mission(conn)
    until = to_us(day_bounds(end, mission.report_cutoff, mission.timezone)[1])
    since = to_us(day_bounds(day, mission.report_cutoff, mission.timezone)[0])
    return day, end, since, until


def map_page(
    request: Request, centre: TheCentre, user: PageUser, date: Filter = None,
    to: Filter = None, kind: Filter = None, verdict: Filter = None,
) -> Response:  # fmt: skip
    first, last, _, _ = _span(centre, date, to)
    with centre.engine.connect() as conn:
        mission = load_mission(conn)
    words = _words(mission, page_language(request, mission.languages))
    families = sorted({KIND_FAMILY.get(k, "other") for k in KINDS})
    legend = {
        "families": [{"family": f, "shape": SHAPES.get(f, "circle"),
                      "words": words.family(f)} for f in families],
        "requirements": [{"rule": r, "words": words.rule(r)} for r in REQUIREMENTS],
    }  # fmt: skip
    return render(
        request, "map.html", user=user, title=N_("Map"), day=first.isoformat(),
        last=last.isoformat(), kind=kind or "", verdict=verdict or "",
        kinds=[(k, words.kind(k)) for k in sorted(KINDS)],
        verdicts=[(v, words.verdict(v) if v != "none" else None) for v in MAP_VERDICTS],
        max_days=MAX_DAYS, legend=legend, timezone=mission.timezone.key,
    )  # fmt: skip


def zone_features(mission: Mission, words: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The mission's zones as GeoJSON features named in the page's words, each with what
    its clauses require (the first, strictest, styles it); and what is required everywhere."""
    required, everywhere = _requirements(mission)
    zones = zone_shapes(mission, words)
    for zone in zones:
        rules = required.get(zone["properties"]["id"], [])
        zone["properties"]["requires"] = (rules or ["other"])[0]
        zone["properties"]["requires_words"] = ", ".join(words.rule(r) for r in rules)
    return zones, everywhere


def zone_shapes(mission: Mission, words: Any) -> list[dict[str, Any]]:
    """The mission's zones as GeoJSON features: their ids, names in the page's words and
    shapes only (what a liaison's small map shows)."""
    return [
        {"type": "Feature", "properties": {"id": z.id, "name": words.zone(z.id)},
         "geometry": json.loads(shapely.to_geojson(z.geometry))}
        for z in mission.zones.values()
    ]  # fmt: skip


def _requirements(mission: Mission) -> tuple[dict[str, list[str]], list[str]]:
    """What the clauses require of each zone they name (strictest first, REQUIREMENTS), and
    what clauses that name no zone require everywhere."""
    named: dict[str, set[str]] = {}
    everywhere: set[str] = set()
    for clause in mission.clauses.values():
        params = clause.versions[-1].params
        zones = list(getattr(params, "zones", None) or [])
        zone = getattr(params, "zone", None)
        if zone:
            zones.append(zone)
        for zone in zones:
            named.setdefault(str(zone), set()).add(clause.rule)
        if not zones:
            everywhere.add(clause.rule)

    def ordered(rules: set[str]) -> list[str]:
        return sorted(rules, key=lambda r: REQUIREMENTS.index(r) if r in REQUIREMENTS else 99)

    return {zone: ordered(rules) for zone, rules in named.items()}, ordered(everywhere)


def map_data(
    request: Request, centre: TheCentre, user: PageUser, date: Filter = None,
    to: Filter = None, kind: Filter = None, verdict: Filter = None,
) -> Response:  # fmt: skip
    """The map's layers for a range of reporting days: zones (with what their clauses
    require), incidents (of a kind, of a verdict: `none` for those without a case) with the
    words of their popups in the page's language, and every unit's track. Text, never markup:
    the page inserts every name as text."""
    first, last, since, until = _span(centre, date, to)
    with centre.engine.connect() as conn:
        mission = load_mission(conn)
        lang = page_language(request, mission.languages)
        basemap = centre.basemap
        key = (
            str(centre.engine.url), repr(None if basemap is None else basemap.describe()),
            first, last, since, until, kind, verdict, lang, signing.watermark(conn),
        )  # fmt: skip
        cached = _KEPT.get(key)
        if cached is not None:  # the same layers as a moment ago: nothing they show changed
            return Response(cached, media_type="application/json")
        words = _words(mission, lang)
        incidents = compliance.list_incidents(
            conn, since_us=since, until_us=until, kind=kind or None, limit=MAP_INCIDENTS + 1
        )
        _, verdicts = verification.verdicts(conn, mission)
        tracks = compliance.unit_tracks(conn, since, until)
    zones, everywhere = zone_features(mission, words)
    chosen = [i for i in incidents[:MAP_INCIDENTS]
              if not verdict or verdicts.get(i["id"], "none") == verdict]  # fmt: skip
    where = words.where_many([i["lon"] for i in chosen], [i["lat"] for i in chosen])
    points = []
    for i, place in zip(chosen, where, strict=True):
        outcome = verdicts.get(i["id"], "none")
        subtype = i["subtypes"][0] if i["subtypes"] else None
        points.append({
            "type": "Feature", "geometry": {"type": "Point", "coordinates": [i["lon"], i["lat"]]},
            "properties": {
                "id": i["id"], "kind": i["kind"], "family": KIND_FAMILY.get(i["kind"], "other"),
                "shape": SHAPES.get(KIND_FAMILY.get(i["kind"], "other"), "circle"),
                "start": i["start"], "verdict": outcome,
                "what": words.kind(i["kind"], subtype), "when": words.moment(i["start"]),
                "where": place, "count": i["count"], "actor": words.actor(i["actor"]),
                "verdict_words": words.verdict(outcome) if outcome != "none" else "",
            },
        })  # fmt: skip
    lines: list[dict[str, Any]] = [
        {"type": "Feature",
         "geometry": {"type": "LineString", "coordinates": [[x, y] for y, x in tr["points"]]},
         "properties": {**{k: tr[k] for k in ("unit", "actor", "start", "end")},
                        "actor_words": words.actor(tr["actor"]),
                        "from": words.moment(tr["start"]), "to": words.moment(tr["end"])}}
        for tr in tracks
    ]  # fmt: skip
    answer = JSONResponse({
        "day": first.isoformat(), "last": last.isoformat(),
        "since": words.moment(_iso(since)), "until": words.moment(_iso(until)),
        "since_ms": since // 1000, "until_ms": until // 1000,
        "truncated": len(incidents) > MAP_INCIDENTS,
        "everywhere": ", ".join(words.rule(r) for r in everywhere),
        "basemap": None if basemap is None else basemap.describe(),
        "zones": {"type": "FeatureCollection", "features": zones},
        "incidents": {"type": "FeatureCollection", "features": points},
        "tracks": {"type": "FeatureCollection", "features": lines},
    })  # fmt: skip
    _KEPT.put(key, bytes(answer.body))
    return answer


# The map's layers as last answered (they depend on nothing of the reader): officers watching
# the same days share one computation (`web.kept`).
_KEPT: Kept[bytes] = Kept(16)


def _iso(us: int) -> str:
    from truceline.domain.timeutil import iso

    return str(iso(us))


def map_tile(centre: TheCentre, user: PageUser, z: int, x: int, y: int) -> Response:
    """One tile of the offline basemap; 404 where there is none (the map then shows the
    built-in borders beneath)."""
    basemap = centre.basemap
    data = None if basemap is None else basemap.tile(z, x, y)
    if basemap is None or data is None:
        return Response(status_code=404)
    return Response(data, media_type=basemap.media_type,
                    headers={"Cache-Control": "private, max-age=86400"})  # fmt: skip
