"""Stored XSS: a script in every stored text field is shown as text, in the real browser.

An officer once posted a position whose unit was `<img src=x onerror=…>`; the map's tooltip
rendered it as markup, and the script ran in the other contingent's chief's session. Here the
payload is put in every text that is stored and shown (unit, source, description, zone, party,
contingent, mission and clause names, narrative, rationale, reason); every page that shows
them is opened, every map layer hovered: no script runs, no element of the payload exists in
the page, and every answer carries the Content-Security-Policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from tests.conftest import add_accounts, demo_document
from tests.security.serving import BROWSER_ARGS, CHROMIUM, in_thread, need_chromium
from truceline.domain.cases import Position
from truceline.errors import FieldError
from truceline.services.accounts import add_user
from truceline.services.assess import assess
from truceline.services.ingest import ImportRejected, ingest_records
from truceline.services.ledger import KeyRing
from truceline.services.missions import init_database
from truceline.services.verification import (
    ComplaintInput,
    file_assessment,
    file_complaint,
    open_case,
    reconsider,
)
from truceline.store import tables as t
from truceline.store.db import make_engine, migrate
from truceline.web.app import create_app

playwright_api = pytest.importorskip("playwright.sync_api")
PAYLOAD = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
PASSWORD = "correct horse battery"
USERS = {"blue-officer": ("officer", "blue", None), "green-officer": ("officer", "green", None),
         "east-liaison": ("liaison", None, "east"), "admin": ("admin", None, None)}  # fmt: skip
WHEN = "2020-11-21T11:00:00+04:00"


def hostile_centre(tmp_path: Path) -> tuple[str, Path]:
    """The demo mission with the payload in its names, and a record full of it."""
    doc = demo_document()
    doc["mission"]["name"] = f"Centre {PAYLOAD}"
    doc["zones"][0]["name"] = f"Zone {PAYLOAD}"
    doc["clauses"][0]["title"] = f"Clause {PAYLOAD}"
    doc["parties"][1]["name"] = f"West {PAYLOAD}"
    doc["contingents"][0]["name"] = f"Blue {PAYLOAD}"
    mission = tmp_path / "mission.yaml"
    mission.write_text(yaml.safe_dump(doc, sort_keys=False))
    url = f"sqlite:///{tmp_path / 'centre.db'}"
    engine = make_engine(url)
    migrate(engine)
    keyring = KeyRing(tmp_path / "keys")
    init_database(engine, mission, keyring=keyring, generate_keys=True)
    ingest_records(
        engine, "positions",
        [{"unit": f"unit {PAYLOAD}", "time": t_, "lat": 40.1 + i / 100, "lon": 46.9,
          "actor": "west"}
         for i, t_ in enumerate((WHEN, "2020-11-21T11:10:00+04:00"))],
        source_name="api:blue-officer", default_reporter="blue", keyring=keyring, acting="blue",
    )  # fmt: skip
    with pytest.raises(ImportRejected, match="actor"):  # an actor is a party or a contingent
        ingest_records(
            engine, "positions", [{"unit": "u", "time": WHEN, "lat": 40, "lon": 47,
                                   "actor": PAYLOAD}],
            source_name="t", default_reporter="blue", keyring=keyring, acting="blue",
        )  # fmt: skip
    shots = [{"observed_at": WHEN, "lat": 40.27, "lon": 46.75, "kind": "explosion", "count": 3,
              "source_kind": "observation_post", "source": f"OP {PAYLOAD} {n}",
              "description": f"seen {PAYLOAD}"} for n in (1, 2)]  # fmt: skip
    ingest_records(
        engine, "observations", shots, source_name="api:blue-officer", default_reporter="blue",
        keyring=keyring, acting="blue",
    )  # fmt: skip
    assess(engine, keyring=keyring)
    add_accounts(engine, keyring, USERS, PASSWORD)
    with pytest.raises(FieldError, match="name"):  # a user name is a plain word
        add_user(engine, PAYLOAD, role="admin", password=PASSWORD, keyring=keyring)
    with engine.connect() as conn:
        finding = conn.execute(select(t.findings.c.id).order_by(t.findings.c.id)).scalar()
    case = open_case(engine, finding=finding, keyring=keyring, acting="blue")["id"]
    for contingent in ("blue", "green"):
        file_assessment(
            engine, case, contingent=contingent, actor=f"{contingent}-officer", keyring=keyring,
            position=Position("confirmed", "west", f"rationale {PAYLOAD}"),
        )  # fmt: skip
    reconsider(engine, case, contingent="green", reason=f"reason {PAYLOAD}", actor="g",
               keyring=keyring)  # fmt: skip
    file_complaint(engine, ComplaintInput(
        party="east", kind="explosion", narrative=f"narrative {PAYLOAD}",
        observed_from_us=1605942000000000, observed_to_us=1605942000000000, against="west",
        zone="contact-line", filed_by="east-liaison",
    ), keyring=keyring, acting=None)  # fmt: skip
    return url, tmp_path / "keys"


def log_in(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def no_script_ran(page: Any, where: str) -> None:
    assert page.evaluate("window.__xss") is None, where
    assert page.locator('img[src="x"]').count() == 0, where  # not even inert markup


def test_a_script_in_any_stored_text_is_shown_as_text_on_every_page(tmp_path: Path) -> None:
    need_chromium()
    url, keys = hostile_centre(tmp_path)
    visits = {
        "blue-officer": ["/", "/map", "/cases/1", "/incidents/1", "/complaints", "/report",
                         "/ledger", "/reports"],
        "east-liaison": ["/complaints"],
        "admin": ["/admin/users", "/docs"],
        None: ["/login", "/reports", "/no-such-page"],
    }  # fmt: skip
    with in_thread(create_app(url, keys)) as base, playwright_api.sync_playwright() as play:
        browser = play.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            shown: list[str] = []
            for who, pages in visits.items():
                page = browser.new_context().new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                if who is not None:
                    log_in(page, base, who)
                for path in pages:
                    answer = page.goto(base + path)
                    assert answer is not None
                    csp = answer.headers.get("content-security-policy", "")
                    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
                    if path == "/map":
                        page.wait_for_selector("body[data-map-ready=yes]", state="attached")
                        for layer in page.locator("path.leaflet-interactive").all():
                            layer.dispatch_event("mouseover")
                            shown.append(page.inner_text(".leaflet-tooltip-pane"))
                    if path == "/docs":
                        page.wait_for_selector(".swagger-ui .info", timeout=20_000)
                    no_script_ran(page, path)
                    shown.append(page.inner_text("body"))
                assert errors == [], (who, errors)
        finally:
            browser.close()
    text = "\n".join(shown)
    # (the pages name parties and contingents by their ids: their names are not shown yet)
    for field in ("unit", "OP", "seen", "Zone", "Centre", "Clause", "rationale", "reason",
                  "narrative"):  # fmt: skip
        assert f"{field} {PAYLOAD}" in text, field  # shown, as the text it is
