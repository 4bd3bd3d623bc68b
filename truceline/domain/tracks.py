"""Tracks: the positions of units as columns, sorted by actor, unit and time, and the runs of
consecutive fixes that breach a clause (excursions).

Sorting by actor first makes each actor's fixes one contiguous slice, so a clause about one
subject looks at that subject's fixes only (array views, no copies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass
class View:
    """The fixes of one actor's units (views into the track arrays)."""

    offset: int  # index of the first fix in the whole track arrays
    ids: IntArray
    unit: IntArray
    t: IntArray
    lon: FloatArray
    lat: FloatArray
    _inside: dict[str, BoolArray] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.t)

    def inside(self, zone_id: str, geometry: BaseGeometry) -> BoolArray:
        """Which fixes lie in the zone (its edge counts as in): a bounding-box test first,
        then the exact test on the candidates only. Cached per zone."""
        cached = self._inside.get(zone_id)
        if cached is not None:
            return cached
        minx, miny, maxx, maxy = geometry.bounds
        lon, lat = self.lon, self.lat
        candidates = np.flatnonzero((lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy))
        result = np.zeros(len(self), dtype=bool)
        if len(candidates):
            shapely.prepare(geometry)
            result[candidates] = shapely.intersects_xy(geometry, lon[candidates], lat[candidates])
        self._inside[zone_id] = result
        return result


@dataclass
class Tracks:
    ids: IntArray  # position ids
    unit: IntArray  # code into `units`
    actor: IntArray  # code into `actors`
    t: IntArray  # microseconds
    lon: FloatArray
    lat: FloatArray
    units: list[str]
    actors: list[str]
    _views: dict[str, View] = field(default_factory=dict, repr=False)

    @classmethod
    def from_codes(
        cls,
        ids: Any,
        unit: Any,
        actor: Any,
        t: Any,
        lon: Any,
        lat: Any,
        units: list[str],
        actors: list[str],
    ) -> Tracks:
        """Columns with units and actors as integer codes; sorted here by actor, unit, time,
        id (arrays that are sorted already are taken as they are)."""
        ids, unit, actor = (np.asarray(a, dtype=np.int64) for a in (ids, unit, actor))
        t = np.asarray(t, dtype=np.int64)
        lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        if not _sorted(actor, unit, t, ids):
            order = np.lexsort((ids, t, unit, actor))
            ids, unit, actor, t, lon, lat = (a[order] for a in (ids, unit, actor, t, lon, lat))
        return cls(ids, unit, actor, t, lon, lat, list(units), list(actors))

    @classmethod
    def from_columns(cls, ids: Any, units: Any, actors: Any, t: Any, lon: Any, lat: Any) -> Tracks:
        """Columns with unit and actor names, in any order."""
        unit_names, unit_codes = np.unique(np.asarray(units, dtype=object), return_inverse=True)
        actor_names, actor_codes = np.unique(np.asarray(actors, dtype=object), return_inverse=True)
        return cls.from_codes(
            ids, unit_codes, actor_codes, t, lon, lat,
            [str(u) for u in unit_names], [str(a) for a in actor_names],
        )  # fmt: skip

    @classmethod
    def empty(cls) -> Tracks:
        return cls.from_columns([], [], [], [], [], [])

    def __len__(self) -> int:
        return len(self.t)

    def view(self, actor: str) -> View:
        """The fixes of `actor`'s units (empty if it has none)."""
        cached = self._views.get(actor)
        if cached is None:
            code = self.actors.index(actor) if actor in self.actors else -1
            start = int(np.searchsorted(self.actor, code, side="left"))
            end = int(np.searchsorted(self.actor, code, side="right")) if code >= 0 else start
            cached = View(
                start, self.ids[start:end], self.unit[start:end], self.t[start:end],
                self.lon[start:end], self.lat[start:end],
            )  # fmt: skip
            self._views[actor] = cached
        return cached


def _sorted(actor: IntArray, unit: IntArray, t: IntArray, ids: IntArray) -> bool:
    if len(t) < 2:
        return True
    a, u = np.diff(actor), np.diff(unit)
    same = (a == 0) & (u == 0)
    return bool(
        (a >= 0).all()
        and ((a > 0) | (u >= 0)).all()
        and (~same | (np.diff(t) > 0) | ((np.diff(t) == 0) & (np.diff(ids) > 0))).all()
    )


@dataclass(frozen=True)
class Run:
    first: int  # index (in the view) of the first breaching fix
    last: int  # index of the last
    fixes: int


def runs(view: View, breach: BoolArray, max_gap_s: float) -> list[Run]:
    """Runs of consecutive breaching fixes of one unit: a gap of more than `max_gap_s` between
    fixes, a fix that does not breach, or another unit ends a run."""
    if not breach.any():
        return []
    gap_us = int(max_gap_s * 1_000_000)
    continues = np.zeros(len(breach), dtype=bool)
    continues[1:] = (
        breach[1:] & breach[:-1] & (view.unit[1:] == view.unit[:-1]) & (np.diff(view.t) <= gap_us)
    )
    starts = np.flatnonzero(breach & ~continues)
    ends = np.flatnonzero(breach & ~np.append(continues[1:], False))
    return [Run(int(s), int(e), int(e - s + 1)) for s, e in zip(starts, ends, strict=True)]
