"""Unit tracks for the map: each unit's positions of a time window, in order, thinned evenly
when there are too many, its first and last point always kept."""

from __future__ import annotations

from sqlalchemy import Engine

from truceline.domain.timeutil import to_us
from truceline.services.ingest import ingest_records
from truceline.store.compliance import unit_tracks

DAY = "2020-11-21T{:02d}:{:02d}:00+04:00"


def test_a_unit_s_track_is_thinned_but_keeps_where_it_began_and_ended(
    demo_engine: Engine,
) -> None:
    from datetime import datetime

    positions = [
        {"unit": unit, "time": DAY.format(8 + m // 60, m % 60), "lat": 40.0 + m / 1000,
         "lon": 46.5 + m / 1000}
        for unit in ("west-col-1", "east-col-1")
        for m in range(300)
    ]  # fmt: skip
    ingest_records(demo_engine, "positions", positions, source_name="test")
    since = to_us(datetime.fromisoformat(DAY.format(0, 0)))
    until = to_us(datetime.fromisoformat(DAY.format(23, 0)))
    with demo_engine.connect() as conn:
        full = unit_tracks(conn, since, until)
        thin = unit_tracks(conn, since, until, max_points=50)
        later = unit_tracks(conn, to_us(datetime.fromisoformat(DAY.format(13, 0))), until)
    assert [t["unit"] for t in full] == ["east-col-1", "west-col-1"]
    assert [len(t["points"]) for t in full] == [300, 300]
    assert full[0]["actor"] == "east"  # the unit's declared owner
    for whole, thinned in zip(full, thin, strict=True):
        assert thinned["points"][0] == whole["points"][0] == [40.0, 46.5]
        assert thinned["points"][-1] == whole["points"][-1]
        assert 2 <= len(thinned["points"]) <= 50 // 2 + 2
        assert thinned["points"] == sorted(thinned["points"])  # still in time order
    assert later == []  # every position lies between 08:00 and 12:59
