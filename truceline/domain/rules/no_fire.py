"""`no_fire`: fire by the listed parties (or anyone), in the listed zones (or anywhere).

Fire by an unknown actor always counts: attribution is the joint case's job.
"""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from truceline.domain.rules.base import ClauseParams, Id, References
from truceline.domain.vocabulary import FIRE_KINDS

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
            raise ValueError(f"not a fire kind: {', '.join(unknown)} (allowed: {allowed})")
        return kinds


def references(p: Params) -> References:
    return References(
        zones=[(f"zones[{i}]", z) for i, z in enumerate(p.zones or [])],
        parties=[(f"parties[{i}]", q) for i, q in enumerate(p.parties or [])],
    )
