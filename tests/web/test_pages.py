"""The pages: who may open which, the complaint form for liaisons, CSRF."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.conftest import add_accounts, signed_centre
from truceline.domain.cases import Position
from truceline.services.ingest import ingest_observations, ingest_records
from truceline.services.ledger import KeyRing
from truceline.services.signing import report_state, sign_report
from truceline.services.verification import file_assessment, open_case
from truceline.web.app import create_app

PASSWORD = "correct horse battery"
USERS = {"officer": ("officer", "blue", None), "liaison": ("liaison", None, "east"),
         "admin": ("admin", None, None), "blue-chief": ("chief", "blue", None),
         "green-officer": ("officer", "green", None)}  # fmt: skip
PUBLISHED = "2020-11-21"
PHOTO = b"\xff\xd8\xff a photo of the crater"
PHOTO_SHA = "1aea1757df7a7d205e6eeda0ed3618f61b62d4571e94247e945697021059f493"


@pytest.fixture
def site(tmp_path: Path) -> dict[str, Any]:
    from truceline.store.db import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'site.db'}"
    engine: Engine = make_engine(url)
    migrate(engine)
    keyring = KeyRing(tmp_path / "keys")
    finding = signed_centre(engine, keyring, tmp_path)
    add_accounts(engine, keyring, USERS, PASSWORD)
    open_case(engine, finding=finding, keyring=keyring, acting="blue")
    day = date.fromisoformat(PUBLISHED)
    sha = report_state(engine, day)["sha256"]
    for contingent in ("blue", "green"):
        sign_report(engine, day, sha256=sha, contingent=contingent, actor="chief", keyring=keyring)
    return {
        "app": create_app(url, tmp_path / "keys"),
        "engine": engine,
        "keyring": keyring,
        "tmp": tmp_path,
    }


def logged_in(site: dict[str, Any], name: str | None) -> TestClient:
    client = TestClient(site["app"], follow_redirects=False)
    if name is not None:
        page = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        reply = client.post("/login", data={"username": name, "password": PASSWORD, "csrf": csrf})
        assert reply.status_code == 303, reply.text
    return client


# page → (its route, expected status for anonymous, officer, chief, liaison, admin); 303 goes
# to /login or, for a liaison's dashboard, to /complaints
PAGES = {
    "/": ("/", (303, 200, 200, 303, 200)),
    "/cases/1": ("/cases/{case_id}", (303, 200, 200, 403, 200)),
    "/incidents/1": ("/incidents/{incident_id}", (303, 200, 200, 403, 200)),
    "/incidents": ("/incidents", (303, 200, 200, 403, 200)),
    "/incidents/export?format=geojson": ("/incidents/export", (303, 200, 200, 403, 200)),
    "/findings": ("/findings", (303, 200, 200, 403, 200)),
    "/cases": ("/cases", (303, 200, 200, 403, 200)),
    "/map": ("/map", (303, 200, 200, 403, 200)),
    "/map/data.json": ("/map/data.json", (303, 200, 200, 403, 200)),
    "/map/tiles/1/0/0": ("/map/tiles/{z}/{x}/{y}", (303, 404, 404, 403, 404)),  # no basemap
    "/report?date=2020-11-21": ("/report", (303, 200, 200, 403, 200)),
    "/report/download?date=2020-11-21&format=json": ("/report/download", (303, 200, 200, 403, 200)),
    "/ledger": ("/ledger", (303, 200, 200, 403, 200)),
    "/complaints": ("/complaints", (303, 200, 200, 200, 200)),
    "/complaints/1": ("/complaints/{complaint_id}", (303, 200, 200, 200, 200)),  # east's
    f"/complaints/1/attachments/{PHOTO_SHA}": (
        "/complaints/{complaint_id}/attachments/{sha256}",
        (303, 200, 200, 200, 200),
    ),
    "/reports": ("/reports", (200, 200, 200, 200, 200)),
    f"/reports/{PUBLISHED}": ("/reports/{date}", (200, 200, 200, 200, 200)),
    f"/reports/{PUBLISHED}/download?format=json": (
        "/reports/{date}/download",
        (200, 200, 200, 200, 200),
    ),
    "/admin/users": ("/admin/users", (303, 403, 403, 403, 200)),
}
ROLES = (None, "officer", "blue-chief", "liaison", "admin")


def _east_complains(site: dict[str, Any], narrative: str = "shells near the school") -> int:
    from truceline.services.verification import ComplaintInput, Upload, file_complaint

    moment = 1_605_945_600_000_000  # 2020-11-21T12:00:00+04:00
    return file_complaint(site["engine"], ComplaintInput(
        party="east", kind="explosion", narrative=narrative, observed_from_us=moment,
        observed_to_us=moment, zone="contact-line", attachments=(Upload("photo.jpg", PHOTO),)),
        keyring=site["keyring"], acting=None).id  # fmt: skip


def test_every_page_checks_the_role(site: dict[str, Any]) -> None:
    assert _east_complains(site) == 1
    clients = [logged_in(site, who) for who in ROLES]
    for page, (_, expected) in PAGES.items():
        got = tuple(client.get(page).status_code for client in clients)
        assert got == expected, page


def test_the_page_table_covers_every_page(site: dict[str, Any]) -> None:
    gets = {
        route.path
        for route in site["app"].routes
        if "GET" in getattr(route, "methods", ())
        and not route.path.startswith(("/api/", "/static", "/docs", "/openapi"))
    }
    assert gets - {"/login"} == {route for route, _ in PAGES.values()}


COMPLAINT = {"kind": "explosion", "observed_at": "2020-11-21T10:00:00+04:00",
             "zone": "contact-line", "against": "west", "narrative": "shelling"}  # fmt: skip
ASSESSMENT = {"verdict": "confirmed", "attribution": "west", "rationale": "seen"}
# form → (its form fields, expected status for anonymous, officer, chief, liaison, admin): 303
# is done (or, anonymous, sent to /login); 409 is allowed but refused by the rules (a case is
# open on that finding already)
FORMS = {
    # blue's chief after blue's officer: a filing binds blue for the round (the page says why)
    "/cases/1/assess": (ASSESSMENT, (303, 303, 200, 403, 403)),
    "/cases/1/reconsider": ({"reason": "new footage"}, (303, 200, 200, 403, 403)),  # undecided
    "/cases/open": ({"finding": "1"}, (303, 409, 409, 403, 403)),  # the case is open already
    "/complaints": (COMPLAINT, (303, 403, 403, 303, 403)),
    "/report/sign": (
        {"date": "2020-11-22", "sha256": "sha", "confirm": "yes"},
        (303, 403, 303, 403, 403),
    ),
    "/admin/users/green-officer/revoke": ({}, (303, 403, 403, 403, 303)),
    "/admin/users/green-officer/password": (
        {"password": "a long new passphrase"},
        (303, 403, 403, 403, 200),
    ),
}


def test_every_form_checks_the_role(site: dict[str, Any]) -> None:
    clients = [logged_in(site, who) for who in ROLES]
    for form, (fields, expected) in FORMS.items():
        got = []
        for client in clients:
            page = client.get(
                "/report?date=2020-11-22" if client.cookies.get("session") else "/login"
            )
            data = {**fields, "csrf": client.cookies.get("csrf") or csrf_of(page.text)}
            if data.get("sha256") == "sha":
                match = re.search(r'name="sha256" value="([0-9a-f]{64})"', page.text)
                data["sha256"] = match.group(1) if match else "0" * 64
            got.append(client.post(form, data=data).status_code)
        assert tuple(got) == expected, form


def test_the_form_table_covers_every_posted_page(site: dict[str, Any]) -> None:
    posts = {
        route.path
        for route in site["app"].routes
        if "POST" in getattr(route, "methods", ()) and not route.path.startswith("/api/")
    }
    named = {
        form.replace("/1/", "/{case_id}/")
        .replace("green-officer/revoke", "{name}/{change}")
        .replace("green-officer/", "{name}/")
        for form in FORMS
    }
    assert posts - {"/login", "/logout"} == named


def test_a_liaison_files_a_complaint_and_sees_its_status(site: dict[str, Any]) -> None:
    client = logged_in(site, "liaison")
    page = client.get("/complaints")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    form = {"kind": "explosion", "observed_at": "2020-11-21T10:00:00+04:00", "zone": "contact-line",
            "against": "west", "narrative": "shelling of our positions", "csrf": csrf}  # fmt: skip
    assert client.post("/complaints", data=form).status_code == 303
    listed = client.get("/complaints").text
    assert "awaiting a joint verdict" in listed and "explosion" in listed
    stale = {**form, "csrf": "forged"}
    assert client.post("/complaints", data=stale).status_code == 403


def test_the_complaint_form_takes_the_picker_s_local_time_keeps_what_was_typed_and_gives_a_receipt(
    site: dict[str, Any],
) -> None:
    from truceline.services.verification import list_complaints

    client = logged_in(site, "liaison")
    csrf = csrf_of(client.get("/complaints").text)
    form = {"kind": "flare", "observed_at": "not a time", "zone": "contact-line",
            "against": "west", "narrative": "a flare over the ridge at dusk",
            "csrf": csrf}  # fmt: skip
    refused = client.post("/complaints", data=form)
    assert refused.status_code == 200 and 'role="alert"' in refused.text
    assert ">a flare over the ridge at dusk</textarea>" in refused.text  # nothing typed is lost
    assert '<option value="flare" selected>' in refused.text
    assert "<option selected>west</option>" in refused.text
    picked = {**form, "observed_at": "2020-11-21T18:30:05"}  # what the picker sends: local
    filed = client.post("/complaints", data=picked)
    assert filed.status_code == 303
    assert filed.headers["location"].startswith("/complaints?filed=")
    with site["engine"].connect() as conn:
        complaint = list_complaints(conn, party="east")[-1]
    assert complaint["observed_from"].startswith("2020-11-21T14:30:05")  # Asia/Baku is +04:00
    page = client.get(filed.headers["location"]).text
    receipt = re.search(r'id="receipt">(.*?)</div>', page, re.S).group(1)  # type: ignore[union-attr]
    assert f"Complaint {complaint['id']} is filed." in receipt and complaint["sha256"] in receipt
    assert f'id="complaint-{complaint["id"]}"' in page
    other = logged_in(site, "officer").get(filed.headers["location"]).text
    assert 'id="receipt"' not in other  # a receipt is the filing party's page only


def test_the_ledger_and_summary_pages_show_their_state(site: dict[str, Any]) -> None:
    client = logged_in(site, "officer")
    assert 'data-ok="yes"' in client.get("/ledger").text
    summary = client.get("/report?date=2020-11-21").text
    assert "Reporting day from" in summary and "Clause M4" in summary
    assert "No violation was recorded" in summary and "Not observed" in summary


def csrf_of(text: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', text).group(1)  # type: ignore[union-attr]


def test_a_chief_signs_the_report_shown_and_it_waits_for_the_other_chief(
    site: dict[str, Any],
) -> None:
    officer = logged_in(site, "officer")
    assert 'id="sign"' not in officer.get("/report?date=2020-11-22").text
    chief = logged_in(site, "blue-chief")
    page = chief.get("/report?date=2020-11-22").text
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', page).group(1)  # type: ignore[union-attr]
    form = {"date": "2020-11-22", "sha256": sha, "csrf": csrf_of(page)}
    unconfirmed = chief.post("/report/sign", data=form)  # the box not ticked: not signed
    assert unconfirmed.status_code == 200 and "tick the box to confirm" in unconfirmed.text
    assert report_state(site["engine"], date(2020, 11, 22))["signed_by"] == []
    signed = chief.post("/report/sign", data={**form, "confirm": "yes"})
    assert signed.status_code == 303 and signed.headers["location"].endswith("&signed=1#signed")
    after = chief.get(signed.headers["location"]).text
    assert "signed by blue; waiting for green" in after and 'id="sign"' not in after
    assert re.search(r'id="signed">Signed for blue: version [0-9a-f]{12}…', after)
    green = logged_in(site, "green-officer").get("/report?date=2020-11-22&signed=1").text
    assert 'id="signed"' not in green  # the flag alone says nothing: only what is signed
    assert logged_in(site, None).get("/reports/2020-11-22").status_code == 404


def test_the_report_page_says_what_changed_since_it_was_last_read_and_since_it_was_signed(
    site: dict[str, Any],
) -> None:
    from truceline.services.assess import assess

    chief = logged_in(site, "blue-chief")
    first = chief.get("/report?date=2020-11-22").text
    assert "reading this day&#39;s report for the first time" in first
    assert "Nothing changed since you last read it" in chief.get("/report?date=2020-11-22").text
    sha = report_state(site["engine"], date(2020, 11, 22))["sha256"]
    sign_report(site["engine"], date(2020, 11, 22), sha256=sha, contingent="blue",
                actor="blue-chief", keyring=site["keyring"])  # fmt: skip
    csv = (
        "id,observed_at,lat,lon,kind,count,source_kind,source,reporter\n"
        "b7,2020-11-22T09:00:00+04:00,40.27,46.75,explosion,3,observation_post,OP-1,blue\n"
    )
    path = site["tmp"] / "late.csv"
    path.write_text(csv)
    ingest_observations(site["engine"], path, keyring=site["keyring"])
    assess(site["engine"], keyring=site["keyring"])
    page = chief.get("/report?date=2020-11-22").text
    since_read = re.search(r'id="since-read".*?</div>', page, re.S).group(0)  # type: ignore[union-attr]
    assert "Since you last read it" in since_read and "Possible violation" in since_read
    since_signed = re.search(r'id="since-signed".*?</div>', page, re.S).group(0)  # type: ignore[union-attr]
    assert "signature (version" in since_signed and "does not cover this version" in since_signed
    assert "Possible violation" in since_signed and 'id="sign"' in page  # sign again, knowingly
    green = logged_in(site, "green-officer").get("/report?date=2020-11-22").text
    assert 'id="since-signed"' not in green  # green signed nothing: its reader reads afresh


def test_a_published_report_is_readable_without_logging_in(site: dict[str, Any]) -> None:
    anyone = logged_in(site, None)
    listed = anyone.get("/reports").text
    assert f'href="/reports/{PUBLISHED}"' in listed
    page = anyone.get(f"/reports/{PUBLISHED}").text
    assert "Daily report" in page and "ed25519:" in page
    assert re.search(r'id="sha256">[0-9a-f]{64}<', page)


def test_an_incident_page_shows_its_observations_findings_and_case(site: dict[str, Any]) -> None:
    page = logged_in(site, "officer").get("/incidents/1").text
    assert "OP-1" in page and "a1" in page  # the observation and its source
    assert "clause" in page and 'href="/cases/1"' in page and 'data-verdict="pending"' in page
    assert logged_in(site, "officer").get("/incidents/999").status_code == 404


def test_an_officer_opens_a_case_from_an_incident_page(tmp_path: Path) -> None:
    from tests.conftest import staffed_centre

    url, _, _, _ = staffed_centre(tmp_path, USERS, PASSWORD, name="open.db")
    client = logged_in({"app": create_app(url, tmp_path / "keys")}, "officer")
    page = client.get("/incidents/1").text
    assert "Open a case" in page
    finding = re.search(r'name="finding" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    reply = client.post("/cases/open", data={"finding": finding, "csrf": csrf_of(page)})
    assert reply.status_code == 303 and reply.headers["location"] == "/cases/1?done=opened#done"
    assert 'href="/cases/1"' in client.get("/incidents/1").text


def test_the_map_shows_one_day_filtered_by_kind_and_verdict_with_unit_tracks(
    site: dict[str, Any],
) -> None:
    track = [
        {"unit": "west-col-1", "time": f"2020-11-21T1{h}:00:00+04:00", "lat": 40.1,
         "lon": 46.9 + h / 100}
        for h in range(3)
    ]  # fmt: skip
    ingest_records(
        site["engine"], "positions", track, source_name="test", keyring=site["keyring"],
        acting="blue",
    )  # fmt: skip
    client = logged_in(site, "officer")
    day = client.get("/map/data.json?date=2020-11-21").json()
    assert [f["properties"]["verdict"] for f in day["incidents"]["features"]] == ["pending"]
    (line,) = day["tracks"]["features"]
    assert line["properties"]["unit"] == "west-col-1" and len(line["geometry"]["coordinates"]) == 3
    assert line["geometry"]["coordinates"][0] == [46.9, 40.1]  # GeoJSON order: lon, lat
    other_kind = client.get("/map/data.json?date=2020-11-21&kind=flare").json()
    assert other_kind["incidents"]["features"] == []
    confirmed = client.get("/map/data.json?date=2020-11-21&verdict=confirmed").json()
    assert confirmed["incidents"]["features"] == []
    next_day = client.get("/map/data.json?date=2020-11-22").json()
    assert next_day["incidents"]["features"] == [] and next_day["tracks"]["features"] == []
    page = client.get("/map?date=2020-11-21&kind=explosion").text
    assert 'value="2020-11-21"' in page and '<option value="explosion" selected>' in page


def test_the_dashboard_shows_the_day_its_clauses_and_what_waits_for_my_contingent(
    site: dict[str, Any],
) -> None:
    blue = logged_in(site, "officer").get("/?date=2020-11-21").text
    assert "Reporting day November 21, 2020" in blue and "1 incident(s)" in blue
    assert re.search(r'data-clause="M4">.*?class="clear"', blue, re.S)
    # a finding not yet jointly verified is awaiting verification, never "breached"
    assert re.search(r'class="awaiting">awaiting verification<', blue) and "breached" not in blue
    assert "no fire" in blue and "Return of Kalbajar district" in blue  # rules in words
    assert re.search(r'id="day-findings">\s*<li>#1 clause 1.*?href="/incidents/1"', blue, re.S)
    assert re.search(r'id="waiting">.*?<li><a href="/cases/1">', blue, re.S)
    assert blue.index('id="for-me"') < blue.index('id="clauses"')  # what waits comes first
    file_assessment(
        site["engine"], 1, contingent="blue", position=Position("confirmed", "west", "seen"),
        actor="officer", keyring=site["keyring"],
    )  # fmt: skip
    assert 'id="waiting"' not in logged_in(site, "officer").get("/?date=2020-11-21").text
    green = logged_in(site, "green-officer").get("/?date=2020-11-21").text
    assert re.search(r'id="waiting">.*?<li><a href="/cases/1">', green, re.S)


def _to_sign(page: str) -> dict[str, str]:
    """The reports a dashboard lists to sign: day → what it says of it."""
    found = re.search(r'id="to-sign">(.*?)</div>', page, re.S)
    items = re.findall(r'<li><a href="/report\?date=([\d-]+)">[^<]*</a>: ([^<]*)</li>',
                       found.group(1) if found else "")  # fmt: skip
    return dict(items)


def test_a_chief_s_dashboard_lists_the_recent_days_its_contingent_has_not_signed(
    site: dict[str, Any],
) -> None:
    chief = logged_in(site, "blue-chief")
    listed = _to_sign(chief.get("/").text)
    # the data ends on 2020-11-21 (signed by both): the six days before it, from the start
    assert list(listed) == [f"2020-11-{d}" for d in range(20, 14, -1)]
    assert set(listed.values()) == {"not signed yet"}
    day = date(2020, 11, 18)
    sha = report_state(site["engine"], day)["sha256"]
    sign_report(site["engine"], day, sha256=sha, contingent="green", actor="chief",
                keyring=site["keyring"])  # fmt: skip
    page = chief.get("/").text
    assert _to_sign(page)["2020-11-18"] == "signed by green, not yet by blue"
    assert "Reports awaiting your signature" in page
    officer = logged_in(site, "officer").get("/").text  # an officer sees it, and cannot sign
    assert "Reports blue&#39;s chief has not signed" in officer and _to_sign(officer)
    sign_report(site["engine"], day, sha256=sha, contingent="blue", actor="chief",
                keyring=site["keyring"])  # fmt: skip
    assert "2020-11-18" not in _to_sign(chief.get("/").text)
    # the day under way is not listed until another contingent's chief signs it
    from datetime import datetime

    from truceline.domain.reporting import reporting_day
    from truceline.store.missions import load_mission

    with site["engine"].connect() as conn:
        mission = load_mission(conn)
    today = reporting_day(datetime.now(mission.timezone), mission.report_cutoff,
                          mission.timezone)  # fmt: skip
    assert today.isoformat() not in _to_sign(chief.get("/").text)
    sign_report(site["engine"], today, sha256=report_state(site["engine"], today)["sha256"],
                contingent="green", actor="chief", keyring=site["keyring"])  # fmt: skip
    assert _to_sign(chief.get("/").text)[today.isoformat()] == "signed by green, not yet by blue"
    # a day to come, signed by a hostile peer, never waits on anyone's dashboard
    future = date(2099, 1, 1)
    sign_report(site["engine"], future, sha256=report_state(site["engine"], future)["sha256"],
                contingent="green", actor="chief", keyring=site["keyring"])  # fmt: skip
    assert "2099-01-01" not in _to_sign(chief.get("/").text)


def test_a_new_complaint_waits_on_the_dashboard_until_a_case_is_opened_on_it(
    site: dict[str, Any],
) -> None:
    from truceline.services.verification import ComplaintInput, file_complaint

    def listed(page: str) -> list[str]:
        found = re.search(r'id="new-complaints">(.*?)</div>', page, re.S)
        return re.findall(r'href="/complaints/(\d+)"', found.group(1) if found else "")

    officer = logged_in(site, "officer")
    assert listed(officer.get("/").text) == []
    moment = 1_605_945_600_000_000  # 2020-11-21 08:00 UTC
    receipt = file_complaint(
        site["engine"],
        ComplaintInput(
            party="east",
            kind="explosion",
            narrative="shells near the school",
            observed_from_us=moment,
            observed_to_us=moment,
            lat=40.27,
            lon=46.75,
        ),
        keyring=site["keyring"],
        acting=None,
    )
    assert receipt  # fmt: skip
    assert listed(officer.get("/").text) == ["1"]
    open_case(site["engine"], complaint=1, keyring=site["keyring"], acting="blue")
    assert listed(officer.get("/").text) == []


def test_the_dashboard_charts_count_each_active_finding_once_by_day_and_clause(
    site: dict[str, Any],
) -> None:
    import json

    from sqlalchemy import func, select

    from truceline.store import tables as t

    page = logged_in(site, "officer").get("/?date=2020-11-22").text
    data = json.loads(re.search(r'id="chart-data">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    assert len(data["days"]) == 14 and data["days"][-1] == "22 Nov"
    with site["engine"].connect() as conn:
        active = conn.execute(
            select(t.findings.c.clause_id, func.count()).where(t.findings.c.status == "active")
            .group_by(t.findings.c.clause_id)
        ).all()  # fmt: skip
    assert active  # (the centre's data has findings, on 2020-11-21: the day before last)
    assert sorted(data["series"]) == sorted(f"Clause {c}" for c, _ in active)
    for name, counts in zip(data["series"], data["counts"], strict=True):
        assert (
            counts[-2] == dict(active)[name.removeprefix("Clause ")] and sum(counts) == counts[-2]
        )
    assert 'src="/static/vendor/chart.umd.min.js"' in page  # served here, no CDN


def test_a_case_page_shows_its_finding_with_evidence_and_the_history_a_viewer_may_see(
    site: dict[str, Any],
) -> None:
    file_assessment(
        site["engine"], 1, contingent="blue", position=Position("not_confirmed", "west", "seen"),
        actor="officer", keyring=site["keyring"],
    )  # fmt: skip
    blue = logged_in(site, "officer").get("/cases/1").text
    assert 'href="/incidents/1"' in blue and "Evidence:" in blue
    history = re.search(r'<ol id="history">(.*?)</ol>', blue, re.S).group(1)  # type: ignore[union-attr]
    assert history.count("blue filed in round 1 not confirmed, attribution West Forces") == 1
    assert 'id="assess"' not in blue  # blue's filing binds it: no form for it this round
    green = logged_in(site, "green-officer").get("/cases/1").text
    assert "Nothing filed that you may see yet." in green  # blind until green files
    assert 'id="assess"' in green and '<option value="" selected disabled>' in green


def test_a_refused_assessment_is_explained_on_the_case_page(site: dict[str, Any]) -> None:
    client = logged_in(site, "officer")
    page = client.get("/cases/1").text
    form = {**ASSESSMENT, "rationale": "   ", "csrf": csrf_of(page)}
    reply = client.post("/cases/1/assess", data=form)
    assert reply.status_code == 200 and 'role="alert"' in reply.text
    assert "rationale" in reply.text and "is empty" in reply.text
    assert "evil" not in client.get("/cases/1?message=evil").text  # never from the address


def test_pages_answer_a_day_or_an_id_out_of_range_with_a_clear_refusal(
    site: dict[str, Any],
) -> None:
    client = logged_in(site, "officer")
    for page in ("/?date=0001-01-01", "/report?date=0001-01-01", "/map/data.json?date=9999-12-31",
                 "/reports/0001-01-01"):  # fmt: skip
        reply = client.get(page)
        assert reply.status_code == 400 and "outside the years 1970–2099" in reply.text, page
    for page in ("/incidents/99999999999999999999999", "/cases/99999999999999999999999"):
        reply = client.get(page)
        assert reply.status_code == 400 and "less than or equal to" in reply.text, page
        assert 'href="/map"' in reply.text  # an HTML page with the menu
    form = {"finding": "99999999999999999999999", "csrf": csrf_of(client.get("/").text)}
    assert client.post("/cases/open", data=form).status_code == 400


def test_a_page_speaks_the_language_asked_for_remembers_it_and_else_the_browsers(
    site: dict[str, Any],
) -> None:
    anyone = logged_in(site, None)
    assert '<html lang="en">' in anyone.get("/reports").text  # the mission's first language
    russian = anyone.get("/reports?lang=ru").text
    assert '<html lang="ru">' in russian and "Опубликованные отчёты" in russian
    assert '<html lang="ru">' in anyone.get("/reports").text  # remembered
    browser = logged_in(site, None)
    turkish = browser.get("/reports", headers={"Accept-Language": "de-DE,tr;q=0.8,en;q=0.5"})
    assert '<html lang="tr">' in turkish.text and "Yayımlanmış raporlar" in turkish.text
    other = browser.get("/reports?lang=xx", headers={"Accept-Language": "de"})
    assert '<html lang="en">' in other.text  # not a language of the mission: the first
    officer = logged_in(site, "officer")
    page = officer.get("/report?date=2020-11-21&lang=tr").text
    assert 'href="/report?date=2020-11-21&amp;lang=ru"' in page  # the switch keeps the day


def test_a_page_shows_every_time_in_the_missions_zone_with_its_offset_to_the_second(
    site: dict[str, Any],
) -> None:
    officer = logged_in(site, "officer")
    for page in ("/incidents/1", "/?date=2020-11-21", "/complaints"):
        text = officer.get(page).text
        main = text.split('<main id="main">', 1)[1]
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", main), page  # no raw ISO time
    incident = officer.get("/incidents/1?lang=ru").text
    assert re.search(r"\d\d:\d\d:\d\d UTC\+04:00", incident)


def test_the_dashboard_counts_a_day_as_the_report_does_and_names_only_the_first_findings(
    site: dict[str, Any],
) -> None:
    from truceline.services import workspace
    from truceline.services.report import daily_summary
    from truceline.web.pages.days import chosen_day

    day, start, end = chosen_day(site["engine"], "2020-11-21")
    summary = daily_summary(site["engine"], day)  # the report's own counting, row by row
    with site["engine"].connect() as conn:
        glance = workspace.day_glance(conn, start, end, shown=0)
        named = workspace.day_glance(conn, start, end)
    assert glance.incidents == summary["incidents"]["total"] > 0
    assert glance.observations == summary["incidents"]["observations"]
    assert glance.by_family == summary["incidents"]["by_family"]
    assert glance.findings == {c["clause"]: c["count"] for c in summary["findings"] if c["count"]}
    assert glance.first_findings == [] and glance.total_findings > 0  # counted, not named
    assert [f["id"] for f in named.first_findings] == [
        f["id"] for c in summary["findings"] for f in c["findings"]
    ]


def test_a_correction_another_chief_signed_waits_on_my_dashboard_and_a_bad_day_breaks_nothing(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from truceline.services import signing
    from truceline.services.assess import assess

    day = date.fromisoformat(PUBLISHED)  # signed by both chiefs (the fixture)
    chief = logged_in(site, "blue-chief")
    assert PUBLISHED not in _to_sign(chief.get("/").text)
    path = site["tmp"] / "late.csv"
    path.write_text("id,observed_at,lat,lon,kind,count,source_kind,source,reporter\n"
                    "c3,2020-11-21T11:00:00+04:00,40.27,46.75,explosion,2,observation_post,"
                    "OP-1,blue\n")  # fmt: skip
    ingest_observations(site["engine"], path, keyring=site["keyring"])
    assess(site["engine"], keyring=site["keyring"])
    sha = report_state(site["engine"], day)["sha256"]
    sign_report(site["engine"], day, sha256=sha, contingent="green", actor="chief",
                keyring=site["keyring"])  # fmt: skip
    listed = _to_sign(chief.get("/").text)
    assert listed[PUBLISHED] == "a new version, signed by green, waits for blue"
    real = signing.all_signatures

    def with_a_bad_day(conn: Any, day: Any = None) -> Any:
        return {**real(conn, day), "2024-02-30": []}  # what a hostile node's entry could say

    monkeypatch.setattr(signing, "all_signatures", with_a_bad_day)
    assert chief.get("/").status_code == 200


def test_an_officer_opens_a_case_on_a_complaint_from_the_list(site: dict[str, Any]) -> None:
    from truceline.services.verification import ComplaintInput, file_complaint

    moment = 1_605_945_600_000_000
    file_complaint(site["engine"], ComplaintInput(
        party="east", kind="explosion", narrative="shells near the school",
        observed_from_us=moment, observed_to_us=moment, zone="contact-line"),
        keyring=site["keyring"], acting=None)  # fmt: skip
    officer = logged_in(site, "officer")
    page = officer.get("/complaints").text
    row = re.search(r'id="complaint-1">(.*?)</tr>', page, re.S).group(1)  # type: ignore[union-attr]
    assert 'name="complaint" value="1"' in row and "Open a case on it" in row
    assert 'name="complaint"' not in logged_in(site, "liaison").get("/complaints").text
    opened = officer.post("/cases/open", data={"complaint": "1", "csrf": csrf_of(page)})
    assert opened.status_code == 303 and opened.headers["location"].startswith("/cases/")
    row = re.search(r'id="complaint-1">(.*?)</tr>', officer.get("/complaints").text, re.S)
    case = opened.headers["location"].split("?")[0]
    assert row and f'href="{case}"' in row.group(1)
    both = officer.post("/cases/open", data={"complaint": "1", "finding": "1",
                                              "csrf": csrf_of(page)})  # fmt: skip
    assert both.status_code == 400 and "one of them" in both.text


def test_reading_reports_of_days_outside_the_mission_stores_nothing(site: dict[str, Any]) -> None:
    """An officer asking for the report of every day from 1970 to 2099 would otherwise store
    a whole report for each: only the mission's days up to today are remembered as read."""
    from sqlalchemy import func, select

    from truceline.store import tables as t

    officer = logged_in(site, "officer")

    def reads() -> int:
        with site["engine"].connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.report_reads)).scalar())

    for day in ("1990-01-01", "2020-11-01", "2098-12-31"):  # before the start, the future
        assert officer.get(f"/report?date={day}").status_code == 200
    assert reads() == 0
    officer.get("/report?date=2020-11-21")
    officer.get("/report?date=2020-11-21")  # the same version again: no second row
    assert reads() == 1


