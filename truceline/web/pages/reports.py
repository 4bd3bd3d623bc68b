"""The daily report as it stands (and a chief's signature), and the published reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import Response

from truceline.errors import Conflict, FieldError, NotFound
from truceline.services import accounts, signing
from truceline.services.report import parse_day, render_report
from truceline.store.missions import load_mission
from truceline.web.deps import MaybeUser, PageUser, TheCentre, require
from truceline.web.pages.days import chosen_day
from truceline.web.pages.render import check_csrf, redirect, render

DateParam = Annotated[str | None, Query(max_length=10)]


def report_page(
    request: Request, centre: TheCentre, user: PageUser, date: DateParam = None
) -> Response:
    return _report_page(request, centre, user, date)


def _report_page(
    request: Request,
    centre: TheCentre,
    user: accounts.User,
    date: str | None = None,
    message: str = "",
) -> Response:
    """The day's report as it stands, who has signed it, and (for a chief) the form that
    signs exactly the version shown."""
    day, _, _ = chosen_day(centre.engine, date)
    state = signing.report_state(centre.engine, day)
    return render(
        request, "report.html", user=user, title="Daily report", day=day.isoformat(),
        text=render_report(state["report"]), state=state, message=message,
        can_sign=user.role == "chief" and user.contingent in state["waiting_for"],
    )  # fmt: skip


def sign(
    request: Request,
    centre: TheCentre,
    user: PageUser,
    date: Annotated[str, Form(max_length=10)],
    sha256: Annotated[str, Form(max_length=64)],
    csrf: Annotated[str, Form(max_length=100)],
) -> Response:
    check_csrf(request, csrf)
    contingent = require(user, "reports.sign", user.contingent)
    day = parse_day(date)
    try:
        signing.sign_report(
            centre.engine, day, sha256=sha256, contingent=contingent, actor=user.name,
            keyring=centre.keyring,
        )  # fmt: skip
    except (FieldError, Conflict) as exc:
        return _report_page(request, centre, user, date, message=str(exc))
    return redirect(f"/report?date={day.isoformat()}")


def published_list(request: Request, centre: TheCentre, user: MaybeUser) -> Response:
    """The published reports: for anyone, logged in or not."""
    with centre.engine.connect() as conn:
        listed = signing.published_days(conn, load_mission(conn))
    return render(request, "published.html", user=user, title="Published reports", listed=listed)


def published_report(request: Request, centre: TheCentre, user: MaybeUser, date: str) -> Response:
    with centre.engine.connect() as conn:
        found = signing.published(conn, load_mission(conn), parse_day(date[:10]))
    if found is None:
        raise NotFound(f"the report of {date[:10]} is not published")
    return render(
        request, "published_report.html", user=user, title=f"Report {date}", report=found,
        text=render_report(found["report"]),
    )  # fmt: skip
