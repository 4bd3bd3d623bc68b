"""Guessing is slow for the guesser only, and access can be taken back.

- `/login` had no throttle (153 guesses in 10 s), the API's lockout was per worker and locked
  the real user out from anywhere, and a page's session cookie worked as an API token.
- `/logout` deleted the cookie only; the token stayed valid for 12 h; `users` had only `add`.
- Passwords of 10 spaces or `1234567890` were accepted.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.security.conftest import PASSWORD
from truceline.errors import FieldError
from truceline.services import accounts, throttle
from truceline.store import tables as t
from truceline.web.app import create_app

TOKEN = "/api/v1/auth/token"


def client_of(centre: dict[str, Any], address: str = "10.0.0.1") -> TestClient:
    app = create_app(centre["url"], centre["keys"])
    return TestClient(app, client=(address, 40000), follow_redirects=False)


def page_login(client: TestClient, name: str, password: str) -> Any:
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert csrf is not None
    return client.post(
        "/login", data={"username": name, "password": password, "csrf": csrf.group(1)}
    )


def test_failed_logins_through_one_worker_throttle_the_other_worker_and_the_login_page(
    centre: dict[str, Any],
) -> None:
    first, second = client_of(centre), client_of(centre)  # two apps: two workers' state
    for n in range(throttle.PAIR_FAILURES):
        worker = (first, second)[n % 2]
        reply = worker.post(TOKEN, json={"username": "admin", "password": f"guess {n}"})
        assert reply.status_code == 401
    for worker in (first, second):  # even the right password, from here, now
        reply = worker.post(TOKEN, json={"username": "admin", "password": PASSWORD})
        assert reply.status_code == 429 and reply.json()["error"]["code"] == "throttled"
    assert page_login(second, "admin", PASSWORD).status_code == 429


def test_the_real_user_logs_in_from_elsewhere_while_a_guesser_is_throttled(
    centre: dict[str, Any],
) -> None:
    guesser = client_of(centre, "10.6.6.6")
    for n in range(throttle.PAIR_FAILURES + 2):
        guesser.post(TOKEN, json={"username": "blue-officer", "password": f"x{n}"})
    assert (
        guesser.post(TOKEN, json={"username": "blue-officer", "password": PASSWORD}).status_code
        == 429
    )
    real = client_of(centre, "10.0.0.2")
    assert (
        real.post(TOKEN, json={"username": "blue-officer", "password": PASSWORD}).status_code == 200
    )
    assert page_login(real, "blue-officer", PASSWORD).status_code == 303


def test_guesses_sent_at_the_same_time_check_at_most_five_passwords(
    centre: dict[str, Any],
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client = client_of(centre, "10.6.6.7")

    def guess(n: int) -> int:
        return client.post(TOKEN, json={"username": "admin", "password": f"g{n}"}).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(guess, range(12)))
    assert statuses.count(401) <= throttle.PAIR_FAILURES
    assert statuses.count(429) >= 12 - throttle.PAIR_FAILURES


def test_failures_of_other_names_behind_one_address_do_not_lock_a_user_out(
    centre: dict[str, Any],
) -> None:
    shared = client_of(centre, "10.9.9.9")  # both contingents behind one NAT
    for name in ("blue-officer", "blue-chief", "admin", "east-liaison", "nobody"):
        for n in range(throttle.PAIR_FAILURES + 1):
            shared.post(TOKEN, json={"username": name, "password": f"x{n}"})
    reply = shared.post(TOKEN, json={"username": "green-officer", "password": PASSWORD})
    assert reply.status_code == 200


def test_the_throttle_keeps_a_fixed_size_row_whatever_the_name(centre: dict[str, Any]) -> None:
    client = client_of(centre)
    reply = client.post(TOKEN, json={"username": "n" * 5_000_000, "password": "x"})
    assert reply.status_code == 413  # larger than the route's body limit: refused unread
    reply = client.post(TOKEN, json={"username": "n" * 100_000, "password": "x"})
    assert reply.status_code == 422  # longer than any account's name: refused, not counted
    assert page_login(client, "m" * 200, "x").status_code == 401  # the page's limit is wider
    with centre["engine"].connect() as conn:
        rows = conn.execute(select(t.login_failures)).all()
    assert [len(r.name_digest) for r in rows] == [64] and all(len(r.address) <= 64 for r in rows)


def test_a_page_session_is_not_an_api_token_nor_a_token_a_session(centre: dict[str, Any]) -> None:
    client = client_of(centre)
    assert page_login(client, "blue-officer", PASSWORD).status_code == 303
    session = client.cookies["session"]
    reply = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {session}"})
    assert reply.status_code == 401
    token = client.post(TOKEN, json={"username": "blue-officer", "password": PASSWORD}).json()
    other = client_of(centre)
    other.cookies.set("session", token["access_token"])
    assert other.get("/").status_code == 303  # to the login page


def test_logging_out_ends_the_session_on_the_server(centre: dict[str, Any]) -> None:
    client = client_of(centre)
    page_login(client, "blue-officer", PASSWORD)
    stolen = client.cookies["session"]
    client.post("/logout", data={"csrf": client.cookies["csrf"]})
    thief = client_of(centre)
    thief.cookies.set("session", stolen)
    assert thief.get("/").status_code == 303


def test_revoke_ends_every_session_and_token_now_and_the_user_may_log_in_again(
    centre: dict[str, Any], cli: Any
) -> None:
    client = client_of(centre)
    page_login(client, "green-officer", PASSWORD)
    token = client.post(TOKEN, json={"username": "green-officer", "password": PASSWORD}).json()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.get("/api/v1/cases", headers=bearer).status_code == 200
    ran = cli("users", "revoke", "green-officer", "--db", centre["url"])
    assert ran.code == 0 and "2 session(s) and token(s) ended" in ran.out
    assert client.get("/api/v1/cases", headers=bearer).status_code == 401
    assert client.get("/").status_code == 303
    assert (
        client.post(TOKEN, json={"username": "green-officer", "password": PASSWORD}).status_code
        == 200
    )


def test_disable_revokes_and_refuses_logins_until_enable(centre: dict[str, Any], cli: Any) -> None:
    client = client_of(centre)
    token = client.post(TOKEN, json={"username": "green-officer", "password": PASSWORD}).json()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    keys = ["--key-dir", str(centre["keys"]), "--db", centre["url"]]
    assert cli("users", "disable", "green-officer", *keys).code == 0
    assert client.get("/api/v1/cases", headers=bearer).status_code == 401
    assert (
        client.post(TOKEN, json={"username": "green-officer", "password": PASSWORD}).status_code
        == 401
    )
    listed = cli("users", "list", "--json", "--db", centre["url"])
    assert {u["name"]: u["disabled"] for u in __import__("json").loads(listed.out)}["green-officer"]
    assert cli("users", "enable", "green-officer", *keys).code == 0
    assert (
        client.post(TOKEN, json={"username": "green-officer", "password": PASSWORD}).status_code
        == 200
    )


def test_an_admin_ends_a_user_s_sessions_from_the_accounts_page(centre: dict[str, Any]) -> None:
    victim, admin = client_of(centre), client_of(centre, "10.0.0.3")
    page_login(victim, "blue-officer", PASSWORD)
    page_login(admin, "admin", PASSWORD)
    listed = admin.get("/admin/users")
    assert listed.status_code == 200 and 'data-user="blue-officer"' in listed.text
    csrf = admin.cookies["csrf"]
    ended = admin.post("/admin/users/blue-officer/revoke", data={"csrf": csrf})
    assert ended.status_code == 303
    assert (
        ended.headers["location"] == "/admin/users?done=revoked&name=blue-officer#user-blue-officer"
    )
    said = admin.get(ended.headers["location"]).text
    assert "blue-officer: every session and token ended" in said
    assert 'href="#user-blue-officer"' in said
    # the address alone says nothing the account does not show
    assert "is disabled" not in admin.get("/admin/users?done=disabled&name=blue-officer").text
    assert victim.get("/").status_code == 303
    weak = admin.post(
        "/admin/users/blue-officer/password", data={"csrf": csrf, "password": "1234567890"}
    )
    assert weak.status_code == 200 and "too easy to guess" in weak.text


@pytest.mark.parametrize(
    ("password", "why"),
    [(" " * 10, "Repeats"), ("1234567890", "common password"), ("short", "at least 10"),
     ("blue-officer1", "easy to guess")],
)  # fmt: skip
def test_a_weak_password_is_refused_saying_why(password: str, why: str) -> None:
    with pytest.raises(FieldError, match="password") as refused:
        accounts.check_password_policy(password, "blue-officer")
    assert why in str(refused.value)


def test_passwd_sets_a_new_password_and_ends_the_sessions(
    centre: dict[str, Any], cli: Any, monkeypatch: Any
) -> None:
    client = client_of(centre)
    page_login(client, "blue-chief", PASSWORD)
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("a quite different passphrase\n"))
    assert cli("users", "passwd", "blue-chief", "--password-stdin", "--db", centre["url"]).code == 0
    assert client.get("/").status_code == 303
    assert (
        page_login(client_of(centre), "blue-chief", "a quite different passphrase").status_code
        == 303
    )
    with centre["engine"].connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.tokens)).scalar_one() == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("1234567890\n"))
    weak = cli("users", "passwd", "blue-chief", "--password-stdin", "--db", centre["url"])
    assert weak.code == 1 and "the password: too easy to guess" in weak.err
