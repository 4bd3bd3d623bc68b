"""Positions (track fixes) of units, validated from their fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

import orjson

from truceline.domain import records as r

REQUIRED = ("unit", "time", "lat", "lon")
COLUMNS: tuple[str, ...] = (*REQUIRED, "actor", "speed_mps", "course_deg", "hae_m")
FIELDS: tuple[str, ...] = (
    "unit",
    "time_us",
    "lat_e7",
    "lon_e7",
    "actor",
    "speed_mps",
    "course_deg",
    "hae_m",
)


@dataclass(frozen=True, slots=True)
class Context:
    actors: frozenset[str]
    unit_owners: Mapping[str, str]  # declared unit → its contingent or party


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
    """sha256 of the canonical JSON array of a stored row (floats as their shortest text)."""
    values = tuple(r.float_text(v) if type(v) is float else v for v in row)
    return sha256(orjson.dumps(values)).hexdigest()


def build_position(get: Mapping[str, Any], ctx: Context) -> tuple[Position | None, r.Problems]:
    p = r.Problems()
    unit = r.word(get.get("unit"), "unit", p)
    if unit is None and not p:
        p.add("unit", "required")
    when = r.moment(get.get("time"), "time", p)
    if when is None and not any(c == "time" for c, _ in p):
        p.add("time", "required")
    lat = r.latitude(get.get("lat"), "lat", p)
    lon = r.longitude(get.get("lon"), "lon", p)
    for column, value in (("lat", lat), ("lon", lon)):
        if value is None and not any(c == column for c, _ in p):
            p.add(column, "required")
    actor = r.word(get.get("actor"), "actor", p)
    if actor is None and unit is not None and not any(c == "actor" for c, _ in p):
        actor = ctx.unit_owners.get(unit)
        if actor is None:
            p.add("actor", f"unit {unit!r} is not declared in the mission; give its actor")
    elif actor is not None and actor != "unknown" and actor not in ctx.actors:
        p.add("actor", f"unknown party or contingent {actor!r}")
    speed = r.number(get.get("speed_mps"), "speed_mps", p)
    if speed is not None and speed < 0:
        p.add("speed_mps", "must not be negative")
    course = r.number(get.get("course_deg"), "course_deg", p)
    if course is not None and not 0 <= course <= 360:
        p.add("course_deg", "must be in 0..360")
    hae = r.number(get.get("hae_m"), "hae_m", p)
    if p:
        return None, p
    assert lat is not None and lon is not None
    row = (unit, when, r.e7(lat), r.e7(lon), actor, speed, course, hae)
    return Position(row_hash(row), row), p
