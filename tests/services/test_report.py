"""The daily summary and reporting days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from truceline.domain.reporting import day_bounds, reporting_day
from truceline.services.assess import assess
from truceline.services.ingest import ingest_observations
from truceline.services.report import daily_summary, render_text

BAKU = ZoneInfo("Asia/Baku")


@pytest.mark.parametrize(
    ("local", "cutoff", "expected"),
    [
        (datetime(2020, 11, 20, 19, 40), time(19, 30), date(2020, 11, 21)),  # after the cutoff
        (datetime(2020, 11, 20, 19, 29), time(19, 30), date(2020, 11, 20)),
        (
            datetime(2020, 11, 20, 19, 30),
            time(19, 30),
            date(2020, 11, 21),
        ),  # the cutoff opens a day
        (datetime(2020, 11, 20, 23, 59), time(0, 0), date(2020, 11, 20)),  # calendar days
        (datetime(2020, 11, 21, 0, 0), time(0, 0), date(2020, 11, 21)),
    ],
)
def test_an_event_belongs_to_the_reporting_day_its_local_time_falls_in(
    local: datetime, cutoff: time, expected: date
) -> None:
    assert reporting_day(local.replace(tzinfo=BAKU), cutoff, BAKU) == expected
    start, end = day_bounds(expected, cutoff, BAKU)
    assert start <= local.replace(tzinfo=BAKU) < end
    assert end - start == timedelta(days=1)


def test_the_same_instant_in_utc_falls_in_the_same_reporting_day() -> None:
    utc = datetime(2020, 11, 20, 15, 40, tzinfo=UTC)  # 19:40 in Baku
    assert reporting_day(utc, time(19, 30), BAKU) == date(2020, 11, 21)


HEADER = "id,observed_at,lat,lon,kind,count,actor,source_kind,source,reporter"


def test_the_summary_counts_incidents_not_observations_and_names_clear_clauses(
    demo_engine: Engine, tmp_path: Path
) -> None:
    rows = [
        f"o{n},2020-11-20T19:4{n}:00+04:00,40.27,46.75,explosion,12,unknown,observation_post,{s},blue"
        for n, s in enumerate(["OP-1", "OP-2", "UAV-1"])
    ]
    rows.append(
        "late,2020-11-21T19:31:00+04:00,40.27,46.75,explosion,3,unknown,observation_post,OP-1,blue"
    )
    path = tmp_path / "o.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    ingest_observations(demo_engine, path)
    assess(demo_engine)
    summary = daily_summary(demo_engine, date(2020, 11, 21))
    assert summary["incidents"]["total"] == 1 and summary["incidents"]["observations"] == 3
    [row] = [r for r in summary["incidents"]["by_zone"] if r["zone"] == "contact-line"]
    assert (row["family"], row["incidents"], row["observations"], row["events"]) == (
        "fire",
        1,
        3,
        12,
    )
    [fire] = [c for c in summary["findings"] if c["clause"] == "1"]
    assert fire["count"] == 1
    assert "M4" in summary["clear"] and "1" not in summary["clear"]
    text = render_text(summary)
    assert "No violation of clause M4 (Green personnel at the centre) was recorded." in text
    assert "clause 1 (Ceasefire), no_fire: 1 finding(s)" in text
    # The 19:31 explosion of the 21st belongs to the 22nd.
    assert daily_summary(demo_engine, date(2020, 11, 22))["incidents"]["total"] == 1
