"""`round_opened`: a contingent asks to reconsider a decided case: the next round opens, and
every contingent files again, blind again. The previous verdict stands until it completes.
Two contingents opening the same round at once open it once."""

from __future__ import annotations

from pydantic import Field

from truceline.domain.actions.base import Payload, Refused, RoundRec, State, who
from truceline.domain.cases import CASE_TRANSITIONS, COMMITTING, REVEALED
from truceline.domain.ledger import Entry
from truceline.i18n.message import M

NAME = "round_opened"


class RoundPayload(Payload):
    case: str
    round: int = Field(ge=2, le=10_000)
    reason: str = Field(min_length=1, max_length=20_000)


MODEL = RoundPayload


def apply(state: State, entry: Entry, payload: RoundPayload) -> None:
    case = state.case(payload.case)
    if case is None:
        raise Refused(
            M("{who} reconsiders a case not held: {case}…", who=who(entry), case=payload.case[:12])
        )
    if state.round(case.key, payload.round) is not None and payload.round == case.round:
        return  # another contingent opened this round first: one round
    if payload.round != case.round + 1:
        raise Refused(
            M(
                "{who} opens round {round} of a case whose latest round is {latest}",
                who=who(entry),
                round=payload.round,
                latest=case.round,
            )
        )
    latest = state.round(case.key, case.round)
    if latest is None or latest.state != REVEALED:
        raise Refused(
            M(
                "{who} opens round {round} before round {latest} is revealed",
                who=who(entry),
                round=payload.round,
                latest=case.round,
            )
        )
    state.add_round(
        RoundRec(
            case.key, payload.round, COMMITTING, entry.time, entry.contingent, payload.reason, None
        )
    )
    expect, to = CASE_TRANSITIONS["reconsider"]
    state.move_case(case.key, expect, state=to, round=payload.round)
