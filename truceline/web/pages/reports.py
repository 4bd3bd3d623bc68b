"""The daily report as it stands (and a chief's signature), and the published reports: each
shown in the mission's languages (a switch), with its downloads."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import Response

from truceline.domain.reporting import reporting_day
from truceline.domain.timeutil import iso
from truceline.errors import Conflict, FieldError, NotFound
from truceline.i18n import say
from truceline.i18n.message import M
from truceline.services import accounts, signing
from truceline.services.report import parse_day, render_report
from truceline.services.reports import REPORT_FORMATS, Document, language_for, renderer_for
from truceline.services.reports.html_renderer import render_fragment
from truceline.services.reports.records import from_document
from truceline.services.reports.view import said_changes
from truceline.services.reports.words import Words
from truceline.store.missions import load_mission
from truceline.web.deps import MaybeUser, PageUser, TheCentre, require
from truceline.web.kept import Kept
from truceline.web.pages.days import chosen_day
from truceline.web.pages.render import N_, check_csrf, page_language, redirect, render

DateParam = Annotated[str | None, Query(max_length=10)]
LangParam = Annotated[str | None, Query(max_length=16)]
FormatParam = Annotated[str, Query(max_length=8)]
LEGACY = "truceline/report@1"  # reports signed before the renderers: shown as their text


def _lang(document: Document, lang: str | None, request: Request | None = None) -> str:
    """The language asked for; else the page's (remembered, or the browser's)."""
    if lang is None and request is not None:
        lang = page_language(request, tuple(str(x) for x in document.content["languages"]))
    try:
        return language_for(document.content, lang)
    except FieldError:
        return language_for(document.content, None)


def _shown(document: Document, lang: str) -> dict[str, Any]:
    """What a page shows of a report: its rendering in `lang`, or a legacy report's text."""
    if document.content.get("format") == LEGACY:
        return {"legacy": render_report(document.content), "fragment": None}
    return {"legacy": None, "fragment": render_fragment(document, lang)}


# a published report's records, made from its signed content only: incidents as GeoJSON,
# the violations a joint verdict confirmed as ACLED CSV
RECORDS = {"geojson": "incidents", "acled": "violations"}


_RENDERED: OrderedDict[tuple[str, int | None, str, str], bytes] = OrderedDict()
CACHED = 16  # published renderings kept: an anonymous reader cannot make the server render
# the same PDF again and again (a published version never changes)


def _rendering(document: Document, fmt: str, lang: str) -> bytes:
    renderer = renderer_for(fmt)
    if renderer.name in RECORDS:
        return renderer.records(from_document(document, RECORDS[renderer.name]))
    if document.published is None:
        return renderer.report(document, lang)
    key = (document.sha256, document.version, renderer.name, lang)
    data = _RENDERED.get(key)
    if data is None:
        data = renderer.report(document, lang)
        _RENDERED[key] = data
        while len(_RENDERED) > CACHED:
            _RENDERED.popitem(last=False)
    _RENDERED.move_to_end(key)
    return data


def _download(document: Document, fmt: str, lang: str, stem: str) -> Response:
    renderer = renderer_for(fmt)
    if document.content.get("format") == LEGACY and renderer.name != "json":
        raise NotFound(M("a report signed before version 0.2 is available as JSON only"))
    data = _rendering(document, renderer.name, lang)
    if renderer.name in RECORDS:
        stem = f"{stem}-{RECORDS[renderer.name]}"
    return Response(
        data, media_type=renderer.media_type,
        headers={"Content-Disposition": f'attachment; filename="{stem}-{lang}{renderer.suffix}"'},
    )  # fmt: skip


def render_download(document: Document, fmt: str, lang: str | None, stem: str) -> Response:
    """A report as a file, in a language of the mission (else its first)."""
    return _download(document, fmt, _lang(document, lang), stem)


def report_page(
    request: Request, centre: TheCentre, user: PageUser, date: DateParam = None,
    lang: LangParam = None, signed: Annotated[int | None, Query(ge=1, le=1)] = None,
) -> Response:  # fmt: skip
    return _report_page(request, centre, user, date, lang=lang, just_signed=signed == 1)


def _report_page(
    request: Request,
    centre: TheCentre,
    user: accounts.User,
    date: str | None = None,
    message: object = "",
    lang: str | None = None,
    just_signed: bool = False,
    record_read: bool = True,
) -> Response:
    """The day's report as it stands, who has signed it, what changed since the user last
    read it (and since its contingent signed another version), and for a chief the form
    that signs exactly the version shown, once confirmed."""
    day, _, _ = chosen_day(centre.engine, date)
    document, state = _draft(centre, day)
    chosen = _lang(document, lang, request)
    words = Words(document.content, chosen)
    current, sha = document.content, document.sha256  # what the page shows, and signs
    with centre.engine.connect() as conn:
        before = signing.last_read(conn, user.id, day, holding=sha)
        mine = None if user.contingent is None else signing.last_signed(conn, day, user.contingent)
        mission = load_mission(conn)
    # A read is recorded when the page shows a version anew (not when it answers a refused
    # signature: what changed stays said), and only of a day of the mission up to today: no
    # account fills the node with reports of days that have no data
    today = reporting_day(datetime.now(UTC), mission.report_cutoff, mission.timezone)
    start = None if mission.start is None else reporting_day(
        mission.start, mission.report_cutoff, mission.timezone)  # fmt: skip
    in_mission = day <= today and (start is None or day >= start)
    if record_read and in_mission and (before is None or before.sha256 != sha):
        signing.note_read(centre.engine, user.id, day, sha, current)
    since_read = None
    if before is not None and before.content is not None:  # (another version than this one)
        since_read = said_changes(words, signing.changes(before.content, current)) or [
            words.tr.gettext("Its figures were recomputed; no line of it reads differently.")
        ]
    since_signed = None
    if mine is not None and mine.sha256 != sha:
        old = mine.entry.payload["report"]
        since_signed = said_changes(words, signing.changes(old, current))
    return render(
        request, "report.html", user=user, title=N_("Daily report"), day=day.isoformat(),
        state=state, message=message, sha256=document.sha256, lang=chosen,
        languages=document.content["languages"], formats=REPORT_FORMATS,
        can_sign=user.role == "chief" and user.contingent in state["waiting_for"],
        read_before=before, since_read=since_read, since_signed=since_signed,
        read_when=None if before is None else iso(before.read_at_us),
        signed_sha=None if mine is None else mine.sha256,
        just_signed=just_signed and user.contingent in state["signed_by"],
        **_kept_shown(centre, document, chosen),
    )  # fmt: skip


