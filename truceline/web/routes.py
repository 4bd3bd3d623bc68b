"""Every route of the web app, in one table: method, path, the function that answers, and the
policy action (truceline.domain.policy) its user must be allowed. The app factory registers
them as they stand here; a test checks that every route has its entry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import Response

from truceline.web.api import auth, cases, complaints, events, evidence, ledger, record, reports
from truceline.web.api import models as m
from truceline.web.pages import admin, dashboard, lists, session
from truceline.web.pages import cases as case_pages
from truceline.web.pages import complaints as complaint_pages
from truceline.web.pages import ledger as ledger_pages
from truceline.web.pages import map as map_pages
from truceline.web.pages import reports as report_pages


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    endpoint: Callable[..., Any]
    action: str
    options: dict[str, Any] = field(default_factory=dict)  # FastAPI's: status, models

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")


def _api(
    method: str, path: str, endpoint: Callable[..., Any], action: str, **options: Any
) -> Route:
    return Route(method, path, endpoint, action, options)


def _page(method: str, path: str, endpoint: Callable[..., Any], action: str) -> Route:
    return Route(method, path, endpoint, action, {"include_in_schema": False})


V1 = "/api/v1"
API: list[Route] = [
    _api("POST", f"{V1}/auth/token", auth.token, "session", response_model=m.Token),
    _api("GET", f"{V1}/observations", evidence.observations, "record.read",
         response_model=m.ObservationPage),
    _api("POST", f"{V1}/observations", evidence.post_observations, "evidence.record",
         response_model=m.Stored, status_code=201),
    _api("POST", f"{V1}/observations/{{observation_id}}/retract", evidence.retract,
         "evidence.retract", response_model=m.Retracted),
    _api("POST", f"{V1}/positions", evidence.post_positions, "evidence.record",
         response_model=m.Stored, status_code=201),
    _api("GET", f"{V1}/incidents", record.incidents, "record.read",
         response_model=m.IncidentPage),
    _api("GET", f"{V1}/findings", record.findings, "record.read", response_model=m.FindingPage),
    _api("GET", f"{V1}/cases", cases.cases, "record.read", response_model=list[m.Case]),
    _api("GET", f"{V1}/cases/{{case_id}}", cases.case, "record.read", response_model=m.Case),
    _api("POST", f"{V1}/cases", cases.open_case, "cases.open", response_model=m.Case,
         status_code=201),
    _api("POST", f"{V1}/cases/{{case_id}}/assessments", cases.assess, "cases.assess",
         response_model=m.Case, status_code=201),
    _api("POST", f"{V1}/cases/{{case_id}}/rounds", cases.reconsider, "cases.reconsider",
         response_model=m.Case, status_code=201),
    _api("GET", f"{V1}/complaints", complaints.complaints, "complaints.read",
         response_model=list[m.Complaint]),
    _api("POST", f"{V1}/complaints", complaints.file_complaint, "complaints.file",
         response_model=m.Receipt, status_code=201),
    _api("GET", f"{V1}/reports", reports.reports, "reports.published",
         response_model=list[m.PublishedDay]),
    _api("GET", f"{V1}/reports/{{day}}", reports.report, "reports.published",
         response_model=m.Report),
    _api("GET", f"{V1}/reports/{{day}}/file", reports.rendered, "reports.published",
         response_class=Response,
         responses={200: {"content": reports.MEDIA, "description": "the report as a file"}}),
    _api("GET", f"{V1}/reports/{{day}}/draft", reports.draft, "reports.draft",
         response_model=m.Draft),
    _api("POST", f"{V1}/reports/{{day}}/sign", reports.sign, "reports.sign",
         response_model=m.Draft, status_code=201),
    _api("GET", f"{V1}/ledger/entries", ledger.entries, "ledger.read", response_model=m.Bundle),
    _api("POST", f"{V1}/ledger/entries", ledger.sync, "ledger.sync", response_model=m.Synced),
    _api("GET", f"{V1}/ledger/verify", ledger.verify, "ledger.read",
         response_model=m.LedgerState),
    _api("GET", f"{V1}/events", events.events, "events.read", include_in_schema=False),
]  # fmt: skip

PAGES: list[Route] = [
    _page("GET", "/login", session.login_page, "session"),
    _page("POST", "/login", session.login, "session"),
    _page("POST", "/logout", session.logout, "session"),
    _page("GET", "/", dashboard.dashboard, "dashboard.read"),  # a liaison goes to complaints
    _page("GET", "/cases/{case_id}", case_pages.case_page, "record.read"),
    _page("POST", "/cases/{case_id}/assess", case_pages.assess, "cases.assess"),
    _page("POST", "/cases/{case_id}/reconsider", case_pages.reconsider, "cases.reconsider"),
    _page("POST", "/cases/open", case_pages.open_case, "cases.open"),
    _page("GET", "/incidents", lists.incidents_page, "record.read"),
    _page("GET", "/incidents/export", lists.incidents_export, "record.read"),
    _page("GET", "/incidents/{incident_id}", case_pages.incident_page, "record.read"),
    _page("GET", "/findings", lists.findings_page, "record.read"),
    _page("GET", "/cases", lists.cases_page, "record.read"),
    _page("GET", "/complaints", complaint_pages.complaints_page, "complaints.read"),
    _page("POST", "/complaints", complaint_pages.complain, "complaints.file"),
    _page("GET", "/complaints/{complaint_id}", complaint_pages.complaint_page, "complaints.read"),
    _page(
        "GET",
        "/complaints/{complaint_id}/attachments/{sha256}",
        complaint_pages.attachment,
        "complaints.read",
    ),
    _page("GET", "/map", map_pages.map_page, "map.read"),
    _page("GET", "/map/data.json", map_pages.map_data, "map.read"),
    _page("GET", "/map/tiles/{z}/{x}/{y}", map_pages.map_tile, "map.read"),
    _page("GET", "/report", report_pages.report_page, "reports.draft"),
    _page("GET", "/report/download", report_pages.draft_download, "reports.draft"),
    _page("POST", "/report/sign", report_pages.sign, "reports.sign"),
    _page("GET", "/reports", report_pages.published_list, "reports.published"),
    _page("GET", "/reports/{date}", report_pages.published_report, "reports.published"),
    _page("GET", "/reports/{date}/download", report_pages.published_download, "reports.published"),
    _page("GET", "/ledger", ledger_pages.ledger_page, "ledger.read"),
    _page("GET", "/admin/users", admin.users_page, "users.manage"),
    _page("POST", "/admin/users/{name}/password", admin.set_password, "users.manage"),
    _page("POST", "/admin/users/{name}/{change}", admin.change_user, "users.manage"),
]

ROUTES = API + PAGES
