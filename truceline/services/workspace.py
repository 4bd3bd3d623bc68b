"""What waits for a member of the centre's staff, and the dashboard's charts (no I/O but the
connection it is given).

`waiting_for` answers, for one contingent: the cases waiting for its filing, the cases under
reconsideration, the reporting days whose report it has not signed (in the recent days, or
signed by another contingent and not by it), and the complaints that are new (no case opened
on them yet) or overdue. `findings_per_day` counts active findings by reporting day and clause
over recent days (bucketed at C speed), `incidents_by_kind` a day's active incidents by kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, select

from truceline.domain.reporting import day_bounds, reporting_day
from truceline.domain.timeutil import from_us, to_us
from truceline.mission import Mission
from truceline.services import signing, verification
from truceline.store import compliance
from truceline.store import tables as t
from truceline.store.compliance import finding_dict

RECENT_DAYS = 7  # the reporting days a dashboard looks back on for reports to sign
CHART_DAYS = 14  # the days the findings chart shows


@dataclass(frozen=True)
class ReportToSign:
    """A reporting day whose report the contingent has not signed."""

    day: str
    signed_by: list[str]  # the other contingents whose latest signature it has not matched
    correction: bool = False  # it signed an earlier version: a new one waits for it


@dataclass
class Waiting:
    """What waits for one contingent, each list in the order to take it."""

    cases: list[dict[str, Any]] = field(default_factory=list)  # its filing is awaited
    reconsidering: list[dict[str, Any]] = field(default_factory=list)
    reports: list[ReportToSign] = field(default_factory=list)
    new_complaints: list[dict[str, Any]] = field(default_factory=list)  # no case yet
    overdue_complaints: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return (
            len(self.cases) + len(self.reconsidering) + len(self.reports)
            + len(self.new_complaints) + len(self.overdue_complaints)
        )  # fmt: skip


def last_complete_day(conn: Connection, mission: Mission, now: datetime) -> date | None:
    """The last reporting day whose report can be signed: the day before the current one,
    or the day of the latest data when the data ends earlier (a record being read after the
    fact, the demo); None when nothing is recorded."""
    latest = compliance.latest_start(conn)
    if latest is None:
        return None
    today = reporting_day(now, mission.report_cutoff, mission.timezone)
    last = reporting_day(from_us(latest), mission.report_cutoff, mission.timezone)
    return min(today - timedelta(days=1), last)


def waiting_for(
    conn: Connection,
    mission: Mission,
    contingent: str | None,
    last_day: date | None,
    cases: list[dict[str, Any]] | None = None,
    now_us: int | None = None,
    signed: dict[str, list[signing.Signature]] | None = None,
) -> Waiting:
    """What waits for `contingent` (None: an account of no contingent, which files and signs
    nothing: only the complaints and the reconsiderations). The reports looked at are those
    of the RECENT_DAYS reporting days to `last_day` (`last_complete_day`), and of any day
    another contingent signed. `cases` and `signed` (`signing.all_signatures`): when the
    caller has them already."""
    cases = verification.list_cases(conn, viewer=contingent) if cases is None else cases
    out = Waiting()
    if contingent is not None:
        out.cases = [c for c in cases if contingent in c["waiting_for"]]
    out.reconsidering = [c for c in cases if c.get("under_reconsideration")]
    complaints = verification.list_complaints(conn, now_us=now_us)
    out.overdue_complaints = [c for c in complaints if c["overdue"]]
    out.new_complaints = [c for c in complaints if c["case"] is None and not c["overdue"]]
    if contingent is not None and last_day is not None:
        signed = signing.all_signatures(conn) if signed is None else signed
        moment = from_us(now_us) if now_us is not None else datetime.now(UTC)
        today = reporting_day(moment, mission.report_cutoff, mission.timezone)
        out.reports = _reports_to_sign(mission, signed, contingent, last_day, today)
    return out


def _reports_to_sign(
    mission: Mission,
    signed: dict[str, list[signing.Signature]],
    contingent: str,
    last: date,
    today: date,
) -> list[ReportToSign]:
    """The recent days (from the mission's start) its chief has not signed, and any day on
    which another contingent signed, after this one's last signature, a version this one has
    not (a correction waiting for it; or the day under way, signed by another chief already):
    newest first. (A version it signed that the record has
    since moved past, unsigned by anyone, is the report page's to say: telling would mean
    computing every day's report here.)"""
    first = None
    if mission.start is not None:
        first = reporting_day(mission.start, mission.report_cutoff, mission.timezone)
    days = {last - timedelta(days=n) for n in range(RECENT_DAYS)}
    signed_days = set()
    for text_day in signed:
        try:
            signed_days.add(date.fromisoformat(text_day))
        except ValueError:  # not a day (another node's entry): it signs nothing to show
            continue
    out = []
    for day in sorted(days | signed_days, reverse=True):
        # the day under way waits once another contingent's chief has signed it; a day to
        # come never (a hostile peer's signature of 2099-01-01 would stay on every dashboard)
        if day > today or (day > last and day not in signed_days):
            continue
        if first is not None and day < first:
            continue
        by = signed.get(day.isoformat(), [])
        mine = [n for n, s in enumerate(by) if s.contingent == contingent]
        own = by[mine[-1]].sha256 if mine else None
        newer = by[mine[-1] + 1 :] if mine else by
        others = sorted({s.contingent for s in newer if s.contingent != contingent
                         and s.sha256 != own})  # fmt: skip
        if mine and not others:
            continue  # signed, and nobody signed another version since
        out.append(ReportToSign(day.isoformat(), others, correction=bool(mine)))
    return out


def _day_edges(mission: Mission, first: date, days: int) -> np.ndarray:
    """The bounds of `days` reporting days from `first`, microseconds (days+1 edges; a day
    of a clock change is 23 or 25 hours long)."""
    edges = [to_us(day_bounds(first, mission.report_cutoff, mission.timezone)[0])]
    for n in range(days):
        day = first + timedelta(days=n)
        edges.append(to_us(day_bounds(day, mission.report_cutoff, mission.timezone)[1]))
    return np.asarray(edges, dtype=np.int64)


@dataclass(frozen=True)
class FindingsChart:
    days: list[str]  # the reporting days, oldest first
    clauses: dict[str, list[int]]  # clause id → findings each day (clauses with any)


def findings_per_day(
    conn: Connection, mission: Mission, last: date, days: int = CHART_DAYS
) -> FindingsChart:
    """Active findings by the reporting day they start in and by clause, over the `days`
    reporting days ending with `last`."""
    first = last - timedelta(days=days - 1)
    edges = _day_edges(mission, first, days)
    f = t.findings
    rows = conn.execute(
        select(f.c.clause_id, f.c.start_us).where(
            f.c.status == "active", f.c.start_us >= int(edges[0]), f.c.start_us < int(edges[-1])
        )
    ).all()
    labels = [(first + timedelta(days=n)).isoformat() for n in range(days)]
    if not rows:
        return FindingsChart(labels, {})
    clause = np.asarray([r[0] for r in rows])
    bucket = np.searchsorted(edges, np.asarray([r[1] for r in rows], dtype=np.int64), "right") - 1
    order = {cid: n for n, cid in enumerate(mission.clauses)}  # the mission's order of clauses
    counts: dict[str, list[int]] = {}
    for cid in sorted(set(clause.tolist()), key=lambda c: (order.get(c, len(order)), c)):
        counts[cid] = np.bincount(bucket[clause == cid], minlength=days)[:days].tolist()
    return FindingsChart(labels, counts)


def incidents_by_kind(conn: Connection, start_us: int, end_us: int) -> dict[str, int]:
    """The active incidents of a window by kind, most first."""
    i = t.incidents
    rows = conn.execute(
        select(i.c.kind, func.count())
        .where(i.c.status == "active", i.c.start_us >= start_us, i.c.start_us < end_us)
        .group_by(i.c.kind)
    ).all()
    return dict(sorted(((str(k), int(n)) for k, n in rows), key=lambda kv: (-kv[1], kv[0])))


DAY_FINDINGS_SHOWN = 20  # the findings a dashboard lists by name; the rest are counted


@dataclass(frozen=True)
class DayGlance:
    """A reporting day as the dashboard shows it, counted in the database (a day of tens of
    thousands of incidents is as quick to show as a quiet one)."""

    incidents: int
    observations: int
    by_family: dict[str, int]
    findings: dict[str, int]  # clause id → active findings that start in the day
    first_findings: list[dict[str, Any]]  # the first DAY_FINDINGS_SHOWN, in time order

    @property
    def total_findings(self) -> int:
        return sum(self.findings.values())


def day_glance(
    conn: Connection, start_us: int, end_us: int, shown: int = DAY_FINDINGS_SHOWN
) -> DayGlance:
    """The active incidents and findings that start in [start_us, end_us), as the report
    counts them (`reports.content.day_incidents`, `day_findings`)."""
    i, f = t.incidents, t.findings
    in_day = (i.c.status == "active", i.c.start_us >= start_us, i.c.start_us < end_us)
    families = conn.execute(
        select(i.c.family, func.count(), func.coalesce(func.sum(i.c.observations), 0))
        .where(*in_day).group_by(i.c.family).order_by(i.c.family)
    ).all()  # fmt: skip
    found = (f.c.status == "active", f.c.start_us >= start_us, f.c.start_us < end_us)
    per_clause = conn.execute(
        select(f.c.clause_id, func.count()).where(*found).group_by(f.c.clause_id)
    ).all()
    first = conn.execute(select(f).where(*found).order_by(f.c.start_us, f.c.id).limit(shown)).all()
    return DayGlance(
        incidents=sum(int(n) for _, n, _ in families),
        observations=sum(int(o) for _, _, o in families),
        by_family={str(name): int(n) for name, n, _ in families},
        findings={str(c): int(n) for c, n in per_clause},
        first_findings=[finding_dict(row) for row in first],
    )
