"""Canonical JSON: the one byte form that hashes and signatures are computed over.

For our values (strings, booleans, null, integers within ±2⁵³, lists and objects of these)
it is RFC 8785, the JSON Canonicalization Scheme: UTF-8, no whitespace, object keys sorted
by their UTF-16 code units, strings escaped as ECMAScript's JSON.stringify does (a test holds
it to the `rfc8785` package). Values that must be exact (coordinates, times) are integers
(1e-7 degrees, microseconds) or strings; a float, where one is unavoidable, is written with
Python's shortest round-trip representation.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from truceline.i18n.message import M

_ASTRAL = re.compile(rb"[\xf0-\xf4]")  # the lead byte of a character beyond the BMP (UTF-8)


def canonical_json(value: Any) -> bytes:
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    data = text.encode("utf-8")
    if _ASTRAL.search(data) is not None:
        # a key beyond the BMP may sort otherwise by UTF-16 code units than by code points
        text = json.dumps(
            _utf16_sorted(value), separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        data = text.encode("utf-8")
    return data


def _utf16_sorted(value: Any) -> Any:
    """`value` with every object's keys in RFC 8785's order (UTF-16 code units)."""
    if isinstance(value, dict):
        return {
            k: _utf16_sorted(value[k])
            for k in sorted(value, key=lambda k: str(k).encode("utf-16-be"))
        }
    if isinstance(value, (list, tuple)):
        return [_utf16_sorted(v) for v in value]
    return value


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_sha256(value: Any) -> str:
    return sha256_hex(canonical_json(value))


IJSON_MAX = 2**53


def ijson_problem(value: Any, where: str = "") -> str | None:
    """Why `value` is not canonical data (I-JSON: strings, booleans, null, integers within
    ±2⁵³, lists and objects of these; never floats), or None when it is."""
    if value is None or isinstance(value, (bool, str)):
        return None
    if isinstance(value, int):
        return (
            None
            if -IJSON_MAX <= value <= IJSON_MAX
            else M("{where}: {value} is beyond ±2^53", where=where or M("a value"), value=value)
        )
    if isinstance(value, float):
        return M(
            "{where}: {value!r} is a float (canonical values are strings or integers)",
            where=where or M("a value"),
            value=value,
        )
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = ijson_problem(item, f"{where}[{index}]")
            if found:
                return found
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return M(
                    "{where}: key {key!r} is not a string", where=where or M("an object"), key=key
                )
            found = ijson_problem(item, f"{where}.{key}" if where else key)
            if found:
                return found
        return None
    return M("{where}: {type} is not JSON", where=where or M("a value"), type=type(value).__name__)


def without_floats(value: Any) -> Any:
    """The same data with every float written as its shortest round-trip text, so that it
    is canonical (I-JSON): what a signed report carries of coordinates and measures."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return {k: without_floats(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_floats(v) for v in value]
    return value


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's `object_pairs_hook`: a key given twice is an error (a reader could be
    shown either value)."""
    held: dict[str, Any] = {}
    for key, value in pairs:
        if key in held:
            raise ValueError(M("duplicate key {key!r}", key=key[:40]))
        held[key] = value
    return held
