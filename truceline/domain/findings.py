"""Findings: a clause (and its version) and an incident, an excursion or a reported count
that appears to breach it. Machine-produced, not yet a verdict."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from truceline.domain.incidents import Incident, ObservationFact
from truceline.domain.timeutil import to_us
from truceline.domain.tracks import Tracks, View, runs

BoolArray = NDArray[np.bool_]


class VersionLike(Protocol):
    @property
    def version(self) -> int: ...
    @property
    def effective(self) -> datetime | None: ...
    @property
    def params(self) -> Any: ...  # the rule module's Params


class ZoneLike(Protocol):
    @property
    def geometry(self) -> BaseGeometry: ...


@dataclass(frozen=True)
class Finding:
    clause: str
    version: int
    rule: str
    zone: str | None
    subject: str | None
    start: int  # microseconds
    end: int
    incident: int | None = None  # the incident's anchor
    unit: str | None = None  # for an excursion
    observation: int | None = None  # for a reported count
    evidence: Mapping[str, Any] = field(default_factory=dict, compare=False)
    about: str | None = None  # what it is about by global names (uids), where ids are local

    @property
    def key(self) -> str:
        """A stable name, the same on every node holding the same evidence: the same breach
        found again is the same finding."""
        if self.about is not None:
            what = self.about
        elif self.incident is not None:
            what = f"incident:{self.incident}"
        elif self.unit is not None:
            what = f"unit:{self.unit}:{self.start}"
        else:
            what = f"observation:{self.observation}"
        return f"{self.clause}/v{self.version}/{what}"


@dataclass
class Facts:
    """Everything the rules look at."""

    incidents: Sequence[Incident]
    counts: Sequence[ObservationFact]
    tracks: Tracks
    zones: Mapping[str, ZoneLike]
    max_gap_s: float
    _incident_inside: dict[str, BoolArray] = field(default_factory=dict, repr=False)
    _points: tuple[NDArray[np.float64], NDArray[np.float64]] | None = field(
        default=None, repr=False
    )

    def incidents_inside(self, zone_id: str) -> BoolArray:
        """Which incidents' locations lie in the zone (cached per zone)."""
        cached = self._incident_inside.get(zone_id)
        if cached is None:
            lon, lat = self._incident_points()
            geometry = self.zones[zone_id].geometry
            cached = np.asarray(shapely.intersects_xy(geometry, lon, lat), dtype=bool)
            self._incident_inside[zone_id] = cached
        return cached

    def _incident_points(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The incidents' locations as arrays (made once, for every zone)."""
        if self._points is None:
            self._points = (
                np.array([i.lon for i in self.incidents], dtype=np.float64),
                np.array([i.lat for i in self.incidents], dtype=np.float64),
            )
        return self._points

    def point_inside(self, zone_id: str, lon: float, lat: float) -> bool:
        return bool(shapely.intersects_xy(self.zones[zone_id].geometry, lon, lat))


class Versions:
    """A clause's versions and which one is in force when."""

    def __init__(self, versions: Sequence[VersionLike]) -> None:
        self.versions = sorted(versions, key=lambda v: v.version)
        first = np.iinfo(np.int64).min
        self.effective = np.array(
            [first if v.effective is None else to_us(v.effective) for v in self.versions],
            dtype=np.int64,
        )

    def index_at(self, t: NDArray[np.int64]) -> NDArray[np.int64]:
        """For each time, the index of the version in force (-1: none yet)."""
        result: NDArray[np.int64] = np.searchsorted(self.effective, t, side="right") - 1
        return result

    def at(self, t: int) -> VersionLike | None:
        index = int(np.searchsorted(self.effective, t, side="right")) - 1
        return self.versions[index] if index >= 0 else None


# A version's terms and the subject's fixes → (zone id, which of those fixes breach them)
Breach = Callable[[Any, View], tuple[str, BoolArray]]


def excursion_findings(
    clause: str,
    rule: str,
    versions: Versions,
    facts: Facts,
    subject_of: Callable[[Any], str],
    breach: Breach,
) -> list[Finding]:
    """One finding per run of consecutive breaching fixes of a unit. Each version is looked
    at on the fixes of its subject's units at the times it is in force, so a run ends where
    the version in force changes."""
    found = []
    for index, version in enumerate(versions.versions):
        subject = subject_of(version.params)
        view = facts.tracks.view(subject)
        if not len(view):
            continue
        zone, mask = breach(version.params, view)
        mask = mask & (versions.index_at(view.t) == index)
        for run in runs(view, mask, facts.max_gap_s):
            found.append(
                Finding(
                    clause=clause,
                    version=version.version,
                    rule=rule,
                    zone=zone,
                    subject=subject,
                    start=int(view.t[run.first]),
                    end=int(view.t[run.last]),
                    unit=facts.tracks.units[int(view.unit[run.first])],
                    evidence={
                        "fixes": run.fixes,
                        "positions": [int(view.ids[run.first]), int(view.ids[run.last])],
                        "first": [float(view.lon[run.first]), float(view.lat[run.first])],
                        "last": [float(view.lon[run.last]), float(view.lat[run.last])],
                    },
                )
            )
    return sorted(found, key=lambda f: (f.start, f.unit or ""))


def incident_finding(
    clause: str,
    rule: str,
    version: VersionLike,
    incident: Incident,
    zone: str | None,
    subject: str | None,
) -> Finding:
    return Finding(
        clause=clause,
        version=version.version,
        rule=rule,
        zone=zone,
        subject=subject,
        start=incident.start,
        end=incident.end,
        incident=incident.anchor,
        about=f"incident:{incident.name}" if incident.name else None,
        evidence={
            "kind": incident.kind,
            "count": incident.count,
            "observations": len(incident.observations),
            "sources": len(incident.sources),
        },
    )


def incidents_in_force(
    facts: Facts, versions: Versions, families: Iterable[str], *, at_end: bool = False
) -> Iterator[tuple[int, Incident, VersionLike]]:
    """(index, incident, version in force) for the incidents of these families; the version
    is the one in force at the incident's start (or end)."""
    wanted = frozenset(families)
    for index, incident in enumerate(facts.incidents):
        if incident.family in wanted:
            version = versions.at(incident.end if at_end else incident.start)
            if version is not None:
                yield index, incident, version


def first_zone(facts: Facts, zones: Iterable[str] | None, index: int) -> tuple[bool, str | None]:
    """Whether incident `index` lies in one of `zones` (None: anywhere), and the first such."""
    if zones is None:
        return True, None
    for zone in zones:
        if facts.incidents_inside(zone)[index]:
            return True, zone
    return False, None
