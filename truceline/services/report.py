"""The daily summary: for one reporting day, incidents by zone and kind family (counting
incidents, with observation counts beside them), findings per clause, and for every clause
without any, a line that no violation of it was recorded."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from sqlalchemy import Engine

from truceline.domain.reporting import (
    FIRST_YEAR,
    LAST_YEAR,
    day_bounds,
    reporting_day,
    supported_day,
)
from truceline.domain.timeutil import to_us
from truceline.errors import FieldError
from truceline.i18n.message import M
from truceline.services.reports.content import day_findings, day_incidents
from truceline.store.compliance import finding_what
from truceline.store.db import require_schema
from truceline.store.missions import load_mission

OUTSIDE = "(outside every zone)"


def current_day(engine: Engine, now: datetime) -> date:
    require_schema(engine)
    with engine.connect() as conn:
        mission = load_mission(conn)
    return reporting_day(now, mission.report_cutoff, mission.timezone)


def daily_summary(engine: Engine, day: date) -> dict[str, Any]:
    require_schema(engine)
    with engine.connect() as conn:
        mission = load_mission(conn)
        start, end = day_bounds(day, mission.report_cutoff, mission.timezone)
        s, e = to_us(start), to_us(end)
        incidents = day_incidents(conn, s, e)
        findings = day_findings(conn, s, e)
    lon = np.array([x["lon"] for x in incidents], dtype=np.float64)
    lat = np.array([x["lat"] for x in incidents], dtype=np.float64)
    family = np.array([x["family"] for x in incidents], dtype=object)
    observed = np.array([len(x["observations"]) for x in incidents], dtype=np.int64)
    events = np.array([x["count"] for x in incidents], dtype=np.int64)
    in_any = np.zeros(len(incidents), dtype=bool)
    rows: list[dict[str, Any]] = []

    def tally(zone: str, mask: Any) -> None:
        """Incidents, observations and reported events per family, for the incidents in mask."""
        names, groups = np.unique(family[mask], return_inverse=True)
        counted = np.bincount(groups, minlength=len(names))
        observations = np.bincount(groups, weights=observed[mask], minlength=len(names))
        reported = np.bincount(groups, weights=events[mask], minlength=len(names))
        for k, name in enumerate(names):
            rows.append({
                "zone": zone, "family": str(name), "incidents": int(counted[k]),
                "observations": int(observations[k]), "events": int(reported[k]),
            })  # fmt: skip

    for zone_id, zone in mission.zones.items():
        mask = np.asarray(shapely.intersects_xy(zone.geometry, lon, lat), dtype=bool)
        in_any |= mask
        tally(zone_id, mask)
    tally(OUTSIDE, ~in_any)
    families = sorted({x["family"] for x in incidents})
    by_clause = []
    for clause in mission.clauses.values():
        own = [x for x in findings if x["clause"] == clause.id]
        by_clause.append(
            {
                "clause": clause.id,
                "title": clause.title,
                "rule": clause.rule,
                "count": len(own),
                "findings": own,
            }
        )
    return {
        "mission": mission.id,
        "mission_name": mission.name,
        "date": day.isoformat(),
        "from": start.isoformat(),
        "to": end.isoformat(),
        "timezone": mission.timezone.key,
        "incidents": {
            "total": len(incidents),
            "observations": sum(len(x["observations"]) for x in incidents),
            "by_family": {
                family: sum(1 for x in incidents if x["family"] == family) for family in families
            },
            "by_zone": sorted(rows, key=lambda r: (r["zone"] == OUTSIDE, r["zone"], r["family"])),
        },
        "findings": by_clause,
        "clear": [c["clause"] for c in by_clause if c["count"] == 0],
    }


def render_text(summary: dict[str, Any]) -> str:
    """The summary as text; times in the mission's time zone."""
    incidents = summary["incidents"]
    zone = ZoneInfo(summary["timezone"])
    lines = [
        f"Daily summary — {summary['mission_name']}",
        f"Reporting day {summary['date']}: {summary['from']} to {summary['to']} "
        f"({summary['timezone']})",
        "",
        f"Incidents: {incidents['total']} (from {incidents['observations']} observations)",
    ]
    for row in incidents["by_zone"]:
        lines.append(
            f"  {row['zone']:<28} {row['family']:<12} {row['incidents']:>4} incident(s)"
            f"   {row['observations']:>4} observation(s), {row['events']} event(s) reported"
        )
    lines += ["", "Findings per clause:"]
    for clause in summary["findings"]:
        name = f"clause {clause['clause']}" + (f" ({clause['title']})" if clause["title"] else "")
        if not clause["count"]:
            lines.append(f"  No violation of {name} was recorded.")
            continue
        lines.append(f"  {name}, {clause['rule']}: {clause['count']} finding(s)")
        for finding in clause["findings"]:
            where = f" in {finding['zone']}" if finding["zone"] else ""
            local = datetime.fromisoformat(finding["start"]).astimezone(zone)
            subject, what = finding["subject"], finding_what(finding)
            lines.append(
                f"    #{finding['id']} {local:%Y-%m-%d %H:%M}{where}, subject {subject}, {what}"
            )
    return "\n".join(lines) + "\n"


def render_report(report: dict[str, Any]) -> str:
    """A report (the summary with its cases) as text."""
    lines = [render_text(report["summary"]).rstrip("\n"), "", "Cases on these findings:"]
    for case in report["cases"]:
        lines.append(f"  finding #{case['finding']}: verdict {case['verdict']}")
        for a in case["assessments"]:
            lines.append(
                f"    {a['contingent']}: {a['verdict']}, attribution {a['attribution']}"
                f" — {a['rationale']}"
            )
    if not report["cases"]:
        lines.append("  None.")
    return "\n".join(lines) + "\n"


def parse_day(value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise FieldError("date", M("not a date YYYY-MM-DD: {value!r}", value=value)) from None
    if not supported_day(day):
        raise FieldError(
            "date",
            M(
                "{value} is outside the years {first}–{last}",
                value=value,
                first=FIRST_YEAR,
                last=LAST_YEAR,
            ),
        )
    return day
