"""Reports: the published ones for anyone; the draft and the signature for the staff."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Path as FastPath
from fastapi import Query
from fastapi.responses import Response

from truceline.domain.reporting import FIRST_YEAR, LAST_YEAR, supported_day
from truceline.errors import NotFound
from truceline.i18n.message import M
from truceline.services import signing
from truceline.store.missions import load_mission
from truceline.web.api.models import SignRequest
from truceline.web.deps import ApiUser, Conn, TheCentre, require
from truceline.web.errors import ApiError

Day = Annotated[date, FastPath(description="the reporting day, YYYY-MM-DD")]


def _day(value: date) -> date:
    if not supported_day(value):
        raise ApiError(
            422,
            "invalid",
            M("a reporting day lies in {first}–{last}", first=FIRST_YEAR, last=LAST_YEAR),
        )
    return value


def reports(conn: Conn) -> list[dict[str, Any]]:
    """The published reports (for anyone, logged in or not): day, sha256, when."""
    return signing.published_days(conn, load_mission(conn))


def report(
    conn: Conn,
    day: Day,
    version: Annotated[
        int | None, Query(ge=1, le=10_000, description="a version (1, 2, …)")
    ] = None,
) -> dict[str, Any]:
    """The published report of a day (its latest version, or the one asked for) with every
    contingent's signed log entry (for anyone, logged in or not); 404 while it is not
    published."""
    found = signing.published(conn, load_mission(conn), _day(day), version)
    if found is None:
        raise NotFound(
            M("the report of {day} is not published", day=day.isoformat()) if version is None
            else M("version {version} of the report of {day} is not published", version=version,
                   day=day.isoformat())
        )  # fmt: skip
    return found


TYPES = ("text/plain", "application/json", "text/html", "application/pdf",
         "application/geo+json", "text/csv")  # fmt: skip
MEDIA: dict[str, dict[str, Any]] = {media: {} for media in TYPES}


def rendered(
    conn: Conn,
    day: Day,
    format: Annotated[str, Query(pattern="^(text|json|html|pdf|geojson|acled)$")] = "pdf",
    lang: Annotated[
        str | None, Query(max_length=16, pattern="^[a-z]{2,3}(-[A-Za-z0-9]+)*$")
    ] = None,
    version: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> Response:
    """The published report of a day as a file (for anyone): text, HTML or PDF in a language
    of the mission, the signed JSON, or its incidents as GeoJSON and its confirmed violations
    as ACLED CSV, made from the signed content only."""
    from truceline.web.pages.reports import render_download

    document = signing.published_document(conn, load_mission(conn), _day(day), version)
    if document is None:
        raise NotFound(M("the report of {day} is not published", day=day.isoformat()))
    return render_download(document, format, lang, f"report-{day.isoformat()}")


def draft(centre: TheCentre, who: ApiUser, day: Day) -> dict[str, Any]:
    """The report as it stands now, its sha256, and who has signed it."""
    return signing.report_state(centre.engine, _day(day))


def sign(centre: TheCentre, who: ApiUser, day: Day, body: SignRequest) -> dict[str, Any]:
    """A chief signs the report (the sha256 read) for the chief's own contingent."""
    contingent = require(who, "reports.sign", body.contingent)
    return signing.sign_report(
        centre.engine, _day(day), sha256=body.sha256, contingent=contingent, actor=who.name,
        keyring=centre.keyring,
    )  # fmt: skip
