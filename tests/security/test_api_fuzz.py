"""A hypothesis fuzz over the API's JSON bodies: whatever is posted, the answer is never a
500 (nor a traceback), always the error shape when refused, and a refused body stores
nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.conftest import staffed_centre
from tests.security.conftest import PASSWORD, USERS
from truceline.services.verification import open_case
from truceline.store import tables as t
from truceline.web.app import create_app

SCALARS = (
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40)
    | st.sampled_from(["2020-11-21T11:00:00+04:00", "9999-12-31T23:59:59-23:59", "blue",
                       "east", "explosion", "contact-line", "1e308", "4_0.1", "=cmd", " \t=1"])
)  # fmt: skip
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=12,
)
# route → (who posts, the fields its body has): bodies are drawn with those fields (and any)
ROUTES: dict[str, tuple[str, list[str]]] = {
    "/api/v1/auth/token": ("", ["username", "password"]),
    "/api/v1/observations": ("blue-officer", ["observed_at", "lat", "lon", "kind", "count",
                                              "source_kind", "source", "uncertainty_m",
                                              "description", "subtype", "actor", "reporter"]),
    "/api/v1/positions": ("blue-officer", ["unit", "time", "lat", "lon", "actor", "speed_mps"]),
    "/api/v1/cases": ("blue-officer", ["finding", "complaint"]),
    "/api/v1/cases/1/assessments": ("blue-officer", ["contingent", "verdict", "attribution",
                                                     "rationale", "round"]),
    "/api/v1/cases/1/rounds": ("blue-officer", ["contingent", "reason"]),
    "/api/v1/observations/1/retract": ("blue-officer", ["reason"]),
    "/api/v1/complaints": ("east-liaison", ["party", "kind", "narrative", "observed_from",
                                            "observed_to", "against", "lat", "lon", "zone"]),
    "/api/v1/reports/2020-11-21/sign": ("blue-chief", ["contingent", "sha256"]),
    "/api/v1/ledger/entries": ("admin", ["format", "entries", "mission_files", "evidence"]),
}  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    url, engine, keyring, finding = staffed_centre(folder, USERS, PASSWORD)
    open_case(engine, finding=finding, keyring=keyring, acting="green")
    client = TestClient(create_app(url, folder / "keys"), raise_server_exceptions=False)
    headers = {"": {}}
    for name in USERS:
        reply = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
        headers[name] = {"Authorization": f"Bearer {reply.json()['access_token']}"}
    return {"client": client, "engine": engine, "headers": headers}


def body_for(fields: list[str]) -> st.SearchStrategy[Any]:
    shaped = st.fixed_dictionaries({}, optional={f: SCALARS for f in fields})
    return shaped | st.lists(shaped, max_size=3) | JSON


def held(engine: Any) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(
            int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in (t.ledger_entries, t.observations, t.positions, t.complaints, t.cases)
        )


@pytest.mark.parametrize("route", list(ROUTES))
def test_no_posted_body_gets_a_500_and_a_refused_one_stores_nothing(
    site: dict[str, Any], route: str
) -> None:
    who, fields = ROUTES[route]
    client, engine = site["client"], site["engine"]

    @given(body_for(fields))
    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def posted(body: Any) -> None:
        before = held(engine)
        reply = client.post(route, json=body, headers=site["headers"][who])
        assert reply.status_code < 500, (body, reply.text)
        assert "Traceback" not in reply.text
        if reply.status_code >= 400:
            error = reply.json()["error"]
            assert error["code"] and error["message"], reply.text
            assert held(engine) == before, (body, reply.text)

    posted()
