"""TAK users see the agreement: the mission's zones as CoT drawing shapes and findings as
markers, written so that TAK clients draw them and our own hardened reader reads them back."""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from shapely.geometry import Point, Polygon

from tests.conftest import demo_document
from truceline.domain.findings import Finding
from truceline.ingest import cot
from truceline.ingest.cot import MAX_EVENT_BYTES, CotEvent, Ignored, Marker, classify, parse_event
from truceline.ingest.cot_writer import (
    DECLARATION,
    MAX_VERTICES,
    finding_event,
    is_our_echo,
    is_our_event,
    zone_events,
)
from truceline.mission import Mission, parse_mission, parse_mission_document

NOW = datetime(2020, 11, 16, 10, 30, tzinfo=UTC)

MISSION = """
format: truceline/mission@1
mission: {id: t, name: Test mission, timezone: Asia/Baku, report_cutoff: "19:30"}
parties: [{id: east, name: East}, {id: west, name: West}]
contingents: [{id: blue, name: Blue}, {id: green, name: Green}]
zones:
  - id: square
    name: Ağdam — Агдам <zone> & "quoted" 'too'
    geometry:
      type: Polygon
      coordinates: [[[46.0, 40.0], [46.1, 40.0], [46.15, 40.05], [46.1, 40.1], [46.0, 40.1],
                     [46.0, 40.0]]]
  - id: centre
    name: Joint monitoring centre
    geometry: {type: Point, coordinates: [47.3, 40.05]}
    buffer_m: 1000
  - id: islands
    name: Two islands
    geometry:
      type: MultiPolygon
      coordinates:
        - [[[45.0, 41.0], [45.4, 41.0], [45.4, 41.4], [45.0, 41.4], [45.0, 41.0]],
           [[45.1, 41.1], [45.2, 41.1], [45.2, 41.2], [45.1, 41.2], [45.1, 41.1]]]
        - [[[46.0, 41.0], [46.1, 41.0], [46.1, 41.1], [46.0, 41.0]]]
  - id: corridor
    name: Supply corridor
    geometry:
      type: LineString
      coordinates: [[46.752, 39.815], [46.70, 39.74], [46.62, 39.68], [46.55, 39.64]]
    width_m: 5000
clauses: []
"""


@functools.cache
def mission() -> Mission:
    return parse_mission(MISSION, source="test.yaml")


@functools.cache
def demo() -> Mission:
    return parse_mission_document(demo_document())


def read(data: bytes) -> CotEvent:
    event = parse_event(data)
    assert isinstance(event, CotEvent), event
    return event


def tree(data: bytes) -> Any:
    return etree.fromstring(data)


def by_uid(events: list[bytes]) -> dict[str, bytes]:
    return {read(data).uid: data for data in events}


def vertices(data: bytes) -> list[tuple[float, float]]:
    """The (lon, lat) of each `<link point="lat,lon"/>` of a freeform shape."""
    out = []
    for link in tree(data).find("detail").findall("link"):
        lat, lon = (float(v) for v in link.get("point").split(","))
        out.append((lon, lat))
    return out


def finding(**changes: Any) -> Finding:
    values: dict[str, Any] = {
        "clause": "3",
        "version": 2,
        "rule": "withdrawn_by",
        "zone": "district-kalbajar",
        "subject": "west",
        "start": 0,
        "end": 0,
        "incident": 17,
    }
    values.update(changes)
    return Finding(**values)


def marker(**changes: Any) -> bytes:
    values: dict[str, Any] = {
        "clause_title": "Return of Kalbajar district",
        "zone_name": "Kalbajar district",
        "lat": 40.12,
        "lon": 46.03,
        "when": datetime(2020, 11, 16, 9, 5, tzinfo=UTC),
        "now": NOW,
        "uid": "f-17",
    }
    values.update(changes)
    return finding_event(finding(), **values)


# --- zones ----------------------------------------------------------------------------------


def test_every_zone_of_the_demo_yields_an_event_our_reader_parses_and_never_takes_as_evidence() -> (
    None
):
    events = zone_events(demo(), now=NOW)
    uids = {read(data).uid for data in events}
    assert uids == {f"truceline-zone-{zone}" for zone in demo().zones}
    for data in events:
        event = read(data)
        zone = demo().zones[event.uid.removeprefix("truceline-zone-")]
        assert event.type in ("u-d-f", "u-d-c-c")
        assert zone.geometry.contains(Point(event.lon, event.lat))  # a bent corridor's too
        assert isinstance(classify(event), Ignored)  # a zone echoed back is not an observation
        assert is_our_echo(event.uid) and is_our_event(event)


