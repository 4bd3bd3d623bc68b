"""What the API tests share: a signed centre with a cast of users, each with a token, and
one case open."""

from __future__ import annotations

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
    "green-chief": ("chief", "green", None),
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


OBSERVATION = {"id": "p1", "observed_at": "2020-11-21T11:00:00+04:00", "lat": 40.1, "lon": 46.9,
               "kind": "flare", "source_kind": "patrol", "source": "PT-4"}  # fmt: skip
POSITION = {"unit": "west-col-1", "time": "2020-11-21T11:00:00+04:00", "lat": 40.1, "lon": 46.9}
DAY = "2020-11-21"


# The pages' centre (a signed day published, a case open), for the page tests of every module.
from tests.web.test_pages import site  # noqa: E402, F401
