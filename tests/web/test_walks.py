"""Each role's workflow, walked in Debian's chromium on a phone (390 px wide): a liaison files
a complaint with the date-time picker, a point picked on the map and a photo, and gets its
receipt; blue's officer opens a case on it from its page and files blind; green's officer
disagrees, then asks for a reconsideration round; both file again; each chief reviews what
changed since it last read the day's report and signs it; an anonymous reader reads the
published report in Russian and Turkish and downloads its PDF. On every page: no console
error, no request outside 127.0.0.1, nothing wider than the phone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.conftest import staffed_centre
from tests.security.serving import BROWSER_ARGS, CHROMIUM, in_thread, need_chromium, only_local
from truceline.domain.reporting import reporting_day
from truceline.store.missions import load_mission
from truceline.web.app import create_app

playwright_api = pytest.importorskip("playwright.sync_api")
PASSWORD = "correct horse battery"
PHONE = {"width": 390, "height": 844}
PHOTO = b"\xff\xd8\xff\xe0 a photo of the crater by the school"
USERS = {"east-liaison": ("liaison", None, "east"), "blue-officer": ("officer", "blue", None),
         "green-officer": ("officer", "green", None), "blue-chief": ("chief", "blue", None),
         "green-chief": ("chief", "green", None)}  # fmt: skip


@pytest.fixture
def centre(tmp_path: Path) -> Iterator[tuple[str, str]]:
    need_chromium()
    url, engine, _, _ = staffed_centre(tmp_path, USERS, PASSWORD)
    with engine.connect() as conn:
        mission = load_mission(conn)
    # A complaint is reported on the day it is received: today's (in the mission's zone).
    today = reporting_day(datetime.now(mission.timezone), mission.report_cutoff, mission.timezone)
    with in_thread(create_app(url, tmp_path / "keys")) as base:
        yield base, today.isoformat()


class Walk:
    """The pages one browser opens, each checked as it is shown."""

    def __init__(self, browser: Any, base: str, problems: list[str], asked: list[str]) -> None:
        self.base, self.problems = base, problems
        self.context = browser.new_context(viewport=PHONE, accept_downloads=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.page.on("request", lambda r: asked.append(r.url))
        self.page.on("console", lambda m: problems.append(f"{self.page.url}: {m.text}")
                     if m.type == "error" else None)  # fmt: skip
        self.page.on("pageerror", lambda e: problems.append(f"{self.page.url}: {e}"))

    def check(self) -> Any:
        self.page.wait_for_load_state()
        wide = self.page.evaluate("document.documentElement.scrollWidth")
        if wide > PHONE["width"]:
            self.problems.append(f"{self.page.url}: {wide} px wide on a phone")
        return self.page

    def wait(self, selector: str) -> None:
        try:
            self.page.wait_for_selector(selector, state="attached")
        except playwright_api.TimeoutError:
            raise AssertionError(f"{self.page.url}: no {selector}: {self.problems}") from None

    def go(self, path: str) -> Any:
        self.page.goto(self.base + path)
        return self.check()

    def submit(self, selector: str) -> Any:
        with self.page.expect_navigation():
            self.page.click(selector)
        return self.check()

    def log_in(self, name: str) -> Walk:
        self.go("/login")
        self.page.fill("input[name=username]", name)
        self.page.fill("input[name=password]", PASSWORD)
        self.submit("button[type=submit]")
        return self


def test_each_role_walks_its_workflow_on_a_phone_from_complaint_to_published_report(
    centre: tuple[str, str],
) -> None:
    base, today = centre
    problems: list[str] = []
    asked: list[str] = []
    with playwright_api.sync_playwright() as play:
        browser = play.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            walk = lambda name: Walk(browser, base, problems, asked).log_in(name)  # noqa: E731
            blue_chief = walk("blue-chief")
            first = blue_chief.go(f"/report?date={today}")
            assert "for the first time" in first.inner_text("#since-read")

            # The liaison files, picking the time and the point, with a photo.
            liaison = walk("east-liaison")
            page = liaison.page
            assert urlparse(page.url).path == "/complaints"  # a liaison's start page
            page.select_option("#complain select[name=kind]", "explosion")
            assert page.get_attribute("input[name=observed_at]", "type") == "datetime-local"
            page.fill("input[name=observed_at]", "2020-11-21T10:30:00")
            page.select_option("#complain select[name=zone]", "")
            liaison.wait("#spot[data-ready=yes]")
            page.click("#spot", position={"x": 160, "y": 110})  # the point, picked on the map
            lat, lon = float(page.input_value("#lat")), float(page.input_value("#lon"))
            assert page.get_attribute("#spot", "data-point") == f"{lat:.6f},{lon:.6f}"
            page.select_option("#complain select[name=against]", "west")
            page.fill("textarea[name=narrative]", "A shell hit the school yard at 10:30.")
            page.set_input_files("input[name=attachments]", files=[
                {"name": "crater.jpg", "mimeType": "image/jpeg", "buffer": PHOTO}])  # fmt: skip
            liaison.submit("#complain button[type=submit]")
            receipt = page.inner_text("#receipt")
            assert "Complaint 1 is filed." in receipt and "sha256" in receipt
            liaison.submit("#receipt a[href='/complaints/1']")
            assert "crater.jpg" in page.inner_text("#attachments")
            liaison.wait("#spot[data-ready=yes]")
            assert page.get_attribute("#spot", "data-point") == f"{lat:.6f},{lon:.6f}"
            assert "10:30:00 UTC+04:00" in page.inner_text(".facts")

            # Blue's officer opens a case on it from its page and files, blind.
            blue = walk("blue-officer")
            blue.go("/complaints/1")
            blue.submit("#open-case button")
            case_path = urlparse(blue.page.url).path
            assert "The case is open" in blue.page.inner_text("#done")

            def assess(who: Walk, verdict: str, rationale: str) -> Any:
                page = who.go(case_path)
                page.select_option("#assess select[name=verdict]", verdict)
                page.select_option("#assess select[name=attribution]", "west")
                page.fill("#assess textarea[name=rationale]", rationale)
                return who.submit("#assess button[type=submit]")

            assert "waiting for green" in assess(blue, "confirmed", "our post heard it").inner_text(
                "#blind-note"
            )
            green = walk("green-officer")
            seen = green.go(case_path)
            assert "our post heard it" not in seen.content()  # blue's position stays sealed
            page = assess(green, "not_confirmed", "our UAV saw no crater")
            assert page.get_attribute("#verdict", "data-verdict") == "disputed"
            assert "our post heard it" in page.content()  # revealed once both filed

            # Green asks for a reconsideration round; both file again, blind.
            page.fill("#reconsider textarea[name=reason]", "new footage from the school")
            green.submit("#reconsider button[type=submit]")
            assert "A new round is open" in green.page.inner_text("#done")
            assert green.page.locator("#reconsidering").count() == 1
            assess(blue, "confirmed", "the footage shows the crater")
            page = assess(green, "confirmed", "the footage convinces us")
            assert page.get_attribute("#verdict", "data-verdict") == "confirmed"

            # Each chief reviews what changed since it last read the day, confirms and signs.
            page = blue_chief.go(f"/report?date={today}")
            changed = page.inner_text("#since-read")
            assert "Since you last read it" in changed and "complaints" in changed
            page.check("#sign input[name=confirm]")
            blue_chief.submit("#sign button[type=submit]")
            assert "Signed for blue" in page.inner_text("#signed")
            green_chief = walk("green-chief")
            # its dashboard lists the day blue signed; the link opens that day's report
            assert "signed by blue, not yet by green" in green_chief.page.inner_text("#to-sign")
            page = green_chief.submit(f"#to-sign a[href='/report?date={today}']")
            page.check("#sign input[name=confirm]")
            green_chief.submit("#sign button[type=submit]")
            green_chief.submit("#signed a[href='/reports/" + today + "']")

            # An anonymous reader: the published report in Russian and Turkish, and its PDF.
            reader = Walk(browser, base, problems, asked)
            for lang, word in (("ru", "Отчёт"), ("tr", "rapor")):
                page = reader.go(f"/reports/{today}?lang={lang}")
                assert page.get_attribute("html", "lang") == lang and word in page.inner_text("h1")
            with page.expect_download() as download:
                page.click(".downloads a[href*='format=pdf']")
            pdf = Path(download.value.path()).read_bytes()
            assert pdf.startswith(b"%PDF")
        finally:
            browser.close()
    assert problems == [], "\n".join(problems)
    assert asked and only_local(asked) == []
