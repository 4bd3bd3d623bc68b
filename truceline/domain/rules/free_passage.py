"""`free_passage`: `restriction` observations inside the zone are findings."""

from __future__ import annotations

from typing import Literal, cast

from truceline.domain.findings import Facts, Finding, Versions, incident_finding, incidents_in_force
from truceline.domain.rules.base import ClauseParams, Id, References


class Params(ClauseParams):
    rule: Literal["free_passage"] = "free_passage"
    zone: Id


def references(p: Params) -> References:
    return References(zones=[("zone", p.zone)])


def evaluate(clause: str, versions: Versions, facts: Facts) -> list[Finding]:
    """Restrictions (denied, delayed, jammed, fired upon) inside the zone."""
    found = []
    for index, incident, version in incidents_in_force(facts, versions, ["restriction"]):
        p = cast(Params, version.params)
        if facts.incidents_inside(p.zone)[index]:
            found.append(
                incident_finding(clause, "free_passage", version, incident, p.zone, incident.actor)
            )
    return found
