"""Complaints: a liaison files its party's and follows their status; the staff read all."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import Response

from truceline.domain.limits import NAME_MAX, TEXT_MAX
from truceline.domain.policy import LIAISON
from truceline.domain.timeutil import to_us
from truceline.domain.vocabulary import KINDS
from truceline.errors import FieldError
from truceline.i18n.message import M
from truceline.services import accounts, verification
from truceline.store.missions import load_mission
from truceline.web.deps import PageUser, TheCentre, require
from truceline.web.pages.render import N_, check_csrf, redirect, render

Word = Annotated[str, Form(max_length=NAME_MAX)]


def complaints_page(
    request: Request, centre: TheCentre, user: PageUser,
    filed: Annotated[int | None, Query(ge=1)] = None,
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
    """The complaints (a liaison's own party's), and for a liaison the form: after a refusal
    it holds what was typed; after filing, the complaint's receipt is shown (only of one of
    the reader's own complaints: the address alone says nothing)."""
    with centre.engine.connect() as conn:
        mission = load_mission(conn)
        party = user.party if user.role == LIAISON else None
        listed = verification.list_complaints(conn, party=party)
    mine = filed is not None and user.role == LIAISON  # the filer's page; its own party's only
    receipt = next((c for c in listed if c["id"] == filed), None) if mine else None
    return render(
        request, "complaints.html", user=user, title=N_("Complaints"), complaints=listed,
        kinds=sorted(KINDS), zones=list(mission.zones.values()), parties=list(mission.parties),
        message=message, typed=typed or {}, receipt=receipt,
        zone_name=mission.timezone.key,
    )  # fmt: skip


def complain(
    request: Request,
    centre: TheCentre,
    user: PageUser,
    kind: Word,
    observed_at: Annotated[str, Form(max_length=64)],
    zone: Word,
    against: Word,
    narrative: Annotated[str, Form(max_length=TEXT_MAX * 2)],
    csrf: Annotated[str, Form(max_length=100)],
) -> Response:
    check_csrf(request, csrf)
    party = require(user, "complaints.file", user.party)
    typed = {"kind": kind, "observed_at": observed_at, "zone": zone, "against": against,
             "narrative": narrative}  # fmt: skip
    try:
        moment = datetime.fromisoformat(observed_at.strip())
    except ValueError:
        refused = M("when: not a date and time: {value!r}", value=observed_at[:40])
        return _complaints_page(request, centre, user, message=refused, typed=typed)
    if moment.tzinfo is None:  # the picker's local time: the mission's time zone
        with centre.engine.connect() as conn:
            moment = moment.replace(tzinfo=load_mission(conn).timezone)
    when = to_us(moment)  # the service refuses one outside the supported years
    filed = verification.ComplaintInput(
        party=party, kind=kind, narrative=narrative, observed_from_us=when,
        observed_to_us=when, against=against, zone=zone, filed_by=user.name,
    )  # fmt: skip
    try:
        receipt = verification.file_complaint(
            centre.engine, filed, keyring=centre.keyring, acting=None
        )
    except FieldError as exc:
        return _complaints_page(request, centre, user, message=exc, typed=typed)
    return redirect(f"/complaints?filed={receipt.id}#receipt")
