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


def box_e7(box: Box) -> tuple[int, int, int, int]:
    """A box in the stored form of coordinates (integers of 1e-7 degrees)."""
    west, south, east, north = (round(v * 1e7) for v in box)
    return west, south, east, north


def pick(
    rows: Sequence[Sequence[int]],
    *,
    within: Any | None,
    among: Collection[int] | None,
    offset: int,
    limit: int | None,
) -> list[int]:
    """The ids, in the order given, of the rows `(id, lon_e7, lat_e7)` inside `within` (a
    shapely geometry; its edge counts as inside) and among `among`, from `offset`, at most
    `limit` of them."""
    table = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    keys = table[:, 0]
    keep = np.ones(len(keys), dtype=bool)
    if within is not None and len(keys):
        keep &= shapely.intersects_xy(within, table[:, 1] / 1e7, table[:, 2] / 1e7)
    if among is not None:
        keep &= np.isin(keys, np.fromiter(among, dtype=np.int64, count=len(among)))
    chosen = keys[keep][offset:]
    page: list[int] = (chosen if limit is None else chosen[:limit]).tolist()
    return page
