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
    name: str


@dataclass(frozen=True)
class Contingent:
    id: str
    name: str
    public_key: str | None


@dataclass(frozen=True)
class Unit:
    id: str
    kind: str
    contingent: str | None
    party: str | None
    name: str | None = None

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

    @property
    def rule(self) -> str:
        return self.versions[0].rule

    @property
    def title(self) -> str | None:
        return self.versions[-1].params.title

    def version_at(self, moment: datetime) -> ClauseVersion | None:
        """The latest version whose `effective <= moment`; None before the clause applies."""
        current = None
        for version in self.versions:
            if version.effective is None or version.effective <= moment:
                current = version
        return current


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

    @property
    def actors(self) -> frozenset[str]:
        return frozenset(self.parties) | frozenset(self.contingents)

    def unit_owners(self) -> dict[str, str]:
        return {unit.id: unit.owner for unit in self.units.values()}
