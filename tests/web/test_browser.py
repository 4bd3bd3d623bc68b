"""In a real browser (Debian's chromium, driven by Playwright): blue's officer confirms a case,
green's officer sees that blue has filed but not what, confirms; both then see the verdict
`confirmed` on the case page and on the map. Nothing is requested outside 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.conftest import add_accounts, signed_centre
from tests.security.serving import in_thread, need_chromium
from truceline.services.ledger import KeyRing
from truceline.services.verification import open_case
from truceline.store.db import make_engine, migrate
from truceline.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery"
playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    need_chromium()
    url = f"sqlite:///{tmp_path / 'centre.db'}"
    engine = make_engine(url)
    migrate(engine)
    keyring = KeyRing(tmp_path / "keys")
    finding = signed_centre(engine, keyring, tmp_path)
    officers = {
        "blue-officer": ("officer", "blue", None),
        "green-officer": ("officer", "green", None),
    }
    add_accounts(engine, keyring, officers, PASSWORD)
    open_case(engine, finding=finding, keyring=keyring, acting="blue")
    with in_thread(create_app(url, tmp_path / "keys")) as base:
        yield base


def log_in(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_two_officers_confirm_a_case_blind_and_see_the_verdict_on_page_and_map(server: str) -> None:
    requested: list[str] = []
    with playwright_api.sync_playwright() as play:
        browser = play.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        try:
            blue = browser.new_context().new_page()
            green = browser.new_context().new_page()
            problems: list[str] = []
            for page in (blue, green):
                page.on("request", lambda request: requested.append(request.url))
                page.on("pageerror", lambda exc: problems.append(str(exc)))
                page.on(
                    "console",
                    lambda msg: problems.append(msg.text) if msg.type == "error" else None,
                )

            log_in(blue, server, "blue-officer")
            blue.goto(f"{server}/cases/1")
            blue.select_option("select[name=verdict]", "confirmed")
            blue.select_option("select[name=attribution]", "west")
            blue.fill("textarea[name=rationale]", "three posts saw it")
            blue.click("#assess button[type=submit]")
            blue.wait_for_selector("#blind-note")
            assert "waiting for green" in blue.inner_text("#blind-note")

            watcher = browser.new_context().new_page()  # blue's dashboard stays open meanwhile
            watcher.on("request", lambda request: requested.append(request.url))
            log_in(watcher, server, "blue-officer")
            assert watcher.get_attribute("span[data-case='1']", "data-verdict") == "pending"

            log_in(green, server, "green-officer")
            green.goto(f"{server}/cases/1")
            note = green.inner_text("#blind-note")
            assert "blue filed" in note and "open when all have filed" in note
            assert "three posts saw it" not in green.content()  # blue's position stays hidden
            green.select_option("select[name=verdict]", "confirmed")
            green.select_option("select[name=attribution]", "west")
            green.fill("textarea[name=rationale]", "our UAV filmed it")
            green.click("#assess button[type=submit]")
            green.wait_for_selector("#verdict[data-verdict=confirmed]")
            assert "three posts saw it" in green.content()  # now revealed

            # The open dashboard shows the verdict without a reload (server-sent events).
            watcher.wait_for_selector("span[data-case='1'][data-verdict=confirmed]", timeout=15_000)
            assert "Case 1: joint verdict confirmed." in watcher.inner_text("#live")

            for page in (blue, green):
                page.goto(f"{server}/cases/1")
                assert page.get_attribute("#verdict", "data-verdict") == "confirmed"
                page.goto(f"{server}/map")
                try:
                    page.wait_for_selector(
                        "body[data-map-ready=yes]", timeout=20_000, state="attached"
                    )
                except playwright_api.TimeoutError:
                    raise AssertionError(f"the map did not load: {problems}") from None
                assert page.locator("#incidents li[data-verdict=confirmed]").count() == 1
                confirmed = page.locator(".incident-symbol[data-verdict=confirmed]")
                assert confirmed.count() == 1
                assert confirmed.get_attribute("data-shape") == "triangle"  # fire
                confirmed.click()  # a popup, not another page
                page.wait_for_selector(".leaflet-popup-content a[href='/incidents/1']")
                assert urlparse(page.url).path == "/map"
                assert page.locator(".map-legend").count() == 1
        finally:
            browser.close()
    assert problems == []
    outside = [url for url in requested if urlparse(url).hostname != "127.0.0.1"]
    assert requested and outside == []
