"""Signed daily reports: every contingent's chief signs what was read; a report is published
once all have signed the same version, and anyone can then read and check it."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, func, update

from tests.web.conftest import DAY, auth
from truceline.domain.canonical import canonical_sha256
from truceline.store import tables as t


def draft(api: dict[str, Any], who: str = "blue-chief") -> dict[str, Any]:
    reply = api["client"].get(f"/api/v1/reports/{DAY}/draft", headers=auth(api["tokens"][who]))
    assert reply.status_code == 200, reply.text
    return reply.json()


def sign(api: dict[str, Any], who: str, contingent: str, sha: str) -> Any:
    return api["client"].post(
        f"/api/v1/reports/{DAY}/sign",
        json={"contingent": contingent, "sha256": sha},
        headers=auth(api["tokens"][who]),
    )


def test_a_report_is_published_only_once_every_contingent_s_chief_has_signed(
    api: dict[str, Any],
) -> None:
    client = api["client"]
    current = draft(api)
    assert len(current["report"]["incidents"]) == 2
    assert current["waiting_for"] == ["blue", "green"] and not current["published"]
    assert sign(api, "blue-chief", "blue", current["sha256"]).status_code == 201
    assert client.get(f"/api/v1/reports/{DAY}").status_code == 404
    state = draft(api, "green-officer")
    assert state["signed_by"] == ["blue"] and state["waiting_for"] == ["green"]
    assert sign(api, "green-chief", "green", current["sha256"]).status_code == 201
    public = client.get(f"/api/v1/reports/{DAY}")  # anyone, not logged in
    assert public.status_code == 200
    body = public.json()
    assert body["sha256"] == current["sha256"] == canonical_sha256(body["report"])
    assert [s["contingent"] for s in body["signatures"]] == ["blue", "green"]
    listed = client.get("/api/v1/reports").json()
    assert [r["date"] for r in listed] == [DAY]


def test_a_reader_can_check_each_signature_against_the_pinned_key(api: dict[str, Any]) -> None:
    sha = draft(api)["sha256"]
    sign(api, "blue-chief", "blue", sha)
    sign(api, "green-chief", "green", sha)
    body = api["client"].get(f"/api/v1/reports/{DAY}").json()
    for signature in body["signatures"]:
        entry = signature["entry"]
        assert entry["payload"]["sha256"] == body["sha256"]
        unsigned = {k: v for k, v in entry.items() if k not in ("hash", "sig")}
        assert canonical_sha256(unsigned) == entry["hash"]
        prefix, _, raw = signature["public_key"].partition(":")
        assert prefix == "ed25519"
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(raw))
        key.verify(base64.b64decode(entry["sig"]), bytes.fromhex(entry["hash"]))  # or raises


def test_a_report_that_changed_since_it_was_read_is_not_signed(api: dict[str, Any]) -> None:
    read = draft(api)["sha256"]
    api["client"].post(
        f"/api/v1/cases/{api['case']}/assessments",
        json={"contingent": "blue", "verdict": "confirmed", "rationale": "crater seen"},
        headers=auth(api["tokens"]["blue-officer"]),
    )
    api["client"].post(
        f"/api/v1/cases/{api['case']}/assessments",
        json={"contingent": "green", "verdict": "confirmed", "rationale": "filmed"},
        headers=auth(api["tokens"]["green-officer"]),
    )
    reply = sign(api, "blue-chief", "blue", read)
    assert reply.status_code == 409 and "changed since it was read" in reply.text
    now = draft(api)
    assert now["sha256"] != read and now["report"]["findings"][0]["case"]["verdict"] == "confirmed"


def test_chiefs_sign_only_for_their_own_contingent_and_officers_not_at_all(
    api: dict[str, Any],
) -> None:
    sha = draft(api)["sha256"]
    assert sign(api, "blue-chief", "green", sha).status_code == 403
    assert sign(api, "blue-officer", "blue", sha).status_code == 403
    assert sign(api, "admin", "blue", sha).status_code == 403
    assert sign(api, "blue-chief", "blue", sha).status_code == 201
    again = sign(api, "blue-chief", "blue", sha)
    assert again.status_code == 409 and "already signed" in again.text


def test_a_changed_signed_report_fails_ledger_verification(
    api: dict[str, Any], engine: Engine
) -> None:
    sha = draft(api)["sha256"]
    sign(api, "blue-chief", "blue", sha)
    with engine.begin() as conn:
        conn.execute(
            update(t.ledger_entries)
            .where(t.ledger_entries.c.action == "report_signed")
            .values(
                payload=func.replace(
                    t.ledger_entries.c.payload, '"counting": "incidents"', '"counting": "events"'
                )
            )
        )
    verified = (
        api["client"]
        .get("/api/v1/ledger/verify", headers=auth(api["tokens"]["blue-officer"]))
        .json()
    )
    assert not verified["ok"]
    assert any("does not match its sha256" in f["problem"] for f in verified["faults"])


def test_a_day_outside_the_supported_years_is_refused(api: dict[str, Any]) -> None:
    assert api["client"].get("/api/v1/reports/0001-01-01").status_code == 422
    assert api["client"].get("/api/v1/reports/2020-13-01").status_code == 422


def test_a_signature_whose_report_does_not_match_its_sha256_publishes_nothing(
    api: dict[str, Any], engine: Engine
) -> None:
    sha = draft(api)["sha256"]
    sign(api, "blue-chief", "blue", sha)
    with engine.begin() as conn:  # blue's entry now carries another text under the same sha256
        conn.execute(
            update(t.ledger_entries)
            .where(t.ledger_entries.c.action == "report_signed")
            .values(
                payload=func.replace(
                    t.ledger_entries.c.payload, '"counting": "incidents"', '"counting": "none"'
                )
            )
        )
    sign(api, "green-chief", "green", sha)
    assert api["client"].get(f"/api/v1/reports/{DAY}").status_code == 404
    assert draft(api)["signed_by"] == ["green"]


def test_a_published_report_is_served_as_a_file_to_anyone_in_each_format(
    api: dict[str, Any],
) -> None:
    sha = draft(api)["sha256"]
    client = api["client"]
    assert client.get(f"/api/v1/reports/{DAY}/file").status_code == 404  # not published
    sign(api, "blue-chief", "blue", sha)
    sign(api, "green-chief", "green", sha)
    pdf = client.get(f"/api/v1/reports/{DAY}/file?format=pdf&lang=ru")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    page = client.get(f"/api/v1/reports/{DAY}/file?format=html&lang=tr")
    assert page.headers["content-type"].startswith("text/html") and 'lang="tr"' in page.text
    assert client.get(f"/api/v1/reports/{DAY}/file?format=geojson").json()["type"] == (
        "FeatureCollection"
    )
    assert client.get(f"/api/v1/reports/{DAY}/file?format=docx").status_code == 422


def test_an_anonymous_reader_asking_again_and_again_gets_one_rendering(
    api: dict[str, Any],
) -> None:
    from truceline.web.pages import reports as pages

    sha = draft(api)["sha256"]
    sign(api, "blue-chief", "blue", sha)
    sign(api, "green-chief", "green", sha)
    pages._RENDERED.clear()
    first = api["client"].get(f"/api/v1/reports/{DAY}/file?format=pdf&lang=ru").content
    again = api["client"].get(f"/api/v1/reports/{DAY}/file?format=pdf&lang=ru").content
    assert first == again and len(pages._RENDERED) == 1  # rendered once, then served
    for lang in ("en", "tr"):
        for fmt in ("text", "html", "pdf"):
            api["client"].get(f"/api/v1/reports/{DAY}/file?format={fmt}&lang={lang}")
    assert len(pages._RENDERED) <= pages.CACHED


def test_reading_the_same_version_again_does_not_read_the_stored_copy(
    engine: Engine, tmp_path: Path
) -> None:
    """A stored read holds a whole report: it is read back only when the version differs."""
    from datetime import date

    from sqlalchemy import select

    from tests.conftest import add_accounts, signed_centre
    from truceline.services import signing
    from truceline.services.ledger import KeyRing

    keyring = KeyRing(tmp_path / "keys")
    signed_centre(engine, keyring, tmp_path)
    add_accounts(engine, keyring, {"reader": ("officer", "blue", None)}, "correct horse battery")
    with engine.connect() as conn:
        user = int(
            conn.execute(select(t.users.c.id).where(t.users.c.name == "reader")).scalar_one()
        )
    day = date(2020, 11, 21)
    signing.note_read(engine, user, day, "a" * 64, {"version": "one"})
    with engine.connect() as conn:
        same = signing.last_read(conn, user, day, holding="a" * 64)
        other = signing.last_read(conn, user, day, holding="b" * 64)
        never = signing.last_read(conn, user + 1, day)
    assert same is not None and same.content is None and same.sha256 == "a" * 64
    assert other is not None and other.content == {"version": "one"}
    assert never is None
