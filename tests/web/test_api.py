"""The HTTP API: roles checked on every route, the error shape, blind assessments."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine, select

from tests.web.conftest import DAY, OBSERVATION, PASSWORD, POSITION, auth
from truceline.store import tables as t

ASSESS = {"contingent": "blue", "verdict": "confirmed", "attribution": "west", "rationale": "seen"}
COMPLAIN = {"party": "east", "kind": "explosion", "narrative": "shelling", "zone": "contact-line",
            "observed_from": "2020-11-21T10:00:00+04:00", "against": "west"}  # fmt: skip
ROUND = {"contingent": "blue", "reason": "new footage"}
RETRACT = {"reason": "wrong grid"}
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
    ("POST", "/api/v1/cases/{case}/rounds", ROUND, (401, OK, OK, 403, 403)),
    ("POST", "/api/v1/observations/{observation_id}/retract", RETRACT, (401, OK, OK, 403, 403)),
    ("GET", "/api/v1/complaints", None, (401, OK, OK, OK, OK)),
    ("POST", "/api/v1/complaints", COMPLAIN, (401, 403, 403, OK, 403)),
    ("GET", "/api/v1/ledger/verify", None, (401, OK, OK, 403, OK)),
    ("GET", "/api/v1/ledger/entries", None, (401, OK, OK, 403, OK)),
    ("POST", "/api/v1/ledger/entries", "bundle", (401, 403, OK, 403, OK)),
    ("POST", "/api/v1/observations", OBSERVATION, (401, OK, OK, 403, 403)),
    ("POST", "/api/v1/positions", POSITION, (401, OK, OK, 403, 403)),
    ("GET", "/api/v1/reports", None, (OK, OK, OK, OK, OK)),
    ("GET", "/api/v1/reports/{day}", None, (OK, OK, OK, OK, OK)),
    ("GET", "/api/v1/reports/{day}/file", None, (OK, OK, OK, OK, OK)),
    ("GET", "/api/v1/reports/{day}/draft", None, (401, OK, OK, 403, OK)),
    ("POST", "/api/v1/reports/{day}/sign", "sign", (401, 403, OK, 403, 403)),
    ("GET", "/api/v1/events", None, (401, OK, OK, 403, OK)),
]
ROLES = (None, "blue-officer", "blue-chief", "east-liaison", "admin")


@pytest.mark.parametrize(("method", "path", "body", "expected"), TABLE)
def test_every_route_checks_the_role(
    api: dict[str, Any], method: str, path: str, body: Any, expected: tuple[Any, ...]
) -> None:
    client, tokens = api["client"], api["tokens"]
    url = path.format(case=api["case"], day=DAY, observation_id=1)
    url += "?seconds=0" if path.endswith("/events") else ""
    payload = {"finding": api["finding"]} if body == "finding" else body
    if body == "bundle":  # this node's own entries: importing them adds nothing
        payload = client.get("/api/v1/ledger/entries", headers=auth(tokens["admin"])).json()
    if body == "sign":
        draft = client.get(f"/api/v1/reports/{DAY}/draft", headers=auth(tokens["blue-chief"]))
        payload = {"contingent": "blue", "sha256": draft.json()["sha256"]}
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
    message = reply.json()["error"]["message"]
    assert reply.status_code == 403 and "for green, not for blue" in message


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


def test_posted_observations_are_stored_once_and_signed_as_a_batch(
    api: dict[str, Any], engine: Engine
) -> None:
    client, token = api["client"], api["tokens"]["blue-officer"]
    second = {**OBSERVATION, "id": "p2", "kind": "shot"}
    reply = client.post("/api/v1/observations", json=[OBSERVATION, second], headers=auth(token))
    assert reply.status_code == 201, reply.text
    assert reply.json()["accepted"] == 2 and reply.json()["duplicates"] == 0
    again = client.post("/api/v1/observations", json=OBSERVATION, headers=auth(token)).json()
    assert again["accepted"] == 0 and again["duplicates"] == 1
    stored = client.get("/api/v1/observations?kind=shot", headers=auth(token)).json()["items"]
    assert [(o["record_id"], o["reporter"]) for o in stored] == [("p2", "blue")]
    with engine.connect() as conn:
        logged = conn.execute(
            select(t.ledger_entries.c.payload).where(t.ledger_entries.c.action == "import_batch")
        ).scalars()
        assert any('"source": "api:blue-officer"' in p and '"rows": 2' in p for p in logged)
    verified = client.get("/api/v1/ledger/verify", headers=auth(token)).json()
    assert verified["ok"], verified["faults"]


def test_one_bad_posted_observation_stores_none_and_names_where_and_why(
    api: dict[str, Any],
) -> None:
    client, token = api["client"], api["tokens"]["blue-officer"]
    before = client.get("/api/v1/observations", headers=auth(token)).json()["items"]
    bad = {**OBSERVATION, "id": "p3", "kind": "dragon"}
    reply = client.post("/api/v1/observations", json=[OBSERVATION, bad], headers=auth(token))
    assert reply.status_code == 422
    error = reply.json()["error"]
    assert error["code"] == "invalid_records" and "nothing was stored" in error["message"]
    assert error["details"][0]["location"] == "body[1]"
    assert error["details"][0]["problems"][0]["field"] == "kind"
    after = client.get("/api/v1/observations", headers=auth(token)).json()["items"]
    assert after == before


def test_an_officer_records_observations_only_for_its_own_contingent(api: dict[str, Any]) -> None:
    reply = api["client"].post(
        "/api/v1/observations",
        json={**OBSERVATION, "reporter": "green"},
        headers=auth(api["tokens"]["blue-officer"]),
    )
    assert reply.status_code == 403 and "records for blue, not green" in reply.text


def test_posted_positions_form_a_track_and_a_string_is_not_a_latitude(
    api: dict[str, Any], engine: Engine
) -> None:
    client, token = api["client"], api["tokens"]["green-officer"]
    track = [
        {**POSITION, "time": f"2020-11-21T11:0{m}:00+04:00", "lon": 46.9 + m / 100}
        for m in range(3)
    ]
    reply = client.post("/api/v1/positions", json=track, headers=auth(token))
    assert reply.status_code == 201 and reply.json()["accepted"] == 3
    with engine.connect() as conn:
        units = conn.execute(select(t.positions.c.unit)).scalars().all()
    assert units == ["west-col-1"] * 3
    wrong = client.post("/api/v1/positions", json={**POSITION, "lat": "40.1"}, headers=auth(token))
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["loc"][-1] == "lat"
    unknown = client.post(
        "/api/v1/positions", json={**POSITION, "unit": "ghost-1"}, headers=auth(token)
    )
    assert unknown.status_code == 422
    assert "not declared" in unknown.json()["error"]["details"][0]["problems"][0]["message"]


def test_incidents_and_findings_filter_by_kind_zone_and_verdict(api: dict[str, Any]) -> None:
    client, tokens, case = api["client"], api["tokens"], api["case"]
    who = auth(tokens["blue-officer"])

    def ids(path: str) -> list[int]:
        reply = client.get(path, headers=who)
        assert reply.status_code == 200, reply.text
        return [item["id"] for item in reply.json()["items"]]

    everything = client.get("/api/v1/incidents", headers=who).json()["items"]
    explosion = next(i["id"] for i in everything if i["kind"] == "explosion")
    flare = next(i["id"] for i in everything if i["kind"] == "flare")
    assert ids("/api/v1/incidents?kind=flare") == [flare]
    assert ids("/api/v1/incidents?zone=contact-line") == [explosion]  # the flare lies outside
    assert ids("/api/v1/incidents?verdict=pending") == [explosion]
    assert ids("/api/v1/incidents?verdict=confirmed") == []
    for contingent in ("blue", "green"):
        client.post(
            f"/api/v1/cases/{case}/assessments",
            json={**ASSESS, "contingent": contingent},
            headers=auth(tokens[f"{contingent}-officer"]),
        )
    assert ids("/api/v1/incidents?verdict=confirmed") == [explosion]
    assert ids("/api/v1/findings?verdict=confirmed") == [api["finding"]]
    assert ids("/api/v1/findings?verdict=disputed") == []
    assert ids("/api/v1/findings?zone=contact-line") == [api["finding"]]
    assert ids("/api/v1/findings?zone=corridor") == []
    assert ids("/api/v1/observations?zone=contact-line") == [
        o["id"] for o in client.get("/api/v1/observations", headers=who).json()["items"]
        if o["record_id"] == "a1"
    ]  # fmt: skip
    cases = client.get("/api/v1/cases?verdict=confirmed", headers=who).json()
    assert [c["id"] for c in cases] == [case]
    unknown = client.get("/api/v1/incidents?zone=atlantis", headers=who)
    assert unknown.status_code == 404 and "no zone 'atlantis'" in unknown.text
    assert client.get("/api/v1/incidents?verdict=maybe", headers=who).status_code == 422


def test_every_answer_with_a_record_fits_its_typed_model(api: dict[str, Any]) -> None:
    from truceline.web.api import models as m

    client, headers = api["client"], auth(api["tokens"]["admin"])
    for path, model in (
        ("/api/v1/observations", m.ObservationPage), ("/api/v1/incidents", m.IncidentPage),
        ("/api/v1/findings", m.FindingPage), (f"/api/v1/cases/{api['case']}", m.Case),
        (f"/api/v1/reports/{DAY}/draft", m.Draft), ("/api/v1/ledger/entries", m.Bundle),
        ("/api/v1/ledger/verify", m.LedgerState),
    ):  # fmt: skip
        body = client.get(path, headers=headers).json()
        model.model_validate(body)  # strict where the model names a field
        assert body.get("items", [body]), path  # there was something to check


def test_a_posted_observation_is_assessed_as_it_arrives(api: dict[str, Any]) -> None:
    client, headers = api["client"], auth(api["tokens"]["blue-officer"])
    before = client.get("/api/v1/findings", headers=headers).json()["items"]
    shot = {"id": "late-1", "observed_at": "2020-11-21T16:00:00+04:00", "lat": 40.27,
            "lon": 46.75, "kind": "explosion", "count": 2, "source_kind": "patrol",
            "source": "PT-9"}  # fmt: skip
    assert client.post("/api/v1/observations", json=shot, headers=headers).status_code == 201
    after = client.get("/api/v1/findings", headers=headers).json()["items"]
    assert len(after) == len(before) + 1  # nobody ran `truceline assess`