def test_a_polygon_zone_becomes_a_closed_freeform_shape_with_its_vertices() -> None:
    zone = mission().zones["square"]
    data = by_uid(zone_events(mission(), now=NOW))["truceline-zone-square"]
    event = read(data)
    assert event.type == "u-d-f"
    drawn = vertices(data)
    expected = list(zone.geometry.exterior.coords)
    assert len(drawn) == len(expected) == 6
    assert drawn[0] == drawn[-1]  # closed, as ATAK marks a closed shape
    for (x, y), (ex, ey) in zip(drawn, expected, strict=True):
        assert abs(x - ex) <= 1e-6 and abs(y - ey) <= 1e-6
    centre = zone.geometry.centroid
    assert abs(event.lat - centre.y) <= 1e-6 and abs(event.lon - centre.x) <= 1e-6


def test_every_shape_has_the_drawing_details_tak_clients_read() -> None:
    for data in zone_events(mission(), now=NOW, stale_after=timedelta(hours=2)):
        assert data.startswith(DECLARATION + b"<event ")
        data.decode("utf-8")
        root = tree(data)
        assert root.get("version") == "2.0" and root.get("how") == "h-e"
        assert root.get("time") == root.get("start") == "2020-11-16T10:30:00.000Z"
        assert root.get("stale") == "2020-11-16T12:30:00.000Z"
        point = root.find("point")
        assert {point.get(k) for k in ("hae", "ce", "le")} == {"9999999.0"}
        detail = root.find("detail")
        for tag in ("strokeColor", "strokeWeight", "fillColor"):
            assert re.fullmatch(r"-?[0-9.]+", detail.find(tag).get("value"))
        assert detail.find("labels_on").get("value") == "true"
        assert detail.find("remarks").text.startswith("Zone ")
        assert detail.find("truceline").get("zone") in mission().zones
        event = read(data)
        assert event.hae is None and event.ce is None and event.le is None


def test_a_point_zone_with_a_buffer_becomes_a_circle_whose_radius_is_the_buffer() -> None:
    zone = mission().zones["centre"]
    data = by_uid(zone_events(mission(), now=NOW))["truceline-zone-centre"]
    event = read(data)
    assert event.type == "u-d-c-c"
    assert (event.lon, event.lat) == (47.3, 40.05)  # centred on the zone's point
    ellipse = tree(data).find("detail/shape/ellipse")
    assert float(ellipse.get("major")) == float(ellipse.get("minor")) == zone.buffer_m == 1000
    assert ellipse.get("angle") == "360"
    assert "Radius 1000 m" in (event.remarks or "")


def test_a_corridor_becomes_the_closed_outline_of_its_buffered_area() -> None:
    zone = mission().zones["corridor"]
    data = by_uid(zone_events(mission(), now=NOW))["truceline-zone-corridor"]
    assert read(data).type == "u-d-f"
    drawn = vertices(data)
    assert drawn[0] == drawn[-1] and len(drawn) - 1 <= MAX_VERTICES
    boundary = zone.geometry.exterior
    # every drawn vertex is a vertex of the buffered area: on its boundary
    assert max(boundary.distance(Point(p)) for p in drawn) <= 1e-6
    # and the drawing keeps to the area (2500 m either side) within a few metres
    error_deg = shapely.hausdorff_distance(Polygon(drawn), zone.geometry)
    assert error_deg * 111_320 < 10
    assert "within 2500 m of its line" in (read(data).remarks or "")


def test_a_multipolygon_becomes_one_shape_per_part_and_its_hole_a_dashed_outline() -> None:
    events = by_uid(zone_events(mission(), now=NOW))
    ours = sorted(uid for uid in events if uid.startswith("truceline-zone-islands"))
    assert ours == [
        "truceline-zone-islands:part-1",
        "truceline-zone-islands:part-1:hole-1",
        "truceline-zone-islands:part-2",
    ]
    part1 = read(events["truceline-zone-islands:part-1"])
    assert part1.callsign == "Two islands (1/2)"
    assert "1 hole (drawn dashed) not part of the zone" in (part1.remarks or "")
    hole = events["truceline-zone-islands:part-1:hole-1"]
    assert read(hole).type == "u-d-f"
    detail = tree(hole).find("detail")
    assert detail.find("strokeStyle").get("value") == "dashed"
    assert detail.find("fillColor").get("value") == "0"
    assert "NOT part of the zone" in (read(hole).remarks or "")
    assert Polygon(vertices(hole)).equals(
        Polygon([(45.1, 41.1), (45.2, 41.1), (45.2, 41.2), (45.1, 41.2)])
    )
    assert len(vertices(events["truceline-zone-islands:part-2"])) == 4


