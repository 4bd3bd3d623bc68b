"""The reporting day a page shows."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, datetime
from datetime import date as date_type

from sqlalchemy import Connection, Engine

from truceline.domain.reporting import day_bounds, reporting_day
from truceline.domain.timeutil import from_us, to_us
from truceline.services.report import parse_day
from truceline.store import compliance
from truceline.store.missions import load_mission


def chosen_day(
    engine: Engine, date: str | None, conn: Connection | None = None
) -> tuple[date_type, int, int]:
    """The reporting day asked for (YYYY-MM-DD), else the latest with data (today's, when
    data comes in today), with its bounds in microseconds (read on `conn` when given)."""
    with engine.connect() if conn is None else nullcontext(conn) as conn:
        mission = load_mission(conn)
        latest = None if date else compliance.latest_start(conn)
    if date:
        day = parse_day(date)
    else:
        now = datetime.now(UTC)
        moment = now if latest is None else min(now, from_us(latest))
        day = reporting_day(moment, mission.report_cutoff, mission.timezone)
    start, end = day_bounds(day, mission.report_cutoff, mission.timezone)
    return day, to_us(start), to_us(end)
