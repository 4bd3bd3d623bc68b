"""Correlation: which observations are one real-world event (an incident).

Two observations are *linked* when they come from different sources, belong to the same kind
family, their times (or windows) are within `time_s` of each other, and their locations are
within `max(distance_m, uncertainty_a + uncertainty_b)`. An incident is a connected group of
links. Two reports of the same source are never linked directly (each is a distinct report),
though they may meet in one incident through other sources.

The result depends only on the set of observations, never on their order: links are a
property of pairs, components a property of links, and an incident is named by the smallest
observation id in it (its *anchor*).

How the components are found without testing every pair, and holding at most `CHUNK`
candidate pairs at once however dense the observations are (no pair list grows with the square
of a crowd):

1. *Small cells.* Observations are grouped by family, start time in steps of `time_s` + 1 µs (two
   windows' gap is at most the difference of their starts) and a latitude-longitude cell small
   enough that any two of its points are within 0.998 `distance_m` (haversine's term is at most
   (dφ/2)² + (cos φ·dλ/2)², with the cosine of the latitude nearest the equator; the margin
   covers rounding). So every two observations of a small cell of different sources are
   linked: a cell of two or more sources is one component (each of its reports is linked to
   one of another source), and a cell of one source has no link inside it.
2. *Sites.* In a cell of one source, exact duplicates (times, point, uncertainty) are one
   site: each of them is linked to exactly what the others are. A site linked to nothing stays
   as many incidents as it has reports.
3. *Pairs of cells.* Candidate pairs come from a grid over (family, time, latitude, longitude)
   whose cells are at least as large as most links and made of whole small cells, so linked
   cells are in neighbouring grid cells; wide observations (a window or uncertainty wider than
   a grid cell, near a pole or the antimeridian, or with values outside the bounds) are paired
   with every cell of their family within their time reach. From the bounds of the two cells
   (times, boxes, uncertainties) a pair is: impossible (dropped); certain (every two of their
   observations are near: one component when they have two sources between them); or partial,
   when their pairs of sites are tested with the exact test, `CHUNK` at a time, skipping pairs
   already in one component and cells already wholly joined. A large partial pair that a first
   share of tests does not join is split: the larger side in halves along its widest extent,
   each half against the other side judged by its bounds again (a dual-tree walk), down to
   parts of at most `SPLIT` pairs, tested pair by pair.

Every link the steps add is a link of the definition, or joins what links of it join, and every
pair that could be linked is tested or implied: the components are those of the link graph.
Memory is O(n + CHUNK) whatever the density; time is near n log n for crowds that join (one
place, one time, many sources) and for crowds apart, and grows past that only for crowds whose
reports are, one by one, just within and just beyond reach of each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

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
# Candidate pairs held at once (cells, sites): what bounds memory, whatever the density.
CHUNK = 1 << 18
# A partial pair of cells with more pairs of sites than this is split (a dual-tree walk).
SPLIT = 1 << 16
# Bounds on a computed distance allow for rounding: relative, and in metres.
ROUNDING = 1e-9
ROUNDING_M = 1e-6

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


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


def near(
    obs: Observations, i: IntArray, j: IntArray, time_s: float, distance_m: float
) -> BoolArray:
    """The link test without its source condition: the same family, within time and reach."""
    gap = np.maximum(obs.t_from[i], obs.t_from[j]) - np.minimum(obs.t_to[i], obs.t_to[j])
    reach = np.maximum(distance_m, obs.uncertainty[i] + obs.uncertainty[j])
    close = haversine_m(obs.lat[i], obs.lon[i], obs.lat[j], obs.lon[j]) <= reach
    result: BoolArray = (obs.family[i] == obs.family[j]) & (gap <= time_s * US) & close
    return result


def linked(
    obs: Observations, i: IntArray, j: IntArray, time_s: float, distance_m: float
) -> BoolArray:
    """The exact link test for candidate pairs (i, j)."""
    result: BoolArray = (obs.source[i] != obs.source[j]) & near(obs, i, j, time_s, distance_m)
    return result


def _components(n: int, a: IntArray, b: IntArray) -> IntArray:
    """Connected components of n nodes joined by edges (a, b): each node's smallest member."""
    parent = np.arange(n, dtype=np.int64)
    _union(parent, a, b)
    return _flatten(parent)