def test_a_case_form_keeps_what_was_typed_when_refused_and_says_when_it_is_done(
    site: dict[str, Any],
) -> None:
    officer, chief = logged_in(site, "officer"), logged_in(site, "blue-chief")
    page = officer.get("/cases/1").text
    filed = officer.post("/cases/1/assess", data={**ASSESSMENT, "csrf": csrf_of(page)})
    assert filed.status_code == 303 and filed.headers["location"] == "/cases/1?done=assessed#done"
    done = officer.get(filed.headers["location"]).text
    assert re.search(r'id="done">.*blue&#39;s assessment is filed.*href="/"', done, re.S)
    assert 'id="done"' not in officer.get("/cases/1?done=%3Cscript%3E").text  # only its own words
    green = logged_in(site, "green-officer")
    typed = {"verdict": "inconclusive", "attribution": "west", "rationale": "   "}  # empty
    csrf = csrf_of(green.get("/cases/1").text)
    refused = green.post("/cases/1/assess", data={**typed, "csrf": csrf})
    assert refused.status_code == 200 and 'role="alert"' in refused.text
    assert '<option value="inconclusive" selected>' in refused.text
    assert '<option value="west" selected>' in refused.text
    csrf = csrf_of(green.get("/cases/1").text)
    assert green.post("/cases/1/assess", data={**ASSESSMENT, "csrf": csrf}).status_code == 303
    long = "the footage of the 22nd " * 900  # longer than a reason may be
    csrf = csrf_of(chief.get("/cases/1").text)
    reconsider = chief.post("/cases/1/reconsider", data={"reason": long, "csrf": csrf})
    assert reconsider.status_code == 200 and 'role="alert"' in reconsider.text
    assert f">{long}</textarea>" in reconsider.text
    again = chief.post("/cases/1/reconsider", data={"reason": "the footage of the 22nd",
                                                    "csrf": csrf_of(reconsider.text)})  # fmt: skip
    assert again.headers["location"] == "/cases/1?done=reconsidered#done"


def test_a_refused_login_keeps_the_name_typed_but_never_the_password(site: dict[str, Any]) -> None:
    client = logged_in(site, None)
    csrf = csrf_of(client.get("/login").text)
    refused = client.post("/login", data={"username": "officer", "password": "not-it-at-all",
                                          "csrf": csrf})  # fmt: skip
    assert refused.status_code == 401 and "Wrong user name or password." in refused.text
    assert 'name="username" autocomplete="username" value="officer"' in refused.text
    assert "not-it-at-all" not in refused.text


def test_what_waits_on_the_dashboard_is_said_in_the_page_s_language(site: dict[str, Any]) -> None:
    officer = logged_in(site, "officer")
    officer.get("/?date=2020-11-21")  # the cases kept, in no language yet
    page = officer.get("/?date=2020-11-21&lang=ru").text
    waiting = re.search(r'id="waiting">(.*?)</ul>', page, re.S)
    assert waiting and "позиции раскрываются" in waiting.group(1)
    assert "positions open" not in waiting.group(1)
    again = officer.get("/?date=2020-11-21&lang=en").text  # the kept cases were not changed
    assert "positions open when all have filed" in again
