"""`free_passage`: `restriction` observations inside the zone are findings."""

from __future__ import annotations

from typing import Literal

from truceline.domain.rules.base import ClauseParams, Id, References


class Params(ClauseParams):
    rule: Literal["free_passage"] = "free_passage"
    zone: Id


def references(p: Params) -> References:
    return References(zones=[("zone", p.zone)])
