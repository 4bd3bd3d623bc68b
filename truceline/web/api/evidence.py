"""Observations and positions: read, record (all or nothing, idempotent), retract."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path as FastPath
from fastapi import Query
from fastapi.responses import Response

from truceline.i18n.message import M, Mn
from truceline.services import accounts, corrections, ingest
from truceline.services.assess import assess
from truceline.store.observations import list_observations
from truceline.web.api.common import bounds, page, us, zone_geometry
from truceline.web.api.models import (
    MAX_ID,
    MAX_RECORDS,
    ObservationQuery,
    ObservationsIn,
    PositionsIn,
    Retracted,
    RetractRequest,
    Stored,
)
from truceline.web.deps import ApiUser, TheCentre, require
from truceline.web.errors import ApiError

RowId = Annotated[int, FastPath(ge=1, le=MAX_ID)]


# The list reads are bounded (a page of at most MAX_PAGE rows, by an index) and run on the
# event loop: a hop to a worker thread and back cost more than the query.
async def observations(
    centre: TheCentre, who: ApiUser, q: Annotated[ObservationQuery, Query()]
) -> Response:
    with centre.engine.connect() as conn:
        items = list_observations(
            conn, since_us=us(q.since, "since"), until_us=us(q.until, "until"), kind=q.kind,
            limit=q.limit, offset=q.offset, bbox=bounds(q.bbox), within=zone_geometry(conn, q.zone),
        )  # fmt: skip
    return page(items, q.limit, q.offset)


def _store(centre: TheCentre, kind: str, who: accounts.User, items: list[dict[str, Any]]) -> Stored:
    contingent = require(who, "evidence.record", who.contingent)
    if len(items) > MAX_RECORDS:
        raise ApiError(413, "too_large", M("at most {n:,} records per request", n=MAX_RECORDS))
    try:
        report = ingest.ingest_records(
            centre.engine, kind, items, source_name=f"api:{who.name}",
            default_reporter=contingent, keyring=centre.keyring, acting=contingent,
        )  # fmt: skip
    except ingest.ImportRejected as exc:
        details = [
            {"location": e.location,
             "problems": [{"field": f, "message": m} for f, m in e.problems]}
            for e in exc.report.errors
        ]  # fmt: skip
        raise ApiError(
            422, "invalid_records",
            Mn("{n} bad record(s); nothing was stored", "{n} bad record(s); nothing was stored",
               exc.report.rejected),
            details,
        ) from None  # fmt: skip
    if report.accepted:  # assessed as it arrives: the window of the new records, at once
        assess(centre.engine, keyring=centre.keyring, acting=contingent)
    return Stored(accepted=report.accepted, duplicates=report.duplicates, batch=report.batch_id)


def post_observations(centre: TheCentre, who: ApiUser, body: ObservationsIn) -> Stored:
    """Record one observation or many, for the officer's own contingent: all or nothing;
    posting the same records again adds nothing."""
    listed = body if isinstance(body, list) else [body]
    items = [x.model_dump(exclude_none=True) for x in listed]
    for index, item in enumerate(items):
        if item.setdefault("reporter", who.contingent) != who.contingent:
            where = f"body[{index}].reporter"
            raise ApiError(
                403, "forbidden",
                M("{where}: {user} records for {contingent}, not {reporter}", where=where,
                  user=who.name, contingent=who.contingent, reporter=item["reporter"]),
            )  # fmt: skip
    return _store(centre, "observations", who, items)


def post_positions(centre: TheCentre, who: ApiUser, body: PositionsIn) -> Stored:
    """Record one position or many (a unit's track): all or nothing, idempotent. A unit that
    the mission declares for another contingent is refused."""
    listed = body if isinstance(body, list) else [body]
    return _store(centre, "positions", who, [x.model_dump(exclude_none=True) for x in listed])


def retract(
    centre: TheCentre, who: ApiUser, observation_id: RowId, body: RetractRequest
) -> Retracted:
    contingent = require(who, "evidence.retract", who.contingent)
    done = corrections.retract_observation(
        centre.engine, observation_id, reason=body.reason, keyring=centre.keyring,
        acting=contingent, actor=who.name,
    )  # fmt: skip
    return Retracted(
        observation=done.observation, uid=done.uid, retracted_by=done.contingent,
        reason=done.reason,
    )  # fmt: skip
