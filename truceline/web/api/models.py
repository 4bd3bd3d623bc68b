"""The API's request and response models. Requests are strict (no extra field, no string for
a number) and bounded (every text and number has its limit); responses are typed, so that the
OpenAPI document says what each answer holds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from truceline.domain.limits import NAME_MAX, PASSWORD_MAX, TEXT_MAX, USER_NAME_MAX
from truceline.domain.records import MAX_TEXT

MAX_ID = 2**62
MAX_PAGE = 1000
MAX_RECORDS = 10_000
Ident = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
LongText = Annotated[str, Field(min_length=1, max_length=TEXT_MAX)]
Verdict = Literal["confirmed", "rejected", "inconclusive", "disputed", "pending"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Open(BaseModel):
    """A response: the fields named are always there; more may follow in later versions."""

    model_config = ConfigDict(extra="allow")


class TokenRequest(Strict):
    username: str = Field(max_length=USER_NAME_MAX)
    password: str = Field(max_length=PASSWORD_MAX)


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class CaseRequest(Strict):
    finding: Ident | None = None
    complaint: Ident | None = None


class AssessmentRequest(Strict):
    contingent: Name
    verdict: Literal["confirmed", "not_confirmed", "inconclusive"]
    attribution: Name = "undetermined"
    rationale: LongText
    round: int | None = Field(default=None, ge=1, le=10_000)  # must be the open round


class RoundRequest(Strict):
    contingent: Name
    reason: LongText


class RetractRequest(Strict):
    reason: LongText


class ComplaintRequest(Strict):
    party: Name
    kind: Name
    narrative: LongText
    observed_from: Annotated[datetime, Field(strict=False)]  # ISO 8601 text, with its offset
    observed_to: Annotated[datetime | None, Field(strict=False)] = None
    against: Name = "unknown"
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    zone: Name | None = None


Text = Annotated[str, Field(max_length=NAME_MAX)]
Description = Annotated[str, Field(max_length=MAX_TEXT)]  # as in the import formats
Number = float  # strict: a JSON number, never a string or a boolean


class ObservationIn(Strict):
    """One observation: the CSV columns of the import formats, numbers as JSON numbers (their
    ranges are the import formats', checked by the importer)."""

    id: Text | None = None
    observed_at: Text | None = None
    observed_from: Text | None = None
    observed_to: Text | None = None
    lat: Number | None = None
    lon: Number | None = None
    uncertainty_m: Number | None = None
    observer_lat: Number | None = None
    observer_lon: Number | None = None
    bearing_deg: Number | None = None
    distance_min_m: Number | None = None
    distance_max_m: Number | None = None
    kind: Text
    subtype: Text | None = None
    count: int | None = Field(default=None, ge=-(2**63), le=2**63 - 1)
    actor: Text | None = None
    source_kind: Text
    source: Text
    reporter: Text | None = None
    description: Description | None = None


class PositionIn(Strict):
    """One position of a unit: the columns of the positions CSV."""

    unit: Text
    time: Text
    lat: Number
    lon: Number
    actor: Text | None = None
    speed_mps: Number | None = None
    course_deg: Number | None = None
    hae_m: Number | None = None
    name: Text | None = None  # the unit's name as its device calls itself (a callsign)


ObservationsIn = ObservationIn | Annotated[list[ObservationIn], Field(max_length=MAX_RECORDS)]
PositionsIn = PositionIn | Annotated[list[PositionIn], Field(max_length=MAX_RECORDS)]


class Stored(BaseModel):
    accepted: int
    duplicates: int
    batch: int | None


class ListQuery(BaseModel):
    """A page of a list, of what starts in [since, until). (One model for the query, not a
    parameter each: FastAPI analyses each parameter again on every request.)"""

    since: datetime | None = None
    until: datetime | None = None
    zone: str | None = Field(None, max_length=NAME_MAX, description="a zone of the mission")
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_ID)


