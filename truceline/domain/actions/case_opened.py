"""`case_opened`: a contingent opens the joint verification of a finding or a complaint. Its
key is the entry's hash; round 1 opens with it. Two nodes opening a case on the same subject
make one case: the opening with the smallest (time, hash) wins, the others are shown as its
duplicates (whatever order the openings arrive in)."""

from __future__ import annotations

from pydantic import model_validator

from truceline.domain.actions.base import CaseRec, Payload, Refused, RoundRec, State, who
from truceline.domain.cases import COMMITTING, OPEN
from truceline.domain.ledger import Entry
from truceline.i18n.message import M

NAME = "case_opened"


class Subject(Payload):
    finding: str | None = None  # the finding's stable key
    complaint: str | None = None  # the complaint's sha256

    @model_validator(mode="after")
    def one_subject(self) -> Subject:
        if (self.finding is None) == (self.complaint is None):
            raise ValueError(M("a case is about one finding or one complaint"))
        return self

    @property
    def key(self) -> str:
        return (
            f"finding:{self.finding}" if self.finding is not None else f"complaint:{self.complaint}"
        )


class OpenedPayload(Payload):
    subject: Subject


MODEL = OpenedPayload


def apply(state: State, entry: Entry, payload: OpenedPayload) -> None:
    subject = payload.subject
    if subject.complaint is not None and not state.complaint_known(subject.complaint):
        raise Refused(
            M(
                "{who} opens a case on a complaint not received: {complaint}…",
                who=who(entry),
                complaint=subject.complaint[:12],
            )
        )
    if state.case(entry.hash) is not None:
        raise Refused(M("{who} opens case {case}… again", who=who(entry), case=entry.hash[:12]))
    state.add_case(
        CaseRec(
            key=entry.hash, subject_key=subject.key,
            subject=subject.model_dump(exclude_none=True), opened_at=entry.time,
            opened_by=entry.contingent, state=OPEN, duplicate_of=None, round=1, verdict="pending",
        )
    )  # fmt: skip
    state.add_round(RoundRec(entry.hash, 1, COMMITTING, entry.time, entry.contingent, None, None))
    on_subject = state.cases_on(subject.key)
    first = min(on_subject, key=lambda c: (c.opened_at, c.key))
    for case in on_subject:
        state.set_duplicate(case.key, None if case.key == first.key else first.key)
