"""What every action of the logs shares: the joint state an action reads and changes (a
protocol that the store implements over the tables), the records it holds, and `Refused`.

An action module (one per action, registered in `__init__.py`) has `NAME`, a `Payload` model
(strict: exactly the fields of the payload, canonical values only) and `apply(state, entry,
payload)`, which checks the entry against the joint state and changes it; it raises `Refused`
naming why an entry cannot take effect. Actions do no I/O of their own."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from truceline.domain.cases import Position
from truceline.domain.ledger import Entry


class Refused(Exception):
    """An entry that cannot take effect, and why."""


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NoProjection(Payload):
    """Evidence actions (the mission, import batches, assessment runs): their payload is
    checked against the stored evidence by `ledger verify`, and changes no joint state."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)


@dataclass(frozen=True)
class CaseRec:
    key: str  # the hash of the entry that opened it
    subject_key: str  # "finding:<key>" or "complaint:<sha256>"
    subject: dict[str, Any]
    opened_at: int
    opened_by: str
    state: str
    duplicate_of: str | None
    round: int  # the latest round's number
    verdict: str  # the latest complete round's, or pending


@dataclass(frozen=True)
class RoundRec:
    case: str
    number: int
    state: str
    opened_at: int
    opened_by: str
    reason: str | None
    verdict: str | None


@dataclass(frozen=True)
class FilingRec:
    case: str
    round: int
    contingent: str
    commitment: str
    filed_at: int
    actor: str
    position: Position | None  # once revealed


@dataclass(frozen=True)
class UserRec:
    name: str
    role: str
    contingent: str | None
    party: str | None
    disabled: bool
    logged_by: str  # the contingent whose log holds the account


class State(Protocol):
    """The joint state as the actions see it."""

    contingents: Sequence[str]
    parties: Collection[str]
    response_us: int  # how long a joint answer to a complaint may take

    def case(self, key: str) -> CaseRec | None: ...
    def cases_on(self, subject_key: str) -> list[CaseRec]: ...
    def add_case(self, case: CaseRec) -> None: ...
    def set_duplicate(self, key: str, of: str | None) -> None: ...
    def move_case(self, key: str, expect: Collection[str], **values: Any) -> None: ...

    def round(self, case: str, number: int) -> RoundRec | None: ...
    def add_round(self, rec: RoundRec) -> None: ...
    def move_round(self, case: str, number: int, expect: str, **values: Any) -> None: ...

    def filings(self, case: str, number: int) -> dict[str, FilingRec]: ...
    def add_filing(self, rec: FilingRec) -> None: ...
    def reveal_filing(self, commitment: str, position: Position, salt: str, at: int) -> None: ...

    def complaint_known(self, key: str) -> bool: ...
    def add_complaint(self, key: str, document: dict[str, Any], at: int, by: str) -> None: ...
    def receipts(self, key: str) -> dict[str, int]: ...
    def add_receipt(self, key: str, contingent: str, at: int) -> None: ...

    def user(self, name: str) -> UserRec | None: ...
    def put_user(self, rec: UserRec, at: int) -> None: ...

    def observation_reporter(self, uid: str) -> str | None: ...
    def retracted(self, uid: str) -> bool: ...
    def add_retraction(self, uid: str, contingent: str, reason: str, at: int) -> None: ...


def who(entry: Entry) -> str:
    return f"{entry.contingent}#{entry.seq}"


def ignore(state: State, entry: Entry, payload: Payload) -> None:
    """The effect of an evidence action on the joint state: none."""
    return None
