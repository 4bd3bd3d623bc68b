"""`max_count`: a reported count of a resource above the limit is a finding."""

from __future__ import annotations

from typing import Annotated, Literal, cast

from pydantic import Field, StringConstraints

from truceline.domain.findings import Facts, Finding, Versions
from truceline.domain.rules.base import ClauseParams, Id, References

Word = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+$")]


class Params(ClauseParams):
    rule: Literal["max_count"] = "max_count"
    subject: Id
    resource: Word
    limit: Annotated[int, Field(ge=0, strict=True)]
    zone: Id | None = None  # counts reported inside this zone only (omitted: anywhere)


def references(p: Params) -> References:
    return References(subjects=[("subject", p.subject)], zones=[("zone", p.zone)] if p.zone else [])


def evaluate(clause: str, versions: Versions, facts: Facts) -> list[Finding]:
    """A reported count of the resource for the subject above the limit (inside the zone,
    when the clause names one)."""
    found = []
    for report in facts.counts:
        version = versions.at(report.t_from)
        if version is None:
            continue
        p = cast(Params, version.params)
        if report.actor != p.subject or report.subtype != p.resource or report.count <= p.limit:
            continue
        if p.zone is not None and not facts.point_inside(p.zone, report.lon, report.lat):
            continue
        found.append(
            Finding(
                clause=clause,
                version=version.version,
                rule="max_count",
                zone=p.zone,
                subject=p.subject,
                start=report.t_from,
                end=report.t_to,
                observation=report.id,
                about=f"observation:{report.uid}" if report.uid else None,
                evidence={"count": report.count, "limit": p.limit, "resource": p.resource},
            )
        )
    return found
