"""The pages (Jinja2): log in, dashboard, a case with its assessment form, the offline map.

Pages use a session cookie (the same token as the API's bearer token, HttpOnly and
SameSite=Strict) and a CSRF token: a cookie whose value every form sends back.
"""

import asyncio
import html
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from datetime import date as date_type
from pathlib import Path
from typing import Annotated, Any

import shapely
from fastapi import FastAPI, Form, Request
from fastapi import Path as FastPath
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from truceline.domain.cases import Position
from truceline.domain.reporting import day_bounds, reporting_day
from truceline.domain.timeutil import from_us, to_us
from truceline.domain.vocabulary import KINDS
from truceline.errors import TrucelineError
from truceline.services import accounts, signing, verification
from truceline.services.ledger import KeyRing, verify_ledger
from truceline.services.report import daily_summary, parse_day, render_report
from truceline.store import compliance
from truceline.store.db import writing
from truceline.store.missions import load_mission
from truceline.store.observations import list_observations_by_id

MAX_ID = 2**62  # ids and offsets fit a 64-bit integer column
RowId = Annotated[int, FastPath(ge=1, le=MAX_ID)]
TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))
MONITORS = ("officer", "chief")


def add_pages(app: FastAPI, engine: Engine, keyring: KeyRing) -> None:
    def session_user(request: Request) -> accounts.User | None:
        token = request.cookies.get("session")
        if not token:
            return None
        with engine.connect() as conn:
            return accounts.user_for_token(conn, token)

    def csrf_of(request: Request) -> str:
        return request.cookies.get("csrf") or secrets.token_urlsafe(24)

    def render(
        request: Request, name: str, user: accounts.User | None, **context: Any
    ) -> HTMLResponse:
        with engine.connect() as conn:
            mission = load_mission(conn)
        csrf = csrf_of(request)
        response = TEMPLATES.TemplateResponse(
            request, name,
            {"user": user, "csrf": csrf, "mission_name": mission.name,
             "contingents": list(mission.contingents),
             "illustrative": mission.id == "demo", "title": context.pop("title", name), **context},
        )  # fmt: skip
        response.set_cookie("csrf", csrf, httponly=True, samesite="strict")
        return response

    def check_csrf(request: Request, sent: str) -> None:
        expected = request.cookies.get("csrf")
        if not expected or not secrets.compare_digest(expected, sent):
            raise TrucelineError("the form is stale (CSRF check failed): reload the page")

    def to_login() -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    def form_user(request: Request, csrf: str) -> accounts.User | Response:
        """The user posting a form (its CSRF token checked), or the answer to give instead."""
        user = session_user(request)
        if user is None:
            return to_login()
        check_csrf(request, csrf)
        return user

    @app.get("/login", include_in_schema=False)
    def login_page(request: Request) -> Response:
        return render(request, "login.html", None, title="Log in")

    @app.post("/login", include_in_schema=False)
    def login(
        request: Request,
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        csrf: Annotated[str, Form()],
    ) -> Response:
        check_csrf(request, csrf)
        with engine.connect() as conn:
            user = accounts.authenticate(conn, username, password)
        if user is None:
            return render(
                request, "login.html", None, title="Log in", message="Wrong user name or password."
            )
        with writing(engine) as conn:
            token = accounts.issue_token(conn, user)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie("session", token, httponly=True, samesite="strict")
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: Annotated[str, Form()]) -> Response:
        check_csrf(request, csrf)
        response = to_login()
        response.delete_cookie("session")
        return response

    @app.get("/", include_in_schema=False)
    def dashboard(request: Request, date: str | None = None) -> Response:
        """The reporting day at a glance: incidents, findings per clause (clear or breached),
        the cases waiting for the user's contingent, overdue complaints."""
        user = session_user(request)
        if user is None:
            return to_login()
        if user.role == "liaison":
            return RedirectResponse("/complaints", status_code=303)
        day, _, _ = chosen_day(date)
        summary = daily_summary(engine, day)
        with engine.connect() as conn:
            cases = verification.list_cases(conn, viewer=user.contingent)
            overdue = [c for c in verification.list_complaints(conn) if c["overdue"]]
        waiting = [c for c in cases if user.contingent in c["waiting_for"]]
        return render(
            request, "dashboard.html", user, title="Dashboard", summary=summary,
            day=day.isoformat(), previous=(day - timedelta(days=1)).isoformat(),
            following=(day + timedelta(days=1)).isoformat(), cases=cases, waiting=waiting,
            overdue=overdue,
        )  # fmt: skip

    @app.get("/cases/{case_id}", include_in_schema=False)
    def case_route(request: Request, case_id: RowId) -> Response:
        return case_page(request, case_id)

    def case_page(request: Request, case_id: int, message: str | None = None) -> Response:
        # A message is the server's own (a refused form), never taken from the address.
        user = staff(request)
        if isinstance(user, Response):
            return user
        with engine.connect() as conn:
            mission = load_mission(conn)
            case = verification.case_view(conn, mission, case_id, viewer=user.contingent)
            finding = compliance.get_finding(conn, case["finding"]) if case["finding"] else None
        return render(
            request, "case.html", user, title=f"Case {case_id}", case=case, finding=finding,
            parties=list(mission.parties), can_file=user.role in MONITORS, message=message,
        )  # fmt: skip

    @app.post("/cases/{case_id}/assess", include_in_schema=False)
    def assess_page(
        request: Request,
        case_id: RowId,
        verdict: Annotated[str, Form()],
        attribution: Annotated[str, Form()],
        rationale: Annotated[str, Form()],
        csrf: Annotated[str, Form()],
        round_: Annotated[int | None, Form(alias="round")] = None,
    ) -> Response:
        return case_action(request, csrf, case_id, lambda user, contingent: (
            verification.file_assessment(
                engine, case_id, contingent=contingent,
                position=Position(verdict, attribution, rationale), actor=user.name,
                keyring=keyring, round=round_,
            )
        ))  # fmt: skip

    @app.post("/cases/{case_id}/reconsider", include_in_schema=False)
    def reconsider_page(
        request: Request,
        case_id: RowId,
        reason: Annotated[str, Form()],
        csrf: Annotated[str, Form()],
    ) -> Response:
        return case_action(request, csrf, case_id, lambda user, contingent: (
            verification.reconsider(
                engine, case_id, contingent=contingent, reason=reason, actor=user.name,
                keyring=keyring,
            )
        ))  # fmt: skip

    def case_action(
        request: Request, csrf: str, case_id: int, act: Callable[[accounts.User, str], object]
    ) -> Response:
        """A form of a case page, for a contingent's officers and chiefs: done, back to the
        case; refused (an empty rationale, a filing that binds), the case page says why."""
        user = form_user(request, csrf)
        if isinstance(user, Response):
            return user
        if user.role not in MONITORS or user.contingent is None:
            return HTMLResponse(
                "only a contingent's officers and chiefs act on its cases", status_code=403
            )
        try:
            act(user, user.contingent)
        except TrucelineError as exc:
            return case_page(request, case_id, message=str(exc))
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    @app.get("/api/v1/events", include_in_schema=False)
    async def events(request: Request, seconds: float = 3600.0, poll: float = 1.0) -> Response:
        """Server-sent events: `finding` for each new finding, `verdict` when a case's verdict
        changes. For the API's bearer token or a page's session cookie; it ends after
        `seconds` (a client reconnects)."""
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() or request.cookies.get("session", "")
        with engine.connect() as conn:
            user = accounts.user_for_token(conn, token) if token else None
        if user is None:
            return JSONResponse(
                {"error": {"code": "unauthenticated", "message": "log in first", "details": []}},
                401,
            )
        if user.role == "liaison":
            return JSONResponse(
                {"error": {"code": "forbidden", "message": "not for a liaison", "details": []}}, 403
            )
        viewer = user.contingent
        state = await run_in_threadpool(_live_state, engine, viewer)

        async def stream() -> AsyncIterator[str]:
            nonlocal state
            yield ": connected\n\n"
            deadline = time.monotonic() + max(0.0, min(seconds, 3600.0))
            while time.monotonic() < deadline and not await request.is_disconnected():
                await asyncio.sleep(max(0.2, poll))
                now = await run_in_threadpool(_live_state, engine, viewer)
                for finding in now["findings"]:
                    if finding["id"] > state["last_finding"]:
                        yield f"event: finding\ndata: {json.dumps(finding)}\n\n"
                for case, verdict in now["verdicts"].items():
                    if state["verdicts"].get(case) != verdict:
                        change = json.dumps({"case": case, "verdict": verdict})
                        yield f"event: verdict\ndata: {change}\n\n"
                state = now

        return StreamingResponse(stream(), media_type="text/event-stream")

    def staff(request: Request) -> accounts.User | Response:
        """The user for a page of the centre's staff, or the answer to give instead."""
        user = session_user(request)
        if user is None:
            return to_login()
        if user.role not in (*MONITORS, "admin"):
            return HTMLResponse("this page is for the centre's staff", status_code=403)
        return user

    @app.get("/complaints", include_in_schema=False)
    def complaints_route(request: Request) -> Response:
        return complaints_page(request)

    def complaints_page(request: Request, message: str | None = None) -> Response:
        user = session_user(request)
        if user is None:
            return to_login()
        with engine.connect() as conn:
            mission = load_mission(conn)
            party = user.party if user.role == "liaison" else None
            listed = verification.list_complaints(conn, party=party)
        return render(
            request, "complaints.html", user, title="Complaints", complaints=listed,
            kinds=sorted(KINDS), zones=list(mission.zones.values()), parties=list(mission.parties),
            message=message,
        )  # fmt: skip

    @app.post("/complaints", include_in_schema=False)
    def complain(
        request: Request,
        kind: Annotated[str, Form()],
        observed_at: Annotated[str, Form()],
        zone: Annotated[str, Form()],
        against: Annotated[str, Form()],
        narrative: Annotated[str, Form()],
        csrf: Annotated[str, Form()],
    ) -> Response:
        user = form_user(request, csrf)
        if isinstance(user, Response):
            return user
        if user.role != "liaison" or user.party is None:
            return HTMLResponse("only a party's liaison files its complaints", status_code=403)
        try:
            moment = datetime.fromisoformat(observed_at)
        except ValueError:
            return complaints_page(request, message=f"not an ISO 8601 time: {observed_at!r}")
        if moment.tzinfo is None:
            return complaints_page(request, message="the time needs an offset, e.g. +04:00")
        request_ = verification.ComplaintInput(
            party=user.party, kind=kind, narrative=narrative, observed_from_us=to_us(moment),
            observed_to_us=to_us(moment), against=against, zone=zone, filed_by=user.name,
        )  # fmt: skip
        try:
            verification.file_complaint(engine, request_, keyring=keyring, acting=None)
        except TrucelineError as exc:
            return complaints_page(request, message=str(exc))
        return RedirectResponse("/complaints", status_code=303)

    @app.get("/ledger", include_in_schema=False)
    def ledger_page(request: Request) -> Response:
        user = staff(request)
        if isinstance(user, Response):
            return user
        with engine.connect() as conn:
            report = verify_ledger(conn, load_mission(conn))
        return render(request, "ledger.html", user, title="Ledger", report=report)

    @app.get("/report", include_in_schema=False)
    def report_route(request: Request, date: str | None = None) -> Response:
        return report_page(request, date)

    def report_page(request: Request, date: str | None = None, message: str = "") -> Response:
        """The day's report as it stands, who has signed it, and (for a chief) the form that
        signs exactly the version shown."""
        user = staff(request)
        if isinstance(user, Response):
            return user
        day, _, _ = chosen_day(date)
        state = signing.report_state(engine, day)
        return render(
            request, "report.html", user, title="Daily report", day=day.isoformat(),
            text=render_report(state["report"]), state=state, message=message,
            can_sign=user.role == "chief" and user.contingent in state["waiting_for"],
        )  # fmt: skip

    @app.post("/report/sign", include_in_schema=False)
    def sign_page(
        request: Request,
        date: Annotated[str, Form()],
        sha256: Annotated[str, Form()],
        csrf: Annotated[str, Form()],
    ) -> Response:
        user = form_user(request, csrf)
        if isinstance(user, Response):
            return user
        if user.role != "chief" or user.contingent is None:
            return HTMLResponse("only a contingent's chief signs its reports", status_code=403)
        day = parse_day(date)
        try:
            signing.sign_report(
                engine, day, sha256=sha256, contingent=user.contingent, actor=user.name,
                keyring=keyring,
            )  # fmt: skip
        except TrucelineError as exc:
            return report_page(request, date, message=str(exc))
        return RedirectResponse(f"/report?date={day.isoformat()}", status_code=303)

    @app.get("/reports", include_in_schema=False)
    def published_list(request: Request) -> Response:
        """The published reports: for anyone, logged in or not."""
        with engine.connect() as conn:
            listed = signing.published_days(conn, load_mission(conn))
        return render(
            request, "published.html", session_user(request), title="Published reports",
            listed=listed,
        )  # fmt: skip

    @app.get("/reports/{date}", include_in_schema=False)
    def published_report(request: Request, date: str) -> Response:
        with engine.connect() as conn:
            found = signing.published(conn, load_mission(conn), parse_day(date))
        if found is None:
            return HTMLResponse(f"the report of {date} is not published", status_code=404)
        return render(
            request, "published_report.html", session_user(request), title=f"Report {date}",
            report=found, text=render_report(found["report"]),
        )  # fmt: skip

    def chosen_day(date: str | None) -> tuple[date_type, int, int]:
        """The reporting day asked for (YYYY-MM-DD), else the latest with data (today's, when
        data comes in today), with its bounds in microseconds."""
        with engine.connect() as conn:
            mission = load_mission(conn)
            latest = compliance.data_extent(conn)[1]
        if date:
            day = parse_day(date)
        else:
            now = datetime.now(UTC)
            moment = now if latest is None else min(now, from_us(latest))
            day = reporting_day(moment, mission.report_cutoff, mission.timezone)
        start, end = day_bounds(day, mission.report_cutoff, mission.timezone)
        return day, to_us(start), to_us(end)

    @app.get("/map", include_in_schema=False)
    def map_page(
        request: Request, date: str | None = None, kind: str | None = None,
        verdict: str | None = None,
    ) -> Response:  # fmt: skip
        user = staff(request)
        if isinstance(user, Response):
            return user
        day, _, _ = chosen_day(date)
        return render(
            request, "map.html", user, title="Map", day=day.isoformat(), kind=kind or "",
            verdict=verdict or "", kinds=sorted(KINDS), verdicts=MAP_VERDICTS,
        )  # fmt: skip

    @app.get("/map/data.json", include_in_schema=False)
    def map_data(
        request: Request, date: str | None = None, kind: str | None = None,
        verdict: str | None = None,
    ) -> Response:  # fmt: skip
        """The map's layers for one reporting day: zones, incidents (of a kind, of a verdict:
        `none` for those without a case) and every unit's track."""
        user = staff(request)
        if isinstance(user, Response):
            return user
        day, since, until = chosen_day(date)
        with engine.connect() as conn:
            mission = load_mission(conn)
            incidents = compliance.list_incidents(
                conn, since_us=since, until_us=until, kind=kind or None, limit=MAP_INCIDENTS
            )
            _, verdicts = verification.verdicts(conn, mission)
            tracks = compliance.unit_tracks(conn, since, until)
        zones = [
            {"type": "Feature", "properties": {"id": z.id, "name": z.name},
             "geometry": json.loads(shapely.to_geojson(z.geometry))}
            for z in mission.zones.values()
        ]  # fmt: skip
        points = [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [i["lon"], i["lat"]]},
             "properties": {"id": i["id"], "kind": i["kind"], "start": i["start"],
                            "verdict": verdicts.get(i["id"], "none")}}
            for i in incidents
            if not verdict or verdicts.get(i["id"], "none") == verdict
        ]  # fmt: skip
        lines = [
            {"type": "Feature",
             "geometry": {"type": "LineString", "coordinates": [[x, y] for y, x in tr["points"]]},
             "properties": {k: tr[k] for k in ("unit", "actor", "start", "end")}}
            for tr in tracks
        ]  # fmt: skip
        return JSONResponse({
            "day": day.isoformat(),
            "zones": {"type": "FeatureCollection", "features": zones},
            "incidents": {"type": "FeatureCollection", "features": points},
            "tracks": {"type": "FeatureCollection", "features": lines},
        })  # fmt: skip

    @app.get("/incidents/{incident_id}", include_in_schema=False)
    def incident_page(request: Request, incident_id: RowId) -> Response:
        user = staff(request)
        if isinstance(user, Response):
            return user
        with engine.connect() as conn:
            mission = load_mission(conn)
            incident = compliance.get_incident(conn, incident_id)
            if incident is None:
                return HTMLResponse(f"no incident {incident_id}", status_code=404)
            observed = {o["id"]: o for o in list_observations_by_id(conn, incident["observations"])}
            findings = compliance.findings_of_incident(conn, incident_id)
            by_finding, _ = verification.verdicts(conn, mission)
            case_of = verification.cases_of_findings(conn, [f["id"] for f in findings])
        return render(
            request, "incident.html", user, title=f"Incident {incident_id}", incident=incident,
            observations=[observed[n] for n in incident["observations"] if n in observed],
            findings=findings, verdicts=by_finding, case_of=case_of,
            can_open=user.role in MONITORS,
        )  # fmt: skip

    @app.post("/cases/open", include_in_schema=False)
    def open_case_page(
        request: Request,
        finding: Annotated[int, Form(ge=1, le=MAX_ID)],
        csrf: Annotated[str, Form()],
    ) -> Response:
        user = form_user(request, csrf)
        if isinstance(user, Response):
            return user
        if user.role not in MONITORS:
            return HTMLResponse("only a contingent's officers and chiefs open cases", 403)
        try:
            case = verification.open_case(
                engine, finding=finding, complaint=None, keyring=keyring, acting=user.contingent
            )
        except TrucelineError as exc:  # e.g. a case is open on it already (another user)
            status = 404 if str(exc).startswith("no ") else 409
            return HTMLResponse(f"{html.escape(str(exc))} <a href='/'>back</a>", status_code=status)
        return RedirectResponse(f"/cases/{case['id']}", status_code=303)


MAP_VERDICTS = ("confirmed", "rejected", "inconclusive", "disputed", "pending", "none")
MAP_INCIDENTS = 5000


def _live_state(engine: Engine, viewer: str | None) -> dict[str, Any]:
    with engine.connect() as conn:
        findings = compliance.list_findings(conn)
        verdicts = {c["id"]: c["verdict"] for c in verification.list_cases(conn, viewer=viewer)}
    return {
        "findings": findings,
        "last_finding": max((f["id"] for f in findings), default=0),
        "verdicts": verdicts,
    }
