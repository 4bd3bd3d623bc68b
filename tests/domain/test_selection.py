"""Vectorised helpers of the read paths: times as text in one pass, and picking a page of rows
inside a zone or among a set, each checked against the plain one-at-a-time answer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from shapely import Point, Polygon

from truceline.domain.selection import narrowed, pick
from truceline.domain.timeutil import iso, iso_many

MOMENTS = st.integers(min_value=0, max_value=4_102_444_799_999_999)  # 1970 to the end of 2099


@given(st.lists(st.one_of(MOMENTS, MOMENTS.map(lambda us: us - us % 1_000_000)), max_size=30))
def test_times_as_text_in_one_pass_read_as_each_one_alone(values: list[int]) -> None:
    assert iso_many(values) == [iso(v) for v in values]


ZONE = Polygon([(46.0, 39.0), (47.0, 39.0), (47.0, 40.0), (46.0, 40.0)])
COORD = st.integers(min_value=455_000_000, max_value=475_000_000)


@given(
    st.lists(st.tuples(COORD, COORD.map(lambda v: v - 70_000_000)), max_size=40),
    st.none() | st.sets(st.integers(min_value=0, max_value=40)),
    st.integers(min_value=0, max_value=10),
    st.none() | st.integers(min_value=0, max_value=10),
    st.booleans(),
)
def test_a_page_picked_by_zone_and_membership_is_the_plain_filter_s_page(
    places: list[tuple[int, int]],
    among: set[int] | None,
    offset: int,
    limit: int | None,
    in_zone: bool,
) -> None:
    ids = list(range(len(places)))
    lon = [p[0] for p in places]
    lat = [p[1] for p in places]
    within = ZONE if in_zone else None
    plain = [
        i
        for i in ids
        if (within is None or within.intersects(Point(lon[i] / 1e7, lat[i] / 1e7)))
        and (among is None or i in among)
    ][offset:]
    plain = plain if limit is None else plain[:limit]
    rows = [(i, lon[i], lat[i]) for i in ids]
    assert pick(rows, within=within, among=among, offset=offset, limit=limit) == plain


def test_a_zone_narrows_the_box_an_index_reads_and_a_box_beside_it_reads_nothing() -> None:
    assert narrowed(None, ZONE) == (46.0, 39.0, 47.0, 40.0)
    assert narrowed((46.5, 38.0, 50.0, 39.5), ZONE) == (46.5, 39.0, 47.0, 39.5)
    west, south, east, north = narrowed((10.0, 10.0, 11.0, 11.0), ZONE)  # type: ignore[misc]
    assert west > east and south > north  # an empty box
    assert narrowed((1.0, 2.0, 3.0, 4.0), None) == (1.0, 2.0, 3.0, 4.0)
