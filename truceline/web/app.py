"""The HTTP API under /api/v1: FastAPI, bearer tokens, roles checked on every route.

Errors are `{"error": {"code", "message", "details"}}` with the right 4xx status.
"""

import gc
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import Body, Depends, FastAPI, Query, Request
from fastapi import Path as FastPath
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Engine
from starlette.exceptions import HTTPException

from truceline import __version__
from truceline.domain.cases import Position
from truceline.domain.reporting import FIRST_YEAR, LAST_YEAR, supported_day
from truceline.domain.timeutil import to_us
from truceline.errors import TrucelineError
from truceline.services import accounts, corrections, exchange, ingest, signing, verification
from truceline.services.ledger import KeyRing, verify_ledger
from truceline.settings import database_url, key_dir
from truceline.store import compliance
from truceline.store.db import make_engine, writing
from truceline.store.missions import load_mission
from truceline.store.observations import list_observations
from truceline.web.pages import MAX_ID, add_pages

STATIC = Path(__file__).with_name("static")
MAX_PAGE = 1000
GC_THRESHOLD = 50_000  # allocations between collections of the youngest objects (default 700)
FAILURES_ALLOWED = 5  # failed logins per user name within FAILURE_WINDOW_S, then 429
FAILURE_WINDOW_S = 900


class ApiError(HTTPException):
    def __init__(
        self, status: int, code: str, message: str, details: list[Any] | None = None
    ) -> None:
        super().__init__(status, message)
        self.code, self.details = code, details or []


def error(status: int, code: str, message: str, details: list[Any] | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return JSONResponse(body, status_code=status)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TokenRequest(Strict):
    username: str
    password: str


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


Ident = Annotated[int, Field(ge=1, le=MAX_ID)]
Verdict = Literal["confirmed", "rejected", "inconclusive", "disputed", "pending"]


class CaseRequest(Strict):
    finding: Ident | None = None
    complaint: Ident | None = None


class AssessmentRequest(Strict):
    contingent: str
    verdict: Literal["confirmed", "not_confirmed", "inconclusive"]
    attribution: str = "undetermined"
    rationale: str = Field(min_length=1)
    round: int | None = Field(default=None, ge=1, le=10_000)  # must be the open round


class RoundRequest(Strict):
    contingent: str
    reason: str = Field(min_length=1)


class RetractRequest(Strict):
    reason: str = Field(min_length=1)


class ComplaintRequest(Strict):
    party: str
    kind: str
    narrative: str = Field(min_length=1)
    observed_from: Annotated[datetime, Field(strict=False)]  # ISO 8601 text, with its offset
    observed_to: Annotated[datetime | None, Field(strict=False)] = None
    against: str = "unknown"
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    zone: str | None = None


Text = Annotated[str, Field(max_length=10_000)]
Number = float  # strict: a JSON number, never a string or a boolean


class ObservationIn(Strict):
    """One observation: the CSV columns of the import formats, numbers as JSON numbers."""

    id: Text | None = None
    observed_at: Text | None = None
    observed_from: Text | None = None
    observed_to: Text | None = None
    lat: Number | None = None
    lon: Number | None = None
    uncertainty_m: Number | None = None
    observer_lat: Number | None = None
    observer_lon: Number | None = None
    bearing_deg: Number | None = None
    distance_min_m: Number | None = None
    distance_max_m: Number | None = None
    kind: Text
    subtype: Text | None = None
    count: int | None = None
    actor: Text | None = None
    source_kind: Text
    source: Text
    reporter: Text | None = None
    description: Text | None = None


class PositionIn(Strict):
    """One position of a unit: the columns of the positions CSV."""

    unit: Text
    time: Text
    lat: Number
    lon: Number
    actor: Text | None = None
    speed_mps: Number | None = None
    course_deg: Number | None = None
    hae_m: Number | None = None


class Stored(BaseModel):
    accepted: int
    duplicates: int
    batch: int | None


MAX_RECORDS = 10_000


class ListQuery(BaseModel):
    """A page of a list, of what starts in [since, until). (One model for the query, not a
    parameter each: FastAPI analyses each parameter again on every request.)"""

    since: datetime | None = None
    until: datetime | None = None
    zone: str | None = Field(None, description="a zone of the mission")
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_ID)


