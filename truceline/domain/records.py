"""Field parsing shared by every importer: text or JSON values in, exact values or a reason out.

A builder collects every problem of a record as (column, reason); importers add the location.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from truceline.i18n.message import M, Mn

MAX_TEXT = 100_000  # characters in a free-text field
MAX_WORD = 200  # characters in an id or a vocabulary field

# Spreadsheet formula guard: after any leading white space (a spreadsheet skips a leading tab,
# CR or space), `=` or `@`, or `+`/`-` followed by anything but a digit, a point or white
# space; a sign followed by white space is looked past (`- =cmd` is a formula, `- none` not).
_FORMULA = re.compile(r"\s*(?:[+\-]\s+)*(?:[=@]|[+\-][^\d\s.])")
# A plain decimal number: an optional sign, ASCII digits with an optional fraction, an
# optional exponent. No underscores (`4_0.1`), no nan or inf, no hex, no other digits (`٣`).
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE = frozenset({"nan", "inf", "infinity"})
_INTEGER = re.compile(r"[+-]?[0-9]+")
MAX_INTEGER_DIGITS = 18  # beyond this a text integer is out of every range (and of BIGINT)

# Units a range's reason names (`must be between 0 and 360 degrees`), made once.
METRES = M("m")
DEGREES = M("degrees")
METRES_PER_SECOND = M("m/s")


class Problems(list[tuple[str, str]]):
    """(column, reason) pairs of one record."""

    def add(self, column: str, reason: str) -> None:
        self.append((column, reason))


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def plain_decimal(text: str) -> bool:
    """A plain decimal number: a sign, digits, a fraction, an exponent (no `4_0.1`, `nan`,
    `inf`, hex or other digits), white space around allowed."""
    return _DECIMAL.fullmatch(text.strip()) is not None


def looks_like_formula(text: str) -> bool:
    return _FORMULA.match(text) is not None


def shown(value: Any, limit: int = 40) -> str:
    """A value as a message quotes it (a text in quotes), cut at `limit` characters."""
    if isinstance(value, str):
        return repr(value if len(value) <= limit else value[:limit] + "…")
    text = repr(value)  # a float, a short list: never a huge integer (no repr of those)
    return text if len(text) <= limit else text[:limit] + "…"


def number_text(value: float) -> str:
    """A range bound as a message writes it: `100000`, `0.5`."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def text(value: Any, column: str, problems: Problems, limit: int = MAX_TEXT) -> str | None:
    if blank(value):
        return None
    if not isinstance(value, str):
        problems.add(column, M("expected text, found {type}", type=type(value).__name__))
        return None
    if len(value) > limit:
        problems.add(
            column,
            Mn(
                "{n:,} character, more than the {limit:,} allowed",
                "{n:,} characters, more than the {limit:,} allowed",
                len(value),
                limit=limit,
            ),
        )
        return None
    if looks_like_formula(value):
        sign = value.lstrip()[:1]
        if value[:1].isspace():
            reason = M(
                "starts with {sign!r} (after white space) like a spreadsheet formula; formulas "
                "are not imported (CSV injection guard): remove the leading sign",
                sign=sign,
            )
        else:
            reason = M(
                "starts with {sign!r} like a spreadsheet formula; formulas are not imported "
                "(CSV injection guard): remove the leading sign",
                sign=sign,
            )
        problems.add(column, reason)
        return None
    if "\x00" in value:
        problems.add(column, M("contains a NUL character"))
        return None
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            problems.add(column, M("not valid Unicode text (a lone surrogate)"))
            return None
    return value.strip() if limit == MAX_WORD else value


def word(value: Any, column: str, problems: Problems) -> str | None:
    return text(value, column, problems, MAX_WORD)


def number(
    value: Any,
    column: str,
    problems: Problems,
    low: float | None = None,
    high: float | None = None,
    unit: str = "",
) -> float | None:
    """A finite number from a JSON number or a plain decimal text, within [low, high] when
    given (the reason then names the range: `must be between 0 and 100000 m`)."""
    if blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        problems.add(column, M("expected a number, found {type}", type=type(value).__name__))
        return None
    if isinstance(value, str):
        stripped = value.strip()
        if not plain_decimal(stripped):
            problems.add(column, _not_a_number(value, stripped))
            return None
        result = float(stripped)  # may be inf: `1e400`
    else:
        try:
            result = float(value)
        except OverflowError:  # an integer beyond any float
            result = math.inf if value > 0 else -math.inf
    if math.isnan(result):
        problems.add(column, M("not a finite number: {value}", value=shown(value)))
        return None
    if (low is not None and result < low) or (high is not None and result > high):
        problems.add(column, range_reason(low, high, unit))
        return None
    if math.isinf(result):
        problems.add(
            column,
            M("number too large")
            if type(value) is int
            else M("not a finite number: {value}", value=shown(value)),
        )
        return None
    return result


