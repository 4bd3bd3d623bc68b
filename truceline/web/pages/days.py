"""The reporting day a page shows."""

from __future__ import annotations

from datetime import UTC, datetime
from datetime import date as date_type

from sqlalchemy import Engine

from truceline.domain.reporting import day_bounds, reporting_day
from truceline.domain.timeutil import from_us, to_us
from truceline.services.report import parse_day
from truceline.store import compliance
from truceline.store.missions import load_mission


def chosen_day(engine: Engine, date: str | None) -> tuple[date_type, int, int]:
    """The reporting day asked for (YYYY-MM-DD), else the latest with data (today's, when
    data comes in today), with its bounds in microseconds."""
    with engine.connect() as conn:
        mission = load_mission(conn)
        latest = compliance.data_extent(conn)[1]
    if date:
        day = parse_day(date)
    else:
        now = datetime.now(UTC)
        moment = now if latest is None else min(now, from_us(latest))
        day = reporting_day(moment, mission.report_cutoff, mission.timezone)
    start, end = day_bounds(day, mission.report_cutoff, mission.timezone)
    return day, to_us(start), to_us(end)