class ObservationQuery(ListQuery):
    kind: str | None = None
    bbox: str | None = Field(None, description="min_lon,min_lat,max_lon,max_lat")


class IncidentQuery(ObservationQuery):
    verdict: Verdict | None = None


class FindingQuery(ListQuery):
    clause: str | None = None
    verdict: Verdict | None = None


class Synced(BaseModel):
    received: int
    new: int
    revealed: list[int]


class SignRequest(Strict):
    contingent: str
    sha256: str = Field(pattern="^[0-9a-f]{64}$")


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[Any]


class ErrorBody(BaseModel):
    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "refused"), (401, "not logged in"), (403, "not allowed for this role"),
        (404, "no such thing"), (409, "a conflict"), (422, "the request is not valid"),
        (413, "too large"), (429, "throttled"),
    )
}  # fmt: skip


class Page(BaseModel):
    items: list[dict[str, Any]]
    next: int | None


class Failures:
    """Failed logins per user name, for throttling."""

    def __init__(self) -> None:
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, name: str) -> bool:
        now = time.monotonic()
        with self._lock:
            seen = self._seen[name]
            while seen and now - seen[0] > FAILURE_WINDOW_S:
                seen.popleft()
            return len(seen) >= FAILURES_ALLOWED

    def failed(self, name: str) -> None:
        with self._lock:
            self._seen[name].append(time.monotonic())

    def clear(self, name: str) -> None:
        with self._lock:
            self._seen.pop(name, None)


