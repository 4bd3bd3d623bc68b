"""Canonical data: floats never enter a signed payload."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from truceline.domain.canonical import ijson_problem, without_floats

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=5)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip


def same_but_floats(original: Any, converted: Any) -> bool:
    """`converted` is `original` with each float as a text that reads back to it exactly."""
    if isinstance(original, float):
        return isinstance(converted, str) and float(converted) == original
    if isinstance(original, dict):
        return original.keys() == converted.keys() and all(
            same_but_floats(original[k], converted[k]) for k in original
        )
    if isinstance(original, list):
        return len(original) == len(converted) and all(
            same_but_floats(a, b) for a, b in zip(original, converted, strict=True)
        )
    return type(original) is type(converted) and original == converted


@given(JSON)
def test_data_without_floats_is_canonical_and_keeps_every_float_exactly(value: Any) -> None:
    converted = without_floats(value)
    assert ijson_problem(converted) is None
    assert same_but_floats(value, converted)


def test_a_float_or_a_huge_integer_is_named_with_its_place() -> None:
    assert ijson_problem({"a": [1, 2.5]}) == (
        "a[1]: 2.5 is a float (canonical values are strings or integers)"
    )
    assert ijson_problem({"n": 2**60}) == f"n: {2**60} is beyond ±2^53"
