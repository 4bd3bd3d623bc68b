"""The state of the signed logs."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from truceline.services.ledger import verify_ledger
from truceline.store.missions import load_mission
from truceline.web.deps import PageUser, TheCentre
from truceline.web.pages.render import N_, render


def ledger_page(request: Request, centre: TheCentre, user: PageUser) -> Response:
    with centre.engine.connect() as conn:
        report = verify_ledger(conn, load_mission(conn))
    return render(request, "ledger.html", user=user, title=N_("Ledger"), report=report)
