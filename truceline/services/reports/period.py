"""A report for a period (`report period --from D --to D`): built only from the published
reports of the days it covers, each named by its sha256 (and version), so that a reader can
check every figure against signed days. Not signed again. Its content has the keys a day's
has (incidents, by_area, clauses, findings, restrictions, complaints, history), summed or
gathered over the days, so the same renderers draw it."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection

from truceline.domain.canonical import canonical_json
from truceline.errors import FieldError
from truceline.i18n.message import M
from truceline.mission import Mission

PERIOD_FORMAT = "truceline/report-period@1"
MAX_DAYS = 366
MAP_SAMPLE = 5_000  # incidents a period's content keeps for its map (every k-th)
ROWS = 200


def period_content(conn: Connection, mission: Mission, first: date, last: date) -> dict[str, Any]:
    from truceline.services.signing import published

    if last < first:
        raise FieldError(
            "to", M("{last} is before {first}", last=last.isoformat(), first=first.isoformat())
        )
    if (last - first).days >= MAX_DAYS:
        raise FieldError("to", M("a period is at most {n} days", n=MAX_DAYS))
    days: list[dict[str, Any]] = []
    missing: list[str] = []
    contents: list[dict[str, Any]] = []
    day = first
    while day <= last:
        record = published(conn, mission, day)
        if record is None:
            missing.append(day.isoformat())
        else:
            days.append({
                "date": day.isoformat(), "sha256": record["sha256"],
                "version": record["version"], "published": record["published"],
            })  # fmt: skip
            contents.append(record["report"])
        day += timedelta(days=1)
    latest = contents[-1] if contents else {}
    area: dict[tuple[Any, ...], list[int]] = {}
    clauses: dict[str, dict[str, Any]] = {}
    for each in contents:
        for row in each.get("by_area", []):
            held = area.setdefault((row["zone"] or "", row["kind"], row["subtype"] or ""), [0, 0])
            held[0] += int(row["incidents"])
            held[1] += int(row["events"])
        for line in each.get("clauses", []):
            total = clauses.setdefault(line["clause"], {
                "clause": line["clause"], "rule": line["rule"], "zones": line["zones"],
                "findings": 0, "days": {"recorded": 0, "no_violation_recorded": 0,
                                        "not_observed": 0},
                "coverage": {"joint_s": 0, "by_contingent": {}},
            })  # fmt: skip
            total["findings"] += int(line["findings"])
            total["days"][line["status"]] = total["days"].get(line["status"], 0) + 1
            total["coverage"]["joint_s"] += int(line["coverage"]["joint_s"])
            for c, s in line["coverage"]["by_contingent"].items():
                held_s = total["coverage"]["by_contingent"]
                held_s[c] = held_s.get(c, 0) + int(s)
    for total in clauses.values():
        total["status"] = (
            "recorded" if total["findings"]
            else "no_violation_recorded" if total["coverage"]["joint_s"] else "not_observed"
        )  # fmt: skip
    fire = frozenset(("explosion", "projectile", "burst", "shot", "muzzle_flash"))
    zones = sorted({row["zone"] for c in contents for row in c.get("by_area", []) if row["zone"]})
    history = {
        "days": [d["date"] for d in days],
        "by_zone": {
            z: [sum(int(r["incidents"]) for r in c.get("by_area", [])
                    if r["zone"] == z and r["kind"] in fire) for c in contents]
            for z in zones
        },
        "outside": [sum(int(r["incidents"]) for r in c.get("by_area", [])
                        if r["zone"] is None and r["kind"] in fire) for c in contents],
    }  # fmt: skip
    every = [x for c in contents for x in c.get("incidents", [])]
    step = max(1, -(-len(every) // MAP_SAMPLE))  # (a period's map draws a sample)
    findings = [f for c in contents for f in c.get("findings", [])]
    cased = [f for f in findings if f.get("case")]
    uncased = [f for f in findings if not f.get("case")]
    restrictions = [r for c in contents for r in c.get("restrictions", [])]
    totals = {
        "incidents": len(every),
        "fire": sum(1 for x in every if x["kind"] in fire),
        "findings": len(findings),
        "confirmed": sum(1 for f in cased if (f["case"] or {}).get("verdict") == "confirmed"),
        "uncased": len(uncased),
        "restrictions": len(restrictions),
    }

    content: dict[str, Any] = {
        "format": PERIOD_FORMAT,
        "mission": mission.id,
        "from_date": first.isoformat(),
        "to_date": last.isoformat(),
        "from": contents[0]["from"] if contents else None,
        "to": contents[-1]["to"] if contents else None,
        "date": last.isoformat(),
        "timezone": mission.timezone.key,
        "languages": list(mission.languages),
        "names": latest.get("names") or {},
        "counting": "incidents",
        "days": days,
        "not_published": missing,
        "totals": totals,
        "incidents": every[::step],
        "by_area": [
            {"zone": z or None, "kind": k, "subtype": st or None, "incidents": n, "events": ev}
            for (z, k, st), (n, ev) in sorted(area.items())
        ],
        "clauses": list(clauses.values()),
        # every finding with a case; of the others and of the restrictions, the first ROWS
        # (every day's report holds them all)
        "findings": cased + uncased[:ROWS],
        "restrictions": restrictions[:ROWS],
        "complaints": [x for c in contents for x in c.get("complaints", [])],
        "history": history,
    }
    if not content["names"]:
        from truceline.services.reports.content import mission_names

        content["names"] = mission_names(mission)
    ordered: dict[str, Any] = json.loads(canonical_json(content))
    return ordered
