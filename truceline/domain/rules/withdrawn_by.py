"""`withdrawn_by`: after the deadline, the party's presence, movement or positions inside the
zone are findings."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime

from truceline.domain.rules.base import ClauseParams, Id, References


class Params(ClauseParams):
    rule: Literal["withdrawn_by"] = "withdrawn_by"
    party: Id
    zone: Id
    deadline: AwareDatetime


def references(p: Params) -> References:
    return References(zones=[("zone", p.zone)], parties=[("party", p.party)])
