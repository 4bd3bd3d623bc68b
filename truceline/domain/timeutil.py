"""Times as integers of microseconds since 1970-01-01T00:00:00Z (exact, database-neutral)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

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


def iso_many(values: list[int]) -> list[str]:
    """`iso` of many times at once (vectorised; the same text as `iso` of each)."""
    if not values:
        return []
    moments = np.array(values, dtype=np.int64).astype("datetime64[us]")
    whole = np.datetime_as_string(moments, unit="s")
    fine = np.datetime_as_string(moments, unit="us")
    texts = np.where(moments.astype(np.int64) % 1_000_000 == 0, whole, fine)
    return [f"{text}Z" for text in texts.tolist()]
