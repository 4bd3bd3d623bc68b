"""The work lists: incidents, findings and cases, each with its filters (a day or a range of
days in the mission's time zone, zone, clause, kind, verdict, state), a search over their
words, pages of `PAGE` rows, and an export of what is listed where an export exists.

A filter's value comes from the address and is checked here: a value that is not one of the
mission's (a zone, a clause) or not a day is named in the page, never a 500, and is not
echoed into the links."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

import numpy as np
import shapely
from fastapi import Request
from fastapi.responses import Response

from truceline.domain.timeutil import to_us
from truceline.domain.vocabulary import KINDS
from truceline.i18n.message import M, Message
from truceline.mission import Mission
from truceline.services import accounts, verification
from truceline.services.reports import renderer_for
from truceline.services.reports.records import from_store
from truceline.store import compliance
from truceline.store.missions import load_mission
from truceline.web.deps import PageUser, TheCentre
from truceline.web.pages.render import N_, page_language, render

PAGE = 50  # rows on a page
SEARCHED = 20_000  # rows a search looks through (the newest of the filtered range)
VERDICTS = ("pending", "confirmed", "not_confirmed", "inconclusive", "disputed")
CASE_STATES = ("open", "decided", "reconsidering")
# A complaint's state in the address, and its status as listed.
COMPLAINT_STATES = {"awaiting": "awaiting a joint verdict", "overdue": "overdue",
                    "answered": "answered", "late": "answered late"}  # fmt: skip
EXPORTS = {"incidents": ("csv", "geojson", "kml")}  # the formats of each list's export


@dataclass
class Filters:
    """A list's filters as the address gives them, checked; `problems` names the refused."""

    day_from: date | None = None
    day_to: date | None = None
    zone: str | None = None
    clause: str | None = None
    kind: str | None = None
    verdict: str | None = None
    state: str | None = None
    q: str = ""
    page: int = 1
    problems: list[Message] = field(default_factory=list)

    def query(self, **changes: Any) -> str:
        """The address's query of these filters (the refused ones left out), changed."""
        values: dict[str, Any] = {
            "from": self.day_from.isoformat() if self.day_from else None,
            "to": self.day_to.isoformat() if self.day_to else None,
            "zone": self.zone, "clause": self.clause, "kind": self.kind,
            "verdict": self.verdict, "state": self.state, "q": self.q or None,
        }  # fmt: skip
        values.update(changes)
        return urlencode([(k, v) for k, v in values.items() if v not in (None, "", 1)])

    def span_us(self, mission: Mission) -> tuple[int | None, int | None]:
        """The days chosen as microseconds: from the start of the first in the mission's
        time zone to the end of the last."""
        zone = mission.timezone
        since = until = None
        if self.day_from is not None:
            since = to_us(datetime.combine(self.day_from, time(), zone))
        if self.day_to is not None:
            until = to_us(datetime.combine(self.day_to + timedelta(days=1), time(), zone))
        return since, until


