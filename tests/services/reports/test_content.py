"""The content of a daily report: what it counts, and each clause's statement qualified by
coverage ("no violation was recorded" only where someone watched)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from truceline.domain import coverage as cov
from truceline.domain import places
from truceline.services.assess import assess
from truceline.services.ingest import ingest_observations, ingest_positions
from truceline.services.signing import report_content

DAY = date(2020, 11, 21)  # 2020-11-20T19:30+04:00 to 2020-11-21T19:30+04:00
OBS = "id,observed_at,lat,lon,kind,subtype,count,actor,source_kind,source,reporter"
POS = "unit,time,lat,lon,actor"


def line(content: dict[str, Any], clause: str) -> dict[str, Any]:
    return next(c for c in content["clauses"] if c["clause"] == clause)


def test_a_clause_nobody_watched_is_not_observed_and_one_watched_has_no_violation_recorded(
    demo_engine: Engine, tmp_path: Path
) -> None:
    # blue's patrol drives in the Kalbajar district (clause 3's zone) for 20 minutes, a fix
    # every 5 minutes; nobody watches the Lachin district (clause 4)
    fixes = [
        f"blue-patrol-1,2020-11-21T10:{m:02d}:00+04:00,40.10,46.00,blue" for m in range(0, 25, 5)
    ]
    path = tmp_path / "p.csv"
    path.write_text("\n".join([POS, *fixes]) + "\n")
    ingest_positions(demo_engine, path)
    assess(demo_engine)
    content = report_content(demo_engine, DAY)
    watched, unwatched = line(content, "3"), line(content, "4")
    assert watched["status"] == "no_violation_recorded"
    assert watched["coverage"]["by_contingent"] == {"blue": 20 * 60, "green": 0}
    assert watched["coverage"]["joint_s"] == 20 * 60
    assert unwatched["status"] == "not_observed" and unwatched["coverage"]["joint_s"] == 0
    # blue's post OP-1 (06:00-22:00 local) sees the contact line: 16 h of its day
    assert line(content, "M3")["coverage"]["joint_s"] == 0  # (the centre: no post sees it)


def test_a_gap_longer_than_the_tracks_limit_covers_nothing(
    demo_engine: Engine, tmp_path: Path
) -> None:
    fixes = ["blue-patrol-1,2020-11-21T10:00:00+04:00,40.10,46.00,blue",
             "blue-patrol-1,2020-11-21T10:30:00+04:00,40.10,46.00,blue"]  # fmt: skip
    path = tmp_path / "p.csv"
    path.write_text("\n".join([POS, *fixes]) + "\n")
    ingest_positions(demo_engine, path)
    assert line(report_content(demo_engine, DAY), "3")["status"] == "not_observed"


def test_fire_is_counted_by_area_kind_and_subtype_one_incident_for_reports_of_one_event(
    demo_engine: Engine, tmp_path: Path
) -> None:
    rows = [  # three posts report one impact; a burst elsewhere on the contact line
        f"o{n},2020-11-21T10:0{n}:00+04:00,40.27,46.75,explosion,impact,4,unknown,observation_post,{s},blue"
        for n, s in enumerate(["OP-1", "OP-2", "UAV-1"])
    ] + ["b1,2020-11-21T12:00:00+04:00,40.05,46.96,burst,,30,unknown,patrol,P-1,green"]  # fmt: skip
    path = tmp_path / "o.csv"
    path.write_text("\n".join([OBS, *rows]) + "\n")
    ingest_observations(demo_engine, path)
    assess(demo_engine)
    content = report_content(demo_engine, DAY)
    area = [r for r in content["by_area"] if r["zone"] == "contact-line"]
    assert {(r["kind"], r["subtype"]): (r["incidents"], r["events"]) for r in area} == {
        ("explosion", "impact"): (1, 4),  # (an incident's events: the most one source saw)
        ("burst", None): (1, 30),
    }
    assert line(content, "1")["status"] == "recorded" and line(content, "1")["findings"] == 2
    assert content["history"]["by_zone"]["contact-line"][-1] == 2  # the last of 14 days
    assert len(content["history"]["days"]) == 14 and content["history"]["days"][-1] == "2020-11-21"


def test_the_signed_content_holds_no_float_and_every_language_s_names() -> None:
    from truceline.demo import MISSION_FILE
    from truceline.services.missions import read_mission
    from truceline.services.reports.content import mission_names as _names

    mission, _ = read_mission(MISSION_FILE)
    names = _names(mission)
    assert names["contingents"]["blue"] == {"en": "Blue Contingent", "ru": "Синий контингент",
                                            "tr": "Mavi Birlik"}  # fmt: skip
    assert names["clauses"]["1"]["title"]["tr"] == "Ateşkes"
    assert len(names["places"]) >= 5

    def floats(value: Any) -> bool:
        if isinstance(value, float):
            return True
        if isinstance(value, dict):
            return any(floats(v) for v in value.values())
        if isinstance(value, list):
            return any(floats(v) for v in value)
        return False

    from truceline.domain.canonical import without_floats

    assert not floats(without_floats(names))


# --- where in words, and the union of intervals ------------------------------------------


def test_a_point_is_said_from_the_nearest_place_with_its_distance_and_compass_point() -> None:
    # Aghdam at 46.93, 39.99; 2 km south-east is about 1.414 km south and 1.414 km east
    lat = 39.99 - 1.414 / 111.2
    lon = 46.93 + 1.414 / (111.2 * np.cos(np.radians(39.99)))
    found = places.where([lon, 46.931, 47.5], [lat, 39.991, 41.0], [46.93, 47.13], [39.99, 40.37])
    assert found[0] == places.Where(0, 2, "SE")
    assert found[1] == places.Where(0, 0, None)  # under 1 km: near Aghdam
    assert found[2] is not None and found[2].place == 1 and found[2].compass == "NE"
    assert places.where([1.0], [2.0], [], []) == [None]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-179, 179), st.floats(-85, 85)), min_size=1, max_size=20),
    st.lists(st.tuples(st.floats(-179, 179), st.floats(-85, 85)), min_size=1, max_size=8),
)
def test_where_names_the_nearest_place_for_any_points(
    points: list[tuple[float, float]], gazetteer: list[tuple[float, float]]
) -> None:
    found = places.where([p[0] for p in points], [p[1] for p in points],
                         [g[0] for g in gazetteer], [g[1] for g in gazetteer])  # fmt: skip
    for (x, y), spot in zip(points, found, strict=True):
        assert spot is not None
        lat1, lon1 = np.radians(y), np.radians(x)
        d = [
            2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(
                np.sin((np.radians(gy) - lat1) / 2) ** 2
                + np.cos(lat1) * np.cos(np.radians(gy)) * np.sin((np.radians(gx) - lon1) / 2) ** 2,
                0, 1)))
            for gx, gy in gazetteer
        ]  # fmt: skip
        assert d[spot.place] <= min(d) + 1e-6
        assert (spot.compass is None) == (d[spot.place] < 1.0)
        assert spot.compass is None or spot.compass in places.COMPASS


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 1000)), max_size=30),
       st.integers(0, 1000), st.integers(0, 1000))  # fmt: skip
def test_the_union_of_intervals_counts_every_covered_instant_once(
    spans: list[tuple[int, int]], a: int, b: int
) -> None:
    start, end = min(a, b), max(a, b)
    starts = np.array([min(s) for s in spans], dtype=np.int64)
    ends = np.array([max(s) for s in spans], dtype=np.int64)
    covered = np.zeros(1001, dtype=bool)
    for s, e in zip(starts, ends, strict=True):
        covered[max(s, start) : min(e, end)] = True
    assert cov.union_us((starts, ends), start, end) == int(covered.sum())
