"""`confined_to`: positions of the subject's units outside the zone are findings."""

from __future__ import annotations

from typing import Literal

from truceline.domain.findings import BoolArray, Facts, Finding, Versions, excursion_findings
from truceline.domain.rules.base import ClauseParams, Id, References
from truceline.domain.tracks import View


class Params(ClauseParams):
    rule: Literal["confined_to"] = "confined_to"
    subject: Id
    zone: Id


def references(p: Params) -> References:
    return References(subjects=[("subject", p.subject)], zones=[("zone", p.zone)])


def evaluate(clause: str, versions: Versions, facts: Facts) -> list[Finding]:
    """Runs of the subject's fixes outside the zone."""

    def breach(p: Params, view: View) -> tuple[str, BoolArray]:
        return p.zone, ~view.inside(p.zone, facts.zones[p.zone].geometry)

    return excursion_findings(clause, "confined_to", versions, facts, _subject, breach)


def _subject(p: Params) -> str:
    return p.subject
