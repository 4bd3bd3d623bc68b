"""`observation_retracted`: the contingent that reported an observation withdraws it, saying
why. The observation stays stored and shown as retracted; it stops counting."""

from __future__ import annotations

from pydantic import Field

from truceline.domain.actions.base import Payload, Refused, State, who
from truceline.domain.ledger import Entry
from truceline.i18n.message import M

NAME = "observation_retracted"


class RetractedPayload(Payload):
    observation: str = Field(min_length=1)  # its identity (uid), the same on every node
    reason: str = Field(min_length=1, max_length=20_000)


MODEL = RetractedPayload


def apply(state: State, entry: Entry, payload: RetractedPayload) -> None:
    reporter = state.observation_reporter(payload.observation)
    if reporter is None:
        raise Refused(
            M(
                "{who} retracts an observation not held: {observation}",
                who=who(entry),
                observation=payload.observation,
            )
        )
    if reporter != entry.contingent:
        raise Refused(
            M(
                "{who}: only {reporter}, which reported it, may retract observation {observation}",
                who=who(entry),
                reporter=reporter,
                observation=payload.observation,
            )
        )
    if state.retracted(payload.observation):
        raise Refused(
            M(
                "{who}: observation {observation} is retracted already",
                who=who(entry),
                observation=payload.observation,
            )
        )
    state.add_retraction(payload.observation, entry.contingent, payload.reason, entry.time)
