"""`monitor_access`: restrictions on the contingents' own movement, UAV jamming or fire at the
monitors' UAVs (in the listed zones, or anywhere) are findings."""

from __future__ import annotations

from typing import Literal, cast

from truceline.domain.findings import (
    Facts,
    Finding,
    Versions,
    first_zone,
    incident_finding,
    incidents_in_force,
)
from truceline.domain.rules.base import ClauseParams, Id, References


class Params(ClauseParams):
    rule: Literal["monitor_access"] = "monitor_access"
    zones: list[Id] | None = None


def references(p: Params) -> References:
    return References(zones=[(f"zones[{i}]", z) for i, z in enumerate(p.zones or [])])


def evaluate(clause: str, versions: Versions, facts: Facts) -> list[Finding]:
    """Restrictions on the monitors' movement, jamming of or fire at their UAVs, in the
    listed zones or anywhere."""
    found = []
    for index, incident, version in incidents_in_force(facts, versions, ["restriction"]):
        p = cast(Params, version.params)
        inside, zone = first_zone(facts, p.zones, index)
        if inside:
            found.append(
                incident_finding(clause, "monitor_access", version, incident, zone, incident.actor)
            )
    return found
