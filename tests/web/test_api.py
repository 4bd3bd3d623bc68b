"""The HTTP API: roles checked on every route, the error shape, blind assessments."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from tests.conftest import EXPLOSION_CSV, add_accounts, signed_centre
from truceline.services.ledger import KeyRing
from truceline.store import tables as t
from truceline.web.app import create_app

PASSWORD = "correct horse battery"
USERS = {
    "blue-officer": ("officer", "blue", None),
    "blue-chief": ("chief", "blue", None),
    "green-officer": ("officer", "green", None),
    "east-liaison": ("liaison", None, "east"),
    "west-liaison": ("liaison", None, "west"),
    "admin": ("admin", None, None),
}


@pytest.fixture
def api(engine: Engine, db_url: str, tmp_path: Path) -> dict[str, Any]:
    keyring = KeyRing(tmp_path / "keys")
    flare = "a2,2020-11-21T12:00:00+04:00,40.05,47.30,flare,1,observation_post,OP-2,green\n"
    signed_centre(engine, keyring, tmp_path, csv=EXPLOSION_CSV + flare)
    add_accounts(engine, keyring, USERS, PASSWORD)
    client = TestClient(create_app(db_url, tmp_path / "keys"))
    tokens = {}
    for name in USERS:
        reply = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
        assert reply.status_code == 200, reply.text
        tokens[name] = reply.json()["access_token"]
    with engine.connect() as conn:
        finding = int(conn.execute(select(t.findings.c.id)).scalar_one())
    case = client.post(
        "/api/v1/cases", json={"finding": finding}, headers=auth(tokens["blue-officer"])
    )
    assert case.status_code == 201, case.text
    return {"client": client, "tokens": tokens, "case": case.json()["id"], "finding": finding}


def auth(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


ASSESS = {"contingent": "blue", "verdict": "confirmed", "attribution": "west", "rationale": "seen"}
COMPLAIN = {"party": "east", "kind": "explosion", "narrative": "shelling", "zone": "contact-line",
            "observed_from": "2020-11-21T10:00:00+04:00", "against": "west"}  # fmt: skip
OK = "ok"
# route → expected status per role (anonymous, blue officer, blue chief, east liaison, admin)
TABLE = [
    ("GET", "/api/v1/observations", None, (401, OK, OK, 403, OK)),
    ("GET", "/api/v1/incidents", None, (401, OK, OK, 403, OK)),
    ("GET", "/api/v1/findings", None, (401, OK, OK, 403, OK)),
    ("GET", "/api/v1/cases", None, (401, OK, OK, 403, OK)),
    ("GET", "/api/v1/cases/{case}", None, (401, OK, OK, 403, OK)),
    ("POST", "/api/v1/cases", "finding", (401, OK, OK, 403, 403)),
    ("POST", "/api/v1/cases/{case}/assessments", ASSESS, (401, OK, OK, 403, 403)),
    ("GET", "/api/v1/complaints", None, (401, OK, OK, OK, OK)),
    ("POST", "/api/v1/complaints", COMPLAIN, (401, 403, 403, OK, 403)),
    ("GET", "/api/v1/ledger/verify", None, (401, OK, OK, 403, OK)),
    ("GET", "/api/v1/events", None, (401, OK, OK, 403, OK)),
]
ROLES = (None, "blue-officer", "blue-chief", "east-liaison", "admin")


@pytest.mark.parametrize(("method", "path", "body", "expected"), TABLE)
def test_every_route_checks_the_role(
    api: dict[str, Any], method: str, path: str, body: Any, expected: tuple[Any, ...]
) -> None:
    client, tokens = api["client"], api["tokens"]
    url = path.format(case=api["case"]) + ("?seconds=0" if path.endswith("/events") else "")
    payload = {"finding": api["finding"]} if body == "finding" else body
    for who, want in zip(ROLES, expected, strict=True):
        reply = client.request(method, url, json=payload, headers=auth(tokens.get(who or "")))
        if want == OK:
            assert reply.status_code not in (401, 403), (who, reply.text)
            assert reply.status_code < 500, (who, reply.text)
        else:
            assert reply.status_code == want, (who, reply.text)
            assert reply.json()["error"]["code"] in ("unauthenticated", "forbidden")


def test_the_table_covers_every_api_route(api: dict[str, Any]) -> None:
    routes = {
        (method, route.path)
        for route in api["client"].app.routes
        if route.path.startswith("/api/v1") and route.path != "/api/v1/auth/token"
        for method in route.methods
    }
    covered = {(m, p.replace("{case}", "{case_id}")) for m, p, _, _ in TABLE}
    assert routes == covered


def test_an_officer_cannot_file_another_contingent_s_assessment(api: dict[str, Any]) -> None:
    reply = api["client"].post(
        f"/api/v1/cases/{api['case']}/assessments",
        json=ASSESS,
        headers=auth(api["tokens"]["green-officer"]),
    )
    assert (
        reply.status_code == 403 and "files for green, not blue" in reply.json()["error"]["message"]
    )


def test_assessments_are_blind_through_the_api_until_both_have_filed(api: dict[str, Any]) -> None:
    client, tokens, case = api["client"], api["tokens"], api["case"]
    client.post(
        f"/api/v1/cases/{case}/assessments", json=ASSESS, headers=auth(tokens["blue-officer"])
    )
    seen = client.get(f"/api/v1/cases/{case}", headers=auth(tokens["green-officer"])).json()
    assert seen["filed"] == ["blue"] and seen["assessments"] == [] and seen["verdict"] == "pending"
    green = {**ASSESS, "contingent": "green", "rationale": "filmed"}
    client.post(
        f"/api/v1/cases/{case}/assessments", json=green, headers=auth(tokens["green-officer"])
    )
    seen = client.get(f"/api/v1/cases/{case}", headers=auth(tokens["green-officer"])).json()
    assert seen["verdict"] == "confirmed"
    assert sorted(a["contingent"] for a in seen["assessments"]) == ["blue", "green"]


def test_a_liaison_sees_only_its_own_party_s_complaints(api: dict[str, Any]) -> None:
    client, tokens = api["client"], api["tokens"]
    assert (
        client.post(
            "/api/v1/complaints", json=COMPLAIN, headers=auth(tokens["east-liaison"])
        ).status_code
        == 201
    )
    as_east = client.get("/api/v1/complaints", headers=auth(tokens["east-liaison"])).json()
    as_west = client.get("/api/v1/complaints", headers=auth(tokens["west-liaison"])).json()
    assert [c["party"] for c in as_east] == ["east"] and as_west == []
    other = {**COMPLAIN, "party": "west"}
    assert (
        client.post(
            "/api/v1/complaints", json=other, headers=auth(tokens["east-liaison"])
        ).status_code
        == 403
    )


def test_a_boolean_is_not_a_longitude(api: dict[str, Any]) -> None:
    body = {**COMPLAIN, "lat": 40.0, "lon": False}
    reply = api["client"].post(
        "/api/v1/complaints", json=body, headers=auth(api["tokens"]["east-liaison"])
    )
    assert reply.status_code == 422
    assert reply.json()["error"]["details"][0]["loc"][-1] == "lon"


def test_repeated_failed_logins_are_throttled(api: dict[str, Any]) -> None:
    client = api["client"]
    for _ in range(5):
        reply = client.post("/api/v1/auth/token", json={"username": "admin", "password": "wrong"})
        assert reply.status_code == 401 and reply.json()["error"]["code"] == "unauthenticated"
    reply = client.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD})
    assert reply.status_code == 429


def test_lists_page_with_next_and_filter_by_bbox_and_kind(api: dict[str, Any]) -> None:
    client, token = api["client"], api["tokens"]["blue-officer"]
    first = client.get("/api/v1/observations?limit=1", headers=auth(token)).json()
    assert len(first["items"]) == 1 and first["next"] == 1
    rest = client.get("/api/v1/observations?limit=1&offset=1", headers=auth(token)).json()
    assert len(rest["items"]) == 1 and rest["next"] == 1 + 1
    near = client.get("/api/v1/observations?bbox=46.7,40.2,46.8,40.3", headers=auth(token)).json()
    assert [o["record_id"] for o in near["items"]] == ["a1"]
    flares = client.get("/api/v1/observations?kind=flare", headers=auth(token)).json()
    assert [o["record_id"] for o in flares["items"]] == ["a2"]
    bad = client.get("/api/v1/observations?bbox=1,2,3", headers=auth(token))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid"


def test_the_api_docs_page_loads_only_local_files(api: dict[str, Any]) -> None:
    client = api["client"]
    page = client.get("/docs")
    assert page.status_code == 200
    assert "https://" not in page.text and "http://" not in page.text
    for asset in (
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui/swagger-ui.css",
    ):
        assert asset in page.text
        assert client.get(asset).status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "truceline"


def test_the_event_stream_sends_a_verdict_when_it_changes(api: dict[str, Any]) -> None:
    client, tokens, case = api["client"], api["tokens"], api["case"]
    client.post(
        f"/api/v1/cases/{case}/assessments", json=ASSESS, headers=auth(tokens["blue-officer"])
    )
    green = {**ASSESS, "contingent": "green"}
    done = threading.Thread(
        target=lambda: (time.sleep(0.5), client.post(
            f"/api/v1/cases/{case}/assessments", json=green, headers=auth(tokens["green-officer"])
        )),
    )  # fmt: skip
    done.start()
    with client.stream(
        "GET", "/api/v1/events?seconds=3&poll=0.2", headers=auth(tokens["blue-officer"])
    ) as stream:
        text = "".join(stream.iter_text())
    done.join()
    assert "event: verdict" in text and '"verdict": "confirmed"' in text
