"""Times as integers of microseconds since 1970-01-01T00:00:00Z (exact, database-neutral)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("time has no offset")
    return (moment - EPOCH) // ONE_US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def iso(us: int) -> str:
    """ISO 8601 in UTC with a `Z`, seconds precision unless sub-second parts exist."""
    moment = from_us(us)
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")