def _find(parent: IntArray, x: IntArray) -> IntArray:
    """The roots of x (compressing the paths of x)."""
    root = parent[x]
    while True:
        up = parent[root]
        if np.array_equal(up, root):
            break
        root = up
    parent[x] = root
    return root


def _union(parent: IntArray, a: IntArray, b: IntArray) -> None:
    """Join the trees of a and b, pair by pair: each root hooks under the smaller one."""
    while len(a):
        ra, rb = _find(parent, a), _find(parent, b)
        keep = ra != rb
        a, b = np.minimum(ra[keep], rb[keep]), np.maximum(ra[keep], rb[keep])
        np.minimum.at(parent, b, a)


def _flatten(parent: IntArray) -> IntArray:
    while True:
        up = parent[parent]
        if np.array_equal(up, parent):
            return parent
        parent = up


def _ranges_to_pairs(rows: IntArray, lo: IntArray, hi: IntArray) -> tuple[IntArray, IntArray]:
    """All (row, k) for k in [lo, hi) per row, vectorised."""
    sizes = np.maximum(hi - lo, 0)
    total = int(sizes.sum())
    if total == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    left = np.repeat(rows, sizes)
    starts = np.repeat(lo - np.cumsum(sizes) + sizes, sizes)
    right = starts + np.arange(total, dtype=np.int64)
    return left, right


def _chunks(sizes: IntArray) -> list[tuple[int, int]]:
    """Consecutive [start, end) row ranges whose sizes sum to at most CHUNK (or one row)."""
    limit = CHUNK
    bounds, start, total = [], 0, np.cumsum(sizes)
    while start < len(sizes):
        base = int(total[start - 1]) if start else 0
        end = max(int(np.searchsorted(total, base + limit, side="right")), start + 1)
        bounds.append((start, end))
        start = end
    return bounds


def _ok_for_clique(obs: Observations, pool: IntArray) -> BoolArray:
    """Observations whose values keep the bounds of cells valid (all real data: finite,
    on the globe, a window that does not end before it starts)."""
    result: BoolArray = (
        np.isfinite(obs.uncertainty[pool])
        & (obs.t_to[pool] >= obs.t_from[pool])
        & (np.abs(obs.lat[pool]) <= 90.0)
        & (np.abs(obs.lon[pool]) <= 180.0)
    )
    return result


_MIX = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93, 0x27D4EB2F)


def _hash(*columns: NDArray[np.int64] | NDArray[np.float64]) -> IntArray:
    """A 64-bit mix of int64 or float64 columns: equal rows hash equal (it only orders rows,
    so that equal ones come together; any collision is harmless)."""
    h = np.zeros(len(columns[0]), dtype=np.uint64)
    for k, column in enumerate(columns):
        h ^= np.ascontiguousarray(column).view(np.uint64) * np.uint64(_MIX[k])
        h = (h ^ (h >> np.uint64(29))) * np.uint64(0xBF58476D1CE4E5B9)
    return h.view(np.int64)


def _mark_changes(new: BoolArray, column: NDArray[np.generic]) -> None:
    """Mark where a row differs from the one before."""
    new[1:] |= column[1:] != column[:-1]


@dataclass(frozen=True)
class _Grid:
    normal: BoolArray  # observations whose links the grid finds: its cells are large enough
    coarse: IntArray  # their grid cell: (family, time, y, x), x fastest
    within: IntArray  # their small cell within it
    size: int  # how many small cells a grid cell holds (`within` is less); 0: not numbered
    nx: int
    ny: int


