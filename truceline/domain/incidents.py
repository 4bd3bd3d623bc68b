"""Incidents: the counting unit. One incident per connected group of linked observations.

An incident's count is the largest, over its sources, of the sum of that source's counts in
it: never the sum over sources (three posts that each saw the same 12 explosions report 12).
Every source's own count is kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from truceline.domain.correlation import FAMILY_CODE, Observations, correlate
from truceline.domain.vocabulary import KIND_FAMILY, UNKNOWN_ACTOR


@dataclass(frozen=True)
class ObservationFact:
    """What correlation and the rules need of a stored observation."""

    id: int
    t_from: int  # microseconds
    t_to: int
    lat: float
    lon: float
    uncertainty: float | None
    kind: str
    subtype: str | None
    count: int
    actor: str
    source_kind: str
    source: str
    reporter: str
    uid: str = ""  # its identity, the same on every node

    @property
    def source_key(self) -> tuple[str, str, str]:
        """A source is named by the contingent that runs it, its kind and its id."""
        return (self.reporter, self.source_kind, self.source)


@dataclass(frozen=True)
class SourceCount:
    reporter: str
    source_kind: str
    source: str
    count: int  # the sum of this source's counts in the incident
    observations: tuple[int, ...]


@dataclass(frozen=True)
class Incident:
    anchor: int  # the smallest observation id in it: its stable name
    family: str
    kind: str  # the most reported kind
    kinds: tuple[str, ...]
    subtypes: tuple[str, ...]
    start: int  # microseconds
    end: int
    lat: float
    lon: float
    count: int
    actors: tuple[str, ...]  # parties or contingents named by its observations (not `unknown`)
    observations: tuple[int, ...]
    sources: tuple[SourceCount, ...]
    name: str = ""  # the smallest identity (uid) among its observations: the same on every node

    @property
    def actor(self) -> str:
        """The one actor its reports name, `unknown` when none does, or a list when several."""
        if not self.actors:
            return UNKNOWN_ACTOR
        return self.actors[0] if len(self.actors) == 1 else ",".join(self.actors)


def to_arrays(facts: Sequence[ObservationFact]) -> Observations:
    sources: dict[tuple[str, str, str], int] = {}
    return Observations(
        ids=np.array([f.id for f in facts], dtype=np.int64),
        t_from=np.array([f.t_from for f in facts], dtype=np.int64),
        t_to=np.array([f.t_to for f in facts], dtype=np.int64),
        lat=np.array([f.lat for f in facts], dtype=np.float64),
        lon=np.array([f.lon for f in facts], dtype=np.float64),
        uncertainty=np.array([f.uncertainty or 0.0 for f in facts], dtype=np.float64),
        family=np.array([FAMILY_CODE[KIND_FAMILY[f.kind]] for f in facts], dtype=np.int64),
        source=np.array(
            [sources.setdefault(f.source_key, len(sources)) for f in facts], dtype=np.int64
        ),
        count=np.array([f.count for f in facts], dtype=np.int64),
    )


def incident_of(members: Sequence[ObservationFact]) -> Incident:
    """An incident from its observations (any order gives the same incident)."""
    members = sorted(members, key=lambda f: f.id)
    by_source: dict[tuple[str, str, str], list[ObservationFact]] = {}
    for fact in members:
        by_source.setdefault(fact.source_key, []).append(fact)
    sources = tuple(
        SourceCount(key[0], key[1], key[2], sum(f.count for f in group), tuple(f.id for f in group))
        for key, group in sorted(by_source.items())
    )
    kinds = Counter(f.kind for f in members)
    kind = min(kinds, key=lambda k: (-kinds[k], k))
    # Location: weighted by precision (an unknown or tiny uncertainty counts as 50 m).
    weights = [1.0 / max(f.uncertainty or 50.0, 50.0) ** 2 for f in members]
    total = sum(weights)
    return Incident(
        anchor=members[0].id,
        family=KIND_FAMILY[kind],
        kind=kind,
        kinds=tuple(sorted(kinds)),
        subtypes=tuple(sorted({f.subtype for f in members if f.subtype})),
        start=min(f.t_from for f in members),
        end=max(f.t_to for f in members),
        lat=sum(w * f.lat for w, f in zip(weights, members, strict=True)) / total,
        lon=sum(w * f.lon for w, f in zip(weights, members, strict=True)) / total,
        count=max(s.count for s in sources),
        actors=tuple(sorted({f.actor for f in members} - {UNKNOWN_ACTOR})),
        observations=tuple(f.id for f in members),
        sources=sources,
        name=min(f.uid for f in members),
    )


def build_incidents(
    facts: Sequence[ObservationFact], time_s: float, distance_m: float
) -> list[Incident]:
    """Correlate the observations and assemble their incidents (counts form none)."""
    if not facts:
        return []
    anchors = correlate(to_arrays(facts), time_s, distance_m)
    groups: dict[int, list[ObservationFact]] = {}
    for fact, anchor in zip(facts, anchors.tolist(), strict=True):
        if anchor >= 0:
            groups.setdefault(anchor, []).append(fact)
    return sorted((incident_of(group) for group in groups.values()), key=lambda i: i.anchor)
