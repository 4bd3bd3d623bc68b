"""Coverage: the hours that the contingents' own units and declared observation posts watched
a zone in a reporting day (spec/mission.md). A unit covers the interval between two
consecutive fixes when both lie in the zone and are at most `max_gap_s` apart; a post covers
its local hours when its view circle meets the zone. Coverage is the union of these
intervals, clipped to the day, per contingent and jointly. Times are µs since the epoch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

Intervals = tuple[np.ndarray, np.ndarray]  # (starts, ends), µs


def empty() -> Intervals:
    return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)


def track_intervals(
    unit: np.ndarray, t_us: np.ndarray, inside: np.ndarray, max_gap_s: float
) -> Intervals:
    """The intervals between consecutive fixes of the same unit, both inside, at most
    `max_gap_s` apart; the fixes sorted by unit then time."""
    unit, t_us, inside = np.asarray(unit), np.asarray(t_us, dtype=np.int64), np.asarray(inside)
    if len(t_us) < 2:
        return empty()
    same = unit[1:] == unit[:-1]
    both = inside[1:] & inside[:-1]
    gap = t_us[1:] - t_us[:-1]
    keep = same & both & (gap >= 0) & (gap <= int(max_gap_s * 1_000_000))
    return t_us[:-1][keep], t_us[1:][keep]


def concat(parts: Iterable[Intervals]) -> Intervals:
    listed = list(parts)
    if not listed:
        return empty()
    return (
        np.concatenate([p[0] for p in listed]).astype(np.int64),
        np.concatenate([p[1] for p in listed]).astype(np.int64),
    )


def union_us(intervals: Intervals, start_us: int, end_us: int) -> int:
    """The length of the union of `intervals` clipped to [start_us, end_us)."""
    s = np.clip(intervals[0], start_us, end_us)
    e = np.clip(intervals[1], start_us, end_us)
    keep = e > s
    s, e = s[keep], e[keep]
    if len(s) == 0:
        return 0
    order = np.argsort(s, kind="stable")
    s, e = s[order], e[order]
    reach = np.maximum.accumulate(e)
    # a new run begins where a start lies beyond everything before it
    begins = np.empty(len(s), dtype=bool)
    begins[0] = True
    begins[1:] = s[1:] > reach[:-1]
    run = np.cumsum(begins) - 1
    run_start = s[begins]
    run_end = np.zeros(len(run_start), dtype=np.int64)
    np.maximum.at(run_end, run, reach)
    return int(np.sum(run_end - run_start))


@dataclass(frozen=True)
class Coverage:
    """Seconds watched: jointly (the union over every contingent) and per contingent."""

    joint_s: int
    by_contingent: dict[str, int]

    @property
    def covered(self) -> bool:
        return self.joint_s > 0


def coverage(by_contingent: dict[str, Intervals], start_us: int, end_us: int) -> Coverage:
    joint = union_us(concat(by_contingent.values()), start_us, end_us)
    return Coverage(
        joint // 1_000_000,
        {c: union_us(iv, start_us, end_us) // 1_000_000 for c, iv in by_contingent.items()},
    )
