"""`observation_retracted`: the contingent that reported an observation withdraws it, saying
why. The observation stays stored and shown as retracted; it stops counting."""

from __future__ import annotations

from pydantic import Field

from truceline.domain.actions.base import Payload, Refused, State, who
from truceline.domain.ledger import Entry

NAME = "observation_retracted"


class RetractedPayload(Payload):
    observation: str = Field(min_length=1)  # its identity (uid), the same on every node
    reason: str = Field(min_length=1, max_length=20_000)


MODEL = RetractedPayload


def apply(state: State, entry: Entry, payload: RetractedPayload) -> None:
    reporter = state.observation_reporter(payload.observation)
    if reporter is None:
        raise Refused(f"{who(entry)} retracts an observation not held: {payload.observation}")
    if reporter != entry.contingent:
        raise Refused(
            f"{who(entry)}: only {reporter}, which reported it, may retract observation "
            f"{payload.observation}"
        )
    if state.retracted(payload.observation):
        raise Refused(f"{who(entry)}: observation {payload.observation} is retracted already")
    state.add_retraction(payload.observation, entry.contingent, payload.reason, entry.time)
