"""Zone geometry: GeoJSON checked strictly, metric buffers that stay sound on the ellipsoid.

A line or point zone is buffered in an azimuthal equidistant projection centred on the zone
(distances from the centre are exact; across a zone of a few hundred kilometres the scale error
is far below a metre per kilometre). The input is densified in degrees first, so a GeoJSON
segment keeps its straight lon/lat meaning, and the buffer is densified in metres before it is
transformed back, so its curved outline survives the return to degrees.
"""

from __future__ import annotations

import math
from typing import Any

import shapely
from pyproj import CRS, Geod, Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from truceline.i18n.message import M, Mn

GEOD = Geod(ellps="WGS84")
GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
AREAL = {"Polygon", "MultiPolygon"}
DENSIFY_DEG = 0.005  # ≈ 500 m
DENSIFY_M = 100.0


class GeometryProblem(ValueError):
    def __init__(self, where: str, message: str) -> None:
        self.where, self.message = where, message
        super().__init__(f"{where}: {message}" if where else message)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _check_position(pos: Any, where: str) -> None:
    if not isinstance(pos, list) or len(pos) not in (2, 3) or not all(_is_number(v) for v in pos):
        raise GeometryProblem(where, M("a position is [lon, lat] of numbers"))
    lon, lat = pos[0], pos[1]
    if not -180 <= lon <= 180:
        raise GeometryProblem(where, M("longitude {value} is outside -180..180", value=lon))
    if not -90 <= lat <= 90:
        raise GeometryProblem(where, M("latitude {value} is outside -90..90", value=lat))


def _check_positions(positions: Any, where: str, minimum: int) -> None:
    if not isinstance(positions, list) or len(positions) < minimum:
        # (the English says `positions` for any number, as it always has)
        raise GeometryProblem(
            where, Mn("needs at least {n} positions", "needs at least {n} positions", minimum)
        )
    for i, pos in enumerate(positions):
        _check_position(pos, f"{where}[{i}]")


def _check_polygon(rings: Any, where: str) -> None:
    if not isinstance(rings, list) or not rings:
        raise GeometryProblem(where, M("a polygon is a list of linear rings"))
    for i, ring in enumerate(rings):
        _check_positions(ring, f"{where}[{i}]", 4)
        if ring[0][:2] != ring[-1][:2]:
            raise GeometryProblem(f"{where}[{i}]", M("ring is not closed (last position ≠ first)"))


def check_geojson_geometry(geom: Any, where: str) -> None:
    """Check the structure and ranges of a GeoJSON geometry object; raise GeometryProblem."""
    if not isinstance(geom, dict):
        raise GeometryProblem(where, M("a geometry is an object with `type` and `coordinates`"))
    kind = geom.get("type")
    if kind not in GEOMETRY_TYPES:
        raise GeometryProblem(
            f"{where}.type",
            M(
                "unsupported geometry type {kind!r} ({known})",
                kind=kind,
                known=", ".join(sorted(GEOMETRY_TYPES)),
            ),
        )
    extra = set(geom) - {"type", "coordinates", "bbox", "crs"}
    if extra:
        raise GeometryProblem(where, M("unknown key {key!r}", key=sorted(extra)[0]))
    coords = geom.get("coordinates")
    at = f"{where}.coordinates"
    if kind == "Point":
        _check_position(coords, at)
    elif kind in ("MultiPoint",):
        _check_positions(coords, at, 1)
    elif kind == "LineString":
        _check_positions(coords, at, 2)
    elif kind == "MultiLineString":
        if not isinstance(coords, list) or not coords:
            raise GeometryProblem(at, M("needs at least one line"))
        for i, line in enumerate(coords):
            _check_positions(line, f"{at}[{i}]", 2)
    elif kind == "Polygon":
        _check_polygon(coords, at)
    else:
        if not isinstance(coords, list) or not coords:
            raise GeometryProblem(at, M("needs at least one polygon"))
        for i, poly in enumerate(coords):
            _check_polygon(poly, f"{at}[{i}]")


def geometry_from_geojson(geom: dict[str, Any], where: str) -> BaseGeometry:
    check_geojson_geometry(geom, where)
    result = shapely.force_2d(shape(geom))
    if not result.is_valid:
        raise GeometryProblem(
            where, M("invalid geometry: {reason}", reason=shapely.is_valid_reason(result))
        )
    return result


def local_metric_crs(geom: BaseGeometry) -> CRS:
    centre = geom.centroid
    return CRS.from_proj4(
        f"+proj=aeqd +lat_0={centre.y:.7f} +lon_0={centre.x:.7f} +datum=WGS84 +units=m +no_defs"
    )


def buffer_metres(geom: BaseGeometry, metres: float) -> BaseGeometry:
    """`geom` (lon/lat) grown by `metres` on the ground; the result is in lon/lat."""
    crs = local_metric_crs(geom)
    forward = Transformer.from_crs(4326, crs, always_xy=True)
    back = Transformer.from_crs(crs, 4326, always_xy=True)
    dense = shapely.segmentize(geom, DENSIFY_DEG)
    projected = shapely.transform(dense, lambda xy: _apply(forward, xy))
    grown = shapely.segmentize(projected.buffer(metres, quad_segs=32), DENSIFY_M)
    result = shapely.transform(grown, lambda xy: _apply(back, xy))
    return result if result.is_valid else shapely.make_valid(result)


def _apply(transformer: Transformer, xy: Any) -> Any:
    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    xy = xy.copy()
    xy[:, 0], xy[:, 1] = x, y
    return xy


def area_km2(geom: BaseGeometry) -> float:
    area, _ = GEOD.geometry_area_perimeter(geom)
    return float(abs(area)) / 1e6


def build_zone(geom: dict[str, Any], buffer_m: float | None, where: str) -> BaseGeometry:
    """The zone's area in lon/lat: the geometry, buffered by `buffer_m` when given."""
    base = geometry_from_geojson(geom, where)
    if buffer_m is None:
        if geom["type"] not in AREAL:
            raise GeometryProblem(
                where,
                M(
                    "a {kind} zone needs `buffer_m` or `width_m` to have an area",
                    kind=geom["type"],
                ),
            )
        return base
    return buffer_metres(base, buffer_m)


def extract_geometry(doc: Any, where: str) -> dict[str, Any]:
    """A geometry from a GeoJSON geometry, Feature, or FeatureCollection of one feature."""
    if not isinstance(doc, dict):
        raise GeometryProblem(where, M("not a GeoJSON object"))
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list) or len(features) != 1:
            count = len(features) if isinstance(features, list) else 0
            raise GeometryProblem(
                where, M("a FeatureCollection of one feature is needed, not {count}", count=count)
            )
        return extract_geometry(features[0], f"{where}.features[0]")
    if kind == "Feature":
        geometry = doc.get("geometry")
        if not isinstance(geometry, dict):
            raise GeometryProblem(f"{where}.geometry", M("the feature has no geometry"))
        return geometry
    return doc
