"""Tracks: the positions of units as columns, sorted by unit and time, and the runs of
consecutive fixes that breach a clause (excursions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]


@dataclass
class Tracks:
    ids: IntArray  # position ids
    unit: IntArray  # code into `units`
    actor: IntArray  # code into `actors`
    t: IntArray  # microseconds
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    units: list[str]
    actors: list[str]
    _inside: dict[tuple[str, str], BoolArray] = field(default_factory=dict, repr=False)

    @classmethod
    def from_columns(cls, ids: Any, units: Any, actors: Any, t: Any, lon: Any, lat: Any) -> Tracks:
        """Columns in any order; sorted here by unit, then time, then id."""
        unit_names, unit_codes = np.unique(np.asarray(units, dtype=object), return_inverse=True)
        actor_names, actor_codes = np.unique(np.asarray(actors, dtype=object), return_inverse=True)
        t = np.asarray(t, dtype=np.int64)
        ids = np.asarray(ids, dtype=np.int64)
        order = np.lexsort((ids, t, unit_codes))
        return cls(
            ids=ids[order],
            unit=unit_codes[order].astype(np.int64),
            actor=actor_codes[order].astype(np.int64),
            t=t[order],
            lon=np.asarray(lon, dtype=np.float64)[order],
            lat=np.asarray(lat, dtype=np.float64)[order],
            units=[str(u) for u in unit_names],
            actors=[str(a) for a in actor_names],
        )

    @classmethod
    def empty(cls) -> Tracks:
        return cls.from_columns([], [], [], [], [], [])

    def __len__(self) -> int:
        return len(self.t)

    def of(self, actor: str) -> BoolArray:
        """Fixes of units whose actor is `actor`."""
        if actor not in self.actors:
            return np.zeros(len(self), dtype=bool)
        result: BoolArray = self.actor == self.actors.index(actor)
        return result

    def inside(self, actor: str, zone_id: str, geometry: BaseGeometry) -> BoolArray:
        """Which fixes of `actor`'s units lie in the zone (its edge counts as in); False for
        all other fixes. A bounding-box test first, then the exact test on the candidates."""
        key = (actor, zone_id)
        cached = self._inside.get(key)
        if cached is not None:
            return cached
        minx, miny, maxx, maxy = geometry.bounds
        candidates = np.flatnonzero(
            self.of(actor)
            & (self.lon >= minx)
            & (self.lon <= maxx)
            & (self.lat >= miny)
            & (self.lat <= maxy)
        )
        result = np.zeros(len(self), dtype=bool)
        if len(candidates):
            shapely.prepare(geometry)
            result[candidates] = shapely.intersects_xy(
                geometry, self.lon[candidates], self.lat[candidates]
            )
        self._inside[key] = result
        return result


@dataclass(frozen=True)
class Run:
    first: int  # index of the first breaching fix
    last: int  # index of the last
    fixes: int


def runs(
    tracks: Tracks, breach: BoolArray, max_gap_s: float, segment: IntArray | None = None
) -> list[Run]:
    """Runs of consecutive breaching fixes of one unit: a gap of more than `max_gap_s` between
    fixes, a non-breaching fix, another unit, or another `segment` value (a clause version)
    ends a run."""
    if not breach.any():
        return []
    gap_us = int(max_gap_s * 1_000_000)
    continues = np.zeros(len(breach), dtype=bool)
    continues[1:] = (
        breach[1:]
        & breach[:-1]
        & (tracks.unit[1:] == tracks.unit[:-1])
        & (np.diff(tracks.t) <= gap_us)
    )
    if segment is not None:
        continues[1:] &= segment[1:] == segment[:-1]
    starts = np.flatnonzero(breach & ~continues)
    ends_mask = breach & ~np.append(continues[1:], False)
    ends = np.flatnonzero(ends_mask)
    return [Run(int(s), int(e), int(e - s + 1)) for s, e in zip(starts, ends, strict=True)]
