"""`excluded_from`: positions or presence of the subject inside the zone are findings."""

from __future__ import annotations

from typing import Literal, cast

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
from truceline.domain.tracks import View


class Params(ClauseParams):
    rule: Literal["excluded_from"] = "excluded_from"
    subject: Id
    zone: Id


def references(p: Params) -> References:
    return References(subjects=[("subject", p.subject)], zones=[("zone", p.zone)])


PRESENCE_FAMILIES = frozenset({"movement", "weapon", "construction"})


def evaluate(clause: str, versions: Versions, facts: Facts) -> list[Finding]:
    """Runs of the subject's fixes inside the zone, and incidents of its presence there."""

    def breach(p: Params, view: View) -> tuple[str, BoolArray]:
        return p.zone, view.inside(p.zone, facts.zones[p.zone].geometry)

    found = excursion_findings(clause, "excluded_from", versions, facts, _subject, breach)
    for index, incident, version in incidents_in_force(facts, versions, PRESENCE_FAMILIES):
        p = cast(Params, version.params)
        if p.subject in incident.actors and facts.incidents_inside(p.zone)[index]:
            found.append(
                incident_finding(clause, "excluded_from", version, incident, p.zone, p.subject)
            )
    return found


def _subject(p: Params) -> str:
    return p.subject
