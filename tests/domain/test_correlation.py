"""Correlation: the same event seen by several sources is one incident, counted once."""

from __future__ import annotations

import random
import tracemalloc
from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.domain import correlation
from truceline.domain.correlation import (
    FAMILY_CODE,
    Observations,
    correlate,
    haversine_m,
    reference_anchors,
)
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


# -- Dense observations: the same incidents as the definition, in bounded memory -------------


def reference_partition(obs: Observations, time_s: float, distance_m: float) -> set[frozenset[int]]:
    """The definition, pair by pair: linked = different sources, the same family, times within
    time_s, locations within max(distance_m, ua + ub); an incident = a connected group. Counts
    are in none, each `other` is its own."""
    n = len(obs)
    i, j = np.triu_indices(n, k=1)
    gap = np.maximum(obs.t_from[i], obs.t_from[j]) - np.minimum(obs.t_to[i], obs.t_to[j])
    reach = np.maximum(distance_m, obs.uncertainty[i] + obs.uncertainty[j])
    distance = haversine_m(obs.lat[i], obs.lon[i], obs.lat[j], obs.lon[j])
    events = ~np.isin(obs.family, [FAMILY_CODE["count"], FAMILY_CODE["other"]])
    link = (
        (obs.source[i] != obs.source[j])
        & (obs.family[i] == obs.family[j])
        & (gap <= time_s * 1_000_000)
        & (distance <= reach)
        & events[i]
        & events[j]
    )
    parent = list(range(n))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for a, b in zip(i[link].tolist(), j[link].tolist(), strict=True):
        parent[root(a)] = root(b)
    groups: dict[int, set[int]] = {}
    for k in range(n):
        if obs.family[k] != FAMILY_CODE["count"]:
            groups.setdefault(root(k), set()).add(int(obs.ids[k]))
    return {frozenset(g) for g in groups.values()}


def partition(anchors: np.ndarray, ids: np.ndarray) -> set[frozenset[int]]:  # type: ignore[type-arg]
    groups: dict[int, set[int]] = {}
    for anchor, n in zip(anchors.tolist(), ids.tolist(), strict=True):
        if anchor >= 0:
            groups.setdefault(anchor, set()).add(n)
    assert all(anchor == min(g) for anchor, g in groups.items())  # named by the smallest id
    return {frozenset(g) for g in groups.values()}


def columns(
    lat: np.ndarray,  # type: ignore[type-arg]
    lon: np.ndarray,  # type: ignore[type-arg]
    t: np.ndarray,  # type: ignore[type-arg]
    source: np.ndarray,  # type: ignore[type-arg]
    *,
    family: np.ndarray | None = None,  # type: ignore[type-arg]
    unc: np.ndarray | None = None,  # type: ignore[type-arg]
    dur: np.ndarray | None = None,  # type: ignore[type-arg]
    ids: np.ndarray | None = None,  # type: ignore[type-arg]
) -> Observations:
    n = len(lat)
    return Observations(
        ids=np.arange(1, n + 1, dtype=np.int64) if ids is None else ids.astype(np.int64),
        t_from=(T0 + t).astype(np.int64),
        t_to=(T0 + t + (0 if dur is None else dur)).astype(np.int64),
        lat=np.asarray(lat, dtype=np.float64),
        lon=np.asarray(lon, dtype=np.float64),
        uncertainty=np.zeros(n) if unc is None else np.asarray(unc, dtype=np.float64),
        family=np.full(n, FAMILY_CODE["fire"]) if family is None else family.astype(np.int64),
        source=np.asarray(source, dtype=np.int64),
        count=np.ones(n, dtype=np.int64),
    )


