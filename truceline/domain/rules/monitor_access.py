"""`monitor_access`: restrictions on the contingents' own movement, UAV jamming or fire at the
monitors' UAVs (in the listed zones, or anywhere) are findings."""

from __future__ import annotations

from typing import Literal

from truceline.domain.rules.base import ClauseParams, Id, References


class Params(ClauseParams):
    rule: Literal["monitor_access"] = "monitor_access"
    zones: list[Id] | None = None


def references(p: Params) -> References:
    return References(zones=[(f"zones[{i}]", z) for i, z in enumerate(p.zones or [])])
