"""`assessment_revealed`: once a round is sealed, each contingent opens exactly the commitment
it filed in it: the position and the salt must hash to that commitment. Once every position of
the round is revealed, its verdict is derived and becomes the case's."""

from __future__ import annotations

from pydantic import Field

from truceline.domain.actions.assessment_filed import SHA256
from truceline.domain.actions.base import Payload, Refused, State, who
from truceline.domain.cases import (
    CASE_TRANSITIONS,
    POSITIONS,
    ROUND_TRANSITIONS,
    SEALED,
    UNDETERMINED,
    Position,
    commitment,
    verdict,
)
from truceline.domain.ledger import Entry

NAME = "assessment_revealed"


class RevealedPayload(Payload):
    case: str
    round: int = Field(ge=1, le=10_000)
    commitment: str = Field(pattern=SHA256)
    verdict: str
    attribution: str
    rationale: str = Field(min_length=1)
    salt: str = Field(min_length=16, max_length=128)


MODEL = RevealedPayload


def apply(state: State, entry: Entry, payload: RevealedPayload) -> None:
    found = state.round(payload.case, payload.round)
    if found is None:
        raise Refused(f"{who(entry)} reveals for a round not held")
    if found.state != SEALED:
        raise Refused(
            f"{who(entry)} reveals in round {payload.round} before every contingent has filed"
            if found.state != "revealed"
            else f"{who(entry)} reveals in round {payload.round}, revealed already"
        )
    filed = state.filings(payload.case, payload.round).get(entry.contingent)
    if filed is None or filed.commitment != payload.commitment:
        raise Refused(
            f"{who(entry)} reveals a commitment that is not {entry.contingent}'s filing in "
            f"round {payload.round}"
        )
    if filed.position is not None:
        raise Refused(f"{who(entry)} reveals its filing in round {payload.round} a second time")
    position = Position(payload.verdict, payload.attribution, payload.rationale)
    if position.verdict not in POSITIONS:
        raise Refused(f"{who(entry)}: {position.verdict!r} is not a position")
    if position.attribution != UNDETERMINED and position.attribution not in state.parties:
        raise Refused(f"{who(entry)}: {position.attribution!r} is not a party")
    opened = commitment(
        position, payload.salt, case=payload.case, round=payload.round, contingent=entry.contingent
    )
    if opened != payload.commitment:
        raise Refused(f"{who(entry)} reveals a position that is not the one it committed to")
    state.reveal_filing(payload.commitment, position, payload.salt, entry.time)
    filings = state.filings(payload.case, payload.round)
    known = {c: f.position for c, f in filings.items() if f.position is not None}
    if set(state.contingents) <= set(known):
        outcome = verdict(list(state.contingents), known)
        expect, to = ROUND_TRANSITIONS["reveal"]
        state.move_round(
            payload.case,
            payload.round,
            expect,
            state=to,
            verdict=outcome,
            revealed_at_us=entry.time,
        )
        expect_case, decided = CASE_TRANSITIONS["decide"]
        state.move_case(payload.case, expect_case, state=decided, verdict=outcome)
