"""Building observations from fields: exact values, every problem named."""

from __future__ import annotations

import math

import pytest
from pyproj import Geod

from truceline.domain.geo import estimate_from_bearing
from truceline.domain.observations import FIELDS, Context, build_observation

CTX = Context(
    actors=frozenset({"east", "west", "blue", "green"}), contingents=frozenset({"blue", "green"})
)
GOOD = {
    "id": "r1",
    "observed_at": "2020-11-20T10:00:00+04:00",
    "lat": "40.05",
    "lon": "46.90",
    "kind": "explosion",
    "subtype": "impact",
    "count": "12",
    "actor": "unknown",
    "source_kind": "observation_post",
    "source": "OP-3",
    "reporter": "green",
}


def build(**changes: str) -> tuple[dict, dict[str, str]]:
    fields = {**GOOD, **changes}
    record, problems = build_observation({k: v for k, v in fields.items() if v is not None}, CTX)
    values = dict(zip(FIELDS, record.row, strict=True)) if record else {}
    return values, dict(problems)


def test_a_good_record_keeps_exact_coordinates_and_utc_microseconds() -> None:
    values, problems = build()
    assert problems == {}
    assert values["lat_e7"] == 400_500_000 and values["lon_e7"] == 469_000_000
    assert values["observed_from_us"] == values["observed_to_us"] == 1_605_852_000_000_000
    assert values["count"] == 12


@pytest.mark.parametrize(
    ("changes", "column", "words"),
    [
        ({"observed_at": "2020-11-20T10:00:00"}, "observed_at", "no offset"),
        ({"observed_at": "yesterday"}, "observed_at", "not an ISO 8601 time"),
        ({"lat": "91"}, "lat", "outside -90..90"),
        ({"lon": "nan"}, "lon", "not a finite number"),
        ({"lat": "=1+1"}, "lat", "spreadsheet formula"),
        ({"description": "=cmd|' /C calc'!A0"}, "description", "spreadsheet formula"),
        ({"source": "@SUM(A1)"}, "source", "spreadsheet formula"),
        ({"kind": "explsion"}, "kind", "unknown kind 'explsion'"),
        ({"subtype": "mortar"}, "subtype", "explosion subtype is one of"),
        ({"count": "0"}, "count", "at least 1"),
        ({"count": "2.5"}, "count", "not an integer"),
        ({"actor": "north"}, "actor", "unknown party or contingent 'north'"),
        ({"reporter": "east"}, "reporter", "unknown contingent 'east'"),
        ({"source_kind": "drone"}, "source_kind", "unknown source kind"),
        ({"source": ""}, "source", "required"),
        ({"description": "x" * 100_001}, "description", "more than the 100,000 allowed"),
    ],
)
def test_each_bad_field_is_named_with_its_reason(changes: dict, column: str, words: str) -> None:
    _, problems = build(**changes)
    assert column in problems, problems
    assert words in problems[column]


def test_every_problem_of_a_record_is_named_at_once() -> None:
    _, problems = build(lat="x", kind="boom", reporter="nobody")
    assert set(problems) == {"lat", "kind", "reporter"}


def test_a_description_may_start_with_a_dash_and_a_space() -> None:
    values, problems = build(description="- nothing further seen")
    assert problems == {} and values["description"] == "- nothing further seen"


def test_a_window_is_kept_and_must_not_end_before_it_starts() -> None:
    values, problems = build(
        observed_at=None,
        observed_from="2020-11-20T10:00:00+04:00",
        observed_to="2020-11-20T10:30:00+04:00",
    )
    assert problems == {}
    assert values["observed_to_us"] - values["observed_from_us"] == 30 * 60 * 1_000_000
    _, problems = build(
        observed_at=None,
        observed_from="2020-11-20T10:00:00+04:00",
        observed_to="2020-11-20T09:00:00+04:00",
    )
    assert "ends before it starts" in problems["observed_to"]


def test_a_count_report_names_its_resource_and_subject() -> None:
    values, problems = build(kind="count", subtype="personnel", count="64", actor="green")
    assert problems == {} and values["count"] == 64
    _, problems = build(kind="count", subtype=None, actor=None)
    assert set(problems) == {"subtype", "actor"}


def test_the_same_source_and_id_is_the_same_identity_whatever_the_content() -> None:
    a, _ = build_observation(GOOD, CTX)
    b, _ = build_observation({**GOOD, "count": "13"}, CTX)
    c, _ = build_observation({k: v for k, v in GOOD.items() if k != "id"}, CTX)
    assert a is not None and b is not None and c is not None
    assert a.uid == b.uid and a.row_hash != b.row_hash
    assert c.uid == c.row_hash


def test_a_bearing_and_distance_band_become_a_point_and_an_uncertainty_radius() -> None:
    lat, lon, radius = estimate_from_bearing(40.0, 46.8, 90.0, 2000.0, 4000.0)
    _, _, distance = Geod(ellps="WGS84").inv(46.8, 40.0, lon, lat)
    assert math.isclose(distance, 3000.0, rel_tol=1e-6)
    assert lon > 46.8 and math.isclose(lat, 40.0, abs_tol=0.001)
    # The circle covers the band's near and far ends and ±5° of bearing at the far end.
    assert 1000.0 < radius < 1100.0


def test_an_smm_style_record_is_located_by_its_observer_bearing_and_band() -> None:
    values, problems = build(
        lat=None,
        lon=None,
        observer_lat="40.0",
        observer_lon="46.8",
        bearing_deg="90",
        distance_min_m="2000",
        distance_max_m="4000",
    )
    assert problems == {}
    assert values["lon_e7"] > 468_000_000 and values["uncertainty_m"] > 1000
    assert values["bearing_deg"] == 90.0


def test_an_incomplete_observer_band_is_named() -> None:
    _, problems = build(lat=None, lon=None, observer_lat="40.0", bearing_deg="400")
    assert {"observer_lon", "bearing_deg", "distance_min_m", "distance_max_m"} <= set(problems)
