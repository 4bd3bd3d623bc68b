"""Each rule kind, table-driven, on the demo mission's clauses."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone

import pytest
from pyproj import Geod

from tests.conftest import demo_document
from truceline.domain.findings import Facts, Finding
from truceline.domain.incidents import ObservationFact, build_incidents
from truceline.domain.rules import evaluate
from truceline.domain.timeutil import to_us
from truceline.domain.tracks import Tracks
from truceline.mission import Mission, parse_mission_document

BAKU = timezone(timedelta(hours=4))
GEOD = Geod(ellps="WGS84")
AGHDAM = (
    47.10,
    40.10,
)  # inside district-aghdam, outside the operations area's west edge? no: inside both
PEACEKEEPING = (46.75, 39.95)
CONTACT = (46.75, 40.27)  # on the line of contact
CENTRE = (47.30, 40.05)
FAR = (48.5, 41.5)  # outside every demo zone


@functools.cache
def demo() -> Mission:
    return parse_mission_document(demo_document())


def at(*args: int) -> int:
    return to_us(datetime(*args, tzinfo=BAKU))


def obs(
    n: int,
    where: tuple[float, float],
    t: int,
    kind: str = "explosion",
    *,
    actor: str = "unknown",
    subtype: str | None = None,
    count: int = 1,
    source: str = "OP-1",
) -> ObservationFact:
    return ObservationFact(
        id=n, t_from=t, t_to=t, lat=where[1], lon=where[0], uncertainty=None, kind=kind,
        subtype=subtype, count=count, actor=actor, source_kind="observation_post",
        source=source, reporter="blue",
    )  # fmt: skip


def findings(
    facts: list[ObservationFact] = (),  # type: ignore[assignment]
    fixes: list[tuple[str, str, int, tuple[float, float]]] = (),  # type: ignore[assignment]
    clause: str | None = None,
) -> list[Finding]:
    mission = demo()
    events = [f for f in facts if f.kind != "count"]
    tracks = Tracks.from_columns(
        range(1, len(fixes) + 1),
        [u for u, _, _, _ in fixes],
        [a for _, a, _, _ in fixes],
        [t for _, _, t, _ in fixes],
        [p[0] for *_, p in fixes],
        [p[1] for *_, p in fixes],
    )
    context = Facts(
        incidents=build_incidents(events, 300, 500),
        counts=[f for f in facts if f.kind == "count"],
        tracks=tracks,
        zones=mission.zones,
        max_gap_s=mission.max_gap_s,
    )
    clauses = [c for c in mission.clauses.values() if clause is None or c.id == clause]
    return evaluate(clauses, context)


def keys(found: list[Finding]) -> list[tuple[str, int, str | None, str | None]]:
    return sorted((f.clause, f.version, f.zone, f.subject) for f in found)


# --- no_fire -----------------------------------------------------------------------------

EFFECTIVE = to_us(datetime(2020, 11, 10, tzinfo=timezone(timedelta(hours=3))))


@pytest.mark.parametrize(
    ("kind", "actor", "t", "expected"),
    [
        ("explosion", "unknown", EFFECTIVE, [("1", 1, None, "unknown")]),  # exactly at `effective`
        ("explosion", "unknown", EFFECTIVE - 1, []),  # a microsecond before it
        ("shot", "west", EFFECTIVE + 1, [("1", 1, None, "west")]),
        ("explosion", "blue", EFFECTIVE + 1, []),  # a contingent is not a party to the clause
        ("flare", "unknown", EFFECTIVE + 1, []),  # a flare is not fire unless listed
        ("movement", "west", EFFECTIVE + 1, []),
    ],
)
def test_no_fire(kind: str, actor: str, t: int, expected: list) -> None:  # type: ignore[type-arg]
    assert keys(findings([obs(1, CONTACT, t, kind, actor=actor)], clause="1")) == expected


def test_no_fire_counts_a_flare_when_the_clause_lists_it() -> None:
    doc = demo_document()
    doc["clauses"][0]["kinds"] = ["explosion", "flare"]
    doc["clauses"][0]["zones"] = ["contact-line"]
    mission = parse_mission_document(doc)
    events = [obs(1, CONTACT, EFFECTIVE + 1, "flare"), obs(2, FAR, EFFECTIVE + 1, "flare")]
    facts = Facts(build_incidents(events, 300, 500), [], Tracks.empty(), mission.zones, 600)
    found = evaluate([mission.clauses["1"]], facts)
    assert [(f.incident, f.zone) for f in found] == [(1, "contact-line")]  # not the one far away


def test_no_fire_attributes_an_incident_named_by_another_party_to_that_party_only() -> None:
    doc = demo_document()
    doc["clauses"][0]["parties"] = ["west"]
    mission = parse_mission_document(doc)
    events = [
        obs(1, CONTACT, EFFECTIVE + 1, actor="east"),
        obs(2, CONTACT, EFFECTIVE + 1, source="OP-2"),
    ]
    facts = Facts(build_incidents(events, 300, 500), [], Tracks.empty(), mission.zones, 600)
    assert evaluate([mission.clauses["1"]], facts) == []  # east's fire; the clause binds west


# --- withdrawn_by, with an amendment -----------------------------------------------------

KALBAJAR = (46.05, 40.12)


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (at(2020, 11, 13, 12), []),  # version 1 in force, its deadline (15th) not reached
        (at(2020, 11, 14, 12), []),  # version 2 in force from the 14th: deadline the 25th
        (at(2020, 11, 20, 0), []),  # past version 1's deadline, but version 2 applies
        (at(2020, 11, 25, 0), [("3", 2, "district-kalbajar", "west")]),  # exactly at the deadline
        (at(2020, 11, 24, 23, 59), []),
    ],
)
def test_withdrawn_by_applies_the_version_in_force_at_the_fix(
    t: int, expected: list[tuple[str, int, str, str]]
) -> None:
    assert keys(findings(fixes=[("west-col-2", "west", t, KALBAJAR)], clause="3")) == expected


def test_withdrawn_by_finds_presence_reported_after_the_deadline() -> None:
    late = obs(1, AGHDAM, at(2020, 11, 21, 10), "presence", actor="west")
    early = obs(2, AGHDAM, at(2020, 11, 19, 10), "presence", actor="west")
    other = obs(3, AGHDAM, at(2020, 11, 21, 10), "presence", actor="east", source="OP-2")
    found = findings([late, early, other], clause="2")
    assert [(f.incident, f.subject) for f in found] == [(1, "west")]


# --- max_count ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "subject", "resource", "where", "expected"),
    [
        (61, "green", "personnel", CENTRE, [("M4", 1, "centre", "green")]),
        (60, "green", "personnel", CENTRE, []),  # at the limit is within it
        (64, "green", "vehicles", CENTRE, []),
        (64, "green", "personnel", FAR, []),  # counted elsewhere, not at the centre
        (99, "blue", "personnel", CENTRE, [("M3", 1, "centre", "blue")]),
    ],
)
def test_max_count(count: int, subject: str, resource: str, where: tuple, expected: list) -> None:  # type: ignore[type-arg]
    report = obs(1, where, at(2020, 11, 21), "count", actor=subject, subtype=resource, count=count)
    assert keys([f for f in findings([report]) if f.rule == "max_count"]) == expected


# --- confined_to / excluded_from: excursions ---------------------------------------------

INSIDE_OPS = (47.25, 40.15)
OUTSIDE_OPS = (46.60, 40.45)  # west of the operations area, outside the peacekeeping area


def track(points: list[tuple[float, float]], step_s: int = 30, start: int | None = None) -> list:  # type: ignore[type-arg]
    start = at(2020, 11, 21, 8) if start is None else start
    return [
        ("green-uav-1", "green", start + k * step_s * 1_000_000, p) for k, p in enumerate(points)
    ]


def test_a_unit_leaving_its_zone_for_three_fixes_and_returning_is_one_finding() -> None:
    fixes = track([INSIDE_OPS] * 3 + [OUTSIDE_OPS] * 3 + [INSIDE_OPS] * 3)
    [finding] = findings(fixes=fixes, clause="M1")
    assert finding.evidence["fixes"] == 3
    assert (finding.start, finding.end) == (fixes[3][2], fixes[5][2])
    assert (finding.unit, finding.zone, finding.subject) == (
        "green-uav-1",
        "operations-area",
        "green",
    )


def test_two_separate_trips_are_two_findings() -> None:
    fixes = track([INSIDE_OPS, OUTSIDE_OPS, OUTSIDE_OPS, INSIDE_OPS, OUTSIDE_OPS, INSIDE_OPS])
    assert [f.evidence["fixes"] for f in findings(fixes=fixes, clause="M1")] == [2, 1]


def test_a_gap_longer_than_max_gap_ends_a_run() -> None:
    before = track([OUTSIDE_OPS] * 2)
    after = track([OUTSIDE_OPS] * 2, start=before[-1][2] + 601 * 1_000_000)
    assert len(findings(fixes=before + after, clause="M1")) == 2
    close = track([OUTSIDE_OPS] * 2, start=before[-1][2] + 600 * 1_000_000)
    assert len(findings(fixes=before + close, clause="M1")) == 1


def test_fixes_in_any_order_give_the_same_excursions() -> None:
    fixes = track([INSIDE_OPS, OUTSIDE_OPS, OUTSIDE_OPS, INSIDE_OPS])
    assert findings(fixes=fixes, clause="M1") == findings(fixes=fixes[::-1], clause="M1")


def test_another_contingent_s_units_are_not_confined_by_the_clause() -> None:
    fixes = [("blue-uav-1", "blue", at(2020, 11, 21, 8), OUTSIDE_OPS)]
    assert findings(fixes=fixes, clause="M1") == []


def test_excluded_from_finds_the_subject_inside_the_zone() -> None:
    fixes = track([INSIDE_OPS, PEACEKEEPING, PEACEKEEPING, INSIDE_OPS])
    found = findings(fixes=fixes, clause="M2")
    assert [(f.zone, f.evidence["fixes"]) for f in found] == [("peacekeeping-area", 2)]


# --- free_passage and monitor_access: restrictions ---------------------------------------


def corridor_point(metres: float) -> tuple[float, float]:
    """A point `metres` from the corridor's centre line, at the middle of its second segment."""
    (lon1, lat1), (lon2, lat2) = (46.70, 39.74), (46.62, 39.68)
    azimuth, _, length = GEOD.inv(lon1, lat1, lon2, lat2)
    mid_lon, mid_lat, _ = GEOD.fwd(lon1, lat1, azimuth, length / 2)
    lon, lat, _ = GEOD.fwd(mid_lon, mid_lat, azimuth + 90, metres)
    return lon, lat


@pytest.mark.parametrize(
    ("metres", "expected"),
    [
        (0, [("6", 1, "corridor", "west"), ("M5", 1, None, "west")]),
        (2400, [("6", 1, "corridor", "west"), ("M5", 1, None, "west")]),
        (2600, [("M5", 1, None, "west")]),  # outside the 5 km corridor: only monitor access
    ],
)
def test_a_restriction_in_the_corridor_breaches_free_passage_up_to_its_edge(
    metres: float,
    expected: list,  # type: ignore[type-arg]
) -> None:
    denied = obs(1, corridor_point(metres), at(2020, 11, 21, 11), "restriction", actor="west",
                 subtype="denied")  # fmt: skip
    found = [f for f in findings([denied]) if f.rule in ("free_passage", "monitor_access")]
    assert keys(found) == expected


def test_monitor_access_ignores_events_that_are_not_restrictions() -> None:
    assert findings([obs(1, FAR, at(2020, 11, 21), "uav")], clause="M5") == []
