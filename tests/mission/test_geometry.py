"""Zones in metres: buffers that hold at the boundary, anywhere along the line."""

from __future__ import annotations

import functools
import math

import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import LineString, Point

from tests.conftest import demo_document
from truceline.mission import Mission, parse_mission_document
from truceline.mission.geometry import area_km2, buffer_metres

GEOD = Geod(ellps="WGS84")


@functools.cache
def demo() -> Mission:
    return parse_mission_document(demo_document())


def offset_from_line(
    line: list[tuple[float, float]], fraction: float, side: int, metres: float
) -> Point:
    """A point `metres` from the line, perpendicular at `fraction` along one of its segments."""
    segment = min(int(fraction * (len(line) - 1)), len(line) - 2)
    (lon1, lat1), (lon2, lat2) = line[segment], line[segment + 1]
    f = fraction * (len(line) - 1) - segment
    # The foot point lies on the segment (short: its geodesic and lon/lat line agree).
    azimuth, _, length = GEOD.inv(lon1, lat1, lon2, lat2)
    foot_lon, foot_lat, back = GEOD.fwd(lon1, lat1, azimuth, length * min(max(f, 0.1), 0.9))
    heading = (back + 180) % 360
    lon, lat, _ = GEOD.fwd(foot_lon, foot_lat, heading + 90 * side, metres)
    return Point(lon, lat)


@settings(max_examples=60, deadline=None)
@given(fraction=st.floats(0, 1), side=st.sampled_from([-1, 1]))
def test_a_point_2400_m_from_a_5_km_corridor_is_inside_and_2600_m_outside(
    fraction: float, side: int
) -> None:
    corridor = demo().zones["corridor"]
    line = [tuple(p) for p in corridor.source_geometry["coordinates"]]
    assert corridor.buffer_m == 2500  # width_m: 5000
    assert corridor.geometry.contains(offset_from_line(line, fraction, side, 2400))
    assert not corridor.geometry.contains(offset_from_line(line, fraction, side, 2600))


@settings(max_examples=40, deadline=None)
@given(
    lon=st.floats(-179, 179),
    lat=st.floats(-80, 80),
    radius=st.floats(100, 50_000),
    azimuth=st.floats(0, 360),
)
def test_a_buffered_point_holds_what_is_nearer_than_the_radius_anywhere_on_earth(
    lon: float, lat: float, radius: float, azimuth: float
) -> None:
    zone = buffer_metres(Point(lon, lat), radius)
    assert zone.is_valid
    inside_lon, inside_lat, _ = GEOD.fwd(lon, lat, azimuth, radius * 0.98)
    outside_lon, outside_lat, _ = GEOD.fwd(lon, lat, azimuth, radius * 1.02)
    assert shapely.contains_xy(zone, inside_lon, inside_lat)
    assert not shapely.contains_xy(zone, outside_lon, outside_lat)


def test_the_area_of_a_buffered_point_is_that_of_its_circle() -> None:
    zone = buffer_metres(Point(47.3, 40.05), 1000)
    assert math.isclose(area_km2(zone), math.pi, rel_tol=0.01)


def test_a_long_line_buffer_is_densified_so_its_edge_stays_at_the_distance() -> None:
    line = LineString([(44.0, 40.0), (48.0, 40.0)])  # about 340 km
    zone = buffer_metres(line, 1000)
    lon, lat, _ = GEOD.fwd(46.0, 40.0, 0, 1100)  # mid-line, just outside the buffer
    assert not shapely.contains_xy(zone, lon, lat)
    lon, lat, _ = GEOD.fwd(46.0, 40.0, 0, 900)
    assert shapely.contains_xy(zone, lon, lat)