def _draft(centre: TheCentre, day: Any) -> tuple[Document, dict[str, Any]]:
    """The day's report as it stands and its state (who signed it), made once for as long as
    the record's watermark stands (a day of 40,000 incidents takes seconds to make). The
    watermark is read first: a change while the report is made leaves it under the older
    key, which no later reader asks for. Signing computes the report again itself."""
    with centre.engine.connect() as conn:
        key = (str(centre.engine.url), day, signing.watermark(conn))
    return _DRAFTS.made(key, lambda: signing.report_draft(centre.engine, day))


def _kept_shown(centre: TheCentre, document: Document, lang: str) -> dict[str, Any]:
    key = (str(centre.engine.url), document.sha256, document.version,
           document.published is not None, lang)  # fmt: skip
    kept = _SHOWN.get(key)
    return kept if kept is not None else _SHOWN.put(key, _shown(document, lang))


_DRAFTS: Kept[tuple[Document, dict[str, Any]]] = Kept(4)
_SHOWN: Kept[dict[str, Any]] = Kept(8)


def draft_download(
    centre: TheCentre, user: PageUser, date: Annotated[str, Query(max_length=10)],
    format: FormatParam = "pdf", lang: LangParam = None,
) -> Response:  # fmt: skip
    """The day's report as it stands, as a file (a draft until published)."""
    document = signing.report_document(centre.engine, parse_day(date))
    return _download(document, format, _lang(document, lang), f"report-{date}-draft")


def sign(
    request: Request,
    centre: TheCentre,
    user: PageUser,
    date: Annotated[str, Form(max_length=10)],
    sha256: Annotated[str, Form(max_length=64)],
    csrf: Annotated[str, Form(max_length=100)],
    confirm: Annotated[str | None, Form(max_length=8)] = None,
) -> Response:
    check_csrf(request, csrf)
    contingent = require(user, "reports.sign", user.contingent)
    day = parse_day(date)
    if confirm != "yes":
        refused = M("not signed: tick the box to confirm that you read this version")
        return _report_page(request, centre, user, date, message=refused, record_read=False)
    try:
        signing.sign_report(
            centre.engine, day, sha256=sha256, contingent=contingent, actor=user.name,
            keyring=centre.keyring,
        )  # fmt: skip
    except (FieldError, Conflict) as exc:
        return _report_page(request, centre, user, date, message=exc, record_read=False)
    return redirect(f"/report?date={day.isoformat()}&signed=1#signed")


def published_list(request: Request, centre: TheCentre, user: MaybeUser) -> Response:
    """The published reports: for anyone, logged in or not."""
    with centre.engine.connect() as conn:
        listed = signing.published_days(conn, load_mission(conn))
    return render(
        request, "published.html", user=user, title=N_("Published reports"), listed=listed
    )


VersionParam = Annotated[int | None, Query(ge=1, le=10_000)]


def _published(centre: TheCentre, date: str, version: int | None = None) -> Document:
    with centre.engine.connect() as conn:
        found = signing.published_document(conn, load_mission(conn), parse_day(date[:10]), version)
    if found is None:
        raise NotFound(
            M("the report of {day} is not published", day=date[:10]) if version is None
            else M("version {version} of the report of {day} is not published", version=version,
                   day=date[:10])
        )  # fmt: skip
    return found


def published_report(
    request: Request, centre: TheCentre, user: MaybeUser, date: str, lang: LangParam = None,
    version: VersionParam = None,
) -> Response:  # fmt: skip
    document = _published(centre, date, version)
    chosen = _lang(document, lang, request)
    assert document.published is not None
    with centre.engine.connect() as conn:  # the page's language (the menu's, the title's)
        page_lang = page_language(request, load_mission(conn).languages)
    return render(
        request, "published_report.html", user=user,
        title=say(M("Report {date}", date=date[:10]), page_lang),
        report=document.published, lang=chosen, languages=document.content.get("languages", []),
        formats=[f for f in REPORT_FORMATS if f != "text"], records=RECORDS,
        **_shown(document, chosen),
    )  # fmt: skip


def published_download(
    centre: TheCentre, user: MaybeUser, date: str, format: FormatParam = "pdf",
    lang: LangParam = None, version: VersionParam = None,
) -> Response:  # fmt: skip
    """A published report as a file: PDF, HTML or text in a language, or the signed JSON."""
    document = _published(centre, date, version)
    stem = f"report-{date[:10]}-v{document.version or 1}"
    return _download(document, format, _lang(document, lang), stem)