def _grid(
    lat: FloatArray,
    lon: FloatArray,
    t_from: IntArray,
    t_to: IntArray,
    family: IntArray,
    reach: FloatArray,
    regular: BoolArray,
    ft: IntArray,
    fy: IntArray,
    fx: IntArray,
    width: int,
    fine_lat: float,
    fine_lon: float,
    cell_m: float,
    cell_t: int,
) -> _Grid | None:
    """The grid for neighbours over the normal observations: a cell at least `cell_m` and
    `cell_t` wide, made of whole small cells (when they are not points). None when its keys
    would not fit in 63 bits."""
    cell_lat = cell_m / METRES_PER_DEGREE_MIN
    polar = np.abs(lat) + cell_lat > 89.0
    base = regular & ~polar
    widest = float(np.abs(lat[base]).max()) + cell_lat if base.any() else 0.0
    cell_lon = min(cell_m / (METRES_PER_DEGREE_MIN * math.cos(math.radians(widest))), 360.0)
    normal = (
        base
        & (np.abs(lon) + cell_lon <= 180.0)  # no link across the antimeridian
        & (reach <= cell_m)
        & (t_to - t_from <= cell_t)
    )
    coarse = np.zeros(len(lat), dtype=np.int64)
    within = np.zeros(len(lat), dtype=np.int64)
    if not normal.any():
        return _Grid(normal, coarse, within, 1, 1, 1)
    kt = -(-cell_t // width)
    f = ft[normal]
    t = f // kt
    within_t = f - t * kt
    if fine_lat == 0.0:  # small cells are points
        ky = kx = 1
        y = np.floor((lat[normal] + 90.0) / cell_lat).astype(np.int64)
        x = np.floor((lon[normal] + 180.0) / cell_lon).astype(np.int64)
        wy = wx = np.zeros(len(f), dtype=np.int64)
    else:
        ky, kx = math.ceil(cell_lat / fine_lat), math.ceil(cell_lon / fine_lon)
        y, x = fy[normal] // ky, fx[normal] // kx
        wy, wx = fy[normal] - y * ky, fx[normal] - x * kx
    t, y, x = t - t.min() + 2, y - y.min() + 1, x - x.min() + 1
    nt, ny, nx = int(t.max()) + 3, int(y.max()) + 2, int(x.max()) + 2
    if (len(FAMILIES) + 1) * nt * ny * nx >= 1 << 62:
        return None
    coarse[normal] = ((family[normal] * nt + t) * ny + y) * nx + x
    size = kt * ky * kx
    if size >= 1 << 62:  # too many small cells to number: order by their own keys
        return _Grid(normal, coarse, within, 0, nx, ny)
    within[normal] = (within_t * ky + wy) * kx + wx
    return _Grid(normal, coarse, within, size, nx, ny)


class _Box(NamedTuple):
    """Bounds of groups of observations (one row per group)."""

    lat_lo: FloatArray
    lat_hi: FloatArray
    lon_lo: FloatArray
    lon_hi: FloatArray
    from_lo: IntArray
    from_hi: IntArray
    to_lo: IntArray
    to_hi: IntArray
    unc_lo: FloatArray
    unc_hi: FloatArray

    def take(self, rows: IntArray) -> _Box:
        return _Box(
            self.lat_lo[rows], self.lat_hi[rows], self.lon_lo[rows], self.lon_hi[rows],
            self.from_lo[rows], self.from_hi[rows], self.to_lo[rows], self.to_hi[rows],
            self.unc_lo[rows], self.unc_hi[rows],
        )  # fmt: skip


def _bounds(
    a: _Box, b: _Box, regular: BoolArray, distance_m: float, slack: int
) -> tuple[BoolArray, BoolArray]:
    """For pairs of groups: whether any two of their observations may be near (times within
    `slack`, distance within reach), and whether every two are. `regular`: the bounds of
    distance hold (values on the globe); otherwise only time can rule a pair out."""
    gap_lo = np.maximum(a.from_lo, b.from_lo) - np.minimum(a.to_hi, b.to_hi)
    gap_hi = np.maximum(a.from_hi, b.from_hi) - np.minimum(a.to_lo, b.to_lo)
    lat_lo, lat_hi = np.minimum(a.lat_lo, b.lat_lo), np.maximum(a.lat_hi, b.lat_hi)
    lon_lo, lon_hi = np.minimum(a.lon_lo, b.lon_lo), np.maximum(a.lon_hi, b.lon_hi)
    # Lower bound of the distance: haversine's term at the least latitude and longitude gaps
    # (the shorter way round) and the cosine of the latitude farthest from the equator.
    dlat = np.maximum(np.maximum(a.lat_lo, b.lat_lo) - np.minimum(a.lat_hi, b.lat_hi), 0.0)
    dlon = np.maximum(a.lon_lo, b.lon_lo) - np.minimum(a.lon_hi, b.lon_hi)
    dlon = np.clip(np.minimum(dlon, 360.0 - (lon_hi - lon_lo)), 0.0, 180.0)
    cos_lo = np.cos(np.radians(np.minimum(np.maximum(np.abs(lat_lo), np.abs(lat_hi)), 90.0)))
    cos_lo = np.maximum(cos_lo, 0.0)
    h = np.sin(np.radians(dlat) / 2) ** 2 + cos_lo**2 * np.sin(np.radians(dlon) / 2) ** 2
    lower = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0)))
    reach = np.maximum(distance_m, a.unc_hi + b.unc_hi)
    possible: BoolArray = (gap_lo <= slack) & (
        ~regular | (lower <= reach * (1 + ROUNDING) + ROUNDING_M)
    )
    # Upper bound: along a meridian, then a parallel (at most the one nearest the equator).
    across = (lat_lo <= 0) & (lat_hi >= 0)
    lowest = np.where(across, 0.0, np.minimum(np.abs(lat_lo), np.abs(lat_hi)))
    upper = EARTH_RADIUS_M * (
        np.radians(lat_hi - lat_lo) + np.cos(np.radians(lowest)) * np.radians(lon_hi - lon_lo)
    )
    least = np.maximum(distance_m, a.unc_lo + b.unc_lo)  # the least reach
    certain: BoolArray = (
        possible & regular & (gap_hi <= slack) & (upper * (1 + ROUNDING) + ROUNDING_M <= least)
    )
    return possible, certain