def test_twenty_thousand_reports_of_one_place_and_time_are_one_incident_in_bounded_memory() -> None:
    n = 20_000
    rng = np.random.default_rng(7)
    ids = rng.permutation(np.arange(1_000, 1_000 + n))
    obs = columns(np.full(n, 40.0), np.full(n, 46.9), np.zeros(n), np.arange(n) % 200, ids=ids)
    tracemalloc.start()
    try:
        anchors = correlate(obs, 300, 500)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 30, f"peak {peak / 2**20:.0f} MiB"
    assert (anchors == 1_000).all()  # every report linked: one incident named by the smallest id


def test_a_dense_crowd_gives_the_partition_of_testing_every_pair() -> None:
    """Two thousand reports of 20 sources on three spots (two within reach of each other),
    a source's repeats of one spot, a lone source's spot, windows and uncertainties."""
    rng = np.random.default_rng(3)
    n = 2_000
    spots = np.array([[40.0, 46.9], [40.003, 46.9], [40.02, 46.9], [40.0, 46.95]])
    spot = rng.choice(4, size=n, p=[0.4, 0.3, 0.2, 0.1])
    source = np.where(spot == 3, 99, rng.integers(0, 20, size=n))  # spot 3: one source only
    times = np.array([0, 4 * MINUTE, 30 * MINUTE])
    obs = columns(
        spots[spot, 0],
        spots[spot, 1],
        times[rng.integers(0, 3, size=n)],
        source,
        family=np.where(rng.random(n) < 0.8, FAMILY_CODE["fire"], FAMILY_CODE["flare"]),
        unc=rng.choice([0.0, 0.0, 0.0, 1500.0], size=n),
        dur=rng.choice([0, 0, 0, 20 * MINUTE], size=n),
        ids=rng.permutation(n) + 1,
    )
    expected = reference_partition(obs, 300, 500)
    assert partition(correlate(obs, 300, 500), obs.ids) == expected
    assert len(expected) > 3  # not one trivial incident


