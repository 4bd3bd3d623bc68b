"""The pages: who may open which, the complaint form for liaisons, CSRF."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.conftest import add_accounts, signed_centre
from truceline.services.ledger import KeyRing
from truceline.services.verification import open_case
from truceline.web.app import create_app

PASSWORD = "correct horse battery"
USERS = {"officer": ("officer", "blue", None), "liaison": ("liaison", None, "east"),
         "admin": ("admin", None, None)}  # fmt: skip


@pytest.fixture
def site(tmp_path: Path) -> dict[str, Any]:
    from truceline.store.db import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'site.db'}"
    engine: Engine = make_engine(url)
    migrate(engine)
    keyring = KeyRing(tmp_path / "keys")
    finding = signed_centre(engine, keyring, tmp_path)
    add_accounts(engine, keyring, USERS, PASSWORD)
    open_case(engine, finding=finding, keyring=keyring, acting="blue")
    return {"app": create_app(url, tmp_path / "keys")}


def logged_in(site: dict[str, Any], name: str | None) -> TestClient:
    client = TestClient(site["app"], follow_redirects=False)
    if name is not None:
        page = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        reply = client.post("/login", data={"username": name, "password": PASSWORD, "csrf": csrf})
        assert reply.status_code == 303, reply.text
    return client


PAGES = [
    "/",
    "/cases/1",
    "/map",
    "/map/data.json",
    "/report?date=2020-11-21",
    "/ledger",
    "/complaints",
]
# page → expected status for (anonymous, officer, liaison, admin); 303 goes to /login or, for a
# liaison's dashboard, to /complaints
EXPECTED = {
    "/": (303, 200, 303, 200),
    "/cases/1": (303, 200, 403, 200),
    "/map": (303, 200, 403, 200),
    "/map/data.json": (303, 200, 403, 200),
    "/report?date=2020-11-21": (303, 200, 403, 200),
    "/ledger": (303, 200, 403, 200),
    "/complaints": (303, 200, 200, 200),
}


def test_every_page_checks_the_role(site: dict[str, Any]) -> None:
    clients = [logged_in(site, who) for who in (None, "officer", "liaison", "admin")]
    for page in PAGES:
        got = tuple(client.get(page).status_code for client in clients)
        assert got == EXPECTED[page], page


def test_the_page_table_covers_every_page(site: dict[str, Any]) -> None:
    gets = {
        route.path
        for route in site["app"].routes
        if "GET" in getattr(route, "methods", ())
        and not route.path.startswith(("/api/", "/static", "/docs", "/openapi"))
    }
    assert gets - {"/login"} == {p.split("?")[0].replace("/1", "/{case_id}") for p in PAGES}


def test_a_liaison_files_a_complaint_and_sees_its_status(site: dict[str, Any]) -> None:
    client = logged_in(site, "liaison")
    page = client.get("/complaints")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    form = {"kind": "explosion", "observed_at": "2020-11-21T10:00:00+04:00", "zone": "contact-line",
            "against": "west", "narrative": "shelling of our positions", "csrf": csrf}  # fmt: skip
    assert client.post("/complaints", data=form).status_code == 303
    listed = client.get("/complaints").text
    assert "awaiting a joint verdict" in listed and "explosion" in listed
    stale = {**form, "csrf": "forged"}
    assert client.post("/complaints", data=stale).status_code == 400


def test_the_ledger_and_summary_pages_show_their_state(site: dict[str, Any]) -> None:
    client = logged_in(site, "officer")
    assert 'data-ok="yes"' in client.get("/ledger").text
    summary = client.get("/report?date=2020-11-21").text
    assert "Reporting day 2020-11-21" in summary and "No violation of clause M4" in summary
