"""Records as GeoJSON (RFC 7946): a FeatureCollection in WGS 84 lon/lat, coordinates to
1e-7°; each row's fields as the feature's properties."""

from __future__ import annotations

import json
from typing import Any

from truceline.services.reports import Renderer
from truceline.services.reports.records import Records


def _point(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Point",
        "coordinates": [round(float(row["lon"]), 7), round(float(row["lat"]), 7)],
    }


def features(records: Records) -> list[dict[str, Any]]:
    listed = []
    for row in records.rows:
        if records.kind == "zones":
            geometry = row["geometry"]
            props = {k: v for k, v in row.items() if k != "geometry"}
        else:
            geometry = _point(row)
            props = {k: v for k, v in row.items() if k not in ("lat", "lon")}
        listed.append({"type": "Feature", "id": row["id"], "geometry": geometry,
                       "properties": props})  # fmt: skip
    return listed


def export(records: Records) -> bytes:
    body = {"type": "FeatureCollection", "features": features(records)}
    return (json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


RENDERER = Renderer(
    "geojson", ".geojson", "application/geo+json", export=export,
    kinds=("observations", "incidents", "violations", "zones"),
)  # fmt: skip
