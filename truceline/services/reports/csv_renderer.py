"""Records as CSV (UTF-8, a header row). Observations in the observations CSV's own columns,
so that an export re-imports to the same rows; incidents and violations with `lat`/`lon`
columns, zones with a `WKT` column (GDAL and QGIS read both)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import shapely

from truceline.domain.observations import COLUMNS as OBSERVATION_COLUMNS
from truceline.domain.records import looks_like_formula
from truceline.services.reports import Renderer
from truceline.services.reports.records import Records

COLUMNS = {
    "incidents": ("id", "kind", "subtype", "start", "end", "lat", "lon", "zone", "count",
                  "actor", "observations"),
    "violations": ("id", "clause", "rule", "kind", "subtype", "zone", "subject", "start",
                   "end", "lat", "lon", "verdict", "attribution", "case"),
    "zones": ("id", "name", "area_km2", "WKT"),
}  # fmt: skip


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.7f}".rstrip("0").rstrip(".") if abs(value) < 1e9 else repr(value)
    text = str(value)
    if isinstance(value, str) and looks_like_formula(text):
        # a spreadsheet would run it (the importers refuse such values, so stored text never
        # needs this; a name from a mission file might)
        return "'" + text
    return text


def _columns(records: Records) -> tuple[str, ...]:
    if records.kind == "observations":
        used = {k for row in records.rows for k, v in row.items() if v is not None}
        return tuple(c for c in OBSERVATION_COLUMNS if c in used) or ("id",)
    return COLUMNS[records.kind]


def export(records: Records) -> bytes:
    out = io.StringIO()
    columns = _columns(records)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in records.rows:
        if records.kind == "observations" and row.get("observer_lat") is not None:
            # SMM-style: the import makes the estimate (lat, lon, uncertainty) again
            row = {**row, "lat": None, "lon": None, "uncertainty_m": None}
        if records.kind == "zones":
            row = {**row, "WKT": shapely.to_wkt(shapely.from_geojson(json.dumps(row["geometry"])),
                                                 rounding_precision=7)}  # fmt: skip
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue().encode("utf-8")


RENDERER = Renderer(
    "csv", ".csv", "text/csv; charset=utf-8", export=export,
    kinds=("observations", "incidents", "violations", "zones"),
)  # fmt: skip
