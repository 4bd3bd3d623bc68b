"""Correlation: the same event seen by several sources is one incident, counted once."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.domain.correlation import correlate, reference_anchors
from truceline.domain.incidents import ObservationFact, build_incidents, to_arrays

T0 = 1_605_852_000_000_000  # 2020-11-20T06:00:00Z in microseconds
MINUTE = 60_000_000


def fact(n: int, *, t: int = 0, lat: float = 40.0, lon: float = 46.9, source: str = "OP-1",
         kind: str = "explosion", count: int = 1, unc: float | None = None, dur: int = 0,
         actor: str = "unknown") -> ObservationFact:  # fmt: skip
    return ObservationFact(
        id=n, t_from=T0 + t, t_to=T0 + t + dur, lat=lat, lon=lon, uncertainty=unc, kind=kind,
        subtype=None, count=count, actor=actor, source_kind="observation_post", source=source,
        reporter="blue",
    )  # fmt: skip


def test_three_sources_seeing_the_same_explosions_are_one_incident_counted_once() -> None:
    facts = [
        fact(1, source="OP-1", count=12),
        fact(2, source="OP-2", count=10, t=MINUTE, lat=40.001),
        fact(3, source="UAV-7", count=12, t=2 * MINUTE, lon=46.902),
    ]
    [incident] = build_incidents(facts, 300, 500)
    assert incident.observations == (1, 2, 3)
    assert incident.count == 12  # not 34
    assert sorted(s.count for s in incident.sources) == [10, 12, 12]


def test_two_reports_of_one_source_are_never_linked_directly() -> None:
    incidents = build_incidents([fact(1), fact(2, t=MINUTE)], 300, 500)
    assert [i.observations for i in incidents] == [(1,), (2,)]


def test_a_source_reporting_twice_in_one_incident_counts_the_sum_of_its_reports() -> None:
    facts = [fact(1, count=5), fact(2, count=4, t=MINUTE), fact(3, source="OP-2", count=7)]
    [incident] = build_incidents(facts, 300, 500)
    assert incident.count == 9  # OP-1 saw 5 + 4; OP-2 saw 7


def test_time_distance_and_family_tolerances_separate_incidents() -> None:
    facts = [
        fact(1),
        fact(2, source="OP-2", t=7 * MINUTE),  # 420 s later (360 s after no. 5)
        fact(3, source="OP-3", lat=40.006),  # about 670 m north
        fact(4, source="OP-4", kind="flare"),  # another family
        fact(5, source="OP-5", kind="muzzle_flash", t=MINUTE),  # the same family: fire
    ]
    anchors = {i.anchor: i.observations for i in build_incidents(facts, 300, 500)}
    assert anchors == {1: (1, 5), 2: (2,), 3: (3,), 4: (4,)}


def test_wide_uncertainty_and_windows_still_link() -> None:
    facts = [
        fact(1),
        fact(2, source="complaint", lat=40.015, unc=2000),  # 1.7 km away, within 2 km
        fact(3, source="OP-9", t=-40 * MINUTE, dur=45 * MINUTE, lon=46.95),  # a window, 4 km
        fact(4, source="OP-8", t=-40 * MINUTE, dur=45 * MINUTE, lon=46.951),
    ]
    anchors = {i.anchor: i.observations for i in build_incidents(facts, 300, 500)}
    assert anchors == {1: (1, 2), 3: (3, 4)}


def test_counts_form_no_incident() -> None:
    assert build_incidents([fact(1, kind="count", count=60)], 300, 500) == []


@st.composite
def observation_sets(draw: st.DrawFn) -> list[ObservationFact]:
    n = draw(st.integers(1, 40))
    seed = draw(st.integers(0, 10_000))
    rng = random.Random(seed)
    return [
        fact(
            rng.randrange(1, 10_000) * 100 + k,
            t=rng.randrange(0, 40 * MINUTE),
            dur=rng.choice([0, 0, 0, rng.randrange(0, 20 * MINUTE)]),
            lat=40.0 + rng.random() * 0.02,
            lon=46.9 + rng.random() * 0.02,
            unc=rng.choice([None, 50.0, 300.0, 1500.0]),
            source=rng.choice(["OP-1", "OP-2", "OP-3", "UAV-1"]),
            kind=rng.choice(["explosion", "shot", "flare", "presence", "count", "other"]),
            count=rng.randrange(1, 20),
        )
        for k in range(n)
    ]


@settings(max_examples=150, deadline=None)
@given(observation_sets(), st.sampled_from([60, 300, 900]), st.sampled_from([200, 500, 2000]))
def test_the_grid_finds_exactly_the_incidents_of_testing_every_pair(
    facts: list[ObservationFact], time_s: int, distance_m: int
) -> None:
    arrays = to_arrays(facts)
    assert np.array_equal(
        correlate(arrays, time_s, distance_m), reference_anchors(arrays, time_s, distance_m)
    )


@settings(max_examples=100, deadline=None)
@given(observation_sets(), st.randoms(use_true_random=False))
def test_every_observation_is_in_exactly_one_incident_whatever_the_order(
    facts: list[ObservationFact], shuffler: random.Random
) -> None:
    incidents = build_incidents(facts, 300, 500)
    members = [n for i in incidents for n in i.observations]
    expected = sorted(f.id for f in facts if f.kind != "count")
    assert sorted(members) == expected  # each once, counts in none
    shuffled = list(facts)
    shuffler.shuffle(shuffled)
    assert build_incidents(shuffled, 300, 500) == incidents


@settings(max_examples=100, deadline=None)
@given(observation_sets())
def test_an_incident_count_is_the_largest_source_total_never_the_sum_over_sources(
    facts: list[ObservationFact],
) -> None:
    for incident in build_incidents(facts, 300, 500):
        totals = [s.count for s in incident.sources]
        assert incident.count == max(totals)
        if len(totals) > 1:
            assert incident.count < sum(totals)
