"""The loaded mission: plain immutable objects used by the rest of the system."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from shapely.geometry.base import BaseGeometry

from truceline.domain.rules.base import ClauseParams


@dataclass(frozen=True)
class Party:
    id: str
    name: str  # in the mission's first language
    names: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Contingent:
    id: str
    name: str
    public_key: str | None
    names: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Unit:
    id: str
    kind: str
    contingent: str | None
    party: str | None
    name: str | None = None
    names: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def owner(self) -> str:
        return self.contingent or self.party or ""


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    source_geometry: dict[str, Any]
    buffer_m: float | None
    geometry: BaseGeometry  # the zone's area in lon/lat (buffered where asked)
    area_km2: float
    names: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class ClauseVersion:
    clause: str
    version: int
    effective: datetime | None  # None: from the mission's start
    params: ClauseParams

    @property
    def rule(self) -> str:
        return self.params.rule


@dataclass(frozen=True)
class Clause:
    id: str
    versions: tuple[ClauseVersion, ...]  # ascending by version and effective time
    # the latest version's title and text in every language of the mission
    titles: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    texts: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def rule(self) -> str:
        return self.versions[0].rule

    @property
    def title(self) -> str | None:
        """The title in the mission's first language."""
        return next(iter(self.titles.values()), None) or None

    def version_at(self, moment: datetime) -> ClauseVersion | None:
        """The latest version whose `effective <= moment`; None before the clause applies."""
        current = None
        for version in self.versions:
            if version.effective is None or version.effective <= moment:
                current = version
        return current


@dataclass(frozen=True)
class Post:
    """An observation post; its view circle during its local hours is coverage."""

    id: str
    contingent: str
    lon: float
    lat: float
    view_m: float
    hours: tuple[time, time] | None  # local; the end may be before the start (crossing midnight)
    names: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Place:
    """A named place of the gazetteer: where things are is said from these."""

    lon: float
    lat: float
    names: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Correlation:
    time_s: float = 300
    distance_m: float = 500


@dataclass(frozen=True)
class Mission:
    id: str
    name: str
    timezone: ZoneInfo
    report_cutoff: time
    languages: tuple[str, ...]
    start: datetime | None
    parties: dict[str, Party]
    contingents: dict[str, Contingent]
    units: dict[str, Unit]
    zones: dict[str, Zone]
    clauses: dict[str, Clause]
    correlation: Correlation
    response_hours: float
    max_gap_s: float
    document: dict[str, Any] = field(repr=False)  # the resolved document (geometry files inlined)
    sha256: str = ""
    names: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    posts: dict[str, Post] = field(default_factory=dict, compare=False, hash=False)
    places: tuple[Place, ...] = ()

    @property
    def actors(self) -> frozenset[str]:
        return frozenset(self.parties) | frozenset(self.contingents)

    def unit_owners(self) -> dict[str, str]:
        return {unit.id: unit.owner for unit in self.units.values()}
