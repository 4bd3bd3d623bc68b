"""Where in words, as monitors' reports say it: "2 km south-east of Aghdam". The distance to
the nearest named place of the gazetteer, rounded to the km, and one of 8 compass points from
that place; "near Aghdam" under 1 km. Computed for many points at once (numpy), in chunks so
that memory stays bounded whatever the number of points and places."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_KM = 6371.0088
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
NEAR_KM = 1.0
CHUNK_CELLS = 2_000_000  # points × places computed at once


@dataclass(frozen=True)
class Where:
    place: int  # index into the gazetteer
    km: int  # rounded; 0 when near
    compass: str | None  # one of COMPASS; None when near (under 1 km)


def where(
    lon: Sequence[float] | np.ndarray,
    lat: Sequence[float] | np.ndarray,
    place_lon: Sequence[float] | np.ndarray,
    place_lat: Sequence[float] | np.ndarray,
) -> list[Where | None]:
    """For each point, its nearest place, the distance and the compass point from the place
    to the point (great circle, mean Earth radius); None for every point when there is no
    place, or for a point that is not a finite coordinate."""
    x = np.radians(np.asarray(lon, dtype=np.float64))
    y = np.radians(np.asarray(lat, dtype=np.float64))
    px = np.radians(np.asarray(place_lon, dtype=np.float64))
    py = np.radians(np.asarray(place_lat, dtype=np.float64))
    if len(px) == 0:
        return [None] * len(x)
    nearest = np.empty(len(x), dtype=np.int64)
    dist = np.empty(len(x), dtype=np.float64)
    step = max(1, CHUNK_CELLS // len(px))
    cos_py = np.cos(py)
    for start in range(0, len(x), step):
        cx, cy = x[start : start + step, None], y[start : start + step, None]
        h = np.sin((cy - py) / 2) ** 2 + np.cos(cy) * cos_py * np.sin((cx - px) / 2) ** 2
        d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
        d = np.where(np.isfinite(d), d, np.inf)
        k = np.argmin(d, axis=1)
        nearest[start : start + step] = k
        dist[start : start + step] = d[np.arange(len(k)), k]
    qx, qy = px[nearest], py[nearest]
    # initial bearing from the place to the point
    b = np.degrees(
        np.arctan2(
            np.sin(x - qx) * np.cos(y),
            np.cos(qy) * np.sin(y) - np.sin(qy) * np.cos(y) * np.cos(x - qx),
        )
    )
    sector = (np.round(np.mod(b, 360.0) / 45.0).astype(np.int64)) % 8
    km = np.round(dist)
    out: list[Where | None] = []
    for i in range(len(x)):
        if not np.isfinite(dist[i]):
            out.append(None)
        elif dist[i] < NEAR_KM:
            out.append(Where(int(nearest[i]), 0, None))
        else:
            out.append(Where(int(nearest[i]), int(km[i]), COMPASS[int(sector[i])]))
    return out
