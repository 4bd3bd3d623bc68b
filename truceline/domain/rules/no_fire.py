"""`no_fire`: fire by the listed parties (or anyone), in the listed zones (or anywhere).

Fire by an unknown actor always counts: attribution is the joint case's job.
"""

from __future__ import annotations

from typing import Literal, cast

from pydantic import field_validator

from truceline.domain.findings import (
    Facts,
    Finding,
    Versions,
    first_zone,
    incident_finding,
    incidents_in_force,
)
from truceline.domain.rules.base import ClauseParams, Id, References
from truceline.domain.vocabulary import FIRE_KINDS
from truceline.i18n.message import M

ALLOWED_KINDS = FIRE_KINDS | {"flare"}


class Params(ClauseParams):
    rule: Literal["no_fire"] = "no_fire"
    parties: list[Id] | None = None
    zones: list[Id] | None = None
    kinds: list[str] = sorted(FIRE_KINDS)

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = sorted(set(kinds) - ALLOWED_KINDS)
        if unknown:
            allowed = ", ".join(sorted(ALLOWED_KINDS))
            raise ValueError(
                M(
                    "not a fire kind: {kinds} (allowed: {allowed})",
                    kinds=", ".join(unknown),
                    allowed=allowed,
                )
            )
        return kinds


def references(p: Params) -> References:
    return References(
        zones=[(f"zones[{i}]", z) for i, z in enumerate(p.zones or [])],
        parties=[(f"parties[{i}]", q) for i, q in enumerate(p.parties or [])],
    )


FIRE_FAMILIES = frozenset({"fire", "flare"})


def evaluate(clause: str, versions: Versions, facts: Facts) -> list[Finding]:
    """An incident of a listed kind, in a listed zone, by a listed party or by an actor no
    report names. An incident whose reports name only other parties is not this clause's."""
    found = []
    for index, incident, version in incidents_in_force(facts, versions, FIRE_FAMILIES):
        p = cast(Params, version.params)
        if not set(incident.kinds) & set(p.kinds):
            continue
        named = [a for a in incident.actors if p.parties is None or a in p.parties]
        if incident.actors and not named:
            continue
        inside, zone = first_zone(facts, p.zones, index)
        if inside:
            subject = ",".join(named) if named else "unknown"
            found.append(incident_finding(clause, "no_fire", version, incident, zone, subject))
    return found
