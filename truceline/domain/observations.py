"""Observations: one raw, immutable report from one source, validated from its fields.

`build_observation` is the single place where a record (from CSV, GeoJSON, the API or CoT)
becomes an `Observation`; every importer calls it and adds its own location to the problems.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

import orjson

from truceline.domain import records as r
from truceline.domain.geo import estimate_from_bearing
from truceline.domain.vocabulary import KINDS, SOURCE_KINDS, SUBTYPES, UNKNOWN_ACTOR
from truceline.i18n.message import M

COLUMNS: tuple[str, ...] = (
    "id",
    "observed_at",
    "observed_from",
    "observed_to",
    "lat",
    "lon",
    "uncertainty_m",
    "observer_lat",
    "observer_lon",
    "bearing_deg",
    "distance_min_m",
    "distance_max_m",
    "kind",
    "subtype",
    "count",
    "actor",
    "source_kind",
    "source",
    "reporter",
    "description",
)
OBSERVER_COLUMNS = (
    "observer_lat",
    "observer_lon",
    "bearing_deg",
    "distance_min_m",
    "distance_max_m",
)

# The ranges a record's numbers must lie in (docs/import-formats.md); beyond them a value is
# refused by name, never stored (an uncertainty of 1e308 would overflow every later assessment).
MAX_UNCERTAINTY_M = 100_000.0  # 100 km
MAX_DISTANCE_M = 100_000.0  # distance_min_m, distance_max_m: 100 km from the observer
MAX_COUNT = 100_000

# The stored row, in this order; also the order of the canonical JSON array hashed per row.
FIELDS: tuple[str, ...] = (
    "record_id",
    "observed_from_us",
    "observed_to_us",
    "lat_e7",
    "lon_e7",
    "uncertainty_m",
    "kind",
    "subtype",
    "count",
    "actor",
    "source_kind",
    "source",
    "reporter",
    "description",
    "observer_lat_e7",
    "observer_lon_e7",
    "bearing_deg",
    "distance_min_m",
    "distance_max_m",
)


@dataclass(frozen=True, slots=True)
class Context:
    """What a record is checked against: the mission's ids."""

    actors: frozenset[str]
    contingents: frozenset[str]
    default_reporter: str | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    uid: str  # identity: (source, id) when an id is given, else the row hash
    row_hash: str  # sha256 of the canonical row
    row: tuple[Any, ...]  # values in FIELDS order

    def stored(self) -> tuple[Any, ...]:
        """The tuple an importer hands to the store: uid, then FIELDS."""
        return (self.uid, *self.row)


def canonical_row(row: tuple[Any, ...]) -> bytes:
    """The canonical JSON array of a stored row; a float is written as its shortest text."""
    if any(type(v) is float for v in row):
        row = tuple(r.float_text(v) if type(v) is float else v for v in row)
    return orjson.dumps(row)


def row_hash(row: tuple[Any, ...]) -> str:
    return sha256(canonical_row(row)).hexdigest()


def identity(source: str, record_id: str | None, digest: str) -> str:
    """`["source","id"]` when the source gave an id, else the row's hash."""
    return digest if record_id is None else orjson.dumps([source, record_id]).decode()


