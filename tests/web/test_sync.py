"""Two nodes sync their logs over HTTP (`/api/v1/ledger/entries`): each keeps one contingent's
key, and they reach the same verdict; a tampered bundle is refused whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from tests.conftest import add_accounts
from tests.services.test_exchange import two_nodes
from tests.services.test_joint_record import evidence_of
from truceline.services.assess import assess
from truceline.services.ledger import KeyRing
from truceline.store import projection
from truceline.store import tables as t
from truceline.web.app import create_app

PASSWORD = "correct horse battery"


def node(engine: Engine, keys: KeyRing, contingent: str) -> tuple[TestClient, dict[str, str]]:
    """A node's API with its officer, chief and admin logged in (tokens by role)."""
    users = {f"{contingent}-{role}": (role, None if role == "admin" else contingent, None)
             for role in ("officer", "chief", "admin")}  # fmt: skip
    add_accounts(engine, keys, users, PASSWORD)
    client = TestClient(create_app(engine.url.render_as_string(hide_password=False), keys.folder))
    tokens = {}
    for name, (role, _, _) in users.items():
        reply = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
        tokens[role] = f"Bearer {reply.json()['access_token']}"
    return client, tokens


@pytest.fixture
def pair(engine: Engine, tmp_path: Path) -> dict[str, Any]:
    a, blue, b, green = two_nodes(engine, tmp_path)
    (api_a, tokens_a), (api_b, tokens_b) = node(a, blue, "blue"), node(b, green, "green")
    return {"a": api_a, "ta": tokens_a, "b": api_b, "tb": tokens_b, "engine_b": b,
            "engine_a": a, "keys_a": blue, "keys_b": green}  # fmt: skip


def sync(source: TestClient, source_token: str, target: TestClient, target_token: str) -> Any:
    """Pull every page (a few entries each) from the source and post each to the target."""
    total = {"received": 0, "new": 0, "revealed": []}
    after: str | None = ""
    while after is not None:
        page = source.get(
            "/api/v1/ledger/entries", params={"after": after, "limit": 3},
            headers={"Authorization": source_token},
        )  # fmt: skip
        assert page.status_code == 200, page.text
        assert len(page.json()["entries"]) <= 3
        reply = target.post(
            "/api/v1/ledger/entries", json=page.json(), headers={"Authorization": target_token}
        )
        assert reply.status_code == 200, reply.text
        for key in ("received", "new"):
            total[key] += reply.json()[key]
        total["revealed"] += reply.json()["revealed"]
        after = page.json()["next"]
    return total


def test_two_nodes_sync_over_http_and_reach_the_same_verdict(pair: dict[str, Any]) -> None:
    a, b, ta, tb = pair["a"], pair["b"], pair["ta"], pair["tb"]
    finding = a.get("/api/v1/findings", headers={"Authorization": ta["officer"]}).json()
    case = a.post(
        "/api/v1/cases", json={"finding": finding["items"][0]["id"]},
        headers={"Authorization": ta["officer"]},
    ).json()["id"]  # fmt: skip
    blue = {
        "contingent": "blue",
        "verdict": "confirmed",
        "attribution": "west",
        "rationale": "seen",
    }
    a.post(f"/api/v1/cases/{case}/assessments", json=blue, headers={"Authorization": ta["officer"]})
    first = sync(a, ta["officer"], b, tb["chief"])
    assert first["new"] > 0 and first["revealed"] == []
    again = sync(a, ta["officer"], b, tb["admin"])
    assert again["new"] == 0  # a union: nothing twice
    with pair["engine_b"].connect() as conn:
        case_b = int(conn.execute(select(t.cases.c.id)).scalar_one())
    green = {**blue, "contingent": "green", "rationale": "our UAV"}
    filed = b.post(
        f"/api/v1/cases/{case_b}/assessments", json=green, headers={"Authorization": tb["officer"]}
    )
    assert filed.status_code == 201
    assert sync(b, tb["officer"], a, ta["chief"])["revealed"] == [case]
    sync(a, ta["officer"], b, tb["chief"])
    on_a = a.get(f"/api/v1/cases/{case}", headers={"Authorization": ta["officer"]}).json()
    on_b = b.get(f"/api/v1/cases/{case_b}", headers={"Authorization": tb["officer"]}).json()
    assert on_a["verdict"] == on_b["verdict"] == "confirmed"


def test_a_tampered_bundle_posted_is_refused_whole_and_officers_may_not_post(
    pair: dict[str, Any],
) -> None:
    a, b, ta, tb = pair["a"], pair["b"], pair["ta"], pair["tb"]
    bundle = a.get("/api/v1/ledger/entries", headers={"Authorization": ta["officer"]}).json()
    officer = b.post(
        "/api/v1/ledger/entries", json=bundle, headers={"Authorization": tb["officer"]}
    )
    assert officer.status_code == 403
    bundle["entries"][-1]["actor"] = "someone else"
    reply = b.post("/api/v1/ledger/entries", json=bundle, headers={"Authorization": tb["chief"]})
    assert reply.status_code == 400 and "the bundle is refused, nothing imported" in reply.text
    with pair["engine_b"].connect() as conn:
        held = {row[0] for row in conn.execute(select(t.ledger_entries.c.contingent))}
    assert held == {"green"}  # nothing of blue's log was stored
    junk = b.post(
        "/api/v1/ledger/entries", json={"format": "x"}, headers={"Authorization": tb["chief"]}
    )
    assert junk.status_code == 400 and "not a bundle" in junk.text


def test_two_nodes_syncing_both_ways_over_http_hold_equal_evidence_and_joint_records(
    pair: dict[str, Any],
) -> None:
    a, b, ta, tb = pair["a"], pair["b"], pair["ta"], pair["tb"]
    shot = {"id": "g1", "observed_at": "2020-11-21T11:00:00+04:00", "lat": 40.27, "lon": 46.75,
            "kind": "shot", "source_kind": "patrol", "source": "GP-1"}  # fmt: skip
    assert b.post("/api/v1/observations", json=shot,
                  headers={"Authorization": tb["officer"]}).status_code == 201  # fmt: skip
    complaint = {"party": "east", "kind": "explosion", "narrative": "shelling",
                 "zone": "contact-line", "observed_from": "2020-11-21T10:00:00+04:00"}  # fmt: skip
    add_accounts(pair["engine_a"], pair["keys_a"], {"east-1": ("liaison", None, "east")}, PASSWORD)
    liaison = a.post("/api/v1/auth/token", json={"username": "east-1", "password": PASSWORD})
    receipt = a.post(
        "/api/v1/complaints",
        json=complaint,
        headers={"Authorization": f"Bearer {liaison.json()['access_token']}"},
    )
    assert receipt.status_code == 201 and receipt.json()["received_by"] == ["blue"]
    sync(a, ta["officer"], b, tb["chief"])
    sync(b, tb["officer"], a, ta["chief"])
    for engine, keys in ((pair["engine_a"], pair["keys_a"]), (pair["engine_b"], pair["keys_b"])):
        assess(engine, keyring=keys)
    sync(a, ta["officer"], b, tb["chief"])
    sync(b, tb["officer"], a, ta["chief"])
    with pair["engine_a"].connect() as ca, pair["engine_b"].connect() as cb:
        assert evidence_of(ca) == evidence_of(cb)
        assert len(evidence_of(ca)["observations"]) == 2
        left, right = projection.snapshot(ca), projection.snapshot(cb)
        for name in ("cases", "rounds", "assessments", "complaints", "complaint_receipts"):
            assert left[name] == right[name], name
        assert len(right["complaint_receipts"]) == 2  # green received it when it synced
