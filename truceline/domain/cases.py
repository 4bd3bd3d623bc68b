"""Joint verification: each contingent files one assessment of a case; the verdict is derived,
never set by hand. Assessments are blind: none is shown to another contingent until every
contingent has filed, then all are revealed together."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from truceline.domain.canonical import canonical_sha256

POSITIONS = ("confirmed", "not_confirmed", "inconclusive")
UNDETERMINED = "undetermined"


@dataclass(frozen=True)
class Position:
    verdict: str  # one of POSITIONS
    attribution: str  # a party id or "undetermined"
    rationale: str


def verdict(contingents: Sequence[str], current: Mapping[str, Position]) -> str:
    """`pending` until every contingent has filed; then `confirmed` (all confirmed, the same
    attribution), `rejected` (all not confirmed), `inconclusive` (all inconclusive), else
    `disputed` (the positions differ; every one is kept and shown)."""
    if any(c not in current for c in contingents):
        return "pending"
    positions = [current[c] for c in contingents]
    kinds = {p.verdict for p in positions}
    if kinds == {"confirmed"} and len({p.attribution for p in positions}) == 1:
        return "confirmed"
    if kinds == {"not_confirmed"}:
        return "rejected"
    if kinds == {"inconclusive"}:
        return "inconclusive"
    return "disputed"


def commitment(position: Position, salt: str) -> str:
    """The hash a log entry carries for a filed assessment: it binds the contingent to its
    position without showing it (the position and salt are revealed once all have filed)."""
    return canonical_sha256(
        {"verdict": position.verdict, "attribution": position.attribution,
         "rationale": position.rationale, "salt": salt}
    )  # fmt: skip


def new_salt() -> str:
    return secrets.token_hex(16)
