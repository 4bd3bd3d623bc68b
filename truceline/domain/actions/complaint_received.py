"""`complaint_received`: a party's complaint, received by a contingent. The entry carries the
complaint itself (what, when, where, against whom, the narrative, the attachments' sha256) and
its sha256, which every contingent's receipt names alike. The complaint's response clock runs
from its first receipt."""

from __future__ import annotations

from pydantic import Field, model_validator

from truceline.domain.actions.assessment_filed import SHA256
from truceline.domain.actions.base import Payload, Refused, State, who
from truceline.domain.canonical import canonical_sha256
from truceline.domain.ledger import Entry
from truceline.domain.records import LAST_US
from truceline.domain.vocabulary import KINDS, UNKNOWN_ACTOR
from truceline.i18n.message import M

NAME = "complaint_received"
NARRATIVE_MAX = 20_000


class Attachment(Payload):
    name: str = Field(min_length=1, max_length=255)
    sha256: str = Field(pattern=SHA256)
    size: int = Field(ge=0)


class Complaint(Payload):
    """A complaint as every node holds it: integers of µs and of 1e-7 degrees."""

    party: str
    kind: str
    against: str
    observed_from: int = Field(ge=0, lt=LAST_US)
    observed_to: int = Field(ge=0, lt=LAST_US)
    lat_e7: int | None = Field(default=None, ge=-900_000_000, le=900_000_000)
    lon_e7: int | None = Field(default=None, ge=-1_800_000_000, le=1_800_000_000)
    zone: str | None = None
    narrative: str = Field(min_length=1, max_length=NARRATIVE_MAX)
    attachments: list[Attachment] = Field(default_factory=list)
    filed_by: str = Field(min_length=1, max_length=64)
    nonce: str = Field(min_length=8, max_length=64)  # two identical complaints stay two

    @model_validator(mode="after")
    def consistent(self) -> Complaint:
        if self.observed_to < self.observed_from:
            raise ValueError(M("the time window ends before it starts"))
        if (self.lat_e7 is None) != (self.lon_e7 is None):
            raise ValueError(M("lat and lon go together"))
        if self.lat_e7 is None and self.zone is None:
            raise ValueError(M("a place: a point or a zone"))
        return self

    def sha256(self) -> str:
        return canonical_sha256(self.model_dump(mode="json"))


class ReceivedPayload(Payload):
    complaint: str = Field(pattern=SHA256)
    document: Complaint


MODEL = ReceivedPayload


def apply(state: State, entry: Entry, payload: ReceivedPayload) -> None:
    document = payload.document
    if document.sha256() != payload.complaint:
        raise Refused(
            M("{who}: the complaint does not hash to the sha256 it names", who=who(entry))
        )
    if document.party not in state.parties:
        raise Refused(M("{who}: {party!r} is not a party", who=who(entry), party=document.party))
    if document.kind not in KINDS:
        raise Refused(M("{who}: {kind!r} is not a kind", who=who(entry), kind=document.kind))
    if document.against != UNKNOWN_ACTOR and document.against not in state.parties:
        raise Refused(M("{who}: {party!r} is not a party", who=who(entry), party=document.against))
    if entry.contingent in state.receipts(payload.complaint):
        raise Refused(
            M(
                "{who}: {contingent} has received this complaint already",
                who=who(entry),
                contingent=entry.contingent,
            )
        )
    if not state.complaint_known(payload.complaint):
        state.add_complaint(
            payload.complaint, document.model_dump(mode="json"), entry.time, entry.contingent
        )
    state.add_receipt(payload.complaint, entry.contingent, entry.time)
