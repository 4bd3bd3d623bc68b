"""Positions (track fixes) of units, validated from their fields.

A contingent records the positions of its own units and of the parties' units (its monitors
see them), never those of a unit the mission declares for another contingent: when the
record has a poster (the contingent that signs the import or posts to the API), such a
position is refused by its `unit`, and so is an actor that is another contingent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

import orjson

from truceline.domain import limits
from truceline.domain import records as r
from truceline.i18n.message import M

REQUIRED = ("unit", "time", "lat", "lon")
COLUMNS: tuple[str, ...] = (*REQUIRED, "actor", "speed_mps", "course_deg", "hae_m", "name")
FIELDS: tuple[str, ...] = (
    "unit",
    "time_us",
    "lat_e7",
    "lon_e7",
    "actor",
    "speed_mps",
    "course_deg",
    "hae_m",
    "name",  # the unit's name as its device calls itself (a TAK callsign), if given
)


# The ranges a fix's numbers must lie in (docs/import-formats.md).
MAX_SPEED_MPS = 1_000.0  # about Mach 3
HAE_RANGE_M = (-1_000.0, 50_000.0)  # height above the WGS 84 ellipsoid


@dataclass(frozen=True, slots=True)
class Context:
    actors: frozenset[str]
    unit_owners: Mapping[str, str]  # declared unit → its contingent or party
    contingents: frozenset[str] = frozenset()
    poster: str | None = None  # the contingent recording these positions, when there is one


@dataclass(frozen=True, slots=True)
class Position:
    uid: str  # sha256 of the canonical row: the same fix imported twice is one fix
    row: tuple[Any, ...]  # values in FIELDS order

    @property
    def row_hash(self) -> str:
        return self.uid

    def stored(self) -> tuple[Any, ...]:
        return (self.uid, *self.row)


def row_hash(row: tuple[Any, ...]) -> str:
    """sha256 of the canonical JSON array of a stored row (floats as their shortest text). A
    fix without a name hashes as it did before names were kept (the 8 fields before it)."""
    if len(row) == len(FIELDS) and row[-1] is None:
        row = row[:-1]
    values = tuple(r.float_text(v) if type(v) is float else v for v in row)
    return sha256(orjson.dumps(values)).hexdigest()


def build_position(get: Mapping[str, Any], ctx: Context) -> tuple[Position | None, r.Problems]:
    p = r.Problems()
    unit = r.word(get.get("unit"), "unit", p)
    if unit is None and not p:
        p.add("unit", M("required"))
    when = r.moment(get.get("time"), "time", p)
    if when is None and not any(c == "time" for c, _ in p):
        p.add("time", M("required"))
    lat = r.latitude(get.get("lat"), "lat", p)
    lon = r.longitude(get.get("lon"), "lon", p)
    for column, value in (("lat", lat), ("lon", lon)):
        if value is None and not any(c == column for c, _ in p):
            p.add(column, M("required"))
    owner = None if unit is None else ctx.unit_owners.get(unit)
    poster = ctx.poster
    if owner is not None and poster is not None and owner in ctx.contingents and owner != poster:
        p.add(
            "unit",
            M(
                "unit {unit!r} is declared in the mission for contingent {owner!r}; "
                "{poster} cannot record its positions",
                unit=unit,
                owner=owner,
                poster=poster,
            ),
        )
    actor = r.word(get.get("actor"), "actor", p)
    if actor is None and unit is not None and not any(c == "actor" for c, _ in p):
        actor = owner
        if actor is None:
            p.add(
                "actor",
                M("unit {unit!r} is not declared in the mission; give its actor", unit=unit),
            )
    elif actor is not None and actor != "unknown" and actor not in ctx.actors:
        p.add("actor", M("unknown party or contingent {actor!r}", actor=actor))
    elif actor is not None and owner is not None and actor != owner:
        p.add(
            "actor",
            M(
                "unit {unit!r} is declared for {owner!r}: give actor {owner!r} or none",
                unit=unit,
                owner=owner,
            ),
        )
    elif actor is not None and poster is not None and actor in ctx.contingents and actor != poster:
        p.add(
            "actor",
            M(
                "{actor!r} is another contingent; {poster} records positions of its own units "
                "and of the parties' units",
                actor=actor,
                poster=poster,
            ),
        )
    speed = r.number(get.get("speed_mps"), "speed_mps", p, 0, MAX_SPEED_MPS, r.METRES_PER_SECOND)
    course = r.number(get.get("course_deg"), "course_deg", p, 0, 360, r.DEGREES)
    hae = r.number(get.get("hae_m"), "hae_m", p, *HAE_RANGE_M, r.METRES)
    name = r.text(get.get("name"), "name", p, limits.NAME_MAX)
    if p:
        return None, p
    assert lat is not None and lon is not None
    row = (unit, when, r.e7(lat), r.e7(lon), actor, speed, course, hae, name)
    return Position(row_hash(row), row), p
