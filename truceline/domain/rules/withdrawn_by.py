"""`withdrawn_by`: after the deadline, the party's presence, movement or positions inside the
zone are findings."""

from __future__ import annotations

from typing import Literal, cast

from pydantic import AwareDatetime

from truceline.domain.findings import (
    BoolArray,
    Facts,
    Finding,
    Versions,
    excursion_findings,
    incident_finding,
    incidents_in_force,
)
from truceline.domain.rules.base import ClauseParams, Id, References
from truceline.domain.timeutil import to_us
from truceline.domain.tracks import View


class Params(ClauseParams):
    rule: Literal["withdrawn_by"] = "withdrawn_by"
    party: Id
    zone: Id
    deadline: AwareDatetime


def references(p: Params) -> References:
    return References(zones=[("zone", p.zone)], parties=[("party", p.party)])


PRESENCE_FAMILIES = frozenset({"movement", "weapon", "construction"})


def evaluate(clause: str, versions: Versions, facts: Facts) -> list[Finding]:
    """After the deadline: runs of the party's fixes inside the zone, and incidents of the
    party's presence, movement, weapons or works inside it."""

    def breach(p: Params, view: View) -> tuple[str, BoolArray]:
        late = view.t >= to_us(p.deadline)
        return p.zone, view.inside(p.zone, facts.zones[p.zone].geometry) & late

    found = excursion_findings(clause, "withdrawn_by", versions, facts, _party, breach)
    for index, incident, version in incidents_in_force(
        facts, versions, PRESENCE_FAMILIES, at_end=True
    ):
        p = cast(Params, version.params)
        late = incident.end >= to_us(p.deadline)
        if p.party in incident.actors and late and facts.incidents_inside(p.zone)[index]:
            found.append(
                incident_finding(clause, "withdrawn_by", version, incident, p.zone, p.party)
            )
    return found


def _party(p: Params) -> str:
    return p.party