class ObservationQuery(ListQuery):
    kind: str | None = Field(None, max_length=NAME_MAX)
    bbox: str | None = Field(None, max_length=200, description="min_lon,min_lat,max_lon,max_lat")


class IncidentQuery(ObservationQuery):
    verdict: Verdict | None = None


class FindingQuery(ListQuery):
    clause: str | None = Field(None, max_length=NAME_MAX)
    verdict: Verdict | None = None


class Synced(BaseModel):
    received: int
    new: int
    revealed: list[int]


class SignRequest(Strict):
    contingent: Name
    sha256: str = Field(pattern="^[0-9a-f]{64}$")


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[Any]


class ErrorBody(BaseModel):
    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "refused"), (401, "not logged in"), (403, "not allowed for this role"),
        (404, "no such thing"), (409, "a conflict"), (422, "the request is not valid"),
        (413, "too large"), (429, "throttled"),
    )
}  # fmt: skip


# Responses


class Observation(Open):
    id: int
    record_id: str | None
    observed_from: str
    observed_to: str
    lat: float | None
    lon: float | None
    uncertainty_m: float | None
    kind: str
    subtype: str | None
    count: int
    actor: str
    source_kind: str
    source: str
    reporter: str
    description: str | None
    batch: int
    retracted: dict[str, Any] | None


class Incident(Open):
    id: int
    anchor: int
    family: str
    kind: str
    kinds: list[str]
    subtypes: list[str]
    start: str
    end: str
    lat: float
    lon: float
    count: int
    actor: str
    observations: list[int]
    sources: list[dict[str, Any]]  # per source: source, source_kind, reporter, count, observations
    status: str


class Finding(Open):
    id: int
    key: str
    clause: str
    clause_version: int
    rule: str
    zone: str | None
    subject: str | None
    start: str
    end: str | None
    incident: int | None
    unit: str | None
    observation: int | None
    evidence: dict[str, Any]
    status: str


class ObservationPage(BaseModel):
    items: list[Observation]
    next: int | None


class IncidentPage(BaseModel):
    items: list[Incident]
    next: int | None


class FindingPage(BaseModel):
    items: list[Finding]
    next: int | None


class Case(Open):
    id: int
    key: str
    state: str
    verdict: str
    finding: int | None
    complaint: int | None
    opened: str
    opened_by: str
    round: int
    rounds: list[dict[str, Any]]
    filed: list[str]
    waiting_for: list[str]
    under_reconsideration: bool
    duplicate_of: int | None


class Complaint(Open):
    id: int
    sha256: str
    party: str
    kind: str
    against: str
    narrative: str
    observed_from: str
    observed_to: str
    lat: float | None
    lon: float | None
    zone: str | None
    received: str
    due: str
    status: str
    overdue: bool
    case: int | None
    verdict: str | None


class Receipt(BaseModel):
    id: int
    sha256: str
    received: str
    due: str
    received_by: list[str]


class Retracted(BaseModel):
    observation: int
    uid: str
    retracted_by: str
    reason: str


class PublishedDay(Open):
    date: str
    sha256: str
    published: str
    version: int  # 1, then 2, … as corrections are published


class Version(Open):
    version: int
    sha256: str
    published: str


class Report(Open):
    date: str
    sha256: str
    version: int
    versions: list[Version]  # every published version of the day, each verifiable
    checkpoint: dict[str, Any]
    published: str
    report: dict[str, Any]
    signatures: list[dict[str, Any]]


class Draft(Open):
    date: str
    sha256: str
    report: dict[str, Any]
    waiting_for: list[str]
    signed_by: list[Any]
    published: bool
    published_sha256: str | None


class Bundle(Open):
    format: str
    mission: str
    mission_sha256: str
    mission_files: list[dict[str, Any]]
    entries: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    attachments: dict[str, Any]
    next: str | None


class LedgerState(Open):
    ok: bool
    started: bool
    entries: int
    heads: dict[str, Any]
    faults: list[Any]