def _day(value: str | None, name: str, problems: list[Message]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        problems.append(M("{name}: not a day (YYYY-MM-DD): {value!r}", name=name,
                          value=value[:40]))  # fmt: skip
        return None


def _one_of(value: str | None, name: str, allowed: Iterable[str], problems: list[Message]
            ) -> str | None:  # fmt: skip
    if not value:
        return None
    allowed = list(allowed)
    if value not in allowed:
        problems.append(M("{name}: {value!r} is not one of {allowed}", name=name,
                          value=value[:40], allowed=", ".join(allowed)))  # fmt: skip
        return None
    return value


def filters_of(request: Request, mission: Mission, states: Iterable[str] = CASE_STATES) -> Filters:
    params = request.query_params
    problems: list[Message] = []
    try:
        number = max(1, min(SEARCHED // PAGE, int(params.get("page", "1"))))  # (bounded work)
    except ValueError:
        number = 1
    found = Filters(
        day_from=_day(params.get("from"), "from", problems),
        day_to=_day(params.get("to"), "to", problems),
        zone=_one_of(params.get("zone"), "zone", mission.zones, problems),
        clause=_one_of(params.get("clause"), "clause", mission.clauses, problems),
        kind=_one_of(params.get("kind"), "kind", sorted(KINDS), problems),
        verdict=_one_of(params.get("verdict"), "verdict", VERDICTS, problems),
        state=_one_of(params.get("state"), "state", states, problems),
        q=(params.get("q") or "").strip()[:200],
        page=number,
        problems=problems,
    )
    if found.day_from and found.day_to and found.day_to < found.day_from:
        problems.append(M("to: the last day is before the first"))
        found.day_to = None
    return found


def _matches(q: str, *words: Any) -> bool:
    """Every word of the search appears in one of the row's words (case not minded)."""
    if not q:
        return True
    text = " ".join(str(w) for w in words if w is not None).casefold()
    return all(part in text for part in q.casefold().split())


def paged(rows: list[dict[str, Any]], number: int) -> tuple[list[dict[str, Any]], bool]:
    start = (number - 1) * PAGE
    return rows[start : start + PAGE], len(rows) > start + PAGE


def _incident_rows(conn: Any, mission: Mission, f: Filters, user: accounts.User | None, words: Any
                   ) -> list[dict[str, Any]]:  # fmt: skip
    since, until = f.span_us(mission)
    among = None
    _, by_incident = verification.verdicts(conn, mission)
    if f.verdict is not None:
        among = {i for i, v in by_incident.items() if (v or "pending") == f.verdict}
        if f.verdict == "pending":  # no case yet is pending too
            among = None
    within = mission.zones[f.zone].geometry if f.zone else None
    rows = compliance.list_incidents(
        conn, since_us=since, until_us=until, kind=f.kind, within=within, among=among,
        limit=SEARCHED if (f.q or f.verdict == "pending") else f.page * PAGE + 1,
    )  # fmt: skip
    for row in rows:
        row["verdict"] = by_incident.get(int(row["id"]))
    if f.verdict == "pending":
        rows = [r for r in rows if r["verdict"] in (None, "pending")]
    if f.q:
        rows = [
            r for r in rows
            if _matches(f.q, r["id"], r["kind"], words.kind(r["kind"]), r["actor"],
                        words.actor(r["actor"]), *r["subtypes"])
        ]  # fmt: skip
    return rows


def _finding_rows(conn: Any, mission: Mission, f: Filters, user: accounts.User | None, words: Any
                  ) -> list[dict[str, Any]]:  # fmt: skip
    since, until = f.span_us(mission)
    by_finding, _ = verification.verdicts(conn, mission)
    among: set[int] | None = None
    if f.verdict not in (None, "pending"):
        among = {i for i, v in by_finding.items() if v == f.verdict}
    if f.zone is not None:
        inside = compliance.finding_ids_in_zone(conn, f.zone, mission.zones[f.zone].geometry)
        among = inside if among is None else among & inside
    rows = compliance.list_findings(
        conn, clause=f.clause, since_us=since, until_us=until, among=among,
        limit=SEARCHED if (f.q or f.verdict == "pending") else f.page * PAGE + 1,
    )  # fmt: skip
    cases = verification.cases_of_findings(conn, [int(r["id"]) for r in rows])
    for row in rows:
        row["verdict"] = by_finding.get(int(row["id"]))
        row["case"] = cases.get(int(row["id"]))
    if f.verdict == "pending":
        rows = [r for r in rows if r["verdict"] in (None, "pending")]
    if f.q:
        rows = [
            r for r in rows
            if _matches(f.q, r["id"], r["clause"], words.clause(r["clause"]), r["rule"],
                        words.rule(r["rule"]), r["zone"], words.zone(r["zone"]), r["unit"],
                        r["subject"])
        ]  # fmt: skip
    return rows


def _case_rows(conn: Any, mission: Mission, f: Filters, user: accounts.User | None, words: Any
               ) -> list[dict[str, Any]]:  # fmt: skip
    rows = verification.list_cases(conn, viewer=None if user is None else user.contingent)
    since, until = f.span_us(mission)
    kept = []
    for row in reversed(rows):  # the newest first
        opened = to_us(datetime.fromisoformat(row["opened"]))
        if (since is not None and opened < since) or (until is not None and opened >= until):
            continue
        if f.state is not None and row["state"] != f.state:
            continue
        if f.verdict is not None and (row["verdict"] or "pending") != f.verdict:
            continue
        if f.q and not _matches(f.q, row["id"], row["key"], row["note"], row["opened_by"],
                                row["subject"], words.verdict(row["verdict"])):  # fmt: skip
            continue
        kept.append(row)
    return kept


def complaint_rows(
    conn: Any, mission: Mission, f: Filters, party: str | None, words: Any
) -> list[dict[str, Any]]:
    """The complaints (a liaison's: its party's), newest first, received in the days chosen,
    placed in the zone chosen (named, or their point inside it), of a kind, a state and a
    verdict, with the words of the search in their account, kind, parties or number."""
    since, until = f.span_us(mission)
    rows = verification.list_complaints(conn, party=party)
    inside = np.ones(len(rows), dtype=bool)  # in the zone chosen: named, or a point in it
    if f.zone is not None:
        zone = mission.zones[f.zone]
        lon = np.array([np.nan if r["lon"] is None else r["lon"] for r in rows], dtype=float)
        lat = np.array([np.nan if r["lat"] is None else r["lat"] for r in rows], dtype=float)
        named = np.array([r["zone"] == zone.id for r in rows], dtype=bool)
        inside = named | shapely.covers(zone.geometry, shapely.points(lon, lat))
    kept = []
    for row, placed in zip(reversed(rows), inside[::-1], strict=True):
        received = to_us(datetime.fromisoformat(row["received"]))
        if (since is not None and received < since) or (until is not None and received >= until):
            continue
        if f.kind is not None and row["kind"] != f.kind:
            continue
        if f.state is not None and row["status"] != COMPLAINT_STATES[f.state]:
            continue
        if f.verdict is not None and (row["verdict"] or "pending") != f.verdict:
            continue
        if not placed:
            continue
        if f.q and not _matches(f.q, row["id"], row["kind"], words.kind(row["kind"]),
                                row["party"], row["against"], words.actor(row["against"]),
                                row["narrative"], row["sha256"]):  # fmt: skip
            continue
        kept.append(row)
    return kept


@dataclass(frozen=True)
class WorkList:
    name: str  # the address: /incidents
    title: str
    template: str
    filters: tuple[str, ...]  # which filters the page offers
    # (connection, mission, filters, the user, the page's words) -> the rows, filtered
    rows: Callable[[Any, Mission, Filters, accounts.User | None, Any], list[dict[str, Any]]]


LISTS: Mapping[str, WorkList] = {
    "incidents": WorkList("incidents", N_("Incidents"), "list_incidents.html",
                          ("from", "to", "zone", "kind", "verdict", "q"), _incident_rows),
    "findings": WorkList("findings", N_("Findings"), "list_findings.html",
                         ("from", "to", "zone", "clause", "verdict", "q"), _finding_rows),
    "cases": WorkList("cases", N_("Cases"), "list_cases.html",
                      ("from", "to", "state", "verdict", "q"), _case_rows),
}  # fmt: skip


def _words_for(request: Request, mission: Mission) -> Any:
    from truceline.web.pages.render import _words

    return _words(mission, page_language(request, mission.languages))


def _page(request: Request, centre: TheCentre, user: accounts.User, which: str) -> Response:
    work = LISTS[which]
    with centre.engine.connect() as conn:
        mission = load_mission(conn)
        f = filters_of(request, mission)
        words = _words_for(request, mission)
        rows = work.rows(conn, mission, f, user, words)
    shown, more = paged(rows, f.page)
    if which == "incidents" and shown:  # where in words, from the mission's places
        said = words.where_many([r["lon"] for r in shown], [r["lat"] for r in shown])
        for row, where in zip(shown, said, strict=True):
            row["where"] = where
    exports = [
        (fmt, f"/{which}/export?{f.query(format=fmt, page=None)}")
        for fmt in EXPORTS.get(which, ())
    ]  # fmt: skip
    return render(
        request, work.template, user=user, title=work.title, rows=shown, filters=f,
        offered=work.filters, problems=f.problems, previous=f.page > 1, more=more,
        previous_url=f"/{which}?{f.query(page=f.page - 1)}",
        next_url=f"/{which}?{f.query(page=f.page + 1)}", exports=exports,
        zones=[(z, words.zone(z)) for z in mission.zones],
        clauses=[(c, words.clause(c)) for c in mission.clauses],
        kinds=[(k, words.kind(k)) for k in sorted(KINDS)],
        verdicts=[(v, words.verdict(v)) for v in VERDICTS],
        states=[(s, words.case_state(s)) for s in CASE_STATES], listed=which,
    )  # fmt: skip


def incidents_page(request: Request, centre: TheCentre, user: PageUser) -> Response:
    return _page(request, centre, user, "incidents")


def findings_page(request: Request, centre: TheCentre, user: PageUser) -> Response:
    return _page(request, centre, user, "findings")


def cases_page(request: Request, centre: TheCentre, user: PageUser) -> Response:
    return _page(request, centre, user, "cases")


def incidents_export(request: Request, centre: TheCentre, user: PageUser) -> Response:
    """The listed incidents (every page of them) as CSV, GeoJSON or KML."""
    fmt = request.query_params.get("format", "csv")
    renderer = renderer_for(fmt if fmt in EXPORTS["incidents"] else "csv")
    with centre.engine.connect() as conn:
        mission = load_mission(conn)
        f = filters_of(request, mission)
        f.page = 1
        words = _words_for(request, mission)
        since, until = f.span_us(mission)
        records = from_store(conn, mission, "incidents", since_us=since, until_us=until)
        wanted = {int(r["id"]) for r in _all_incidents(conn, mission, f, words)}
    kept = [r for r in records.rows if int(r["id"]) in wanted]
    body = renderer.records(type(records)(**{**records.__dict__, "rows": kept}))
    name = f"incidents{renderer.suffix}"
    return Response(body, media_type=renderer.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def _all_incidents(conn: Any, mission: Mission, f: Filters, words: Any) -> list[dict[str, Any]]:
    everything = Filters(**{**f.__dict__, "page": SEARCHED // PAGE})
    return _incident_rows(conn, mission, everything, None, words)
