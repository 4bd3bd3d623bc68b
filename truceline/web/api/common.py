"""What the API's resources share: paging, the time and place filters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from fastapi.responses import Response
from sqlalchemy import Connection

from truceline.domain.records import LAST_US
from truceline.domain.reporting import FIRST_YEAR, LAST_YEAR
from truceline.domain.timeutil import to_us
from truceline.i18n.message import M
from truceline.store.missions import load_mission
from truceline.web.errors import ApiError

MAX_ID = 2**62  # ids and offsets fit a 64-bit integer column


def page(items: list[dict[str, Any]], limit: int, offset: int) -> Response:
    """A page of a list, serialised at once (the items are plain JSON already)."""
    following = offset + limit if len(items) == limit else None
    return Response(
        orjson.dumps({"items": items, "next": following}), media_type="application/json"
    )


def us(moment: datetime | None, name: str = "time") -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ApiError(
            422,
            "invalid",
            M("{name}: {moment} has no offset", name=name, moment=moment.isoformat()),
        )
    value = to_us(moment)
    if not 0 <= value < LAST_US:
        raise ApiError(
            422, "invalid",
            M("{name}: lies outside the years {first}–{last}", name=name, first=FIRST_YEAR,
              last=LAST_YEAR),
        )  # fmt: skip
    return value


def bounds(bbox: str | None) -> tuple[float, float, float, float] | None:
    if bbox is None:
        return None
    try:
        west, south, east, north = (float(v) for v in bbox.split(","))
    except ValueError:
        raise ApiError(422, "invalid", M("bbox is min_lon,min_lat,max_lon,max_lat")) from None
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise ApiError(422, "invalid", M("bbox is min_lon,min_lat,max_lon,max_lat within range"))
    return west, south, east, north


def zone_geometry(conn: Connection, zone: str | None) -> Any:
    if zone is None:
        return None
    zones = load_mission(conn).zones
    if zone not in zones:
        raise ApiError(
            404,
            "not_found",
            M("no zone {zone!r} ({zones})", zone=zone[:80], zones=", ".join(zones)),
        )
    return zones[zone].geometry
