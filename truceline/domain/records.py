"""Field parsing shared by every importer: text or JSON values in, exact values or a reason out.

A builder collects every problem of a record as (column, reason); importers add the location.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

MAX_TEXT = 100_000  # characters in a free-text field
MAX_WORD = 200  # characters in an id or a vocabulary field
_FORMULA = re.compile(r"^(?:[=@]|[+\-][^\d\s.])")


class Problems(list[tuple[str, str]]):
    """(column, reason) pairs of one record."""

    def add(self, column: str, reason: str) -> None:
        self.append((column, reason))


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def looks_like_formula(text: str) -> bool:
    return _FORMULA.match(text) is not None


def text(value: Any, column: str, problems: Problems, limit: int = MAX_TEXT) -> str | None:
    if blank(value):
        return None
    if not isinstance(value, str):
        problems.add(column, f"expected text, found {type(value).__name__}")
        return None
    if len(value) > limit:
        problems.add(column, f"{len(value):,} characters, more than the {limit:,} allowed")
        return None
    if looks_like_formula(value):
        problems.add(
            column,
            f"starts with {value[:1]!r} like a spreadsheet formula; formulas are not imported "
            "(CSV injection guard): remove the leading sign",
        )
        return None
    if "\x00" in value:
        problems.add(column, "contains a NUL character")
        return None
    return value.strip() if limit == MAX_WORD else value


def word(value: Any, column: str, problems: Problems) -> str | None:
    return text(value, column, problems, MAX_WORD)


def number(value: Any, column: str, problems: Problems) -> float | None:
    if blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        problems.add(column, f"expected a number, found {type(value).__name__}")
        return None
    try:
        result = float(value)
    except ValueError:
        value = str(value)
        shown = value if len(value) <= 40 else value[:40] + "…"
        reason = f"not a number: {shown!r}"
        if looks_like_formula(value):
            reason += " (looks like a spreadsheet formula; formulas are not imported)"
        problems.add(column, reason)
        return None
    if not math.isfinite(result):
        problems.add(column, f"not a finite number: {value!r}")
        return None
    return result


def integer(value: Any, column: str, problems: Problems) -> int | None:
    if blank(value):
        return None
    if isinstance(value, bool):
        problems.add(column, "expected an integer, found bool")
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        stripped = value.strip()
        if re.fullmatch(r"[+-]?\d{1,18}", stripped):
            return int(stripped)
    problems.add(column, f"not an integer: {value!r}")
    return None


def latitude(value: Any, column: str, problems: Problems) -> float | None:
    result = number(value, column, problems)
    if result is not None and not -90 <= result <= 90:
        problems.add(column, f"latitude {result} is outside -90..90")
        return None
    return result


def longitude(value: Any, column: str, problems: Problems) -> float | None:
    result = number(value, column, problems)
    if result is not None and not -180 <= result <= 180:
        problems.add(column, f"longitude {result} is outside -180..180")
        return None
    return result


def moment(value: Any, column: str, problems: Problems) -> int | None:
    """An ISO 8601 time with offset as microseconds since the epoch."""
    if blank(value):
        return None
    if not isinstance(value, str):
        problems.add(column, f"expected an ISO 8601 time, found {type(value).__name__}")
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        problems.add(column, f"not an ISO 8601 time: {value[:40]!r}")
        return None
    if parsed.tzinfo is None:
        problems.add(column, f"time {value!r} has no offset (write e.g. +04:00 or Z)")
        return None
    us = seconds_to_us(parsed.timestamp())
    if not 0 <= us < LAST_US:
        problems.add(column, f"time {value!r} is outside the years 1970–2099 (check the year)")
        return None
    return us


# Times are accepted from 1970 up to the end of 2099. In that range the float of seconds from
# `datetime.timestamp()` is within half a microsecond of the exact value, so rounding it gives
# the exact microsecond count (and numpy's vectorised rounding gives the same integers).
LAST_US = 4_102_444_800_000_000  # 2100-01-01T00:00:00Z


def seconds_to_us(seconds: float) -> int:
    return round(seconds * 1_000_000)


def e7(degrees: float) -> int:
    return round(degrees * 1e7)


def float_text(value: float | None) -> str | None:
    """A float for canonical JSON: its shortest round-trip text."""
    return None if value is None else repr(value)