def test_a_zone_name_with_markup_is_escaped_and_injects_no_element() -> None:
    data = by_uid(zone_events(mission(), now=NOW))["truceline-zone-square"]
    name = "Ağdam — Агдам <zone> & \"quoted\" 'too'"
    assert b"<zone>" not in data and b"&lt;zone&gt; &amp;" in data
    event = read(data)
    assert event.callsign == name
    assert event.remarks == f"Zone square: {name}."
    assert [child.tag for child in tree(data).find("detail")] == [
        *["link"] * 6,
        "strokeColor",
        "strokeWeight",
        "fillColor",
        "contact",
        "remarks",
        "labels_on",
        "truceline",
    ]


def test_a_huge_polygon_is_simplified_so_its_event_stays_under_64_kib() -> None:
    # a star-shaped (so simple) outline of 20,000 vertices about 46°E 40°N
    ring = []
    for i in range(20_000):
        angle = 2 * math.pi * i / 20_000
        radius = 0.4 + 0.05 * math.sin(7 * angle) + 0.002 * math.sin(331 * angle)
        ring.append((46.0 + radius * math.cos(angle), 40.0 + radius * math.sin(angle)))
    ring.append(ring[0])
    doc = {
        "format": "truceline/mission@1",
        "mission": {"id": "big", "name": "Big", "timezone": "UTC", "report_cutoff": "19:30"},
        "parties": [{"id": "east", "name": "East"}, {"id": "west", "name": "West"}],
        "contingents": [{"id": "blue", "name": "Blue"}, {"id": "green", "name": "Green"}],
        "zones": [
            {
                "id": "big",
                "name": '&"<>' * 300,  # the worst case of escaping, too
                "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
            }
        ],
        "clauses": [],
    }
    big = parse_mission_document(doc)
    [data] = zone_events(big, now=NOW)
    assert len(data) < MAX_EVENT_BYTES
    assert not isinstance(parse_event(data), cot.Rejected)
    drawn = vertices(data)
    assert drawn[0] == drawn[-1] and len(drawn) - 1 <= MAX_VERTICES
    remarks = read(data).remarks or ""
    said = re.search(r"simplified to \d+ vertices \(within (\d+) m\)", remarks)
    assert said is not None
    metres = int(said.group(1))
    error_m = shapely.hausdorff_distance(Polygon(drawn), big.zones["big"].geometry) * 111_320
    assert error_m <= metres
    callsign = read(data).callsign or ""
    assert len(callsign) == 1000 and callsign.endswith("…")  # a name is cut, not the event


def test_zone_uids_are_stable_so_resending_replaces_the_shapes() -> None:
    first = [read(data).uid for data in zone_events(mission(), now=NOW)]
    later = [read(data).uid for data in zone_events(mission(), now=NOW + timedelta(hours=5))]
    assert first == later and len(set(first)) == len(first)


def test_control_characters_in_a_name_become_replacement_characters_not_an_error() -> None:
    zone = dataclasses.replace(mission().zones["square"], name="bad\x00name\x1b[31m\ufffe\ud800!")
    changed = dataclasses.replace(mission(), zones={"square": zone})
    [data] = zone_events(changed, now=NOW)
    assert read(data).callsign == "bad\ufffdname\ufffd[31m\ufffd\ufffd!"


def test_a_naive_time_or_a_non_positive_stale_after_is_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        zone_events(mission(), now=datetime(2020, 11, 16, 10, 30))
    with pytest.raises(ValueError, match="positive"):
        zone_events(mission(), now=NOW, stale_after=timedelta(0))


names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cn")) | st.sampled_from("\t\n\r"),
    min_size=1,
    max_size=60,
).filter(lambda text: text.strip() != "")


@settings(max_examples=50, deadline=None)
@given(name=names)
def test_any_zone_name_round_trips_exactly_through_the_callsign_and_remarks(name: str) -> None:
    zone = dataclasses.replace(mission().zones["square"], name=name)
    circle = dataclasses.replace(mission().zones["centre"], name=name)
    changed = dataclasses.replace(mission(), zones={"square": zone, "centre": circle})
    for data in zone_events(changed, now=NOW):
        event = read(data)
        assert event.callsign == name.strip()
        assert (event.remarks or "").startswith(f"Zone {event.uid[15:]}: {name.strip()}.")


