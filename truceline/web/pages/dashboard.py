"""The dashboard: what waits for me, then the reporting day at a glance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import date as date_type
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from truceline.domain.policy import CHIEF, LIAISON
from truceline.domain.reporting import reporting_day
from truceline.domain.timeutil import iso
from truceline.i18n import say
from truceline.mission import Mission
from truceline.services import signing, verification, workspace
from truceline.store import ledger as ledger_repo
from truceline.store.missions import load_mission
from truceline.web.deps import PageUser, TheCentre
from truceline.web.kept import Kept
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
    with centre.engine.connect() as conn:
        day, start_us, end_us = chosen_day(centre.engine, date, conn)
        mission = load_mission(conn)
        mark = signing.watermark(conn)
        glance, chart, kinds, last = _the_day(centre, conn, mission, day, start_us, end_us, mark)
        lang = page_language(request, mission.languages)
        # each case's note in the page's language, on copies (the kept ones stay as they are)
        cases = [{**case, "note": say(case["note"], lang)}
                 for case in _cases(centre, conn, user.contingent, mark)]  # fmt: skip
        waiting = workspace.waiting_for(conn, mission, user.contingent, last, cases,
                                        signed=_signatures(centre, conn))  # fmt: skip
    return render(
        request, "dashboard.html", user=user, mission=mission, title=N_("Dashboard"),
        glance=glance,
        bounds=(iso(start_us), iso(end_us)),
        clauses=[{"clause": c.id, "rule": c.rule, "count": glance.findings.get(c.id, 0)}
                 for c in mission.clauses.values()],
        day=day.isoformat(), previous=(day - timedelta(days=1)).isoformat(),
        following=(day + timedelta(days=1)).isoformat(), cases=cases, waiting=waiting,
        chart=chart, kinds=kinds, signs=user.role == CHIEF,
    )  # fmt: skip


_Day = tuple[workspace.DayGlance, workspace.FindingsChart, dict[str, int], date_type | None]


def _the_day(
    centre: TheCentre, conn: Connection, mission: Mission, day: date_type, start_us: int,
    end_us: int, mark: tuple[object, ...],
) -> _Day:  # fmt: skip
    """The day's part of the dashboard, the same for every reader: counted once for as long
    as the record's watermark (`signing.watermark`) and the current reporting day stay the
    same, then kept (`web.kept`)."""
    today = reporting_day(datetime.now(UTC), mission.report_cutoff, mission.timezone)
    key = (str(centre.engine.url), day, start_us, end_us, today, mark)
    return _KEPT.made(key, lambda: (
        workspace.day_glance(conn, start_us, end_us),
        workspace.findings_per_day(conn, mission, day),
        workspace.incidents_by_kind(conn, start_us, end_us),
        workspace.last_complete_day(conn, mission, datetime.now(UTC)),
    ))  # fmt: skip


_KEPT: Kept[_Day] = Kept(16)


def _cases(
    centre: TheCentre, conn: Connection, viewer: str | None, mark: tuple[object, ...]
) -> list[dict[str, object]]:
    """The cases as `viewer`'s contingent may see them, listed again only when the record's
    watermark moves (a filing, a reveal and an opening are log entries: the heads move). A
    case's `complaint_detail` (its status reads the clock) is not for the dashboard, which
    does not show it: the case page reads it afresh."""
    key = (str(centre.engine.url), viewer, mark)
    kept = _CASES.get(key)
    if kept is not None:
        return kept
    return _CASES.put(key, verification.list_cases(conn, viewer=viewer))


_CASES: Kept[list[dict[str, object]]] = Kept(8)


def _signatures(centre: TheCentre, conn: Connection) -> dict[str, list[signing.Signature]]:
    """Every report signature (each entry carries a whole report, read and hashed), read
    again only when a log has grown: kept by the heads of the logs."""
    key = (str(centre.engine.url), tuple(sorted(ledger_repo.heads(conn).items())))
    kept = _SIGNED.get(key)
    return kept if kept is not None else _SIGNED.put(key, signing.all_signatures(conn))


_SIGNED: Kept[dict[str, list[signing.Signature]]] = Kept(4)
