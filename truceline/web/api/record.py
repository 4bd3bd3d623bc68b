"""Incidents and findings: the compliance engine's record, filtered."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import Response

from truceline.services import verification
from truceline.store import compliance
from truceline.store.missions import load_mission
from truceline.web.api.common import bounds, page, us, zone_geometry
from truceline.web.api.models import FindingQuery, IncidentQuery
from truceline.web.deps import ApiUser, TheCentre


async def incidents(
    centre: TheCentre, who: ApiUser, q: Annotated[IncidentQuery, Query()]
) -> Response:
    with centre.engine.connect() as conn:
        among = None
        if q.verdict is not None:
            _, by_incident = verification.verdicts(conn, load_mission(conn))
            among = {i for i, v in by_incident.items() if v == q.verdict}
        items = compliance.list_incidents(
            conn, since_us=us(q.since, "since"), until_us=us(q.until, "until"),
            bbox=bounds(q.bbox), kind=q.kind, within=zone_geometry(conn, q.zone), among=among,
            limit=q.limit, offset=q.offset,
        )  # fmt: skip
    return page(items, q.limit, q.offset)


async def findings(
    centre: TheCentre, who: ApiUser, q: Annotated[FindingQuery, Query()]
) -> Response:
    with centre.engine.connect() as conn:
        among: set[int] | None = None
        if q.verdict is not None:
            by_finding, _ = verification.verdicts(conn, load_mission(conn))
            among = {f for f, v in by_finding.items() if v == q.verdict}
        if q.zone is not None:  # the findings that name the zone or whose incident is in it
            inside = compliance.finding_ids_in_zone(conn, q.zone, zone_geometry(conn, q.zone))
            among = inside if among is None else among & inside
        items = compliance.list_findings(
            conn, clause=q.clause, since_us=us(q.since, "since"), until_us=us(q.until, "until"),
            among=among, limit=q.limit, offset=q.offset,
        )  # fmt: skip
    return page(items, q.limit, q.offset)
