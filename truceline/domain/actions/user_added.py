"""`user_added`: an account and its role. Officers and chiefs belong to a contingent and are
entries of that contingent's log only; liaisons (of a party) and admins are entries of the log
that added them. Password hashes, sessions and tokens are local to a node, never logged."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from truceline.domain.actions.base import Payload, Refused, State, UserRec, who
from truceline.domain.ledger import Entry
from truceline.i18n.message import M

NAME = "user_added"
ROLES = ("officer", "chief", "liaison", "admin")
Role = Literal["officer", "chief", "liaison", "admin"]


class AddedPayload(Payload):
    user: str = Field(pattern=r"^[A-Za-z0-9._-]{2,64}$")
    role: Role
    contingent: str | None = None
    party: str | None = None

    @model_validator(mode="after")
    def membership(self) -> AddedPayload:
        if self.role in ("officer", "chief") and (self.contingent is None or self.party):
            raise ValueError(M("a {role} belongs to a contingent", role=self.role))
        if self.role == "liaison" and (self.party is None or self.contingent):
            raise ValueError(M("a liaison belongs to a party"))
        if self.role == "admin" and (self.party or self.contingent):
            raise ValueError(M("an admin belongs to no contingent or party"))
        return self


MODEL = AddedPayload


def apply(state: State, entry: Entry, payload: AddedPayload) -> None:
    if payload.contingent is not None and payload.contingent != entry.contingent:
        raise Refused(
            M(
                "{who} adds a user of {contingent}: only {contingent}'s log holds its accounts",
                who=who(entry),
                contingent=payload.contingent,
            )
        )
    if payload.party is not None and payload.party not in state.parties:
        raise Refused(M("{who}: {party!r} is not a party", who=who(entry), party=payload.party))
    if state.user(payload.user) is not None:
        raise Refused(M("{who}: user {user!r} exists already", who=who(entry), user=payload.user))
    state.put_user(
        UserRec(payload.user, payload.role, payload.contingent, payload.party, False,
                entry.contingent),
        entry.time,
    )  # fmt: skip
