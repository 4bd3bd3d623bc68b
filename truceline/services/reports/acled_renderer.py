"""Confirmed violations as ACLED CSV, with the columns of the ACLED codebook. Only what a
joint verdict of every contingent confirmed is exported; actors by their names in the
mission file (its first language). Our kinds map to ACLED's event types as `EVENT_TYPES`
says (docs/reports.md lists it); what the mission does not know (country, ISO code, admin
areas, actor categories) is left empty for the analyst to fill."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from truceline.domain.records import looks_like_formula
from truceline.services.reports import Renderer
from truceline.services.reports.records import Records

COLUMNS = (
    "event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type",
    "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2",
    "interaction", "civilian_targeting", "iso", "region", "country", "admin1", "admin2",
    "admin3", "location", "latitude", "longitude", "geo_precision", "source", "source_scale",
    "notes", "fatalities", "tags", "timestamp",
)  # fmt: skip
# our kind (of the finding's incident, else its clause's rule) -> (disorder type, event type,
# sub-event type)
EVENT_TYPES: dict[str, tuple[str, str, str]] = {
    "explosion": ("Political violence", "Explosions/Remote violence",
                  "Shelling/artillery/missile attack"),
    "projectile": ("Political violence", "Explosions/Remote violence",
                   "Shelling/artillery/missile attack"),
    "burst": ("Political violence", "Battles", "Armed clash"),
    "shot": ("Political violence", "Battles", "Armed clash"),
    "muzzle_flash": ("Political violence", "Battles", "Armed clash"),
    "uav": ("Political violence", "Explosions/Remote violence", "Air/drone strike"),
    "restriction": ("Strategic developments", "Strategic developments", "Other"),
    "withdrawn_by": ("Strategic developments", "Strategic developments", "Other"),
    "excluded_from": ("Strategic developments", "Strategic developments", "Other"),
    "confined_to": ("Strategic developments", "Strategic developments", "Other"),
    "free_passage": ("Strategic developments", "Strategic developments", "Other"),
    "max_count": ("Strategic developments", "Strategic developments", "Other"),
    "monitor_access": ("Strategic developments", "Strategic developments", "Other"),
}  # fmt: skip
OTHER = ("Strategic developments", "Strategic developments", "Other")


def _name(names: Mapping[str, Any], section: str, ident: str | None) -> str:
    if not ident or ident in ("unknown", "undetermined"):
        return ""
    held = names.get(section, {}).get(ident)
    if isinstance(held, Mapping) and held:
        return str(next(iter(held.values())))
    return ident


def export(records: Records) -> bytes:
    names = records.names
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    stamp = str(int(datetime.now(UTC).timestamp()))
    for row in records.rows:
        disorder, event, sub = EVENT_TYPES.get(str(row.get("kind")), OTHER)
        actor = _name(names, "parties", row.get("attribution")) or _name(
            names, "contingents", row.get("attribution")
        )
        subject = _name(names, "parties", row.get("subject")) or _name(
            names, "contingents", row.get("subject")
        )
        when = datetime.fromisoformat(str(row["start"]))
        clause = names.get("clauses", {}).get(row["clause"], {})
        title = next(iter((clause.get("title") or {}).values()), "")
        zone = _name(names, "zones", row.get("zone"))
        writer.writerow(_safe([
            f"{records.mission_id.upper()}{row['id']}", when.date().isoformat(), when.year, 1,
            disorder, event, sub, actor or subject, "", "", "", "", "", "", "", "", "", "",
            "", "", "", zone, f"{float(row['lat']):.5f}", f"{float(row['lon']):.5f}", 1,
            records.mission_name, "Other",
            f"Clause {row['clause']} ({title}) confirmed by a joint verdict of every "
            f"contingent (case {row.get('case')}).", 0, "", stamp,
        ]))  # fmt: skip
    return out.getvalue().encode("utf-8")


def _safe(row: list[Any]) -> list[Any]:
    """Cells a spreadsheet would run as formulas, quoted."""
    return [("'" + c) if isinstance(c, str) and looks_like_formula(c) else c for c in row]


RENDERER = Renderer("acled", ".csv", "text/csv; charset=utf-8", export=export,
                    kinds=("violations",))  # fmt: skip