def _not_a_number(value: str, stripped: str) -> str:
    if stripped.lstrip("+-").lower() in _NON_FINITE:
        return M("not a finite number: {value}", value=shown(value))
    if looks_like_formula(value):
        return M(
            "not a number: {value} (looks like a spreadsheet formula; formulas are not imported)",
            value=shown(value),
        )
    try:
        float(stripped)
    except ValueError:
        return M("not a number: {value}", value=shown(value))
    return M(
        "not a number: {value} (write a plain decimal number such as 40.25 or -1.5e3)",
        value=shown(value),
    )


def range_reason(low: float | None, high: float | None, unit: str = "") -> str:
    """`must be between 0 and 100000 m`, or `must be at least 1` for a bound on one side."""
    if low is not None and high is not None:
        low_text, high_text = number_text(low), number_text(high)
        if unit:
            return M(
                "must be between {low} and {high} {unit}", low=low_text, high=high_text, unit=unit
            )
        return M("must be between {low} and {high}", low=low_text, high=high_text)
    if low is not None:
        if unit:
            return M("must be at least {low} {unit}", low=number_text(low), unit=unit)
        return M("must be at least {low}", low=number_text(low))
    assert high is not None
    if unit:
        return M("must be at most {high} {unit}", high=number_text(high), unit=unit)
    return M("must be at most {high}", high=number_text(high))


def integer(
    value: Any,
    column: str,
    problems: Problems,
    low: int | None = None,
    high: int | None = None,
) -> int | None:
    """An integer from a JSON number or a text of ASCII digits, within [low, high] when given
    (the reason names the bound it passes: `must be at least 1`, `must be at most 100000`)."""
    if blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        problems.add(column, M("expected an integer, found {type}", type=type(value).__name__))
        return None
    result: int | None = None
    negative: bool | None = None  # an integer too long to hold (a sign is kept)
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if value.is_integer():
            result = int(value)
        elif math.isinf(value):  # a JSON integer of more than 4,300 digits
            negative = value < 0
    elif isinstance(value, str):
        stripped = value.strip()
        if _INTEGER.fullmatch(stripped):
            if len(stripped.lstrip("+-")) <= MAX_INTEGER_DIGITS:
                result = int(stripped)
            else:
                negative = stripped.startswith("-")
    if negative is not None:
        bound = low if negative else high
        if bound is None:
            problems.add(column, M("integer out of range"))
        else:
            problems.add(column, range_reason(*((bound, None) if negative else (None, bound))))
        return None
    if result is None:
        problems.add(column, M("not an integer: {value}", value=shown(value)))
        return None
    if low is not None and result < low:
        problems.add(column, range_reason(low, None))
        return None
    if high is not None and result > high:
        problems.add(column, range_reason(None, high))
        return None
    return result


def latitude(value: Any, column: str, problems: Problems) -> float | None:
    result = number(value, column, problems)
    if result is not None and not -90 <= result <= 90:
        problems.add(column, M("latitude {value} is outside -90..90", value=result))
        return None
    return result


def longitude(value: Any, column: str, problems: Problems) -> float | None:
    result = number(value, column, problems)
    if result is not None and not -180 <= result <= 180:
        problems.add(column, M("longitude {value} is outside -180..180", value=result))
        return None
    return result


def moment(value: Any, column: str, problems: Problems) -> int | None:
    """An ISO 8601 time with offset as microseconds since the epoch."""
    if blank(value):
        return None
    if not isinstance(value, str):
        problems.add(
            column, M("expected an ISO 8601 time, found {type}", type=type(value).__name__)
        )
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        problems.add(column, M("not an ISO 8601 time: {value!r}", value=value[:40]))
        return None
    if parsed.tzinfo is None:
        problems.add(
            column, M("time {value!r} has no offset (write e.g. +04:00 or Z)", value=value)
        )
        return None
    us = seconds_to_us(parsed.timestamp())
    if not 0 <= us < LAST_US:
        problems.add(
            column, M("time {value!r} is outside the years 1970–2099 (check the year)", value=value)
        )
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
