"""Complaints: a party's liaison files its own; staff read all, a liaison its party's."""

from __future__ import annotations

from typing import Any

from truceline.domain.policy import LIAISON
from truceline.services import verification
from truceline.web.api.common import us
from truceline.web.api.models import ComplaintRequest, Receipt
from truceline.web.deps import ApiUser, Conn, TheCentre, require


def complaints(conn: Conn, who: ApiUser) -> list[dict[str, Any]]:
    if who.role == LIAISON:
        return verification.list_complaints(conn, party=who.party)
    return verification.list_complaints(conn)


def file_complaint(centre: TheCentre, who: ApiUser, body: ComplaintRequest) -> Receipt:
    party = require(who, "complaints.file", body.party)
    first = us(body.observed_from, "observed_from")
    last = us(body.observed_to, "observed_to") if body.observed_to is not None else first
    assert first is not None and last is not None
    request = verification.ComplaintInput(
        party=party, kind=body.kind, narrative=body.narrative, observed_from_us=first,
        observed_to_us=last, against=body.against, lat=body.lat, lon=body.lon, zone=body.zone,
        filed_by=who.name,
    )  # fmt: skip
    receipt = verification.file_complaint(
        centre.engine, request, keyring=centre.keyring, acting=None
    )
    return Receipt(**receipt.as_dict())
