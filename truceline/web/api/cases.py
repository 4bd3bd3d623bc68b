"""Cases: read (blind until every contingent has filed), open, file, reconsider."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path as FastPath

from truceline.domain.cases import Position
from truceline.services import verification
from truceline.store.missions import load_mission
from truceline.web.api.models import (
    MAX_ID,
    AssessmentRequest,
    Case,
    CaseRequest,
    RoundRequest,
    Verdict,
)
from truceline.web.deps import ApiUser, Conn, TheCentre, require

CaseId = Annotated[int, FastPath(ge=1, le=MAX_ID)]


def cases(conn: Conn, who: ApiUser, verdict: Verdict | None = None) -> list[dict[str, Any]]:
    listed = verification.list_cases(conn, viewer=who.contingent)
    return [c for c in listed if verdict is None or c["verdict"] == verdict]


def case(conn: Conn, who: ApiUser, case_id: CaseId) -> dict[str, Any]:
    return verification.case_view(conn, load_mission(conn), case_id, viewer=who.contingent)


def open_case(centre: TheCentre, who: ApiUser, body: CaseRequest) -> dict[str, Any]:
    contingent = require(who, "cases.open", who.contingent)
    return verification.open_case(
        centre.engine, finding=body.finding, complaint=body.complaint, keyring=centre.keyring,
        acting=contingent,
    )  # fmt: skip


def assess(
    centre: TheCentre, who: ApiUser, case_id: CaseId, body: AssessmentRequest
) -> dict[str, Any]:
    contingent = require(who, "cases.assess", body.contingent)
    return verification.file_assessment(
        centre.engine, case_id, contingent=contingent,
        position=Position(body.verdict, body.attribution, body.rationale), actor=who.name,
        keyring=centre.keyring, round=body.round,
    )  # fmt: skip


def reconsider(
    centre: TheCentre, who: ApiUser, case_id: CaseId, body: RoundRequest
) -> dict[str, Any]:
    contingent = require(who, "cases.reconsider", body.contingent)
    return verification.reconsider(
        centre.engine, case_id, contingent=contingent, reason=body.reason, actor=who.name,
        keyring=centre.keyring,
    )  # fmt: skip


__all__ = ["Case"]
