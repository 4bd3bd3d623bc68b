"""Every request is bounded before it costs anything, and every answer carries its headers.

- Bodies had no size limit and were parsed before the token was checked: an anonymous 200 MB
  array took +1.6 GB before the 401.
- The failed-login counter kept every name, of any length (8 logins with 20 MB names: +165 MB).
- A complaint of the year 9999 (`9999-12-31T23:59:59-23:59`) was accepted and then broke `/`,
  `/complaints` and `GET /api/v1/complaints` for everyone.
- `uncertainty_m: 1e308` was accepted and every later `assess` failed.
- No CSP, X-Frame-Options, nosniff or Cache-Control.
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.security.conftest import PASSWORD
from tests.security.serving import in_process, memory_kib
from truceline.services.assess import assess
from truceline.store import tables as t
from truceline.web.app import create_app

MiB = 1 << 20
SERVER_GROWTH_MIB = 150  # what the server's peak memory may grow by under the attacks below


def logged_in(centre: dict[str, Any]) -> tuple[TestClient, dict[str, dict[str, str]]]:
    client = TestClient(create_app(centre["url"], centre["keys"]), follow_redirects=False)
    tokens = {}
    for name in ("blue-officer", "east-liaison", "admin"):
        reply = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
        tokens[name] = {"Authorization": f"Bearer {reply.json()['access_token']}"}
    return client, tokens


def entries(centre: dict[str, Any]) -> int:
    with centre["engine"].connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.ledger_entries)).scalar_one())


def test_every_answer_carries_the_security_headers_and_logged_in_ones_are_not_stored(
    centre: dict[str, Any],
) -> None:
    client, tokens = logged_in(centre)
    asked = [("/login", {}), ("/reports", {}), ("/api/v1/cases", tokens["admin"]),
             ("/api/v1/nothing", {}), ("/docs", {}), ("/static/site.css", {})]  # fmt: skip
    for path, headers in asked:
        reply = client.get(path, headers=headers)
        assert "script-src 'self'" in reply.headers["content-security-policy"], path
        assert "frame-ancestors 'none'" in reply.headers["content-security-policy"], path
        assert reply.headers["x-content-type-options"] == "nosniff", path
        assert reply.headers["x-frame-options"] == "DENY", path
        assert reply.headers["referrer-policy"] == "no-referrer", path
        if not path.startswith("/static"):
            assert reply.headers["cache-control"] == "no-store", path
    docs = client.get("/docs").text
    assert not re.search(r"<script>(?!</script>)", docs)  # every script is a file of this server


def test_secure_cookies_are_sent_only_over_https_when_asked(
    centre: dict[str, Any], monkeypatch: Any
) -> None:
    monkeypatch.setenv("TRUCELINE_SECURE_COOKIES", "1")
    client = TestClient(create_app(centre["url"], centre["keys"]), base_url="https://centre")
    cookie = client.get("/login").headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_a_declared_oversized_body_and_an_anonymous_write_are_refused_unread(
    centre: dict[str, Any],
) -> None:
    client, tokens = logged_in(centre)
    big = b"[" + b"1," * (300 * 1024) + b"1]"
    reply = client.post("/api/v1/complaints", content=big, headers=tokens["east-liaison"])
    assert reply.status_code == 413 and reply.json()["error"]["code"] == "too_large"
    english = reply.json()["error"]["message"]
    russian = client.post(
        "/api/v1/complaints",
        content=big,
        headers={**tokens["east-liaison"], "Accept-Language": "ru-RU, en;q=0.5"},
    )
    said = russian.json()["error"]["message"]  # the guard speaks the asker's language too
    assert said != english and "262,144" in said and "байт" in said
    reply = client.post("/api/v1/observations", content=b"[]")
    assert reply.status_code == 401
    forged = {"Authorization": "Bearer not-a-token", "content-type": "application/json"}
    assert client.post("/api/v1/ledger/entries", content=b"{}", headers=forged).status_code == 401
    # the large limits are for the roles that may post there: a liaison has the small one
    reply = client.post("/api/v1/observations", content=big, headers=tokens["east-liaison"])
    assert reply.status_code == 413
    reply = client.post(
        "/login", content=big, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert reply.status_code == 413


def _chunks(total: int, piece: bytes) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield piece
        sent += len(piece)


def _post_streamed(base: str, path: str, total: int, headers: dict[str, str]) -> int:
    """POST `total` bytes of a JSON array in chunks (no Content-Length); the status answered."""
    where = urlparse(base)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    try:
        conn.putrequest("POST", path)
        for name, value in {"Content-Type": "application/json", "Transfer-Encoding": "chunked",
                            **headers}.items():  # fmt: skip
            conn.putheader(name, value)
        conn.endheaders()
        try:
            conn.send(b"1\r\n[\r\n")
            for chunk in _chunks(total, b'{"kind":"explosion","n":1},' * 4000):
                conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            conn.send(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed before reading it all: what is wanted
        return conn.getresponse().status
    finally:
        conn.close()


def test_oversized_and_anonymous_requests_do_not_grow_the_server_s_memory(
    centre: dict[str, Any],
) -> None:
    with in_process(centre["url"], centre["keys"]) as (base, pid):
        before = memory_kib(pid)["VmHWM"]
        token = json.loads(
            _request(base, "POST", "/api/v1/auth/token",
                     json.dumps({"username": "blue-officer", "password": PASSWORD}).encode())[1]
        )["access_token"]  # fmt: skip
        statuses = [
            _post_streamed(base, "/api/v1/observations", 200 * MiB, {}),  # anonymous
            # under the limit, a made-up token: refused before anything is read or parsed
            _post_streamed(base, "/api/v1/ledger/entries", 60 * MiB, {"Authorization": "Bearer x"}),
            _post_streamed(base, "/api/v1/observations", 200 * MiB, {"Authorization": "Bearer x"}),
            _post_streamed(base, "/api/v1/observations", 200 * MiB,
                           {"Authorization": f"Bearer {token}"}),
        ]  # fmt: skip
        for _ in range(8):  # logins with 20 MB names
            statuses.append(_post_streamed(base, "/api/v1/auth/token", 20 * MiB, {}))
        after = memory_kib(pid)["VmHWM"]
    assert statuses[:3] == [401, 401, 401] and set(statuses[3:]) == {413}, statuses
    grown = (after - before) / 1024
    assert grown < SERVER_GROWTH_MIB, f"the server's peak memory grew by {grown:.0f} MiB"


def _request(base: str, method: str, path: str, body: bytes) -> tuple[int, bytes]:
    where = urlparse(base)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def test_a_complaint_of_the_year_9999_is_refused_and_the_pages_keep_working(
    centre: dict[str, Any],
) -> None:
    client, tokens = logged_in(centre)
    held = entries(centre)
    complaint = {"party": "east", "kind": "explosion", "narrative": "shelling",
                 "zone": "contact-line", "observed_from": "9999-12-31T23:59:59-23:59"}  # fmt: skip
    reply = client.post("/api/v1/complaints", json=complaint, headers=tokens["east-liaison"])
    assert reply.status_code == 422 and "observed_from" in reply.json()["error"]["message"]
    complaint["observed_from"] = "2020-11-21T10:00:00+04:00"
    complaint["observed_to"] = "2100-01-01T00:00:00Z"
    reply = client.post("/api/v1/complaints", json=complaint, headers=tokens["east-liaison"])
    assert reply.status_code == 422 and "observed_to" in reply.json()["error"]["message"]
    assert entries(centre) == held
    assert client.get("/api/v1/complaints", headers=tokens["admin"]).status_code == 200


def test_an_uncertainty_of_1e308_is_refused_and_assess_keeps_working(
    centre: dict[str, Any],
) -> None:
    client, tokens = logged_in(centre)
    held = entries(centre)
    observation = {"observed_at": "2020-11-21T11:00:00+04:00", "lat": 40.1, "lon": 46.9,
                   "kind": "explosion", "source_kind": "patrol", "source": "PT-4",
                   "uncertainty_m": 1e308}  # fmt: skip
    reply = client.post("/api/v1/observations", json=observation, headers=tokens["blue-officer"])
    assert reply.status_code == 422
    assert "uncertainty_m" in json.dumps(reply.json()["error"]["details"])
    assert entries(centre) == held
    assess(centre["engine"], keyring=centre["keyring"])  # no OverflowError


def test_an_officer_may_not_post_positions_of_another_contingent_s_declared_unit(
    centre: dict[str, Any],
) -> None:
    client, tokens = logged_in(centre)
    held = entries(centre)
    track = [{"unit": "green-uav-1", "time": "2020-11-21T11:00:00+04:00", "lat": 40.1, "lon": 46.9}]
    reply = client.post("/api/v1/positions", json=track, headers=tokens["blue-officer"])
    assert reply.status_code == 422 and "green" in json.dumps(reply.json())
    assert entries(centre) == held
    for unit, actor in (("blue-uav-1", None), ("west-col-1", None), ("new-patrol", "blue")):
        one = {**track[0], "unit": unit} | ({"actor": actor} if actor else {})
        reply = client.post("/api/v1/positions", json=one, headers=tokens["blue-officer"])
        assert reply.status_code == 201, (unit, reply.text)
