"""`report_signed`: a chief signs the report of a reporting day: its sha256, the report itself
(so every node holds the text signed) and the heads of the logs its signer had seen (the
checkpoint a published report carries beside its content)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from truceline.domain.actions.assessment_filed import SHA256
from truceline.domain.actions.base import Payload, Refused, State, who
from truceline.domain.canonical import canonical_sha256
from truceline.domain.ledger import Entry
from truceline.i18n.message import M

NAME = "report_signed"


class Head(Payload):
    seq: int = Field(ge=0)
    hash: str = Field(pattern=SHA256)


class SignedPayload(Payload):
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    sha256: str = Field(pattern=SHA256)
    report: dict[str, Any]
    heads: dict[str, Head] = Field(default_factory=dict)


MODEL = SignedPayload


def apply(state: State, entry: Entry, payload: SignedPayload) -> None:
    if canonical_sha256(entry.payload.get("report")) != payload.sha256:
        raise Refused(M("{who}: the signed report does not match its sha256", who=who(entry)))
