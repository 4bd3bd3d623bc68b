"""Complaints: a liaison files its party's (a point picked on a small map, files attached) and
follows their status on their pages; the staff read all and open a case on one."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

import shapely
from fastapi import File, Form, Query, Request, UploadFile
from fastapi import Path as FastPath
from fastapi.responses import Response

from truceline.domain.limits import (
    ATTACHMENT_MAX,
    ATTACHMENTS_MAX,
    ATTACHMENTS_TOTAL_MAX,
    NAME_MAX,
    TEXT_MAX,
)
from truceline.domain.policy import LIAISON, allowed
from truceline.domain.timeutil import to_us
from truceline.domain.vocabulary import KINDS
from truceline.errors import FieldError, NotFound
from truceline.i18n import say
from truceline.i18n.message import M
from truceline.mission import Mission
from truceline.services import accounts, verification
from truceline.store.missions import load_mission
from truceline.web.deps import PageUser, TheCentre, require
from truceline.web.pages import lists
from truceline.web.pages.map import zone_shapes
from truceline.web.pages.render import N_, _words, check_csrf, page_language, redirect, render

Word = Annotated[str, Form(max_length=NAME_MAX)]
Number = Annotated[str, Form(max_length=32)]
MAX_ID = 2**62
RowId = Annotated[int, FastPath(ge=1, le=MAX_ID)]
SHA256 = re.compile(r"[0-9a-f]{64}")
ATTRIBUTION = N_(
    "Borders: Natural Earth. Zones: the mission file. Not an authoritative line or border."
)


def _spot(
    mission: Mission, lang: str, *, zone: str | None, point: Any, pick: bool
) -> dict[str, Any]:
    """What a small map shows, as JSON for the page: the zones (the complaint's outlined), a
    point, and whether a click picks the point (the form's)."""
    # their names and shapes only (what the clauses require is the staff's map's)
    zones = zone_shapes(mission, _words(mission, lang))
    return {
        "zones": {"type": "FeatureCollection", "features": zones}, "zone": zone,
        "point": point, "pick": pick, "attribution": say(M(ATTRIBUTION), lang),
        "marker": say(M("the place of the complaint"), lang),
    }  # fmt: skip


def complaints_page(
    request: Request, centre: TheCentre, user: PageUser,
    filed: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:  # fmt: skip
    return _complaints_page(request, centre, user, filed=filed)


def _complaints_page(
    request: Request,
    centre: TheCentre,
    user: accounts.User,
    message: object = None,
    typed: dict[str, str] | None = None,
    filed: int | None = None,
) -> Response:
    """The complaints (a liaison's own party's), each linked to its page, and for a liaison
    the form: after a refusal it holds what was typed (files must be chosen again: a browser
    never refills a file input); after filing, the complaint's receipt is shown (only of one
    of the reader's own complaints: the address alone says nothing)."""
    typed = typed or {}
    party = user.party if user.role == LIAISON else None
    with centre.engine.connect() as conn:
        mission = load_mission(conn)
        lang = page_language(request, mission.languages)
        words = _words(mission, lang)
        f = lists.filters_of(request, mission, lists.COMPLAINT_STATES)
        rows = lists.complaint_rows(conn, mission, f, party, words)
        receipt = None
        if filed is not None and user.role == LIAISON:  # the filer's; its own party's only
            try:
                receipt = verification.get_complaint(conn, filed, party=party)
            except NotFound:
                receipt = None
    shown, more = lists.paged(rows, f.page)
    point = None
    try:
        lat, lon = _number(typed.get("lat", ""), "lat"), _number(typed.get("lon", ""), "lon")
        if lat is not None and lon is not None:
            point = [lat, lon]
    except FieldError:  # (said already, by the refusal)
        point = None
    spot = None
    if user.role == LIAISON:
        spot = _spot(mission, lang, zone=typed.get("zone") or None, point=point, pick=True)
    return render(
        request, "complaints.html", user=user, title=N_("Complaints"), complaints=shown,
        kinds=sorted(KINDS), zones=list(mission.zones.values()), parties=list(mission.parties),
        message=message, typed=typed, receipt=receipt, zone_name=mission.timezone.key,
        spot=spot, attachment_max=ATTACHMENT_MAX, attachments_max=ATTACHMENTS_MAX,
        attachments_total=ATTACHMENTS_TOTAL_MAX,
        filters=f, problems=f.problems, more=more, listed="complaints",
        offered=("from", "to", "zone", "kind", "state", "verdict", "q"),
        previous_url=f"/complaints?{f.query(page=f.page - 1)}",
        next_url=f"/complaints?{f.query(page=f.page + 1)}",
        zone_choices=[(z, words.zone(z)) for z in mission.zones],
        kind_choices=[(k, words.kind(k)) for k in sorted(KINDS)],
        verdicts=[(v, words.verdict(v)) for v in lists.VERDICTS],
        states=[(k, words.complaint_status(v)) for k, v in lists.COMPLAINT_STATES.items()],
    )  # fmt: skip


def _number(value: str, name: str) -> float | None:
    if not value.strip():
        return None
    try:
        number = float(value.strip().replace(",", "."))
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise FieldError(name, M("not a number: {value!r}", value=value[:32]))
    return number


def _uploads(files: list[UploadFile | str]) -> tuple[verification.Upload, ...]:
    """The files chosen (none: the browser's one empty part), each read at most one byte past
    its limit, so that the service refuses it by name without holding more."""
    uploads = []
    for f in files:
        if isinstance(f, str):  # no file chosen
            continue
        name = (f.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        content = f.file.read(ATTACHMENT_MAX + 1)
        if not name and not content:
            continue
        uploads.append(verification.Upload(name, content))
    return tuple(uploads)


def complain(
    request: Request,
    centre: TheCentre,
    user: PageUser,
    kind: Word,
    observed_at: Annotated[str, Form(max_length=64)],
    against: Word,
    narrative: Annotated[str, Form(max_length=TEXT_MAX * 2)],
    csrf: Annotated[str, Form(max_length=100)],
    zone: Word = "",
    lat: Number = "",
    lon: Number = "",
    # A browser sends an empty part when no file is chosen (a text field, then, not a file).
    attachments: Annotated[list[UploadFile | str], File()] = [],  # noqa: B006
) -> Response:
    check_csrf(request, csrf)
    party = require(user, "complaints.file", user.party)
    typed = {"kind": kind, "observed_at": observed_at, "zone": zone, "against": against,
             "narrative": narrative, "lat": lat, "lon": lon}  # fmt: skip
    try:
        moment = datetime.fromisoformat(observed_at.strip())
    except ValueError:
        refused = M("when: not a date and time: {value!r}", value=observed_at[:40])
        return _complaints_page(request, centre, user, message=refused, typed=typed)
    if moment.tzinfo is None:  # the picker's local time: the mission's time zone
        with centre.engine.connect() as conn:
            moment = moment.replace(tzinfo=load_mission(conn).timezone)
    when = to_us(moment)  # the service refuses one outside the supported years
    try:
        filed = verification.ComplaintInput(
            party=party, kind=kind, narrative=narrative, observed_from_us=when,
            observed_to_us=when, against=against, zone=zone or None,
            lat=_number(lat, "lat"), lon=_number(lon, "lon"), filed_by=user.name,
            attachments=_uploads(attachments),
        )  # fmt: skip
        receipt = verification.file_complaint(
            centre.engine, filed, keyring=centre.keyring, acting=None
        )
    except FieldError as exc:
        return _complaints_page(request, centre, user, message=exc, typed=typed)
    return redirect(f"/complaints?filed={receipt.id}#receipt")


def complaint_page(
    request: Request, centre: TheCentre, user: PageUser, complaint_id: RowId
) -> Response:
    """One complaint: what, when, where (on a small map), against whom, the account, its
    attached files, the receipt of every contingent that received it, its status and, once
    the joint verdict is revealed, that verdict; officers and chiefs open a case from here."""
    party = user.party if user.role == LIAISON else None
    with centre.engine.connect() as conn:
        mission = load_mission(conn)
        complaint = verification.get_complaint(conn, complaint_id, party=party)
    lang = page_language(request, mission.languages)
    point = None if complaint["lat"] is None else [complaint["lat"], complaint["lon"]]
    if point is not None:  # said from the nearest named place, and the zones it lies in
        words = _words(mission, lang)
        said = words.where_many([point[1]], [point[0]])[0]
        complaint["where"] = None if said == f"{point[0]:.4f}, {point[1]:.4f}" else said
        at = shapely.Point(point[1], point[0])
        complaint["in_zones"] = [words.zone(z.id) for z in mission.zones.values()
                                 if z.geometry.covers(at)]  # fmt: skip
    return render(
        request, "complaint.html", user=user, complaint=complaint,
        title=say(M("Complaint {id}", id=complaint_id), lang),
        spot=_spot(mission, lang, zone=complaint["zone"], point=point, pick=False),
        can_open=allowed(user.role, "cases.open") and user.contingent is not None,
        can_read_cases=allowed(user.role, "record.read"),
    )  # fmt: skip


def attachment(
    request: Request, centre: TheCentre, user: PageUser, complaint_id: RowId,
    sha256: Annotated[str, FastPath(min_length=64, max_length=64)],
) -> Response:  # fmt: skip
    """A complaint's attached file, always as a download (never shown inline: it is a
    party's file, not this server's page)."""
    party = user.party if user.role == LIAISON else None
    if not SHA256.fullmatch(sha256):
        raise FieldError("sha256", M("not a sha256: {value!r}", value=sha256[:64]))
    with centre.engine.connect() as conn:
        name, content = verification.attachment_of(conn, complaint_id, sha256, party=party)
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "attachment"
    return Response(
        content, media_type="application/octet-stream",
        headers={"content-disposition": f"attachment; filename=\"{ascii_name}\"; "
                                        f"filename*=UTF-8''{quote(name, safe='')}"},
    )  # fmt: skip