def create_app(database: str | None = None, keys: Path | None = None) -> FastAPI:
    engine: Engine = make_engine(database_url(database))
    keyring = KeyRing(key_dir(keys))
    failures = Failures()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # What the app loaded stays for its lifetime: keep the collector from scanning it
        # again and again (a full collection paused requests for tens of milliseconds). A
        # request's objects are freed as it ends (by reference counts), so the collector
        # looks for cycles less often than by default.
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_THRESHOLD, 20, 20)
        yield

    app = FastAPI(
        title="truceline", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan,
        description="The API of a joint ceasefire monitoring centre.", responses=ERRORS,
    )  # fmt: skip

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """The API's documentation page, from local files (never a CDN)."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="truceline API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.exception_handler(ApiError)
    def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error(exc.status_code, exc.code, str(exc.detail), exc.details)

    @app.exception_handler(HTTPException)
    def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return error(exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(RequestValidationError)
    def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return error(422, "invalid", "the request is not valid", details)

    @app.exception_handler(TrucelineError)
    def refused(_: Request, exc: TrucelineError) -> JSONResponse:
        message = str(exc)
        conflict = isinstance(exc, verification.Conflict) or "already" in message
        status = 404 if message.startswith("no ") else 409 if conflict else 400
        return error(status, "refused", message)

    # The dependencies below run on the event loop (each is quick: a pool checkout, one
    # indexed lookup): a synchronous dependency would cost a hop to a worker thread each.
    async def db() -> AsyncIterator[Connection]:
        with engine.connect() as conn:
            yield conn

    bearer = HTTPBearer(auto_error=False)

    async def user(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> accounts.User:
        if credentials is None:
            raise ApiError(401, "unauthenticated", "log in first: POST /api/v1/auth/token")
        with engine.connect() as conn:
            found = accounts.user_for_token(conn, credentials.credentials)
        if found is None:
            raise ApiError(401, "unauthenticated", "the token is not valid (or expired)")
        return found

    def role(*allowed: str) -> Any:
        # One dependency (on the bearer scheme) rather than a chain: each level of
        # dependencies costs FastAPI a round of parameter analysis on every request.
        async def check(
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        ) -> accounts.User:
            who = await user(credentials)
            if who.role not in allowed:
                raise ApiError(403, "forbidden", f"a {who.role} may not do this")
            return who

        return Depends(check)

    Conn = Annotated[Connection, Depends(db)]
    Monitor = Annotated[accounts.User, role("officer", "chief")]
    Chief = Annotated[accounts.User, role("chief")]
    Reader = Annotated[accounts.User, role("officer", "chief", "admin")]
    Anyone = Annotated[accounts.User, Depends(user)]
    CaseId = Annotated[int, FastPath(ge=1, le=MAX_ID)]

    def page(items: list[dict[str, Any]], limit: int, offset: int) -> Response:
        """A page of a list, serialised at once (the items are plain JSON already)."""
        following = offset + limit if len(items) == limit else None
        return Response(
            orjson.dumps({"items": items, "next": following}), media_type="application/json"
        )

    def bounds(bbox: str | None) -> tuple[float, float, float, float] | None:
        if bbox is None:
            return None
        try:
            west, south, east, north = (float(v) for v in bbox.split(","))
        except ValueError:
            raise ApiError(422, "invalid", "bbox is min_lon,min_lat,max_lon,max_lat") from None
        if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
            raise ApiError(422, "invalid", "bbox is min_lon,min_lat,max_lon,max_lat within range")
        return west, south, east, north

    def zone_geometry(conn: Connection, zone: str | None) -> Any:
        if zone is None:
            return None
        zones = load_mission(conn).zones
        if zone not in zones:
            raise ApiError(404, "not_found", f"no zone {zone!r} ({', '.join(zones)})")
        return zones[zone].geometry

    def us(moment: datetime | None) -> int | None:
        if moment is None:
            return None
        if moment.tzinfo is None:
            raise ApiError(422, "invalid", f"{moment.isoformat()} has no offset")
        return to_us(moment)

    @app.post("/api/v1/auth/token", response_model=Token)
    def token(body: TokenRequest, conn: Conn) -> Token:
        if failures.blocked(body.username):
            raise ApiError(429, "throttled", "too many failed logins; wait a quarter of an hour")
        found = accounts.authenticate(conn, body.username, body.password)
        if found is None:
            failures.failed(body.username)
            raise ApiError(401, "unauthenticated", "wrong user name or password")
        failures.clear(body.username)
        with writing(engine) as write:
            return Token(access_token=accounts.issue_token(write, found))

    # The list reads below are bounded (a page of at most MAX_PAGE rows, by an index) and run
    # on the event loop: a hop to a worker thread and back cost more than the query, and
    # threads of one process only take turns on the interpreter anyway.
    @app.get("/api/v1/observations", response_model=Page)
    async def observations(who: Reader, q: Annotated[ObservationQuery, Query()]) -> Response:
        with engine.connect() as conn:
            items = list_observations(
                conn, since_us=us(q.since), until_us=us(q.until), kind=q.kind, limit=q.limit,
                offset=q.offset, bbox=bounds(q.bbox), within=zone_geometry(conn, q.zone),
            )  # fmt: skip
        return page(items, q.limit, q.offset)

    def store_records(kind: str, who: accounts.User, items: list[dict[str, Any]]) -> Stored:
        if len(items) > MAX_RECORDS:
            raise ApiError(413, "too_large", f"at most {MAX_RECORDS:,} records per request")
        try:
            report = ingest.ingest_records(
                engine, kind, items, source_name=f"api:{who.name}",
                default_reporter=who.contingent, keyring=keyring, acting=who.contingent,
            )  # fmt: skip
        except ingest.ImportRejected as exc:
            details = [
                {"location": e.location,
                 "problems": [{"field": f, "message": m} for f, m in e.problems]}
                for e in exc.report.errors
            ]  # fmt: skip
            raise ApiError(
                422, "invalid_records",
                f"{exc.report.rejected} bad record(s); nothing was stored", details,
            ) from None  # fmt: skip
        return Stored(accepted=report.accepted, duplicates=report.duplicates, batch=report.batch_id)

    @app.post("/api/v1/observations", response_model=Stored, status_code=201)
    def post_observations(body: ObservationIn | list[ObservationIn], who: Monitor) -> Stored:
        """Record one observation or many, for the officer's own contingent: all or nothing;
        posting the same records again adds nothing."""
        listed = body if isinstance(body, list) else [body]
        items = [x.model_dump(exclude_none=True) for x in listed]
        for index, item in enumerate(items):
            if item.setdefault("reporter", who.contingent) != who.contingent:
                raise ApiError(
                    403, "forbidden",
                    f"body[{index}]: {who.name} records for {who.contingent}, "
                    f"not {item['reporter']}",
                )  # fmt: skip
        return store_records("observations", who, items)

    @app.post("/api/v1/positions", response_model=Stored, status_code=201)
    def post_positions(body: PositionIn | list[PositionIn], who: Monitor) -> Stored:
        """Record one position or many (a unit's track): all or nothing, idempotent."""
        listed = body if isinstance(body, list) else [body]
        return store_records("positions", who, [x.model_dump(exclude_none=True) for x in listed])

    @app.get("/api/v1/incidents", response_model=Page)
    async def incidents(who: Reader, q: Annotated[IncidentQuery, Query()]) -> Response:
        with engine.connect() as conn:
            among = None
            if q.verdict is not None:
                _, by_incident = verification.verdicts(conn, load_mission(conn))
                among = {i for i, v in by_incident.items() if v == q.verdict}
            items = compliance.list_incidents(
                conn, since_us=us(q.since), until_us=us(q.until), bbox=bounds(q.bbox),
                kind=q.kind, within=zone_geometry(conn, q.zone), among=among, limit=q.limit,
                offset=q.offset,
            )  # fmt: skip
        return page(items, q.limit, q.offset)

    @app.get("/api/v1/findings", response_model=Page)
    async def findings(who: Reader, q: Annotated[FindingQuery, Query()]) -> Response:
        with engine.connect() as conn:
            among: set[int] | None = None
            if q.verdict is not None:
                by_finding, _ = verification.verdicts(conn, load_mission(conn))
                among = {f for f, v in by_finding.items() if v == q.verdict}
            if q.zone is not None:  # the findings that name the zone or whose incident is in it
                inside = compliance.finding_ids_in_zone(conn, q.zone, zone_geometry(conn, q.zone))
                among = inside if among is None else among & inside
            items = compliance.list_findings(
                conn, clause=q.clause, since_us=us(q.since), until_us=us(q.until), among=among,
                limit=q.limit, offset=q.offset,
            )  # fmt: skip
        return page(items, q.limit, q.offset)

    @app.get("/api/v1/cases")
    def cases(who: Reader, conn: Conn, verdict: Verdict | None = None) -> list[dict[str, Any]]:
        listed = verification.list_cases(conn, viewer=who.contingent)
        return [c for c in listed if verdict is None or c["verdict"] == verdict]

    @app.get("/api/v1/cases/{case_id}")
    def case(case_id: CaseId, who: Reader, conn: Conn) -> dict[str, Any]:
        return verification.case_view(conn, load_mission(conn), case_id, viewer=who.contingent)

    @app.post("/api/v1/cases", status_code=201)
    def open_case(body: CaseRequest, who: Monitor) -> dict[str, Any]:
        return verification.open_case(
            engine,
            finding=body.finding,
            complaint=body.complaint,
            keyring=keyring,
            acting=who.contingent,
        )

    def own_contingent(who: accounts.User, contingent: str, doing: str) -> None:
        if contingent != who.contingent:
            raise ApiError(
                403, "forbidden", f"{who.name} {doing} for {who.contingent}, not {contingent}"
            )

    @app.post("/api/v1/cases/{case_id}/assessments", status_code=201)
    def assess_case(case_id: CaseId, body: AssessmentRequest, who: Monitor) -> dict[str, Any]:
        own_contingent(who, body.contingent, "files")
        position = Position(body.verdict, body.attribution, body.rationale)
        return verification.file_assessment(
            engine,
            case_id,
            contingent=body.contingent,
            position=position,
            actor=who.name,
            keyring=keyring,
            round=body.round,
        )

    @app.post("/api/v1/cases/{case_id}/rounds", status_code=201)
    def reconsider_case(case_id: CaseId, body: RoundRequest, who: Monitor) -> dict[str, Any]:
        own_contingent(who, body.contingent, "reconsiders")
        return verification.reconsider(
            engine, case_id, contingent=body.contingent, reason=body.reason, actor=who.name,
            keyring=keyring,
        )  # fmt: skip

    @app.post("/api/v1/observations/{observation_id}/retract")
    def retract(observation_id: CaseId, body: RetractRequest, who: Monitor) -> dict[str, Any]:
        done = corrections.retract_observation(
            engine, observation_id, reason=body.reason, keyring=keyring,
            acting=who.contingent, actor=who.name,
        )  # fmt: skip
        return {"observation": done.observation, "uid": done.uid, "retracted_by": done.contingent,
                "reason": done.reason}  # fmt: skip

    @app.get("/api/v1/complaints")
    def complaints(who: Anyone, conn: Conn) -> list[dict[str, Any]]:
        if who.role == "liaison":
            return verification.list_complaints(conn, party=who.party)
        return verification.list_complaints(conn)

    @app.post("/api/v1/complaints", status_code=201)
    def file_complaint(body: ComplaintRequest, who: Anyone, conn: Conn) -> dict[str, Any]:
        if who.role != "liaison" or who.party != body.party:
            raise ApiError(403, "forbidden", "only the party's liaison files its complaints")
        first = us(body.observed_from)
        last = us(body.observed_to) if body.observed_to is not None else first
        assert first is not None and last is not None
        request = verification.ComplaintInput(
            party=body.party, kind=body.kind, narrative=body.narrative, observed_from_us=first,
            observed_to_us=last, against=body.against, lat=body.lat, lon=body.lon, zone=body.zone,
            filed_by=who.name,
        )  # fmt: skip
        receipt = verification.file_complaint(engine, request, keyring=keyring, acting=None)
        return receipt.as_dict()

    def day_of(value: date) -> date:
        if not supported_day(value):
            raise ApiError(422, "invalid", f"a reporting day lies in {FIRST_YEAR}–{LAST_YEAR}")
        return value

    Day = Annotated[date, FastPath(description="the reporting day, YYYY-MM-DD")]

    @app.get("/api/v1/reports")
    def reports(conn: Conn) -> list[dict[str, Any]]:
        """The published reports (for anyone, logged in or not): day, sha256, when."""
        return signing.published_days(conn, load_mission(conn))

    @app.get("/api/v1/reports/{day}")
    def report(day: Day, conn: Conn) -> dict[str, Any]:
        """The published report of a day with every contingent's signed log entry (for
        anyone, logged in or not); 404 while it is not published."""
        found = signing.published(conn, load_mission(conn), day_of(day))
        if found is None:
            raise ApiError(404, "not_found", f"the report of {day.isoformat()} is not published")
        return found

    @app.get("/api/v1/reports/{day}/draft")
    def report_draft(day: Day, who: Reader) -> dict[str, Any]:
        """The report as it stands now, its sha256, and who has signed it."""
        return signing.report_state(engine, day_of(day))

    @app.post("/api/v1/reports/{day}/sign", status_code=201)
    def sign_report(day: Day, body: SignRequest, who: Chief) -> dict[str, Any]:
        """A chief signs the report (the sha256 read) for the chief's own contingent."""
        if body.contingent != who.contingent:
            raise ApiError(
                403, "forbidden", f"{who.name} signs for {who.contingent}, not {body.contingent}"
            )
        return signing.sign_report(
            engine, day_of(day), sha256=body.sha256, contingent=body.contingent,
            actor=who.name, keyring=keyring,
        )  # fmt: skip

    Syncer = Annotated[accounts.User, role("chief", "admin")]

    @app.get("/api/v1/ledger/entries")
    def ledger_entries(
        who: Reader,
        after: Annotated[
            str | None,
            Query(max_length=2000, description="the last seq held of each log: blue:5,green:3"),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=exchange.PAGE_MAX)] = 1000,
    ) -> Response:
        """A page of the entries this node holds after `after`, in causal order, with the
        evidence they name (`truceline/bundle@2`, the format of `ledger export`): what another
        node imports to sync. `next` is the `after` of the following page (null: the last)."""
        body = exchange.bundle_of(engine, after=exchange.parse_cursor(after), limit=limit)
        return Response(orjson.dumps(body), media_type="application/json")

    @app.post("/api/v1/ledger/entries")
    def sync_entries(request_body: Annotated[dict[str, Any], Body()], who: Syncer) -> Synced:
        """Import another node's bundle: a union of entries, stored only if every entry
        verifies against the pinned keys (the sender is never trusted); cases revealed by it
        are named."""
        result = exchange.import_bundle_data(
            engine, request_body, "the posted bundle", keyring=keyring
        )
        return Synced(received=result.received, new=result.new, revealed=result.revealed)

    @app.get("/api/v1/ledger/verify")
    def ledger(who: Reader, conn: Conn) -> dict[str, Any]:
        return verify_ledger(conn, load_mission(conn)).as_dict()

    add_pages(app, engine, keyring)

    return app
