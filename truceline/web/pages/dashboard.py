"""The dashboard: the reporting day at a glance."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from truceline.domain.policy import LIAISON
from truceline.i18n import say
from truceline.services import verification
from truceline.services.report import daily_summary
from truceline.store.missions import load_mission
from truceline.web.deps import PageUser, TheCentre
from truceline.web.pages.days import chosen_day
from truceline.web.pages.render import N_, page_language, redirect, render

DateParam = Annotated[str | None, Query(max_length=10)]


def dashboard(
    request: Request, centre: TheCentre, user: PageUser, date: DateParam = None
) -> Response:
    """Incidents, findings per clause (clear or breached), the cases waiting for the user's
    contingent, overdue complaints. A liaison's start page is its complaints."""
    if user.role == LIAISON:
        return redirect("/complaints")
    day, _, _ = chosen_day(centre.engine, date)
    summary = daily_summary(centre.engine, day)
    with centre.engine.connect() as conn:
        cases = verification.list_cases(conn, viewer=user.contingent)
        overdue = [c for c in verification.list_complaints(conn) if c["overdue"]]
        lang = page_language(request, load_mission(conn).languages)
    for case in cases:  # (each case's note, in the page's language)
        case["note"] = say(case["note"], lang)
    waiting = [c for c in cases if user.contingent in c["waiting_for"]]
    return render(
        request, "dashboard.html", user=user, title=N_("Dashboard"), summary=summary,
        day=day.isoformat(), previous=(day - timedelta(days=1)).isoformat(),
        following=(day + timedelta(days=1)).isoformat(), cases=cases, waiting=waiting,
        overdue=overdue,
    )  # fmt: skip
