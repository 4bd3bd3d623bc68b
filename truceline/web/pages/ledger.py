"""The state of the signed logs."""

from __future__ import annotations

from dataclasses import replace

from fastapi import Request
from fastapi.responses import Response

from truceline.i18n import say
from truceline.services.ledger import verify_ledger
from truceline.store.missions import load_mission
from truceline.web.deps import PageUser, TheCentre
from truceline.web.pages.render import N_, page_language, render


def ledger_page(request: Request, centre: TheCentre, user: PageUser) -> Response:
    with centre.engine.connect() as conn:
        mission = load_mission(conn)
        report = verify_ledger(conn, mission)
    lang = page_language(request, mission.languages)  # each fault's problem in it
    report.faults = [replace(f, problem=say(f.problem, lang)) for f in report.faults]
    return render(request, "ledger.html", user=user, title=N_("Ledger"), report=report)
