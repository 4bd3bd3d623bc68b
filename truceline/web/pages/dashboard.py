"""The dashboard: what waits for me, then the reporting day at a glance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from truceline.domain.policy import CHIEF, LIAISON
from truceline.i18n import say
from truceline.services import verification, workspace
from truceline.services.report import daily_summary
from truceline.store.missions import load_mission
from truceline.web.deps import PageUser, TheCentre
from truceline.web.pages.days import chosen_day
from truceline.web.pages.render import N_, page_language, redirect, render

DateParam = Annotated[str | None, Query(max_length=10)]


def dashboard(
    request: Request, centre: TheCentre, user: PageUser, date: DateParam = None
) -> Response:
    """What waits for the user's contingent first (cases to file, reconsiderations, reports
    to sign, new and overdue complaints), then the day: charts, findings per clause, cases.
    A liaison's start page is its complaints."""
    if user.role == LIAISON:
        return redirect("/complaints")
    day, start_us, end_us = chosen_day(centre.engine, date)
    summary = daily_summary(centre.engine, day)
    with centre.engine.connect() as conn:
        mission = load_mission(conn)
        cases = verification.list_cases(conn, viewer=user.contingent)
        last = workspace.last_complete_day(conn, mission, datetime.now(UTC))
        waiting = workspace.waiting_for(conn, mission, user.contingent, last, cases)
        chart = workspace.findings_per_day(conn, mission, day)
        kinds = workspace.incidents_by_kind(conn, start_us, end_us)
        lang = page_language(request, mission.languages)
    for case in cases:  # (each case's note, in the page's language)
        case["note"] = say(case["note"], lang)
    return render(
        request, "dashboard.html", user=user, title=N_("Dashboard"), summary=summary,
        day=day.isoformat(), previous=(day - timedelta(days=1)).isoformat(),
        following=(day + timedelta(days=1)).isoformat(), cases=cases, waiting=waiting,
        chart=chart, kinds=kinds, signs=user.role == CHIEF,
    )  # fmt: skip
