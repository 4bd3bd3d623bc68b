"""Records as KML 2.2: a Document of Placemarks, each with its name, a description of its
fields and a style per kind (zones: a polygon style per what the clauses ask of them)."""

from __future__ import annotations

import html
import re
from typing import Any

from lxml import etree

from truceline.services.reports import Renderer
from truceline.services.reports.records import Records

KML = "http://www.opengis.net/kml/2.2"
# KML colours are aabbggrr
COLOURS = {
    "explosion": "ff2b18b2", "projectile": "ff025fd9", "burst": "ff94327b", "shot": "ff37781b",
    "muzzle_flash": "ff006d8c", "restriction": "ff222222", "zone": "662166ac",
    "violation": "ff2166ac", "other": "ff757575",
}  # fmt: skip


_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _el(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
    element = etree.SubElement(parent, f"{{{KML}}}{tag}", attrs)
    if text is not None:
        element.text = _INVALID.sub("", text)  # (XML holds no control character)
    return element


def _style(doc: Any, key: str) -> None:
    style = _el(doc, "Style", id=key)
    if key == "zone":
        line = _el(style, "LineStyle")
        _el(line, "color", "ff2166ac")
        _el(line, "width", "2")
        _el(_el(style, "PolyStyle"), "color", COLOURS["zone"])
    else:
        icon = _el(style, "IconStyle")
        _el(icon, "color", COLOURS.get(key, COLOURS["other"]))
        _el(icon, "scale", "1.1")


def _ring(parent: Any, coords: list[list[float]]) -> None:
    ring = _el(parent, "LinearRing")
    _el(ring, "coordinates", " ".join(f"{x:.7f},{y:.7f}" for x, y, *_ in coords))


def _polygon(parent: Any, rings: list[list[list[float]]]) -> None:
    polygon = _el(parent, "Polygon")
    _ring(_el(polygon, "outerBoundaryIs"), rings[0])
    for hole in rings[1:]:
        _ring(_el(polygon, "innerBoundaryIs"), hole)


def _key(records: Records, row: dict[str, Any]) -> str:
    if records.kind == "zones":
        return "zone"
    if records.kind == "violations":
        return "violation"
    kind = str(row.get("kind"))
    return kind if kind in COLOURS else "other"


def export(records: Records) -> bytes:
    root = etree.Element(f"{{{KML}}}kml", nsmap={None: KML})  # type: ignore[dict-item]
    doc = _el(root, "Document")
    _el(doc, "name", f"{records.mission_name}: {records.kind}")
    keys = sorted({_key(records, row) for row in records.rows})
    for key in keys:
        _style(doc, key)
    for row in records.rows:
        mark = _el(doc, "Placemark", id=f"{records.kind}-{row['id']}")
        title = row.get("name") if records.kind == "zones" else (
            f"{row.get('kind') or row.get('clause')} {row['id']}"
        )  # fmt: skip
        _el(mark, "name", str(title))
        shown = {k: v for k, v in row.items() if k not in ("geometry", "lat", "lon")}
        # a description is HTML to Google Earth and others: its text escaped, never markup
        said = "; ".join(f"{k}: {v}" for k, v in shown.items() if v is not None)
        _el(mark, "description", html.escape(said))
        _el(mark, "styleUrl", f"#{_key(records, row)}")
        if records.kind == "zones":
            geometry = row["geometry"]
            parts = (
                [geometry["coordinates"]]
                if geometry["type"] == "Polygon"
                else geometry["coordinates"]
            )
            target = _el(mark, "MultiGeometry") if len(parts) > 1 else mark
            for rings in parts:
                _polygon(target, rings)
        else:
            point = _el(mark, "Point")
            _el(point, "coordinates", f"{float(row['lon']):.7f},{float(row['lat']):.7f}")
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


RENDERER = Renderer(
    "kml", ".kml", "application/vnd.google-earth.kml+xml", export=export,
    kinds=("observations", "incidents", "violations", "zones"),
)  # fmt: skip
