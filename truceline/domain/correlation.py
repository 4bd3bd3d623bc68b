"""Correlation: which observations are one real-world event (an incident).

Two observations are *linked* when they come from different sources, belong to the same kind
family, their times (or windows) are within `time_s` of each other, and their locations are
within `max(distance_m, uncertainty_a + uncertainty_b)`. An incident is a connected group of
links. Two reports of the same source are never linked directly (each is a distinct report),
though they may meet in one incident through other sources.

The result depends only on the set of observations, never on their order: links are a
property of pairs, components a property of links, and an incident is named by the smallest
observation id in it (its *anchor*).

Candidate pairs come from a grid over (family, time cell, latitude cell, longitude cell) with
cells at least as large as any link, so that linked observations sit in neighbouring cells; an
exact test then keeps the real links. The few observations whose window or uncertainty is
wider than a cell are matched against the time-sorted rest one by one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from truceline.domain.vocabulary import KIND_FAMILY

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE_MIN = 110_500.0  # a degree of latitude is at least this long
US = 1_000_000
# Families whose reports are not events to correlate: counts are numbers, `other` is anything.
UNCORRELATED = frozenset({"count", "other"})
FAMILIES: tuple[str, ...] = tuple(sorted(set(KIND_FAMILY.values())))
FAMILY_CODE = {family: code for code, family in enumerate(FAMILIES)}

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Observations:
    """Columns of the observations to correlate (all the same length)."""

    ids: IntArray
    t_from: IntArray  # microseconds
    t_to: IntArray
    lat: FloatArray  # degrees
    lon: FloatArray
    uncertainty: FloatArray  # metres (0 when unknown)
    family: IntArray  # FAMILY_CODE
    source: IntArray  # one code per distinct source
    count: IntArray

    def __len__(self) -> int:
        return len(self.ids)


def haversine_m(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    result: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
    return result


def linked(
    obs: Observations, i: IntArray, j: IntArray, time_s: float, distance_m: float
) -> NDArray[np.bool_]:
    """The exact link test for candidate pairs (i, j)."""
    gap = np.maximum(obs.t_from[i], obs.t_from[j]) - np.minimum(obs.t_to[i], obs.t_to[j])
    reach = np.maximum(distance_m, obs.uncertainty[i] + obs.uncertainty[j])
    close = haversine_m(obs.lat[i], obs.lon[i], obs.lat[j], obs.lon[j]) <= reach
    result: NDArray[np.bool_] = (
        (obs.source[i] != obs.source[j])
        & (obs.family[i] == obs.family[j])
        & (gap <= time_s * US)
        & close
    )
    return result


def _components(n: int, a: IntArray, b: IntArray) -> IntArray:
    """Connected components of n nodes joined by edges (a, b): each node's smallest member."""
    parent = np.arange(n, dtype=np.int64)
    while len(a):
        ra, rb = parent[a], parent[b]
        low = np.minimum(ra, rb)
        np.minimum.at(parent, ra, low)  # hook each root under the smaller one
        np.minimum.at(parent, rb, low)
        while True:  # shortcut until every node points at a root
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
        keep = parent[a] != parent[b]
        a, b = a[keep], b[keep]
    return parent


def _ranges_to_pairs(rows: IntArray, lo: IntArray, hi: IntArray) -> tuple[IntArray, IntArray]:
    """All (row, k) for k in [lo, hi) per row, vectorised."""
    sizes = hi - lo
    total = int(sizes.sum())
    if total == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    left = np.repeat(rows, sizes)
    starts = np.repeat(lo - np.cumsum(sizes) + sizes, sizes)
    right = starts + np.arange(total, dtype=np.int64)
    return left, right


