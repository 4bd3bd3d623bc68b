"""schemathesis against our own OpenAPI: no 5xx, and every response fits the schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import signed_centre
from truceline.services.accounts import add_user
from truceline.services.ledger import KeyRing
from truceline.services.verification import open_case
from truceline.store.db import make_engine, migrate
from truceline.web.app import create_app

HEADERS: dict[str, str] = {}


@pytest.fixture
def openapi(tmp_path: Path) -> Any:
    """The API of a centre on a SQLite file (the schema is the same on PostgreSQL), with a
    record to list (so that the bodies of lists are checked against their models)."""
    db_url = f"sqlite:///{tmp_path / 'api.db'}"
    engine = make_engine(db_url)
    migrate(engine)
    keyring = KeyRing(tmp_path / "keys")
    finding = signed_centre(engine, keyring, tmp_path)
    open_case(engine, finding=finding, keyring=keyring, acting="blue")
    add_user(engine, "blue-officer", role="officer", password="correct horse", contingent="blue",
             keyring=keyring)  # fmt: skip
    app = create_app(db_url, tmp_path / "keys")
    from fastapi.testclient import TestClient

    token = TestClient(app).post(
        "/api/v1/auth/token", json={"username": "blue-officer", "password": "correct horse"}
    )
    HEADERS["Authorization"] = f"Bearer {token.json()['access_token']}"
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_the_api_answers_every_generated_request_within_its_schema(openapi: Any) -> None:
    operations = [result.ok() for result in openapi.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def generated(case: Any) -> None:
            case.call_and_validate(
                headers=HEADERS, checks=[not_a_server_error, response_schema_conformance]
            )

        generated()
