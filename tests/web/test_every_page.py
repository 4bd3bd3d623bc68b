"""Every page, as the role that works in it opens it, in Debian's chromium: at 390 px wide no
page scrolls sideways, no page logs a console error or asks anything of a host other than
127.0.0.1, and axe-core (from npm, injected here) finds no serious or critical violation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import add_accounts, signed_centre
from tests.security.serving import BROWSER_ARGS, CHROMIUM, in_thread, need_chromium, only_local
from truceline.services.ledger import KeyRing
from truceline.services.signing import report_state, sign_report
from truceline.services.verification import ComplaintInput, file_complaint, open_case
from truceline.store.db import make_engine, migrate
from truceline.web.app import create_app

playwright_api = pytest.importorskip("playwright.sync_api")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery"
DAY = "2020-11-21"
USERS = {"officer": ("officer", "blue", None), "chief": ("chief", "blue", None),
         "liaison": ("liaison", None, "east"), "admin": ("admin", None, None)}  # fmt: skip
# Each page as the role that works in it (None: anyone).
PAGES: dict[str | None, list[str]] = {
    None: ["/login", "/reports", f"/reports/{DAY}", "/no-such-page", "/api/v1/no-such-thing"],
    "officer": ["/", "/incidents", "/findings", "/cases", "/cases/1", "/incidents/1",
                f"/map?date={DAY}", f"/report?date={DAY}", "/ledger", "/complaints",
                "/complaints/1",
                f"/reports/{DAY}?lang=ru"],
    "chief": [f"/report?date={DAY}", "/?lang=tr"],
    "liaison": ["/complaints", "/complaints?lang=ru", "/complaints/1?lang=tr"],
    "admin": ["/admin/users"],
}  # fmt: skip


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    need_chromium()
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make install` (npm ci)")
    url = f"sqlite:///{tmp_path / 'centre.db'}"
    engine = make_engine(url)
    migrate(engine)
    keyring = KeyRing(tmp_path / "keys")
    finding = signed_centre(engine, keyring, tmp_path)
    add_accounts(engine, keyring, {**USERS, "green-chief": ("chief", "green", None)}, PASSWORD)
    open_case(engine, finding=finding, keyring=keyring, acting="blue")
    at = 1_605_938_400_000_000  # 2020-11-21T10:00:00+04:00
    complaint = ComplaintInput(party="east", kind="explosion", against="west",
                               observed_from_us=at, observed_to_us=at, zone="contact-line",
                               narrative="shelling near the line")  # fmt: skip
    file_complaint(engine, complaint, keyring=keyring, acting=None)
    sha = report_state(engine, date.fromisoformat(DAY))["sha256"]
    for contingent in ("blue", "green"):
        sign_report(engine, date.fromisoformat(DAY), sha256=sha, contingent=contingent,
                    actor="chief", keyring=keyring)  # fmt: skip
    with in_thread(create_app(url, tmp_path / "keys")) as base:
        yield base


def _log_in(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_every_page_fits_a_phone_logs_no_error_and_has_no_serious_accessibility_violation(
    server: str,
) -> None:
    problems: list[str] = []
    asked: list[str] = []
    errors: list[str] = []  # of the page being looked at
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            for role, pages in PAGES.items():
                phone = {"width": 390, "height": 844}
                context = browser.new_context(viewport=phone, bypass_csp=True)  # (axe's tag)
                page = context.new_page()
                page.on("request", lambda r: asked.append(r.url))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(str(e)))
                if role is not None:
                    _log_in(page, server, role)
                for path in pages:
                    errors.clear()
                    page.goto(f"{server}{path}")
                    if path.startswith("/map"):
                        page.wait_for_selector("body[data-map-ready]", state="attached")
                    if page.locator("#spot").count():  # a complaint's small map, the form's
                        page.wait_for_selector("body[data-spot-ready]", state="attached")
                    wide = page.evaluate("document.documentElement.scrollWidth")
                    if wide > 390:
                        problems.append(f"{role} {path}: {wide} px wide at 390")
                    for width in (390, 1366):  # a figure drawn over what follows it
                        page.set_viewport_size({"width": width, "height": 844})
                        spilled = page.evaluate(
                            "[...document.querySelectorAll('figure')].filter(f => [...f.children]"
                            ".some(c => c.getBoundingClientRect().bottom"
                            " > f.getBoundingClientRect().bottom + 1)).length"
                        )
                        if spilled:
                            problems.append(f"{role} {path}: {spilled} figure(s) spill out"
                                            f" at {width} px")  # fmt: skip
                    page.set_viewport_size(phone)
                    expected_404 = "no-such" in path
                    real = [e for e in errors if not (expected_404 and "404" in e)]
                    if real:
                        problems.append(f"{role} {path}: console {real}")
                    page.add_script_tag(path=str(AXE))
                    found = page.evaluate(
                        "async () => (await axe.run(document, {resultTypes: ['violations']}))"
                        ".violations.filter(v => ['serious', 'critical'].includes(v.impact))"
                        ".map(v => v.id + ': ' + v.nodes.slice(0, 2).map(n => n.target).join(' '))"
                    )
                    if found:
                        problems.append(f"{role} {path}: axe {found}")
                context.close()
        finally:
            browser.close()
    assert problems == [], "\n".join(problems)
    assert asked and only_local(asked) == []
