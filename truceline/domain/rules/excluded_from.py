"""`excluded_from`: positions or presence of the subject inside the zone are findings."""

from __future__ import annotations

from typing import Literal

from truceline.domain.rules.base import ClauseParams, Id, References


class Params(ClauseParams):
    rule: Literal["excluded_from"] = "excluded_from"
    subject: Id
    zone: Id


def references(p: Params) -> References:
    return References(subjects=[("subject", p.subject)], zones=[("zone", p.zone)])
