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
from truceline.i18n.message import M

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
        raise Refused(M("{who} reveals for a round not held", who=who(entry)))
    if found.state != SEALED:
        raise Refused(
            M(
                "{who} reveals in round {round} before every contingent has filed",
                who=who(entry),
                round=payload.round,
            )
            if found.state != "revealed"
            else M(
                "{who} reveals in round {round}, revealed already",
                who=who(entry),
                round=payload.round,
            )
        )
    filed = state.filings(payload.case, payload.round).get(entry.contingent)
    if filed is None or filed.commitment != payload.commitment:
        raise Refused(
            M(
                "{who} reveals a commitment that is not {contingent}'s filing in round {round}",
                who=who(entry),
                contingent=entry.contingent,
                round=payload.round,
            )
        )
    if filed.position is not None:
        raise Refused(
            M(
                "{who} reveals its filing in round {round} a second time",
                who=who(entry),
                round=payload.round,
            )
        )
    position = Position(payload.verdict, payload.attribution, payload.rationale)
    if position.verdict not in POSITIONS:
        raise Refused(
            M("{who}: {verdict!r} is not a position", who=who(entry), verdict=position.verdict)
        )
    if position.attribution != UNDETERMINED and position.attribution not in state.parties:
        raise Refused(
            M("{who}: {party!r} is not a party", who=who(entry), party=position.attribution)
        )
    opened = commitment(
        position, payload.salt, case=payload.case, round=payload.round, contingent=entry.contingent
    )
    if opened != payload.commitment:
        raise Refused(
            M("{who} reveals a position that is not the one it committed to", who=who(entry))
        )
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