@st.composite
def dense_clusters(draw: st.DrawFn) -> Observations:
    """A few spots and times, several sources, each source repeating itself."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(1, 150))
    n_spots, n_times = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    spread = draw(st.sampled_from([0.0, 0.002, 0.006]))  # degrees: spots within reach or not
    spots = np.column_stack(
        [40.0 + rng.random(n_spots) * spread, 46.9 + rng.random(n_spots) * spread]
    )
    times = rng.integers(0, draw(st.sampled_from([1, 10 * MINUTE, 40 * MINUTE])), size=n_times)
    jitter = draw(st.sampled_from([0.0, 0.0005]))  # some reports a little off their spot
    spot = rng.integers(0, n_spots, size=n)
    off = (rng.random(n) < 0.3) * jitter
    return columns(
        spots[spot, 0] + off * rng.standard_normal(n),
        spots[spot, 1] + off * rng.standard_normal(n),
        times[rng.integers(0, n_times, size=n)],
        rng.integers(0, draw(st.integers(1, 6)), size=n),
        family=np.array([FAMILY_CODE[f] for f in ("fire", "flare", "count", "other")])[
            rng.choice(4, size=n, p=[0.7, 0.2, 0.05, 0.05])
        ],
        unc=rng.choice([0.0, 0.0, 300.0, 2000.0], size=n),
        dur=rng.choice([0, 0, 0, 0, 20 * MINUTE], size=n),
        ids=rng.permutation(10 * n)[:n] + 1,
    )


@settings(max_examples=60, deadline=None)
@given(dense_clusters(), st.sampled_from([0, 60, 300]), st.sampled_from([0, 200, 500]))
def test_dense_clusters_give_the_partition_of_testing_every_pair(
    obs: Observations, time_s: int, distance_m: int
) -> None:
    assert partition(correlate(obs, time_s, distance_m), obs.ids) == reference_partition(
        obs, time_s, distance_m
    )


def test_reports_just_within_and_just_beyond_reach_are_linked_as_the_definition_says() -> None:
    """Pairs of reports of two sources at 0.999 and 1.001 times the distance, mostly along a
    diagonal (where a cell is widest), and 1 µs within and beyond the time: no cell joins what
    is not linked."""
    rng = np.random.default_rng(11)
    k = 1_000
    lat0, lon0 = 40.0 + rng.random(k) * 0.1, 46.0 + rng.random(k)
    bearing = np.radians(rng.choice([45, 135, 225, 315], size=k) + rng.normal(0, 1, size=k))
    bearing = np.where(rng.random(k) < 0.2, rng.random(k) * 2 * np.pi, bearing)
    metres = 500 * np.where(rng.random(k) < 0.5, 0.999, 1.001)
    arc = metres / 6_371_008.8
    p0 = np.radians(lat0)
    p1 = np.arcsin(np.sin(p0) * np.cos(arc) + np.cos(p0) * np.sin(arc) * np.cos(bearing))
    l1 = np.radians(lon0) + np.arctan2(
        np.sin(bearing) * np.sin(arc) * np.cos(p0), np.cos(arc) - np.sin(p0) * np.sin(p1)
    )
    dt = rng.choice([0, 0, 0, 0, 300 * 1_000_000, 300 * 1_000_000 + 1], size=k)
    t0 = rng.integers(0, 10**10, size=k)
    obs = columns(
        np.concatenate([lat0, np.degrees(p1)]),
        np.concatenate([lon0, np.degrees(l1)]),
        np.concatenate([t0, t0 + dt]),
        np.concatenate([2 * np.arange(k), 2 * np.arange(k) + 1]),
    )
    expected = reference_partition(obs, 300, 500)
    assert partition(correlate(obs, 300, 500), obs.ids) == expected
    pairs = sum(len(g) == 2 for g in expected)
    assert 0.3 * k < pairs < 0.6 * k  # about half linked (within reach and time)


def two_camps(seed: int) -> Observations:
    """Two crowds side by side, each mostly of its own source, from apart to overlapping:
    which reports of one reach the other decides the incidents, report by report."""
    rng = np.random.default_rng(seed)
    na, nb = rng.integers(1, 150, size=2)
    width, gap = rng.uniform(50, 600), rng.uniform(0, 700)  # metres
    x = np.concatenate([rng.random(na) * width, gap + rng.random(nb) * width])
    y = rng.random(na + nb) * rng.uniform(10, 600)
    own = np.repeat(np.array([0, 1]), [na, nb])
    source = np.where(rng.random(na + nb) < rng.choice([0.0, 0.1]), 2, own)
    return columns(
        40.0 + y / 111_195,
        46.9 + x / (111_195 * np.cos(np.radians(40.0))),
        (rng.random(na + nb) * rng.choice([1, 200, 400]) * 1_000_000).astype(int),
        source,
        ids=rng.permutation(na + nb) + 1,
    )


TINY = (mock.patch.object(correlation, "CHUNK", 37), mock.patch.object(correlation, "SPLIT", 20))


def test_two_camps_with_tiny_chunks_and_splits_give_the_partition_of_testing_every_pair() -> None:
    """The bounded steps (candidates CHUNK at a time, large pairs of cells split in halves)
    exercised on small data: nothing depends on where a chunk ends or a split falls."""
    for seed in range(150):
        obs = two_camps(seed)
        with TINY[0], TINY[1]:
            anchors = correlate(obs, 300, 500)
        assert partition(anchors, obs.ids) == reference_partition(obs, 300, 500), seed


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(dense_clusters(), st.integers(0, 2**32 - 1).map(two_camps)),
    st.sampled_from([0, 60, 300]),
    st.sampled_from([0, 200, 500]),
)
def test_tiny_chunks_and_splits_give_the_same_partition(
    obs: Observations, time_s: int, distance_m: int
) -> None:
    with TINY[0], TINY[1]:
        anchors = correlate(obs, time_s, distance_m)
    assert partition(anchors, obs.ids) == reference_partition(obs, time_s, distance_m)
