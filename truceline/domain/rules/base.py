"""What every clause kind shares."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]+$", min_length=1, max_length=64)]


class ClauseParams(BaseModel):
    """Fields common to every clause. `rule` names the kind; subclasses fix it."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)

    id: Annotated[Id, Field(strict=True)]
    rule: str
    # a string, or a map of language -> string (the mission's languages are checked on load)
    title: str | dict[str, str] | None = None
    text: str | dict[str, str] | None = None
    effective: AwareDatetime | None = None


class References(BaseModel):
    """Ids a clause names, by what they must be."""

    zones: list[tuple[str, str]] = []  # (field path, zone id)
    parties: list[tuple[str, str]] = []
    subjects: list[tuple[str, str]] = []  # a party or a contingent