def build_observation(
    get: Mapping[str, Any], ctx: Context
) -> tuple[Observation | None, r.Problems]:
    """An observation from named field values (text or JSON), or the problems that prevent it."""
    p = r.Problems()
    record_id = r.word(get.get("id"), "id", p)

    at = get.get("observed_at")
    if not r.blank(at):
        if not r.blank(get.get("observed_from")) or not r.blank(get.get("observed_to")):
            p.add("observed_at", M("give observed_at or observed_from/observed_to, not both"))
        start = end = r.moment(at, "observed_at", p)
    else:
        start = r.moment(get.get("observed_from"), "observed_from", p)
        end = r.moment(get.get("observed_to"), "observed_to", p)
        if start is None or end is None:
            if not any(c == "observed_from" or c == "observed_to" for c, _ in p):
                p.add("observed_at", M("required (or observed_from and observed_to)"))
        elif end < start:
            p.add("observed_to", M("the window ends before it starts"))

    lat = r.latitude(get.get("lat"), "lat", p)
    lon = r.longitude(get.get("lon"), "lon", p)
    uncertainty = r.number(
        get.get("uncertainty_m"), "uncertainty_m", p, 0, MAX_UNCERTAINTY_M, r.METRES
    )

    observer: tuple[Any, ...] = (None, None, None, None, None)
    if any(not r.blank(get.get(c)) for c in OBSERVER_COLUMNS):
        observer = _observer(get, p)
        if lat is None and lon is None and all(v is not None for v in observer):
            o_lat, o_lon, bearing, d_min, d_max = observer
            lat, lon, radius = estimate_from_bearing(o_lat, o_lon, bearing, d_min, d_max)
            uncertainty = max(uncertainty or 0.0, radius)
    if (lat is None) != (lon is None) and not any(c in ("lat", "lon") for c, _ in p):
        p.add("lat" if lat is None else "lon", M("lat and lon go together"))
    elif lat is None and not any(c in ("lat", "lon") or c in OBSERVER_COLUMNS for c, _ in p):
        p.add("lat", M("required: lat/lon, or observer_lat/observer_lon/bearing_deg/distance band"))

    kind = r.word(get.get("kind"), "kind", p)
    if kind is None:
        if not any(c == "kind" for c, _ in p):
            p.add("kind", M("required"))
    elif kind not in KINDS:
        p.add(
            "kind",
            M("unknown kind {kind!r} (known: {known})", kind=kind, known=", ".join(sorted(KINDS))),
        )
        kind = None
    subtype = r.word(get.get("subtype"), "subtype", p)
    if kind in SUBTYPES and subtype is not None and subtype not in SUBTYPES[kind]:
        p.add(
            "subtype",
            M(
                "{kind} subtype is one of {subtypes}",
                kind=kind,
                subtypes=", ".join(sorted(SUBTYPES[kind])),
            ),
        )

    least = 0 if kind == "count" else 1
    count = r.integer(get.get("count"), "count", p, least, MAX_COUNT)
    if count is None:
        count = 1

    actor = r.word(get.get("actor"), "actor", p) or UNKNOWN_ACTOR
    if actor != UNKNOWN_ACTOR and actor not in ctx.actors:
        p.add("actor", M("unknown party or contingent {actor!r}", actor=actor))
    if kind == "count":
        if subtype is None:
            p.add("subtype", M("a count names its resource in subtype (e.g. personnel)"))
        if actor == UNKNOWN_ACTOR:
            p.add("actor", M("a count names its subject (a party or contingent) in actor"))

    source_kind = r.word(get.get("source_kind"), "source_kind", p)
    if source_kind is None:
        if not any(c == "source_kind" for c, _ in p):
            p.add("source_kind", M("required"))
    elif source_kind not in SOURCE_KINDS:
        p.add(
            "source_kind",
            M(
                "unknown source kind {source_kind!r} ({known})",
                source_kind=source_kind,
                known=", ".join(sorted(SOURCE_KINDS)),
            ),
        )
    source = r.word(get.get("source"), "source", p)
    if source is None and not any(c == "source" for c, _ in p):
        p.add("source", M("required"))
    reporter = r.word(get.get("reporter"), "reporter", p) or ctx.default_reporter
    if reporter is None:
        if not any(c == "reporter" for c, _ in p):
            p.add("reporter", M("required: the contingent that recorded it"))
    elif reporter not in ctx.contingents:
        p.add("reporter", M("unknown contingent {reporter!r}", reporter=reporter))
    description = r.text(get.get("description"), "description", p)

    if p:
        return None, p
    assert lat is not None and lon is not None and source is not None
    row = (
        record_id,
        start,
        end,
        r.e7(lat),
        r.e7(lon),
        uncertainty,
        kind,
        subtype,
        count,
        actor,
        source_kind,
        source,
        reporter,
        description,
        None if observer[0] is None else r.e7(observer[0]),
        None if observer[1] is None else r.e7(observer[1]),
        observer[2],
        observer[3],
        observer[4],
    )
    digest = row_hash(row)
    return Observation(identity(source, record_id, digest), digest, row), p


def _observer(get: Mapping[str, Any], p: r.Problems) -> tuple[Any, ...]:
    o_lat = r.latitude(get.get("observer_lat"), "observer_lat", p)
    o_lon = r.longitude(get.get("observer_lon"), "observer_lon", p)
    bearing = r.number(get.get("bearing_deg"), "bearing_deg", p, 0, 360, r.DEGREES)
    d_min = r.number(get.get("distance_min_m"), "distance_min_m", p, 0, MAX_DISTANCE_M, r.METRES)
    d_max = r.number(get.get("distance_max_m"), "distance_max_m", p, 0, MAX_DISTANCE_M, r.METRES)
    values = (o_lat, o_lon, bearing, d_min, d_max)
    for column, value in zip(OBSERVER_COLUMNS, values, strict=True):
        if value is None and not any(c == column for c, _ in p):
            p.add(column, M("required with the other observer columns"))
    if d_min is not None and d_max is not None and d_max < d_min:
        p.add("distance_max_m", M("smaller than distance_min_m"))
    return values if not p else (None, None, None, None, None)
