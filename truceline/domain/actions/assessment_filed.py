"""`assessment_filed`: a contingent's commitment to its position in the open round of a case.
It binds: a contingent files once per round, and a revealed round takes no filing. Once every
contingent has committed, the round is sealed and the reveals may come."""

from __future__ import annotations

from pydantic import Field

from truceline.domain.actions.base import FilingRec, Payload, Refused, State, who
from truceline.domain.cases import COMMITTING, ROUND_TRANSITIONS
from truceline.domain.ledger import Entry
from truceline.i18n.message import M

NAME = "assessment_filed"
SHA256 = r"^[0-9a-f]{64}$"


class FiledPayload(Payload):
    case: str
    round: int = Field(ge=1, le=10_000)
    commitment: str = Field(pattern=SHA256)


MODEL = FiledPayload


def apply(state: State, entry: Entry, payload: FiledPayload) -> None:
    case = state.case(payload.case)
    if case is None:
        raise Refused(
            M("{who} files on a case not held: {case}…", who=who(entry), case=payload.case[:12])
        )
    found = state.round(case.key, payload.round)
    if found is None or payload.round != case.round:
        raise Refused(
            M(
                "{who} files for round {round}; the open round is {open}",
                who=who(entry),
                round=payload.round,
                open=case.round,
            )
        )
    if found.state != COMMITTING:
        raise Refused(
            M(
                "{who} files for round {round}, which every contingent has filed already "
                "(a filing binds; reconsider to file again)",
                who=who(entry),
                round=payload.round,
            )
        )
    filed = state.filings(case.key, payload.round)
    if entry.contingent in filed:
        raise Refused(
            M(
                "{who}: {contingent} has filed for round {round} already "
                "(a filing binds its contingent for the round)",
                who=who(entry),
                contingent=entry.contingent,
                round=payload.round,
            )
        )
    state.add_filing(
        FilingRec(case.key, payload.round, entry.contingent, payload.commitment, entry.time,
                  entry.actor, None)
    )  # fmt: skip
    if set(state.contingents) <= {*filed, entry.contingent}:
        expect, to = ROUND_TRANSITIONS["seal"]
        state.move_round(case.key, payload.round, expect, state=to)
