"""`max_count`: a reported count of a resource above the limit is a finding."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

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
