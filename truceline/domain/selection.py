"""Picking a page of rows by place and by membership, vectorised: the filters a database
index cannot serve (inside a zone's polygon; among the incidents of a verdict)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import shapely

Box = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat


def narrowed(bbox: Box | None, geometry: Any | None) -> Box | None:
    """The box an index can use: `bbox` cut to the geometry's bounds (an empty box, where
    they do not meet, selects nothing)."""
    if geometry is None:
        return bbox
    west, south, east, north = (float(v) for v in shapely.bounds(geometry))
    if bbox is None:
        return west, south, east, north
    w, s, e, n = max(west, bbox[0]), max(south, bbox[1]), min(east, bbox[2]), min(north, bbox[3])
    return (w, s, e, n) if w <= e and s <= n else (1.0, 1.0, 0.0, 0.0)


def pick(
    ids: Sequence[int],
    lon_e7: Sequence[int],
    lat_e7: Sequence[int],
    *,
    within: Any | None,
    among: Collection[int] | None,
    offset: int,
    limit: int | None,
) -> list[int]:
    """The ids (in the order given) of the rows inside `within` (a shapely geometry; its
    edge counts as inside) and among `among`, from `offset`, at most `limit` of them."""
    keys = np.asarray(ids, dtype=np.int64)
    keep = np.ones(len(keys), dtype=bool)
    if within is not None and len(keys):
        lon = np.asarray(lon_e7, dtype=np.float64) / 1e7
        lat = np.asarray(lat_e7, dtype=np.float64) / 1e7
        keep &= shapely.intersects_xy(within, lon, lat)
    if among is not None:
        keep &= np.isin(keys, np.fromiter(among, dtype=np.int64, count=len(among)))
    chosen = keys[keep][offset:]
    page: list[int] = (chosen if limit is None else chosen[:limit]).tolist()
    return page
