"""Complaints: a liaison files its party's and follows their status; the staff read all."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Form, Request
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


def complaints_page(request: Request, centre: TheCentre, user: PageUser) -> Response:
    return _complaints_page(request, centre, user)


def _complaints_page(
    request: Request, centre: TheCentre, user: accounts.User, message: object = None
) -> Response:
    with centre.engine.connect() as conn:
        mission = load_mission(conn)
        party = user.party if user.role == LIAISON else None
        listed = verification.list_complaints(conn, party=party)
    return render(
        request, "complaints.html", user=user, title=N_("Complaints"), complaints=listed,
        kinds=sorted(KINDS), zones=list(mission.zones.values()), parties=list(mission.parties),
        message=message,
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
    try:
        moment = datetime.fromisoformat(observed_at)
    except ValueError:
        return _complaints_page(
            request, centre, user, message=M("not an ISO 8601 time: {value!r}", value=observed_at)
        )
    if moment.tzinfo is None:
        return _complaints_page(
            request, centre, user, message=M("the time needs an offset, e.g. +04:00")
        )
    when = to_us(moment)  # the service refuses one outside the supported years
    filed = verification.ComplaintInput(
        party=party, kind=kind, narrative=narrative, observed_from_us=when,
        observed_to_us=when, against=against, zone=zone, filed_by=user.name,
    )  # fmt: skip
    try:
        verification.file_complaint(centre.engine, filed, keyring=centre.keyring, acting=None)
    except FieldError as exc:
        return _complaints_page(request, centre, user, message=exc)
    return redirect("/complaints")