class _Linker:
    """The components of the link graph over `pool` (see the module's docstring)."""

    def __init__(self, obs: Observations, pool: IntArray, time_s: float, distance_m: float):
        self.obs, self.time_s, self.distance_m = obs, time_s, distance_m
        self.slack = math.floor(time_s * US)  # a gap links when it is at most this (integer)
        m = len(pool)
        lat, lon, unc = obs.lat[pool], obs.lon[pool], obs.uncertainty[pool]
        t_from, t_to = obs.t_from[pool], obs.t_to[pool]
        family, source = obs.family[pool], obs.source[pool]
        regular = _ok_for_clique(obs, pool)
        zero = np.zeros(m, dtype=np.int64)
        # Small cells: every two observations of one are within time_s and distance_m.
        width = self.slack + 1
        ft = np.where(regular, t_from // width, 0)
        exact = distance_m < 1.0 or not regular.any()  # then a small cell is one point
        fine_lat = fine_lon = 0.0
        fy = fx = zero
        if not exact:
            lowest = float(np.abs(lat[regular]).min())
            # Sides dφ = q/R and cos(lowest)·dλ = q/R: haversine's a is at most
            # (dφ/2)² + (cos(lowest)·dλ/2)² = 2(q/2R)², so a distance at most 0.998 distance_m.
            q = math.sqrt(2) * EARTH_RADIUS_M * math.sin(0.499 * distance_m / EARTH_RADIUS_M)
            fine_lat = math.degrees(q / EARTH_RADIUS_M)
            fine_lon = math.degrees(
                q / (EARTH_RADIUS_M * max(math.cos(math.radians(lowest)), 1e-9))
            )
            fy = np.where(regular, np.floor((lat + 90.0) / fine_lat), 0).astype(np.int64)
            fx = np.where(regular, np.floor((lon + 180.0) / fine_lon), 0).astype(np.int64)
        # The grid for neighbours: cells at least as large as most links.
        reach = np.maximum(distance_m, 2 * unc)
        cell_m = float(np.percentile(reach[regular], 95)) if regular.any() else distance_m
        cell_m = max(cell_m, distance_m, 1.0)
        cell_t = int(max(time_s, 1.0) * US)
        while True:
            grid = _grid(lat, lon, t_from, t_to, family, reach, regular, ft, fy, fx, width,
                         fine_lat, fine_lon, cell_m, cell_t)  # fmt: skip
            if grid is not None:
                break
            cell_m, cell_t = cell_m * 2, cell_t * 2  # keys would overflow: larger cells
        self.nx, self.ny = grid.nx, grid.ny
        del reach
        # Order: normal observations by grid cell and small cell, then the wide ones by small
        # cell, then those whose values break the bounds (a cell each).
        point = _hash(lat, lon) if exact else zero
        normal = np.flatnonzero(grid.normal)
        coarse = grid.coarse[normal]
        if not exact and 0 < (int(coarse.max(initial=0)) + 1) * grid.size < 1 << 62:
            normal = normal[np.argsort(coarse * grid.size + grid.within[normal])]
        else:
            keys = (point[normal], fx[normal], fy[normal], ft[normal], coarse)
            normal = normal[np.lexsort(keys)]
        del coarse
        wide = np.flatnonzero(regular & ~grid.normal)
        wide = wide[np.lexsort((point[wide], fx[wide], fy[wide], ft[wide], family[wide]))]
        n_normal, n_regular = len(normal), len(normal) + len(wide)
        order = np.concatenate([normal, wide, np.flatnonzero(~regular)]).astype(np.int64)
        del normal, wide, point
        new_cell = np.zeros(m, dtype=bool)
        new_cell[[b for b in (0, n_normal, n_regular) if b < m]] = True  # where parts begin
        new_cell[n_regular:] = True  # outside the bounds: a cell each
        columns: list[NDArray[np.generic]] = [family, grid.coarse, ft, fy, fx]
        for column in columns + ([lat, lon] if exact else []):
            _mark_changes(new_cell, column[order])
        del ft, fy, fx
        cell_of = np.cumsum(new_cell) - 1
        cell_starts = np.flatnonzero(new_cell)
        cell_size = np.diff(np.append(cell_starts, m))
        s_source = source[order]
        multi = np.minimum.reduceat(s_source, cell_starts) != np.maximum.reduceat(
            s_source, cell_starts
        )
        # Sites: in a cell of one source, the reports of one point, time and uncertainty.
        grouped = (~multi & (cell_size > 1))[cell_of]
        spots = np.flatnonzero(grouped)
        if len(spots):
            sub = order[spots]
            same = _hash(t_from[sub], t_to[sub], lat[sub], lon[sub], unc[sub])
            order[spots] = sub[np.lexsort((same, cell_of[spots]))]
            s_source = source[order]
            del sub, same
        del cell_of, spots
        new_site = new_cell | ~grouped
        del grouped
        # Cells: their bounds (the order within a cell does not change them).
        cs = cell_starts
        bounds = []
        for column in (lat, lon, t_from, t_to, unc):
            ordered = column[order]
            _mark_changes(new_site, ordered)
            bounds += [np.minimum.reduceat(ordered, cs), np.maximum.reduceat(ordered, cs)]
        self.box = _Box(*bounds)
        site_starts = np.flatnonzero(new_site)
        self.order = order
        self.site_of = np.cumsum(new_site) - 1  # per sorted observation
        del new_site
        self.n_sites = len(site_starts)
        self.site_size = np.diff(np.append(site_starts, m))
        self.rep = pool[order[site_starts]]  # an observation of each site
        self.site_source = s_source[site_starts]
        self._site_box: _Box | None = None
        # Cells: their sites are consecutive.
        self.start = self.site_of[cs]
        self.size = np.diff(np.append(self.start, self.n_sites))
        self.n_cells = len(cs)
        self.multi = multi
        self.source = s_source[cs]
        self.regular = cs < n_regular
        self.family = family[order[cs]]
        self.coarse = grid.coarse[order[cs]]
        self.n_normal = int(np.count_nonzero(cs < n_normal))  # the first cells
        self.longest = max(int((t_to - t_from).max()), 0)
        # Union-find over sites; a cell of several sources is one tree from the start.
        self.parent = np.where(
            np.repeat(multi, self.size),
            np.repeat(self.start, self.size),
            np.arange(self.n_sites, dtype=np.int64),
        )
        self.uniform = multi | (self.size == 1)  # all its sites in one tree

    # -- candidate pairs of cells ------------------------------------------------------------

    def run(self) -> IntArray:
        """A component label per observation of the pool (in the pool's order)."""
        self._normal_pairs()
        self._wide_pairs()
        labels = _flatten(self.parent)
        comp_size = np.bincount(labels, minlength=self.n_sites)
        # A site of one source alone in its component: its reports are separate incidents.
        split = (comp_size[labels] == 1) & (self.site_size > 1)
        per_obs = labels[self.site_of]
        alone = split[self.site_of]
        per_obs[alone] = self.n_sites + np.flatnonzero(alone)
        result = np.empty(len(per_obs), dtype=np.int64)
        result[self.order] = per_obs
        return result

    def _normal_pairs(self) -> None:
        """Pairs of normal cells in neighbouring grid cells, each pair once: the offsets to
        later grid cells (the same cell and the next x, the next row, the next two times)."""
        k = self.n_normal
        if k < 2:
            return
        key = self.coarse[:k]
        rows = np.arange(k, dtype=np.int64)
        offsets = [(0, 0, 0, 1), (0, 1, -1, 1)]
        offsets += [(dt, dy, -1, 1) for dt in (1, 2) for dy in (-1, 0, 1)]
        for dt, dy, dx_lo, dx_hi in offsets:
            base = key + (dt * self.ny + dy) * self.nx
            lo = np.searchsorted(key, base + dx_lo, side="left").astype(np.int64)
            hi = np.searchsorted(key, base + dx_hi, side="right").astype(np.int64)
            lo = np.maximum(lo, rows + 1)  # in the same grid cell: the later small cells
            for s, e in _chunks(np.maximum(hi - lo, 0)):
                a, b = _ranges_to_pairs(rows[s:e], lo[s:e], hi[s:e])
                self._pairs(a, b)

    def _wide_pairs(self) -> None:
        """Pairs of each wide cell with every cell of its family within its time reach."""
        if self.n_normal == self.n_cells:
            return
        first = int(self.box.from_lo.min())
        stride = int(self.box.from_lo.max()) - first + 1
        key = self.family * stride + (self.box.from_lo - first)
        by_key = np.argsort(key, kind="stable").astype(np.int64)
        sorted_key = key[by_key]
        span = int((self.box.from_hi - self.box.from_lo).max())
        wide = np.arange(self.n_normal, self.n_cells, dtype=np.int64)
        earliest = self.box.from_lo[wide] - self.slack - self.longest - span
        latest = self.box.to_hi[wide] + self.slack
        fam = self.family[wide] * stride
        lo_key = fam + np.clip(earliest - first, 0, stride - 1)
        hi_key = fam + np.clip(latest - first, -1, stride - 1)
        lo = np.searchsorted(sorted_key, lo_key, side="left").astype(np.int64)
        hi = np.searchsorted(sorted_key, hi_key, side="right").astype(np.int64)
        hi = np.where(latest - first < 0, lo, hi)  # none start early enough
        for s, e in _chunks(np.maximum(hi - lo, 0)):
            a, k = _ranges_to_pairs(wide[s:e], lo[s:e], hi[s:e])
            b = by_key[k]
            keep = (b < self.n_normal) | (b > a)  # a wide pair once; not a cell with itself
            self._pairs(a[keep], b[keep])

    # -- what a pair of cells holds ----------------------------------------------------------

    def _pairs(self, a: IntArray, b: IntArray) -> None:
        """Sort candidate pairs of cells into impossible, certain and partial, and link."""
        if not len(a):
            return
        regular = self.regular[a] & self.regular[b]
        possible, certain = _bounds(
            self.box.take(a), self.box.take(b), regular, self.distance_m, self.slack
        )
        self._join(a[certain], b[certain])
        # Two cells of one and the same source have no link between them.
        two = self.multi[a] | self.multi[b] | (self.source[a] != self.source[b])
        partial = possible & ~certain & two
        self._test(a[partial], b[partial])

    def _join(self, a: IntArray, b: IntArray) -> None:
        """Pairs of cells whose every two observations are near: one component when they have
        two sources between them (each site then links to one of another source)."""
        two = self.multi[a] | self.multi[b] | (self.source[a] != self.source[b])
        a, b = a[two], b[two]
        if not len(a):
            return
        cells = np.unique(np.concatenate([a, b]))
        cells = cells[~self.uniform[cells]]
        if len(cells):
            first, offset = _ranges_to_pairs(
                self.start[cells], np.zeros(len(cells), dtype=np.int64), self.size[cells]
            )
            _union(self.parent, first, first + offset)
            self.uniform[cells] = True
        _union(self.parent, self.start[a], self.start[b])

    def _test(self, a: IntArray, b: IntArray) -> None:
        """The exact test over the pairs of sites of partially near cells, at most CHUNK pairs
        at a time; a pair of cells is done once both are wholly in one component."""
        done = np.zeros(len(a), dtype=np.int64)
        total = self.size[a] * self.size[b]
        walked = False
        while len(a):
            both = self.uniform[a] & self.uniform[b]
            if both.any():
                together = np.zeros(len(a), dtype=bool)
                together[both] = _find(self.parent, self.start[a[both]]) == _find(
                    self.parent, self.start[b[both]]
                )
                keep = ~together
                a, b, done, total = a[keep], b[keep], done[keep], total[keep]
                if not len(a):
                    break
            if walked:  # the first share did not join them: split the large ones
                large = total > SPLIT
                for cell_a, cell_b in zip(a[large].tolist(), b[large].tolist(), strict=True):
                    self._split(cell_a, cell_b)
                keep = ~large
                a, b, done, total = a[keep], b[keep], done[keep], total[keep]
                if not len(a):
                    break
            walked = True
            left = total - done
            take = np.minimum(left, max(CHUNK // len(a), 1))  # every pair of cells a share
            cut = max(int(np.searchsorted(np.cumsum(take), CHUNK, side="right")), 1)
            take[cut:] = 0
            rows, p = _ranges_to_pairs(np.arange(len(a), dtype=np.int64), done, done + take)
            na, nb = self.size[a[rows]], self.size[b[rows]]
            r = p % na  # a diagonal walk: every (site of a, site of b) once, spread early
            i = self.start[a[rows]] + r
            j = self.start[b[rows]] + (p // na + r) % nb
            differ = _find(self.parent, i) != _find(self.parent, j)
            i, j = i[differ], j[differ]
            sources = self.site_source[i] != self.site_source[j]
            i, j = i[sources], j[sources]
            hit = near(self.obs, self.rep[i], self.rep[j], self.time_s, self.distance_m)
            _union(self.parent, i[hit], j[hit])
            done += take
            keep = done < total
            a, b, done, total = a[keep], b[keep], done[keep], total[keep]

    def _split(self, cell_a: int, cell_b: int) -> None:
        """A large partial pair of cells: split the larger side in halves along its widest
        extent until each part is impossible, certain, or small enough to test pair by pair."""
        regular = np.array([self.regular[cell_a] and self.regular[cell_b]])
        whole = [self._sites(cell_a), self._sites(cell_b)]
        stack = [(whole[0], whole[1])]
        while stack:
            i, j = stack.pop()
            ri, rj = _find(self.parent, i), _find(self.parent, j)
            if rj.min() == rj.max():  # sites already in that one component need no test
                i = i[ri != rj[0]]
            elif ri.min() == ri.max():
                j = j[rj != ri[0]]
            if not len(i) or not len(j):
                continue
            if len(i) * len(j) <= SPLIT:
                self._product(i, j)
                continue
            box_i, box_j = self._box_of(i), self._box_of(j)
            possible, certain = _bounds(box_i, box_j, regular, self.distance_m, self.slack)
            if not possible[0]:
                continue
            if certain[0]:
                both = np.concatenate([i, j])
                sources = self.site_source[both]
                if sources.min() != sources.max():  # near each other, two sources: one
                    _union(self.parent, np.full(len(both), both[0]), both)
                continue
            side, box = (i, box_i) if len(i) >= len(j) else (j, box_j)
            halves = self._halves(side, box)
            if halves is None:  # no extent to split along: test every pair
                self._product(i, j)
                continue
            for half in halves:
                stack.append((half, j) if side is i else (i, half))

    @property
    def site_box(self) -> _Box:
        """Each site as a box of one point (made when first needed: only splits need it)."""
        if self._site_box is None:
            o, rep = self.obs, self.rep
            lat, lon, unc = o.lat[rep], o.lon[rep], o.uncertainty[rep]
            t_from, t_to = o.t_from[rep], o.t_to[rep]
            self._site_box = _Box(lat, lat, lon, lon, t_from, t_from, t_to, t_to, unc, unc)
        return self._site_box

    def _sites(self, cell: int) -> IntArray:
        return np.arange(self.start[cell], self.start[cell] + self.size[cell], dtype=np.int64)

    def _box_of(self, sites: IntArray) -> _Box:
        b = self.site_box
        return _Box(
            b.lat_lo[sites].min(keepdims=True), b.lat_hi[sites].max(keepdims=True),
            b.lon_lo[sites].min(keepdims=True), b.lon_hi[sites].max(keepdims=True),
            b.from_lo[sites].min(keepdims=True), b.from_hi[sites].max(keepdims=True),
            b.to_lo[sites].min(keepdims=True), b.to_hi[sites].max(keepdims=True),
            b.unc_lo[sites].min(keepdims=True), b.unc_hi[sites].max(keepdims=True),
        )  # fmt: skip

    def _halves(self, sites: IntArray, box: _Box) -> tuple[IntArray, IntArray] | None:
        """The sites in two halves at the median of the widest extent (in units of a link)."""
        reach = max(self.distance_m, 1.0)
        metres = EARTH_RADIUS_M * math.pi / 180
        cos = math.cos(math.radians(float(np.clip(box.lat_lo[0], -90, 90))))
        extents = (
            float(box.lat_hi[0] - box.lat_lo[0]) * metres / reach,
            float(box.lon_hi[0] - box.lon_lo[0]) * metres * abs(cos) / reach,
            float(box.from_hi[0] - box.from_lo[0]) / (self.slack + 1),
        )
        if not max(extents) > 0:
            return None
        widest = int(np.argmax(extents))
        b = self.site_box
        values = (b.lat_lo, b.lon_lo, b.from_lo)[widest][sites]
        order = np.argpartition(values, len(sites) // 2)
        return sites[order[: len(sites) // 2]], sites[order[len(sites) // 2 :]]

    def _product(self, i: IntArray, j: IntArray) -> None:
        """The exact test of every (site of i, site of j), CHUNK pairs at a time."""
        rows = max(CHUNK // len(j), 1)
        for k in range(0, len(i), rows):
            a = np.repeat(i[k : k + rows], len(j))
            b = np.tile(j, len(i[k : k + rows]))
            differ = (_find(self.parent, a) != _find(self.parent, b)) & (
                self.site_source[a] != self.site_source[b]
            )
            a, b = a[differ], b[differ]
            hit = near(self.obs, self.rep[a], self.rep[b], self.time_s, self.distance_m)
            _union(self.parent, a[hit], b[hit])


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
    other = obs.family == other_code
    anchors[other] = obs.ids[other]
    anchors[correlated] = obs.ids[correlated]  # until linked: an incident of its own
    # A location or uncertainty that is not a number is never within reach of anything.
    pool = np.flatnonzero(
        correlated & np.isfinite(obs.lat) & np.isfinite(obs.lon) & ~np.isnan(obs.uncertainty)
    ).astype(np.int64)
    if len(pool) < 2:
        return anchors
    labels = _Linker(obs, pool, time_s, distance_m).run()
    names, which = np.unique(labels, return_inverse=True)
    lowest = np.full(len(names), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(lowest, which, obs.ids[pool])
    anchors[pool] = lowest[which]
    return anchors


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
