"""`user_changed`: an account disabled or enabled again, or given another role within its
contingent; an entry of the log that holds the account."""

from __future__ import annotations

from dataclasses import replace

from pydantic import Field, model_validator

from truceline.domain.actions.base import Payload, Refused, State, who
from truceline.domain.actions.user_added import Role
from truceline.domain.ledger import Entry
from truceline.i18n.message import M

NAME = "user_changed"


class ChangedPayload(Payload):
    user: str = Field(pattern=r"^[A-Za-z0-9._-]{2,64}$")
    role: Role | None = None
    disabled: bool | None = None

    @model_validator(mode="after")
    def something(self) -> ChangedPayload:
        if self.role is None and self.disabled is None:
            raise ValueError(M("a change of role or of the disabled state"))
        return self


MODEL = ChangedPayload


def apply(state: State, entry: Entry, payload: ChangedPayload) -> None:
    user = state.user(payload.user)
    if user is None:
        raise Refused(
            M("{who} changes a user not held: {user!r}", who=who(entry), user=payload.user)
        )
    if user.logged_by != entry.contingent:
        raise Refused(
            M(
                "{who} changes {user!r}, whose account is in {log}'s log",
                who=who(entry),
                user=payload.user,
                log=user.logged_by,
            )
        )
    role = user.role if payload.role is None else payload.role
    member = {"officer", "chief"}
    if (role in member) != (user.role in member) or (role == "liaison") != (user.role == "liaison"):
        raise Refused(
            M(
                "{who}: a {role} cannot become a {new_role}",
                who=who(entry),
                role=user.role,
                new_role=role,
            )
        )
    disabled = user.disabled if payload.disabled is None else payload.disabled
    state.put_user(replace(user, role=role, disabled=disabled), entry.time)
