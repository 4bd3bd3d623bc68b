"""Joint verification: a case has rounds, numbered from 1, one open at a time. In a round each
contingent commits to one position (a filing binds: no second filing in a round); once every
contingent has committed the round is sealed and each contingent reveals exactly the position
it committed to; once all are revealed the round's verdict is derived, never set by hand.
After a reveal any contingent may open the next round (reconsideration), blind again; until it
completes, the previous verdict stands. The verdict is the latest complete round's.

The case and round states are columns; a transition is a conditional update from the state
this table allows (`UPDATE … WHERE state = ?`), so two writers can never both move one case."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from truceline.domain.canonical import canonical_sha256

POSITIONS = ("confirmed", "not_confirmed", "inconclusive")
UNDETERMINED = "undetermined"

# Round states: committing (filings come in), sealed (every contingent has committed; the
# reveals come in), revealed (every position is known; the round has a verdict).
COMMITTING, SEALED, REVEALED = "committing", "sealed", "revealed"
# Case states: open (its first round is not revealed), decided (its latest round is revealed),
# reconsidering (a later round is open; the previous verdict stands meanwhile).
OPEN, DECIDED, RECONSIDERING = "open", "decided", "reconsidering"

ROUND_TRANSITIONS: dict[str, tuple[str, str]] = {
    "seal": (COMMITTING, SEALED),
    "reveal": (SEALED, REVEALED),
}
CASE_TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "decide": ((OPEN, RECONSIDERING), DECIDED),
    "reconsider": ((DECIDED,), RECONSIDERING),
}


@dataclass(frozen=True)
class Position:
    verdict: str  # one of POSITIONS
    attribution: str  # a party id or "undetermined"
    rationale: str


def verdict(contingents: Sequence[str], current: Mapping[str, Position]) -> str:
    """`pending` until every contingent's position is known; then `confirmed` (all confirmed,
    the same attribution), `rejected` (all not confirmed), `inconclusive` (all inconclusive),
    else `disputed` (the positions differ; every one is kept and shown)."""
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


def commitment(position: Position, salt: str, *, case: str, round: int, contingent: str) -> str:
    """The hash a log entry carries for a filing: it binds the contingent to its position in
    this round of this case without showing it. The case, round and contingent are inside,
    so a commitment copied from another contingent or another round opens to nothing."""
    return canonical_sha256(
        {"case": case, "round": round, "contingent": contingent, "verdict": position.verdict,
         "attribution": position.attribution, "rationale": position.rationale, "salt": salt}
    )  # fmt: skip


def new_salt() -> str:
    return secrets.token_hex(16)
