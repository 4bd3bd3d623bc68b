"""`confined_to`: positions of the subject's units outside the zone are findings."""

from __future__ import annotations

from typing import Literal

from truceline.domain.rules.base import ClauseParams, Id, References


class Params(ClauseParams):
    rule: Literal["confined_to"] = "confined_to"
    subject: Id
    zone: Id


def references(p: Params) -> References:
    return References(subjects=[("subject", p.subject)], zones=[("zone", p.zone)])
