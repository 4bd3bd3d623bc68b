"""A complaint end to end on the pages: filed with a point and files, its own page (what, when,
where, against whom, the account, the files, the receipt), opened as a case from there; and
what a liaison of another party, an anonymous client or a hostile file name can do with it."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sqlalchemy import func, select

from tests.web.test_pages import csrf_of, logged_in
from truceline.domain.limits import ATTACHMENT_MAX
from truceline.store import tables as t

FORM = {"kind": "explosion", "observed_at": "2020-11-21T18:30:05", "zone": "",
        "against": "west", "narrative": "a shell hit the school yard"}  # fmt: skip


def _file(client: Any, files: list[tuple[str, bytes]], **fields: str) -> Any:
    csrf = csrf_of(client.get("/complaints").text)
    data = {**FORM, "lat": "40.0512", "lon": "47.3011", **fields, "csrf": csrf}
    none = [("attachments", ("", b"", "application/octet-stream"))]  # a browser's, no file chosen
    parts = [("attachments", (name, content, "application/octet-stream"))
             for name, content in files] or none  # fmt: skip
    return client.post("/complaints", data=data, files=parts)


def _count(site: dict[str, Any], table: Any) -> int:
    with site["engine"].connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar())


def test_a_liaison_files_a_point_picked_on_the_map_with_files_and_its_page_shows_them(
    site: dict[str, Any],
) -> None:
    liaison = logged_in(site, "liaison")
    form = liaison.get("/complaints").text
    assert 'enctype="multipart/form-data"' in form and 'id="spot"' in form
    assert 'name="lat"' in form and 'name="lon"' in form and 'type="file"' in form
    photo, note = b"\xff\xd8\xff crater", b"the fuse, photographed"
    filed = _file(liaison, [("crater.jpg", photo), ("../../etc/note.txt", note)])
    assert filed.status_code == 303, filed.text
    receipt = liaison.get(filed.headers["location"]).text
    number = re.search(r"/complaints\?filed=(\d+)", filed.headers["location"]).group(1)  # type: ignore[union-attr]
    assert f'href="/complaints/{number}"' in receipt  # the success links to its page

    page = liaison.get(f"/complaints/{number}").text
    assert "a shell hit the school yard" in page and "40.05120, 47.30110" in page
    assert "crater.jpg" in page and ">note.txt<" in page  # the name, never its directories
    assert "Nov 21, 2020 18:30:05 UTC+04:00" in page  # the picker's local time, as it was
    assert re.search(r'id="receipts">.*received in blue.*received in green', page, re.S)
    assert 'name="complaint"' not in page  # a liaison opens no case
    digest = hashlib.sha256(photo).hexdigest()
    got = liaison.get(f"/complaints/{number}/attachments/{digest}")
    assert got.status_code == 200 and got.content == photo
    assert got.headers["content-type"] == "application/octet-stream"  # never shown inline
    assert got.headers["content-disposition"].startswith('attachment; filename="crater.jpg"')
    listed = liaison.get("/complaints").text
    assert f'<a href="/complaints/{number}"' in listed


def test_an_officer_opens_a_case_from_the_complaint_page_which_then_links_to_it(
    site: dict[str, Any],
) -> None:
    liaison = logged_in(site, "liaison")
    filed = _file(liaison, [], zone="contact-line", lat="", lon="")
    assert filed.status_code == 303, filed.text
    officer = logged_in(site, "officer")
    page = officer.get("/complaints/1").text
    assert 'id="open-case"' in page and "Line of contact buffer (illustrative)" in page
    opened = officer.post("/cases/open", data={"complaint": "1", "csrf": csrf_of(page)})
    assert opened.status_code == 303 and opened.headers["location"].endswith("?done=opened#done")
    case_page = officer.get(opened.headers["location"]).text
    assert 'id="done"' in case_page and "The case is open" in case_page
    assert 'href="/complaints/1"' in case_page
    page = officer.get("/complaints/1").text
    assert 'id="open-case"' not in page and 'href="/cases/' in page
    seen_by_liaison = liaison.get("/complaints/1").text
    assert "a case is open on it" in seen_by_liaison and 'href="/cases/' not in seen_by_liaison


def test_another_party_s_liaison_sees_neither_the_complaint_nor_its_files(
    site: dict[str, Any],
) -> None:
    from tests.conftest import add_accounts
    from tests.web.test_pages import PASSWORD

    add_accounts(site["engine"], site["keyring"], {"west-liaison": ("liaison", None, "west")},
                 PASSWORD)  # fmt: skip
    photo = b"east's own evidence"
    assert _file(logged_in(site, "liaison"), [("a.jpg", photo)]).status_code == 303
    west = logged_in(site, "west-liaison")
    digest = hashlib.sha256(photo).hexdigest()
    assert west.get("/complaints/1").status_code == 404
    assert west.get(f"/complaints/1/attachments/{digest}").status_code == 404
    assert "east's own" not in west.get("/complaints").text
    assert 'id="receipt"' not in west.get("/complaints?filed=1").text  # not its receipt
    anonymous = logged_in(site, None)
    assert anonymous.get(f"/complaints/1/attachments/{digest}").status_code == 303  # to /login


def test_a_digest_opens_only_a_file_that_its_complaint_names(site: dict[str, Any]) -> None:
    liaison = logged_in(site, "liaison")
    assert _file(liaison, [("first.jpg", b"first")]).status_code == 303
    assert _file(liaison, [("second.jpg", b"second")]).status_code == 303
    other = hashlib.sha256(b"second").hexdigest()
    assert liaison.get(f"/complaints/1/attachments/{other}").status_code == 404
    assert liaison.get(f"/complaints/2/attachments/{other}").status_code == 200
    assert liaison.get("/complaints/1/attachments/" + "Z" * 64).status_code == 400


def test_a_refused_complaint_stores_no_file_keeps_what_was_typed_and_says_why(
    site: dict[str, Any],
) -> None:
    liaison = logged_in(site, "liaison")
    too_big = b"x" * (ATTACHMENT_MAX + 1)
    refused = _file(liaison, [("video.mp4", too_big)], narrative="typed with care")
    assert refused.status_code == 200 and 'role="alert"' in refused.text
    assert "video.mp4" in refused.text and "larger than" in refused.text
    assert ">typed with care</textarea>" in refused.text and 'value="40.0512"' in refused.text
    assert "choose them again" in refused.text
    bad_name = _file(liaison, [("n" * 300 + ".jpg", b"a name longer than any file system's")])
    assert bad_name.status_code == 200 and "not a file name" in bad_name.text
    no_place = _file(liaison, [("a.jpg", b"a")], lat="", lon="")
    assert no_place.status_code == 200 and "give the place" in no_place.text
    not_a_number = _file(liaison, [], lat="forty")
    assert not_a_number.status_code == 200 and "not a number" in not_a_number.text
    assert _count(site, t.complaints) == 0 and _count(site, t.attachments) == 0


def test_only_a_liaison_s_session_may_post_a_large_complaint_body(site: dict[str, Any]) -> None:
    """The complaint form's larger body limit (its files) is for a liaison's session: an
    anonymous client or an officer is cut off at the small limit before anything is parsed."""
    body = b"x" * (1024 * 1024)
    for who in (None, "officer"):
        client = logged_in(site, who)
        multipart = {"content-type": "multipart/form-data; boundary=b"}
        reply = client.post("/complaints", content=body, headers=multipart)
        assert reply.status_code == 413, who
    liaison = logged_in(site, "liaison")
    photo = b"p" * (1024 * 1024)
    assert _file(liaison, [("one-mib.jpg", photo)]).status_code == 303
    assert _count(site, t.attachments) == 1
    # another cookie the parser cannot read, before the session's, does not hide it
    liaison.cookies.set("prefs", '{"a": 1}')
    assert _file(liaison, [("two-mib.jpg", photo * 2)]).status_code == 303


def test_the_complaints_list_filters_by_state_kind_zone_and_words_and_pages(
    site: dict[str, Any],
) -> None:
    from truceline.web.pages.lists import PAGE

    liaison = logged_in(site, "liaison")
    assert _file(liaison, [], narrative="mortar rounds near the bakery").status_code == 303
    assert _file(liaison, [], kind="flare", zone="contact-line", lat="", lon="",
                 narrative="a flare over the ridge").status_code == 303  # fmt: skip

    def ids(query: str) -> list[str]:
        page = logged_in(site, "officer").get(f"/complaints?{query}").text
        return re.findall(r'<tr data-status="[^"]+" id="complaint-(\d+)"', page)

    assert ids("") == ["2", "1"]  # the newest first
    assert ids("kind=flare") == ["2"] and ids("q=BAKERY+mortar") == ["1"]
    assert ids("zone=contact-line") == ["2"]  # named; the first's point lies elsewhere
    assert ids("state=awaiting") == ["2", "1"] and ids("state=answered") == []
    assert ids("verdict=pending") == ["2", "1"]
    refused = logged_in(site, "officer").get("/complaints?state=%3Cb%3E&zone=nowhere").text
    assert "These filters were not applied" in refused and "<b>" not in refused
    for n in range(PAGE):
        _file(liaison, [], narrative=f"complaint number {n}")
    first = logged_in(site, "officer").get("/complaints").text
    assert len(re.findall(r'id="complaint-\d+"', first)) == PAGE and 'rel="next"' in first
    assert len(ids("page=2")) == 2


def test_a_file_name_that_hides_its_real_extension_is_refused(site: dict[str, Any]) -> None:
    liaison = logged_in(site, "liaison")
    disguised = _file(liaison, [("invoice\u202egpj.exe", b"MZ")])  # reads as "invoiceexe.jpg"
    assert disguised.status_code == 200 and "not a file name" in disguised.text
    assert _count(site, t.attachments) == 0


def test_a_point_that_is_not_a_finite_number_is_refused_and_the_form_still_loads_its_map(
    site: dict[str, Any],
) -> None:
    liaison = logged_in(site, "liaison")
    for value in ("nan", "inf", "-Infinity"):
        refused = _file(liaison, [], lat=value)
        assert refused.status_code == 200 and "not a number" in refused.text
        data = re.search(r'id="spot-data">(.*?)</script>', refused.text, re.S).group(1)  # type: ignore[union-attr]
        assert "NaN" not in data and "Infinity" not in data  # JSON.parse would throw
        assert '"requires' not in data  # what the clauses require is the staff's map's


def test_a_done_message_is_said_only_when_the_case_shows_it(site: dict[str, Any]) -> None:
    officer = logged_in(site, "officer")
    assert 'id="done"' not in officer.get("/cases/1?done=assessed").text  # blue has not filed
    assert 'id="done"' not in officer.get("/cases/1?done=reconsidered").text  # round 1 only
    assert 'id="done"' in officer.get("/cases/1?done=opened").text
    assert 'id="done"' not in logged_in(site, "admin").get("/cases/1?done=opened").text


def test_the_guard_reads_the_session_cookie_as_the_pages_do() -> None:
    from truceline.web.security import _session_token

    assert _session_token([(b"cookie", b'prefs={"a": 1}; session=tok123')]) == "tok123"
    assert _session_token([(b"cookie", b"session=first"), (b"cookie", b"session=second")]) == (
        "first"  # the header Starlette's Request.cookies reads
    )
    assert _session_token([(b"cookie", b"session=" + b"x" * 300)]) is None
    assert _session_token([(b"cookie", b"\xff\xfe;;=;")]) is None
    assert _session_token([]) is None


def test_a_peer_s_file_name_that_hides_its_extension_is_shown_with_the_hidden_mark(
    site: dict[str, Any],
) -> None:
    """A name filed here with a right-to-left override is refused; one a hostile peer's log
    carries (as the projector stores it) is shown and downloaded with the override marked."""
    import json

    from sqlalchemy import update

    liaison = logged_in(site, "liaison")
    assert _file(liaison, [("invoice.jpg", b"MZ")]).status_code == 303
    digest = hashlib.sha256(b"MZ").hexdigest()
    peer = [{"name": "invoice\u202egpj.exe", "sha256": digest, "size": 2}]
    with site["engine"].begin() as conn:
        conn.execute(update(t.complaints).values(attachments=json.dumps(peer)))
    page = logged_in(site, "officer").get("/complaints/1").text
    assert "\u202e" not in page and "invoice\ufffdgpj.exe" in page
    got = liaison.get(f"/complaints/1/attachments/{digest}")
    assert got.status_code == 200 and "%E2%80%AE" not in got.headers["content-disposition"]
