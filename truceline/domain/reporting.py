"""Reporting days: from the cutoff of one day to the cutoff of the next, in the mission's time
zone. With `report_cutoff: "19:30"`, the reporting day of 21 November runs from 20 November
19:30 to 21 November 19:30 local time, so an event at 19:40 belongs to the next day's report.
A cutoff of 00:00 makes reporting days calendar days."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

FIRST_YEAR, LAST_YEAR = 1970, 2099  # the years times are accepted in (see records.LAST_US)


def supported_day(day: date) -> bool:
    """Whether a reporting day lies in the years the centre records times in."""
    return FIRST_YEAR <= day.year <= LAST_YEAR


def day_end(day: date, cutoff: time, zone: ZoneInfo) -> datetime:
    """The moment that closes reporting day `day`."""
    closing = day if cutoff != time(0, 0) else day + timedelta(days=1)
    return datetime.combine(closing, cutoff, tzinfo=zone)


def day_bounds(day: date, cutoff: time, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of reporting day `day`."""
    return day_end(day - timedelta(days=1), cutoff, zone), day_end(day, cutoff, zone)


def reporting_day(moment: datetime, cutoff: time, zone: ZoneInfo) -> date:
    """The reporting day an event at `moment` belongs to."""
    local = moment.astimezone(zone)
    day = local.date()
    if cutoff == time(0, 0):
        return day
    return day + timedelta(days=1) if local.time() >= cutoff else day