# --- findings -------------------------------------------------------------------------------


def test_the_finding_marker_names_the_clause_and_says_not_yet_jointly_verified() -> None:
    data = marker()
    assert data.startswith(DECLARATION + b"<event ")
    event = read(data)
    assert event.uid == "truceline-finding-f-17"
    assert event.type == "b-m-p-s-m" and event.how == "m-f"
    assert (event.lat, event.lon) == (40.12, 46.03)
    assert event.callsign == "3 09:05Z"
    assert event.remarks == (
        "Clause 3: Return of Kalbajar district. Zone: Kalbajar district. Not yet jointly verified."
    )
    assert event.time == event.start == "2020-11-16T10:30:00.000Z"
    assert event.stale == "2020-11-16T16:30:00.000Z"
    assert event.truceline["finding"] == "3/v2/incident:17"
    assert event.truceline["at"] == "2020-11-16T09:05:00.000Z"
    assert tree(data).find("detail/color").get("argb") is not None


def test_a_finding_of_another_day_or_offset_names_its_date_in_utc() -> None:
    when = datetime(2020, 11, 17, 1, 50, tzinfo=timezone(timedelta(hours=4)))  # 16th, 21:50Z
    assert read(marker(when=when)).callsign == "3 21:50Z"
    earlier = datetime(2020, 11, 14, 8, 0, tzinfo=UTC)
    assert read(marker(when=earlier)).callsign == "3 2020-11-14 08:00Z"


def test_a_finding_with_markup_in_its_title_and_zone_is_escaped() -> None:
    data = marker(clause_title='<b>Return</b> & "exit".', zone_name="Kəlbəcər <İç> & Кельбаджар")
    assert b"<b>" not in data
    assert read(data).remarks == (
        'Clause 3: <b>Return</b> & "exit". Zone: Kəlbəcər <İç> & Кельбаджар. '
        "Not yet jointly verified."
    )
    assert [child.tag for child in tree(data).find("detail")] == [
        "contact",
        "remarks",
        "color",
        "usericon",
        "truceline",
    ]


def test_a_finding_with_no_zone_name_falls_back_to_its_zone_id_or_says_nothing() -> None:
    assert "Zone: district-kalbajar." in (read(marker(zone_name=None)).remarks or "")
    data = finding_event(
        finding(zone=None),
        clause_title="Ceasefire",
        zone_name=None,
        lat=40.0,
        lon=46.0,
        when=NOW,
        now=NOW,
        uid="x",
    )
    assert read(data).remarks == "Clause 3: Ceasefire. Not yet jointly verified."


def test_a_finding_echoed_back_is_recognised_and_carries_nothing_that_makes_it_evidence() -> None:
    event = read(marker())
    assert is_our_echo(event.uid) and is_our_event(event)
    seen = classify(event)
    # Were the listener to classify it, it would be a marker of kind `other` named after our
    # own uid, never a presence or a position: the listener drops it by `is_our_echo`.
    assert isinstance(seen, Marker)
    assert seen.observation["kind"] == "other" and seen.source == "truceline-finding-f-17"
    assert not {"kind", "subtype", "count", "actor"} & set(event.truceline)
    # re-issued by a client under its own uid, our detail still names it
    reissued = dataclasses.replace(event, uid="ANDROID-123")
    assert not is_our_echo(reissued.uid) and is_our_event(reissued)


def test_is_our_echo_recognises_our_uids_and_no_one_elses() -> None:
    assert is_our_echo("truceline-finding-abc")
    assert is_our_echo("truceline-zone-corridor:part-2")
    assert is_our_echo(" truceline-zone-centre ")  # as our reader strips it
    for uid in ("ANDROID-589520ccfcd20f01", "S-1-5-21-942292099", "truceline", "xtruceline-a"):
        assert not is_our_echo(uid)


@pytest.mark.parametrize(
    "changes",
    [
        {"uid": ""},
        {"uid": "has space"},
        {"uid": 'q"uote'},
        {"uid": "x" * 161},
        {"lat": 91.0},
        {"lon": math.nan},
        {"when": datetime(2020, 11, 16, 9, 5)},
        {"stale_after": timedelta(seconds=-1)},
    ],
)
def test_a_bad_finding_uid_point_or_time_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        marker(**changes)
