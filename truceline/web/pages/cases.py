"""A case with its rounds and the blind assessment form; an incident with its evidence;
opening a case."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi import Path as FastPath
from fastapi.responses import Response

from truceline.domain.cases import Position
from truceline.domain.limits import NAME_MAX, TEXT_MAX
from truceline.domain.policy import allowed
from truceline.errors import Conflict, FieldError, NotFound
from truceline.i18n import say
from truceline.i18n.message import M
from truceline.services import accounts, verification
from truceline.store import compliance
from truceline.store.missions import load_mission
from truceline.store.observations import list_observations_by_id
from truceline.web.deps import PageUser, TheCentre, require
from truceline.web.pages.render import N_, check_csrf, page_language, redirect, render

MAX_ID = 2**62  # ids and offsets fit a 64-bit integer column
RowId = Annotated[int, FastPath(ge=1, le=MAX_ID)]
Csrf = Annotated[str, Form(max_length=100)]
# Longer than the services' own limits, so that they say why (a refusal the form shows).
LongText = Annotated[str, Form(max_length=TEXT_MAX * 2)]
Word = Annotated[str, Form(max_length=NAME_MAX)]


DONE = {
    "assessed": N_(
        "{contingent}'s assessment is filed. It stays sealed until every "
        "contingent has filed in this round."
    ),
    "reconsidered": N_("A new round is open: every contingent files again, blind."),
    "opened": N_("The case is open: every contingent's officers can now file."),
}


def case_page(
    request: Request, centre: TheCentre, user: PageUser, case_id: RowId,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:  # fmt: skip
    return _case_page(request, centre, user, case_id, done=done)


def _case_page(
    request: Request,
    centre: TheCentre,
    user: accounts.User,
    case_id: int,
    message: object = None,
    typed: dict[str, str] | None = None,
    done: str | None = None,
) -> Response:
    # A message is the server's own (a refused form, or one of DONE), never taken from the
    # address; after a refusal the form holds what was typed.
    with centre.engine.connect() as conn:
        mission = load_mission(conn)
        case = verification.case_view(conn, mission, case_id, viewer=user.contingent)
        finding = compliance.get_finding(conn, case["finding"]) if case["finding"] else None
    lang = page_language(request, mission.languages)
    case["note"] = say(case["note"], lang)
    # Said only when the case shows it is so: a link with ?done= alone tells nobody that
    # its contingent has filed (a hostile contingent could send one).
    mine = user.contingent
    true = {
        "assessed": mine is not None and mine in case["filed"],
        "reconsidered": case["round"] > 1 and mine is not None,
        "opened": mine is not None,
    }.get(done or "", False)
    success = say(M(DONE[done], contingent=mine), lang) if done and true else None
    return render(
        request, "case.html", user=user, title=say(M("Case {id}", id=case_id), lang), case=case,
        finding=finding,
        parties=list(mission.parties), can_file=allowed(user.role, "cases.assess"),
        message=message, typed=typed or {}, success=success, done=done,
    )  # fmt: skip


def _case_action(
    request: Request,
    centre: TheCentre,
    user: accounts.User,
    csrf: str,
    case_id: int,
    action: str,
    act: Callable[[str], object],
    typed: dict[str, str],
    done: str,
) -> Response:
    """A form of a case page, for a contingent's officers and chiefs: done, back to the case,
    which says so; refused by the rules (an empty rationale, a filing that binds), the case
    page says why and its form holds what was typed."""
    check_csrf(request, csrf)
    contingent = require(user, action, user.contingent)
    try:
        act(contingent)
    except (FieldError, Conflict) as exc:
        return _case_page(request, centre, user, case_id, message=exc, typed=typed)
    return redirect(f"/cases/{case_id}?done={done}#done")


def assess(
    request: Request,
    centre: TheCentre,
    user: PageUser,
    case_id: RowId,
    verdict: Word,
    attribution: Word,
    rationale: LongText,
    csrf: Csrf,
    round_: Annotated[int | None, Form(alias="round", ge=1, le=10_000)] = None,
) -> Response:
    return _case_action(request, centre, user, csrf, case_id, "cases.assess", lambda c: (
        verification.file_assessment(
            centre.engine, case_id, contingent=c,
            position=Position(verdict, attribution, rationale), actor=user.name,
            keyring=centre.keyring, round=round_,
        )
    ), {"verdict": verdict, "attribution": attribution, "rationale": rationale},
       "assessed")  # fmt: skip


def reconsider(
    request: Request,
    centre: TheCentre,
    user: PageUser,
    case_id: RowId,
    reason: LongText,
    csrf: Csrf,
) -> Response:
    return _case_action(request, centre, user, csrf, case_id, "cases.reconsider", lambda c: (
        verification.reconsider(
            centre.engine, case_id, contingent=c, reason=reason, actor=user.name,
            keyring=centre.keyring,
        )
    ), {"reason": reason}, "reconsidered")  # fmt: skip


def open_case(
    request: Request,
    centre: TheCentre,
    user: PageUser,
    csrf: Csrf,
    finding: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
    complaint: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
) -> Response:
    """A case on a finding (its page's button) or on a complaint (the complaints list's)."""
    check_csrf(request, csrf)
    contingent = require(user, "cases.open", user.contingent)
    if (finding is None) == (complaint is None):
        raise FieldError("finding", M("give a finding or a complaint, one of them"))
    # Refused (a case is open on it already: 409; no such subject: 404): the error page says so.
    case = verification.open_case(
        centre.engine, finding=finding, complaint=complaint, keyring=centre.keyring,
        acting=contingent,
    )  # fmt: skip
    return redirect(f"/cases/{case['id']}?done=opened#done")


def incident_page(
    request: Request, centre: TheCentre, user: PageUser, incident_id: RowId
) -> Response:
    with centre.engine.connect() as conn:
        mission = load_mission(conn)
        incident = compliance.get_incident(conn, incident_id)
        if incident is None:
            raise NotFound(M("no incident {incident}", incident=incident_id))
        observed = {o["id"]: o for o in list_observations_by_id(conn, incident["observations"])}
        findings = compliance.findings_of_incident(conn, incident_id)
        by_finding, _ = verification.verdicts(conn, mission)
        case_of = verification.cases_of_findings(conn, [f["id"] for f in findings])
    return render(
        request, "incident.html", user=user, incident=incident,
        title=say(M("Incident {id}", id=incident_id), page_language(request, mission.languages)),
        observations=[observed[n] for n in incident["observations"] if n in observed],
        findings=findings, verdicts=by_finding, case_of=case_of,
        can_open=allowed(user.role, "cases.open"),
    )  # fmt: skip
