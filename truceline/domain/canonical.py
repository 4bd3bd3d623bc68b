"""Canonical JSON: the one byte form that hashes and signatures are computed over.

UTF-8, keys sorted, no whitespace. Values that must be exact (coordinates, times) are integers
(1e-7 degrees, microseconds) or strings; a float, where one is unavoidable, is written with
Python's shortest round-trip representation.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_sha256(value: Any) -> str:
    return sha256_hex(canonical_json(value))