def candidate_pairs(
    obs: Observations, eligible: IntArray, time_s: float, cell_m: float
) -> tuple[IntArray, IntArray]:
    """Pairs (i < j) of eligible observations in neighbouring grid cells."""
    if len(eligible) < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    cell_t = max(time_s, 1.0) * US
    lat, lon = obs.lat[eligible], obs.lon[eligible]
    cell_lat = cell_m / METRES_PER_DEGREE_MIN
    widest = min(float(np.abs(lat).max()) + cell_lat, 89.0)
    cell_lon = min(cell_m / (METRES_PER_DEGREE_MIN * math.cos(math.radians(widest))), 360.0)
    t = (obs.t_from[eligible] // int(cell_t)).astype(np.int64)
    y = np.floor((lat + 90.0) / cell_lat).astype(np.int64)
    x = np.floor((lon + 180.0) / cell_lon).astype(np.int64)
    nx, ny = int(x.max()) + 3, int(y.max()) + 3
    t0 = int(t.min()) - 3
    nt = int(t.max()) - t0 + 3
    fam = obs.family[eligible].astype(np.int64)
    # One integer per cell, x fastest: the three x-neighbours of a cell are one key range.
    key = (((fam * nt + (t - t0)) * ny + y) * nx) + x
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    lefts, rights = [], []
    for dt in (-2, -1, 0, 1, 2):
        for dy in (-1, 0, 1):
            base = key + (dt * ny + dy) * nx
            lo = np.searchsorted(sorted_key, base - 1, side="left")
            hi = np.searchsorted(sorted_key, base + 1, side="right")
            a, b = _ranges_to_pairs(np.arange(len(key), dtype=np.int64), lo, hi)
            b = order[b]
            keep = a < b
            lefts.append(eligible[a[keep]])
            rights.append(eligible[b[keep]])
    return np.concatenate(lefts), np.concatenate(rights)


def correlate(obs: Observations, time_s: float, distance_m: float) -> IntArray:
    """Each observation's incident anchor (its smallest observation id), or -1 for
    observations that form no incident (counts)."""
    n = len(obs)
    anchors = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return anchors
    count_code = FAMILY_CODE["count"]
    other_code = FAMILY_CODE["other"]
    correlated = (obs.family != count_code) & (obs.family != other_code)
    reach = np.maximum(distance_m, 2 * obs.uncertainty)
    duration = obs.t_to - obs.t_from
    pool = np.flatnonzero(correlated)
    # The grid's cell: large enough for most links (the 95th percentile of reach).
    cell_m = float(np.percentile(reach[pool], 95)) if len(pool) else distance_m
    cell_m = max(cell_m, distance_m, 1.0)
    wide = correlated & ((reach > cell_m) | (duration > max(time_s, 1.0) * US))
    normal = np.flatnonzero(correlated & ~wide)
    a, b = candidate_pairs(obs, normal, time_s, cell_m)
    keep = linked(obs, a, b, time_s, distance_m)
    edges_a, edges_b = [a[keep]], [b[keep]]
    wide_idx = np.flatnonzero(wide)
    if len(wide_idx):
        wa, wb = _wide_pairs(obs, wide_idx, np.flatnonzero(correlated), time_s)
        keep = linked(obs, wa, wb, time_s, distance_m)
        edges_a.append(wa[keep])
        edges_b.append(wb[keep])
    components = _components(n, np.concatenate(edges_a), np.concatenate(edges_b))
    # Name each component by its smallest observation id.
    lowest = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(lowest, components, obs.ids)
    anchors = lowest[components]
    anchors[~correlated] = -1
    anchors[obs.family == other_code] = obs.ids[obs.family == other_code]
    return anchors


def _wide_pairs(
    obs: Observations, wide: IntArray, pool: IntArray, time_s: float
) -> tuple[IntArray, IntArray]:
    """Candidates of the (few) wide observations: everything in the pool within their time
    reach. One numpy search per wide observation."""
    longest = int((obs.t_to[pool] - obs.t_from[pool]).max())
    order = pool[np.argsort(obs.t_from[pool], kind="stable")]
    starts = obs.t_from[order]
    slack = int(time_s * US)
    lefts, rights = [], []
    for w in wide:
        lo = np.searchsorted(starts, obs.t_from[w] - slack - longest, side="left")
        hi = np.searchsorted(starts, obs.t_to[w] + slack, side="right")
        others = order[lo:hi]
        others = others[(others != w) & (obs.family[others] == obs.family[w])]
        lefts.append(np.full(len(others), w, dtype=np.int64))
        rights.append(others.astype(np.int64))
    return np.concatenate(lefts), np.concatenate(rights)


def reference_anchors(obs: Observations, time_s: float, distance_m: float) -> IntArray:
    """The same result by testing every pair: O(n²), for tests only."""
    n = len(obs)
    i, j = np.triu_indices(n, k=1)
    i, j = i.astype(np.int64), j.astype(np.int64)
    correlated = (obs.family != FAMILY_CODE["count"]) & (obs.family != FAMILY_CODE["other"])
    keep = linked(obs, i, j, time_s, distance_m) & correlated[i] & correlated[j]
    components = _components(n, i[keep], j[keep])
    lowest = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(lowest, components, obs.ids)
    anchors = lowest[components]
    anchors[~correlated] = -1
    other = obs.family == FAMILY_CODE["other"]
    anchors[other] = obs.ids[other]
    return anchors
