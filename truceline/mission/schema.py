"""Pydantic models of the mission file's sections (format `truceline/mission@1`).

Clauses are validated per rule kind by `truceline.domain.rules`; here is everything else.
"""

from __future__ import annotations

import base64
import re
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    field_validator,
    model_validator,
)

from truceline.domain.rules.base import Id
from truceline.i18n.message import M

FORMAT = "truceline/mission@1"
Metres = Annotated[StrictInt | StrictFloat, Field(gt=0, le=1_000_000)]
TOP_LEVEL_KEYS = (
    "format",
    "mission",
    "parties",
    "contingents",
    "units",
    "zones",
    "clauses",
    "correlation",
    "complaints",
    "tracks",
    "amendments",
    "posts",
    "places",
)
Lang = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$")]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
# a name: one string, or a map of language -> string (checked against the mission's languages)
Name = Text | dict[Lang, Text]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MissionInfo(Section):
    id: Annotated[Id, Field(strict=True)]
    name: Name
    timezone: str = "UTC"
    report_cutoff: str = "00:00"
    languages: list[Lang] = ["en"]
    start: AwareDatetime | None = None

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(M("unknown IANA time zone {zone!r}", zone=value)) from None
        return value

    @field_validator("report_cutoff")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        match = re.fullmatch(r"([01][0-9]|2[0-3]):([0-5][0-9])", value)
        if not match:
            raise ValueError(
                M("{value!r} is not a local time HH:MM (quote it in YAML)", value=value)
            )
        return value

    @field_validator("languages")
    @classmethod
    def _some(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(M("at least one language"))
        if len(set(value)) != len(value):
            raise ValueError(M("a language is listed twice"))
        return value


class PartySpec(Section):
    id: Annotated[Id, Field(strict=True)]
    name: Name


PUBLIC_KEY = re.compile(r"^ed25519:([A-Za-z0-9+/]{43}=)$")


class ContingentSpec(Section):
    id: Annotated[Id, Field(strict=True)]
    name: Name
    public_key: str | None = None

    @field_validator("public_key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = PUBLIC_KEY.fullmatch(value)
        if not match or len(base64.b64decode(match.group(1))) != 32:
            raise ValueError(M("expected 'ed25519:' followed by the base64 of 32 bytes"))
        return value


class UnitSpec(Section):
    id: Annotated[Id, Field(strict=True)]
    kind: str = "other"
    contingent: Id | None = None
    party: Id | None = None
    name: Name | None = None

    @model_validator(mode="after")
    def _one_owner(self) -> UnitSpec:
        if (self.contingent is None) == (self.party is None):
            raise ValueError(M("a unit belongs to exactly one of `contingent` or `party`"))
        return self


class ZoneSpec(Section):
    id: Annotated[Id, Field(strict=True)]
    name: Name | None = None
    geometry: dict[str, Any] | None = None
    geometry_file: str | None = None
    buffer_m: Metres | None = None
    width_m: Metres | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ZoneSpec:
        if (self.geometry is None) == (self.geometry_file is None):
            raise ValueError(M("give exactly one of `geometry` or `geometry_file`"))
        if self.buffer_m is not None and self.width_m is not None:
            raise ValueError(M("give `buffer_m` or `width_m`, not both"))
        return self

    @property
    def buffer(self) -> float | None:
        if self.width_m is not None:
            return float(self.width_m) / 2
        return None if self.buffer_m is None else float(self.buffer_m)


class CorrelationSpec(Section):
    time_s: Annotated[StrictInt | StrictFloat, Field(ge=0, le=86_400)] = 300
    distance_m: Annotated[StrictInt | StrictFloat, Field(ge=0, le=1_000_000)] = 500


class ComplaintsSpec(Section):
    response_hours: Annotated[StrictInt | StrictFloat, Field(gt=0)] = 72


class TracksSpec(Section):
    max_gap_s: Annotated[StrictInt | StrictFloat, Field(gt=0)] = 600


class AmendmentSpec(Section):
    clause: Annotated[Id, Field(strict=True)]
    version: Annotated[int, Field(ge=2, strict=True)]
    effective: AwareDatetime
    set: dict[str, Any]


Longitude = Annotated[StrictInt | StrictFloat, Field(ge=-180, le=180)]
Latitude = Annotated[StrictInt | StrictFloat, Field(ge=-90, le=90)]
HOURS = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])")


class PostSpec(Section):
    """An observation post: what it watches (a circle of `view_m` around `point`, during its
    local `hours`) counts as its contingent's coverage."""

    id: Annotated[Id, Field(strict=True)]
    contingent: Id
    point: tuple[Longitude, Latitude]
    view_m: Metres = 5000
    hours: str | None = None  # "HH:MM-HH:MM" local (may cross midnight); default all day
    name: Name | None = None

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None and not HOURS.fullmatch(value):
            raise ValueError(
                M('{value!r} is not local hours HH:MM-HH:MM (e.g. "06:00-20:00")', value=value)
            )
        if value is not None and value[:5] == value[6:]:
            raise ValueError(M("the hours begin and end at the same time: omit them for all day"))
        return value


class PlaceSpec(Section):
    """A named place of the gazetteer (a GeoJSON Point feature's name and position)."""

    name: Name
    lon: Longitude
    lat: Latitude
