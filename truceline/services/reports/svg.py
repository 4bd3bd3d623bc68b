"""The map and the charts of a published daily report, drawn offline as self-contained SVG text.

Pure: no I/O, no fonts loaded, no scripts, no external references (no ``href``, no ``<image>``,
no ``<foreignObject>``). Every text that goes into the SVG (titles, labels, tooltips, notes, and
whatever ``scale_label`` returns) is stripped of the characters XML cannot hold and escaped, so a
``<script>`` in a zone label comes out as text. The ids the SVG defines (hatch patterns, the clip
path, the title) carry a prefix derived from a hash of the drawing itself, so two different
drawings on one HTML page do not collide.

Symbols differ in shape as well as in colour, and bar series in texture as well as in colour, so a
reader with colour blindness or a black-and-white print can tell them apart; every colour has a
contrast of at least 3:1 against white.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import shape

__all__ = [
    "MAX_POINTS",
    "SYMBOLS",
    "ZONE_STYLES",
    "LegendEntry",
    "MapPoint",
    "MapZone",
    "Series",
    "Symbol",
    "ZoneStyle",
    "bar_chart_svg",
    "hbar_chart_svg",
    "map_svg",
]

MAX_POINTS = 5_000
"""At most this many point symbols are drawn on one map; beyond it, a deterministic sample."""

KM_PER_DEGREE_LAT = 111.32
FONT_FAMILY = "DejaVu Sans, sans-serif"
MIN_SPAN_DEG = 0.01  # about 1.1 km: the smallest window a map shows (a single point, say)
MARGIN = 0.05  # around the default bounds, as a share of their extent

_SVG_NS = "http://www.w3.org/2000/svg"
_ID = "\x01"  # stands for the id prefix until the drawing is hashed; XML text can never hold it
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CHAR_W = 0.62  # an average glyph width of DejaVu Sans, in em: enough to lay out and truncate
_MAP_MIN = (200, 150)
_CHART_MIN = (200, 120)

FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# Symbols and zone styles


@dataclass(frozen=True)
class Symbol:
    """How one kind of point is drawn: a shape (a path relative to the point, or a circle) and a
    colour. ``path`` is SVG path data starting at the point (relative commands only); empty for
    the circle, which is drawn as a ``<circle>`` of radius ``radius``."""

    shape: str
    color: str
    path: str = ""
    radius: float = 0.0
    evenodd: bool = False

    def element(self, x: str, y: str, inner: str = "") -> str:
        """The element for one symbol at pixel (x, y), with ``inner`` (already escaped markup,
        e.g. a ``<title>``) as its content."""
        if self.path:
            return f'<path d="M{x} {y}{self.path}">{inner}</path>'
        return f'<circle cx="{x}" cy="{y}" r="{self.radius:g}">{inner}</circle>'


def _polygon_path(points: Iterable[tuple[float, float]]) -> str:
    """Relative path data through ``points`` (offsets from the centre), closed."""
    out: list[str] = []
    cx, cy = 0.0, 0.0
    for i, (x, y) in enumerate(points):
        dx, dy = round(x - cx, 2), round(y - cy, 2)
        out.append(f"{'m' if i == 0 else 'l'}{dx:g} {dy:g}")
        cx, cy = cx + dx, cy + dy
    return "".join(out) + "z"


def _star(n: int, outer: float, inner: float) -> str:
    pts = []
    for k in range(2 * n):
        r = outer if k % 2 == 0 else inner
        a = math.pi * k / n - math.pi / 2
        pts.append((r * math.cos(a), r * math.sin(a)))
    return _polygon_path(pts)


def _cross(arm: float, half: float, angle: float) -> str:
    """A plus of arms ``arm`` long and ``2 * half`` thick, turned by ``angle`` radians."""
    base = [
        (half, -arm),
        (half, -half),
        (arm, -half),
        (arm, half),
        (half, half),
        (half, arm),
        (-half, arm),
        (-half, half),
        (-arm, half),
        (-arm, -half),
        (-half, -half),
        (-half, -arm),
    ]
    c, s = math.cos(angle), math.sin(angle)
    return _polygon_path((x * c - y * s, x * s + y * c) for x, y in base)


def _ring_path() -> str:
    # An annulus (outer radius 6, inner 4) around a dot of radius 1.5, filled even-odd.
    return (
        "m-6 0a6 6 0 1 0 12 0a6 6 0 1 0 -12 0z"
        "m2 0a4 4 0 1 1 8 0a4 4 0 1 1 -8 0z"
        "m2.5 0a1.5 1.5 0 1 0 3 0a1.5 1.5 0 1 0 -3 0z"
    )


SYMBOLS: dict[str, Symbol] = {
    "explosion": Symbol("star8", "#b2182b", _star(8, 7.5, 3.2)),
    "projectile": Symbol("triangle", "#d95f02", _polygon_path([(0, -7), (6.1, 4.5), (-6.1, 4.5)])),
    "burst": Symbol("diamond", "#7b3294", _polygon_path([(0, -7), (6, 0), (0, 7), (-6, 0)])),
    "shot": Symbol("circle", "#1b7837", radius=5.0),
    "muzzle_flash": Symbol(
        "square", "#8c6d00", _polygon_path([(-5, -5), (5, -5), (5, 5), (-5, 5)])
    ),
    "restriction": Symbol("x_cross", "#222222", _cross(7.5, 1.9, math.pi / 4)),
    "finding": Symbol("target", "#2166ac", _ring_path(), evenodd=True),
    "other": Symbol("plus", "#757575", _cross(4.5, 1.3, 0.0)),
}
"""The point symbols, by key; each a different shape and colour."""

_SYMBOL_INDEX = {key: i for i, key in enumerate(SYMBOLS)}
# Bottom to top: where symbols crowd, the rarer and weightier kinds stay visible.
_BOTTOM_FIRST = ("other", "shot", "muzzle_flash", "burst", "projectile", "explosion")
_DRAW_ORDER = _BOTTOM_FIRST + tuple(k for k in SYMBOLS if k not in _BOTTOM_FIRST)


@dataclass(frozen=True)
class ZoneStyle:
    """How a zone is drawn: its colour, the fill opacity, the outline dash pattern ("" solid),
    and whether it is hatched."""

    color: str
    fill_opacity: float
    dash: str = ""
    hatched: bool = False
    stroke_width: float = 1.5


ZONE_STYLES: dict[str, ZoneStyle] = {
    # no presence allowed: red hatching and a solid red outline
    "excluded": ZoneStyle("#b2182b", 0.6, hatched=True, stroke_width=2.0),
    # blue dashed outline
    "confined": ZoneStyle("#2166ac", 0.08, dash="6 4"),
    # grey outline
    "watched": ZoneStyle("#5e5e5e", 0.06),
    # orange, dash-dot outline
    "withdrawal": ZoneStyle("#c45a00", 0.1, dash="9 3 2 3"),
}
"""The zone styles, by name."""

_BAR_COLORS = (
    "#2166ac",
    "#b2182b",
    "#1b7837",
    "#7b3294",
    "#c45a00",
    "#01665e",
    "#8c6d00",
    "#4d4d4d",
)
# The textures series cycle through, as pattern content in a 6 x 6 tile ("" = solid fill).
_TEXTURES = (
    "",
    '<path d="M-1 1l2-2M0 6l6-6M5 7l2-2" stroke="{c}" stroke-width="1.4"/>',
    '<circle cx="3" cy="3" r="1.4" fill="{c}"/>',
    '<path d="M0 0L6 6M6 0L0 6" stroke="{c}" stroke-width="1"/>',
    '<path d="M0 3H6" stroke="{c}" stroke-width="2"/>',
    '<path d="M-1 5l2 2M0 0l6 6M5-1l2 2" stroke="{c}" stroke-width="1.4"/>',
)


# --------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class MapZone:
    """A zone on the map. ``geometry`` is a GeoJSON Polygon or MultiPolygon in lon/lat (lines
    are buffered by the caller); ``style`` is a key of ZONE_STYLES."""

    id: str
    label: str
    geometry: dict[str, Any]
    style: str

    def __post_init__(self) -> None:
        if self.style not in ZONE_STYLES:
            raise ValueError(f"unknown zone style {self.style!r}")
        if not isinstance(self.geometry, dict) or self.geometry.get("type") not in (
            "Polygon",
            "MultiPolygon",
        ):
            raise ValueError("a zone's geometry must be a GeoJSON Polygon or MultiPolygon")
        try:
            shape(self.geometry)
        except Exception as exc:  # shapely's own errors vary by version
            raise ValueError(f"a zone's geometry is not a valid GeoJSON polygon: {exc}") from exc


@dataclass(frozen=True)
class MapPoint:
    """A point on the map: lon/lat in degrees, ``symbol`` a key of SYMBOLS, ``title`` its
    tooltip."""

    lon: float
    lat: float
    symbol: str
    title: str

    def __post_init__(self) -> None:
        if self.symbol not in SYMBOLS:
            raise ValueError(f"unknown symbol {self.symbol!r}")
        if not (-180.0 <= self.lon <= 180.0 and -90.0 <= self.lat <= 90.0):
            raise ValueError(f"not a longitude/latitude: {self.lon!r}, {self.lat!r}")


@dataclass(frozen=True)
class LegendEntry:
    """One line of the map legend: ``symbol`` a key of SYMBOLS or "zone:<style>"."""

    symbol: str
    text: str

    def __post_init__(self) -> None:
        key = self.symbol
        if key.startswith("zone:"):
            if key[5:] not in ZONE_STYLES:
                raise ValueError(f"unknown zone style {key[5:]!r}")
        elif key not in SYMBOLS:
            raise ValueError(f"unknown symbol {key!r}")


@dataclass(frozen=True)
class Series:
    """One series of a bar chart: a value per category (non-negative integers)."""

    name: str
    values: Sequence[int]


# --------------------------------------------------------------------------------------------
# Text and the document


def _clean(text: str) -> str:
    return _INVALID_XML.sub("", text)


def _t(text: str) -> str:
    """``text`` as XML character data: invalid characters dropped, markup escaped."""
    return escape(_INVALID_XML.sub("", text))


def _truncate(text: str, limit: int) -> str:
    text = _clean(text)
    limit = max(limit, 2)
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def _fits(width_px: float, font_size: float) -> int:
    """How many characters of the given font size fit, roughly, in ``width_px``."""
    return max(int(width_px / (font_size * _CHAR_W)), 2)


def _text_w(text: str, font_size: float) -> float:
    return len(text) * font_size * _CHAR_W


def _label(text: str, limit: int) -> tuple[str, str]:
    """(shown, title child) for a text shown truncated: the title carries the full text, only
    when it was truncated."""
    shown = _truncate(text, limit)
    title = f"<title>{_t(text)}</title>" if shown != _clean(text) else ""
    return _t(shown), title


def _n(v: float) -> str:
    """A pixel coordinate."""
    s = f"{v:.1f}"
    return "0.0" if s == "-0.0" else s


def _document(width: int, height: int, title: str, body: Iterable[str]) -> str:
    head = (
        f'<svg xmlns="{_SVG_NS}" viewBox="0 0 {width} {height}" width="100%"'
        ' style="max-width:100%;height:auto" role="img"'
        f' aria-labelledby="{_ID}-title" font-family="{FONT_FAMILY}" font-size="11">'
        f'<title id="{_ID}-title">{_t(title)}</title>'
    )
    svg = head + "".join(body) + "</svg>"
    prefix = "tl" + hashlib.sha256(svg.encode("utf-8")).hexdigest()[:12]
    return svg.replace(_ID, prefix)


def _heading(title: str, width: int, pad: float) -> str:
    shown, full = _label(title, _fits(width - 2 * pad, 14))
    return (
        f'<text class="heading" x="{_n(pad)}" y="19" font-size="14" font-weight="bold"'
        f' fill="#111">{full}{shown}</text>'
    )


def _check_size(width: int, height: int, minimum: tuple[int, int]) -> None:
    if width < minimum[0] or height < minimum[1]:
        raise ValueError(f"too small to draw: {width} x {height} (at least {minimum})")


def _nice(value: float) -> float:
    """The 1, 2 or 5 × 10^n nearest ``value`` (on a log scale)."""
    if not (value > 0 and math.isfinite(value)):
        return 1.0
    exp = math.floor(math.log10(value))
    best, best_err = 1.0, math.inf
    for e in (exp - 1, exp, exp + 1):
        for m in (1, 2, 5):
            cand = float(f"{m}e{e}")
            err = abs(math.log(cand / value))
            if err < best_err:
                best, best_err = cand, err
    return best


def _nice_down(value: float) -> float:
    """The next 1, 2 or 5 × 10^n below ``value``."""
    exp = math.floor(math.log10(value))
    m = round(value / 10.0**exp)
    if m >= 5:
        return float(f"2e{exp}")
    if m >= 2:
        return float(f"1e{exp}")
    return float(f"5e{exp - 1}")


# --------------------------------------------------------------------------------------------
# The map


def _zone_swatch(style: ZoneStyle, x: float, y: float, w: float, h: float) -> str:
    fill = f"url(#{_ID}-hatch)" if style.hatched else style.color
    opacity = "1" if style.hatched else f"{max(style.fill_opacity, 0.15):g}"
    dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
    return (
        f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" fill="{fill}"'
        f' fill-opacity="{opacity}" stroke="{style.color}"'
        f' stroke-width="{style.stroke_width:g}"{dash}/>'
    )


def _zone_attrs(style: ZoneStyle) -> str:
    fill = f"url(#{_ID}-hatch)" if style.hatched else style.color
    dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
    return (
        f'fill="{fill}" fill-opacity="{style.fill_opacity:g}" fill-rule="evenodd"'
        f' stroke="{style.color}" stroke-width="{style.stroke_width:g}"'
        f' stroke-linejoin="round"{dash}'
    )


def _symbol_group(key: str, sym: Symbol) -> str:
    rule = ' fill-rule="evenodd"' if sym.evenodd else ""
    return (
        f'<g class="sym-{key}" fill="{sym.color}" stroke="#fff" stroke-width="0.8"'
        f' paint-order="stroke"{rule}>'
    )


def _polygons(geom: Any) -> list[Any]:
    """The polygons in ``geom`` (any geometry), without empty ones."""
    parts = shapely.get_parts(geom)
    out: list[Any] = []
    for part in parts:
        kind = shapely.get_type_id(part)
        if kind == 3 and not part.is_empty:  # Polygon
            out.append(part)
        elif kind in (6, 7):  # MultiPolygon, GeometryCollection
            out.extend(_polygons(part))
    return out


def _path_data(polys: Sequence[Any]) -> str:
    rings: list[str] = []
    for poly in polys:
        for ring in shapely.get_rings(poly):
            xy = shapely.get_coordinates(ring)[:-1]
            if len(xy) < 3:
                continue
            coords = np.round(xy, 1).tolist()
            rings.append("M" + " ".join(f"{_n(x)} {_n(y)}" for x, y in coords) + "Z")
    return "".join(rings)


@dataclass(frozen=True)
class _Frame:
    """The projection onto the map rectangle: pixel = offset + (projected - origin) * scale."""

    lon0: float
    coslat: float
    x_min: float
    y_max: float
    scale: float  # pixels per projected unit (one degree of latitude)
    ox: float
    oy: float

    def px(self, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
        x = (lon - self.lon0) * self.coslat
        return self.ox + (x - self.x_min) * self.scale, self.oy + (self.y_max - lat) * self.scale

    def transform(self, coords: FloatArray) -> FloatArray:
        x, y = self.px(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    @property
    def px_per_km(self) -> float:
        return self.scale / KM_PER_DEGREE_LAT


def _bounds(
    zones: Sequence[Any], lon: FloatArray, lat: FloatArray
) -> tuple[float, float, float, float] | None:
    boxes: list[tuple[float, float, float, float]] = []
    for geom in zones:
        if not geom.is_empty:
            b = shapely.bounds(geom).tolist()
            if all(math.isfinite(v) for v in b):
                boxes.append((b[0], b[1], b[2], b[3]))
    if len(lon):
        boxes.append((float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())))
    if not boxes:
        return None
    w, s = min(b[0] for b in boxes), min(b[1] for b in boxes)
    e, n = max(b[2] for b in boxes), max(b[3] for b in boxes)
    mx, my = (e - w) * MARGIN, (n - s) * MARGIN
    return (w - mx, s - my, e + mx, n + my)


def _widen(lo: float, hi: float) -> tuple[float, float]:
    if hi - lo >= MIN_SPAN_DEG:
        return lo, hi
    mid = (lo + hi) / 2
    return mid - MIN_SPAN_DEG / 2, mid + MIN_SPAN_DEG / 2


def _sample(codes: npt.NDArray[np.int64], limit: int) -> npt.NDArray[np.int64]:
    """Indices of at most ``limit`` entries of ``codes``, deterministic, sorted; every symbol
    keeps a share in proportion to its count, and at least one entry."""
    n = len(codes)
    if n <= limit:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(20_000)
    kinds, counts = np.unique(codes, return_counts=True)
    room = limit - len(kinds)
    chosen: list[npt.NDArray[np.int64]] = []
    for kind, count in zip(kinds.tolist(), counts.tolist(), strict=True):
        quota = min(count, max(1, count * room // n))
        members = np.flatnonzero(codes == kind)
        chosen.append(rng.choice(members, size=quota, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def map_svg(
    zones: Sequence[MapZone],
    points: Sequence[MapPoint],
    legend: Sequence[LegendEntry],
    *,
    title: str,
    scale_label: Callable[[float], str],
    sampled_note: str = "",
    width: int = 720,
    height: int = 480,
    bounds: tuple[float, float, float, float] | None = None,
    max_points: int = MAX_POINTS,
    titles: Callable[[int], str] | None = None,
) -> str:
    """`titles`, when given, says a point's tooltip from its index (called only for the points
    drawn), in place of its `title`.

    The map: zones, point symbols (at most `max_points`, else a deterministic sample and
    ``sampled_note`` as a caption), zone labels, a scale bar labelled ``scale_label(km)`` and the
    legend on the right.

    ``bounds`` is (west, south, east, north) in degrees; by default the union of the zones and the
    points with a 5% margin. Projection: local equirectangular centred on the bounds. Points and
    zone parts outside the map frame are left out.
    """
    _check_size(width, height, _MAP_MIN)
    pad = 8.0
    title_h = 28.0

    geoms: list[Any] = [shape(z.geometry) for z in zones]
    n = len(points)
    lon = np.fromiter((p.lon for p in points), dtype=np.float64, count=n)
    lat = np.fromiter((p.lat for p in points), dtype=np.float64, count=n)
    codes_all = np.fromiter((_SYMBOL_INDEX[p.symbol] for p in points), dtype=np.int64, count=n)

    if bounds is not None:
        if not all(math.isfinite(v) for v in bounds) or not (
            bounds[0] <= bounds[2] and bounds[1] <= bounds[3]
        ):
            raise ValueError(f"bounds must be finite (west, south, east, north): {bounds!r}")
        box: tuple[float, float, float, float] | None = bounds
    else:
        box = _bounds(geoms, lon, lat)

    # The legend, on the right: as many columns as its entries need.
    row_h, sw = 18.0, 16.0
    legend_w = 0.0
    cols, per_col, col_w = 0, 1, 0.0
    avail_h = height - title_h - pad
    if legend:
        per_col = max(int(avail_h // row_h), 1)
        cols = math.ceil(len(legend) / per_col)
        longest = max(_text_w(_truncate(e.text, 40), 11) for e in legend)
        col_w = sw + 6 + longest + 8
        max_total = width * 0.4
        col_w = min(col_w, max_total / cols)
        legend_w = col_w * cols
    mx0, my0 = pad, title_h
    mw = max(width - 2 * pad - legend_w - (pad if legend else 0.0), 20.0)
    sampled = False
    caption_h = 0.0

    # The points first, to know whether sampling happens (and room for its caption is needed).
    body: list[str] = []
    defs: list[str] = []

    def frame_for(map_h: float) -> _Frame | None:
        if box is None:
            return None
        w, s, e, nn = box
        w, e = _widen(w, e)
        s, nn = _widen(s, nn)
        lat0 = (s + nn) / 2
        lon0 = (w + e) / 2
        coslat = max(math.cos(math.radians(min(abs(lat0), 90.0))), 0.01)
        span_x = (e - w) * coslat
        span_y = nn - s
        scale = min(mw / span_x, map_h / span_y)
        ox = mx0 + (mw - span_x * scale) / 2
        oy = my0 + (map_h - span_y * scale) / 2
        return _Frame(lon0, coslat, (w - lon0) * coslat, nn, scale, ox, oy)

    mh = height - title_h - pad
    frame = frame_for(mh)
    visible = np.zeros(0, dtype=np.int64)
    if frame is not None and n:
        px, py = frame.px(lon, lat)
        inside = (px >= mx0) & (px <= mx0 + mw) & (py >= my0) & (py <= my0 + mh)
        visible = np.flatnonzero(inside)
        if len(visible) > max_points:
            sampled = True
            if sampled_note:
                caption_h = 18.0
                mh -= caption_h
                frame = frame_for(mh)
                assert frame is not None
                px, py = frame.px(lon, lat)
                inside = (px >= mx0) & (px <= mx0 + mw) & (py >= my0) & (py <= my0 + mh)
                visible = np.flatnonzero(inside)
            visible = visible[_sample(codes_all[visible], max_points)]

    def said(index: int) -> str:
        return titles(index) if titles is not None else points[index].title

    clip = f"{_ID}-clip"
    defs.append(
        f'<clipPath id="{clip}"><rect x="{_n(mx0)}" y="{_n(my0)}" width="{_n(mw)}"'
        f' height="{_n(mh)}"/></clipPath>'
    )
    hatch = ZONE_STYLES["excluded"].color
    defs.append(
        f'<pattern id="{_ID}-hatch" patternUnits="userSpaceOnUse" width="7" height="7"'
        f' patternTransform="rotate(45)"><path d="M0 0V7" stroke="{hatch}"'
        ' stroke-width="1.6"/></pattern>'
    )
    body.append("<defs>" + "".join(defs) + "</defs>")
    body.append(
        f'<rect class="frame-bg" x="{_n(mx0)}" y="{_n(my0)}" width="{_n(mw)}" height="{_n(mh)}"'
        ' fill="#fff"/>'
    )

    labels: list[str] = []
    if frame is not None:
        # Zones.
        fr = frame
        body.append(f'<g class="zones" clip-path="url(#{clip})">')
        for zone, geom in zip(zones, geoms, strict=True):
            if not geom.is_valid:
                geom = shapely.make_valid(geom)
            projected = shapely.transform(geom, fr.transform)
            clipped = shapely.clip_by_rect(projected, mx0 - 4, my0 - 4, mx0 + mw + 4, my0 + mh + 4)
            polys = _polygons(shapely.simplify(clipped, 0.3, preserve_topology=True))
            d = _path_data(polys)
            if not d:
                continue
            style = ZONE_STYLES[zone.style]
            body.append(
                f'<path class="zone zone-{zone.style}" d="{d}" {_zone_attrs(style)}>'
                f"<title>{_t(zone.label)}</title></path>"
            )
            at = max(polys, key=lambda p: float(p.area)).representative_point()
            if zone.label.strip() and not at.is_empty:
                shown, full = _label(zone.label, 40)
                where = f'x="{_n(at.x)}" y="{_n(at.y + 4)}" text-anchor="middle"'
                # a white halo drawn under the label (not paint-order, which print
                # renderers do not all know), then the label
                labels.append(
                    f'<text {where} font-size="11" font-weight="bold" fill="#fff" stroke="#fff"'
                    f' stroke-width="3" stroke-linejoin="round" aria-hidden="true">{shown}</text>'
                    f'<text {where} font-size="11" font-weight="bold" fill="#222">'
                    f"{full}{shown}</text>"
                )
        body.append("</g>")

        # Points, grouped by symbol.
        if len(visible):
            px, py = fr.px(lon[visible], lat[visible])
            xs = np.round(px, 1).tolist()
            ys = np.round(py, 1).tolist()
            codes = codes_all[visible]
            idx = visible.tolist()
            body.append('<g class="points">')
            for key in _DRAW_ORDER:
                sym = SYMBOLS[key]
                members = np.flatnonzero(codes == _SYMBOL_INDEX[key]).tolist()
                if not members:
                    continue
                body.append(_symbol_group(key, sym))
                body.append(
                    "".join(
                        sym.element(
                            _n(xs[j]),
                            _n(ys[j]),
                            f"<title>{_t(said(idx[j]))}</title>",
                        )
                        for j in members
                    )
                )
                body.append("</g>")
            body.append("</g>")

        # Zone labels on top.
        if labels:
            body.append('<g class="zone-labels">' + "".join(labels) + "</g>")

        # Scale bar, lower left.
        per_km = fr.px_per_km
        km = _nice(mw / 5 / per_km)
        while km * per_km > mw - 40 and km > 1e-6:
            km = _nice_down(km)
        bar = km * per_km
        x0, y0 = mx0 + 12, my0 + mh - 12
        label_text = _t(scale_label(km))
        body.append(
            f'<g class="scale-bar" data-km="{km:g}">'
            f'<rect x="{_n(x0 - 5)}" y="{_n(y0 - 20)}" width="{_n(bar + 10)}" height="27"'
            ' fill="#fff" fill-opacity="0.8"/>'
            f'<line x1="{_n(x0)}" y1="{_n(y0)}" x2="{_n(x0 + bar)}" y2="{_n(y0)}"'
            ' stroke="#111" stroke-width="2"/>'
            f'<path d="M{_n(x0)} {_n(y0 - 5)}v10M{_n(x0 + bar)} {_n(y0 - 5)}v10"'
            ' stroke="#111" stroke-width="1.5"/>'
            f'<text x="{_n(x0)}" y="{_n(y0 - 8)}" font-size="11" fill="#111">{label_text}</text>'
            "</g>"
        )

    body.append(
        f'<rect class="frame" x="{_n(mx0)}" y="{_n(my0)}" width="{_n(mw)}" height="{_n(mh)}"'
        ' fill="none" stroke="#555" stroke-width="1"/>'
    )

    # Legend.
    if legend:
        lx0 = width - pad - legend_w
        body.append('<g class="legend">')
        limit = _fits(col_w - sw - 12, 11)
        for i, entry in enumerate(legend):
            c, r = divmod(i, per_col)
            x = lx0 + c * col_w
            y = my0 + r * row_h
            shown, full = _label(entry.text, min(limit, 40))
            if entry.symbol.startswith("zone:"):
                mark = _zone_swatch(ZONE_STYLES[entry.symbol[5:]], x + 1, y + 3, 14, 12)
            else:
                sym = SYMBOLS[entry.symbol]
                mark = (
                    _symbol_group(entry.symbol, sym)
                    + sym.element(_n(x + sw / 2), _n(y + 9))
                    + "</g>"
                )
            body.append(
                f'<g class="legend-entry">{mark}<text x="{_n(x + sw + 6)}" y="{_n(y + 13)}"'
                f' fill="#111">{full}{shown}</text></g>'
            )
        body.append("</g>")

    body.append(_heading(title, width, pad))
    if sampled and sampled_note:
        shown, full = _label(sampled_note, _fits(width - 2 * pad, 11))
        body.append(
            f'<text class="caption" x="{_n(pad)}" y="{_n(height - pad - 3)}" font-size="11"'
            f' fill="#333">{full}{shown}</text>'
        )
    return _document(width, height, title, body)


# --------------------------------------------------------------------------------------------
# Charts


def _series_defs(count: int) -> tuple[list[str], list[str]]:
    """(pattern definitions, fill per series)."""
    defs: list[str] = []
    fills: list[str] = []
    for i in range(count):
        color = _BAR_COLORS[i % len(_BAR_COLORS)]
        texture = _TEXTURES[i % len(_TEXTURES)]
        if not texture:
            fills.append(color)
            continue
        pid = f"{_ID}-s{i}"
        defs.append(
            f'<pattern id="{pid}" patternUnits="userSpaceOnUse" width="6" height="6">'
            f'<rect width="6" height="6" fill="{color}" fill-opacity="0.22"/>'
            + texture.format(c=color)
            + "</pattern>"
        )
        fills.append(f"url(#{pid})")
    return defs, fills


def _y_ticks(top: int) -> list[int]:
    """Round integer ticks from 0 to at least ``top`` (0 gives 0..1)."""
    if top <= 0:
        return [0, 1]
    step = max(int(_nice(top / 5)), 1)
    last = math.ceil(top / step) * step
    return list(range(0, last + 1, step))


def _empty(x: float, y: float, note: str, width: float) -> str:
    shown, full = _label(note, _fits(width, 12))
    return (
        f'<text class="empty-note" x="{_n(x)}" y="{_n(y)}" text-anchor="middle"'
        f' font-size="12" fill="#444">{full}{shown}</text>'
    )


def bar_chart_svg(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    width: int = 720,
    height: int = 260,
    stacked: bool = True,
    empty_note: str = "",
) -> str:
    """Vertical bars, one group per category, the series stacked (or side by side), told apart
    by colour and texture, with a legend and an integer y axis. All zeros, or no series: the
    axes and ``empty_note`` centred. Every series holds one non-negative integer per category.
    """
    _check_size(width, height, _CHART_MIN)
    for s in series:
        if len(s.values) != len(categories):
            raise ValueError(
                f"series {s.name!r}: {len(s.values)} values, {len(categories)} categories"
            )
        if any(int(v) != v or v < 0 for v in s.values):
            raise ValueError(f"series {s.name!r}: values must be non-negative integers")
    pad = 8.0
    title_h = 26.0
    values = np.array([[int(v) for v in s.values] for s in series], dtype=np.int64).reshape(
        len(series), len(categories)
    )
    empty = values.size == 0 or int(values.max()) == 0
    if empty:
        top = 0
    elif stacked:
        top = int(values.sum(axis=0).max())
    else:
        top = int(values.max())
    ticks = _y_ticks(top)
    y_max = ticks[-1]

    defs, fills = _series_defs(len(series))
    body: list[str] = []
    if defs:
        body.append("<defs>" + "".join(defs) + "</defs>")
    body.append(_heading(title, width, pad))

    # Legend rows under the title.
    legend: list[str] = []
    lx, ly = pad, title_h
    for i, s in enumerate(series):
        shown, full = _label(s.name, 30)
        w = 12 + 5 + _text_w(_truncate(s.name, 30), 11) + 14
        if lx + w > width - pad and lx > pad:
            lx, ly = pad, ly + 16
        legend.append(
            f'<g class="legend-entry"><rect x="{_n(lx)}" y="{_n(ly + 1)}" width="12"'
            f' height="12" fill="{fills[i]}" stroke="{_BAR_COLORS[i % len(_BAR_COLORS)]}"/>'
            f'<text x="{_n(lx + 17)}" y="{_n(ly + 11)}" fill="#111">{full}{shown}</text></g>'
        )
        lx += w
    legend_h = (ly - title_h + 16 + 6) if series else 0.0
    if legend:
        body.append('<g class="legend">' + "".join(legend) + "</g>")

    rotate = len(categories) > 8
    cat_limit = 14 if rotate else 40
    longest = max((len(_truncate(c, cat_limit)) for c in categories), default=0)
    bottom = (longest * 10 * _CHAR_W * 0.72 + 16) if rotate else 22.0
    left = pad + len(str(y_max)) * 7 + 10
    plot_x0 = left
    plot_y0 = title_h + legend_h + 6
    plot_w = max(width - pad - plot_x0, 10.0)
    plot_h = max(height - plot_y0 - bottom, 10.0)
    base = plot_y0 + plot_h

    def y_of(v: float) -> float:
        return base - v / y_max * plot_h

    # Axes and ticks.
    axis: list[str] = ['<g class="axis" font-size="10" fill="#333">']
    for tv in ticks:
        y = y_of(tv)
        axis.append(
            f'<line class="y-tick" data-value="{tv}" x1="{_n(plot_x0)}" y1="{_n(y)}"'
            f' x2="{_n(plot_x0 + plot_w)}" y2="{_n(y)}" stroke="#ddd" stroke-width="1"/>'
            f'<text x="{_n(plot_x0 - 5)}" y="{_n(y + 3.5)}" text-anchor="end">{tv}</text>'
        )
    axis.append(
        f'<path d="M{_n(plot_x0)} {_n(plot_y0)}V{_n(base)}H{_n(plot_x0 + plot_w)}"'
        ' fill="none" stroke="#333" stroke-width="1"/>'
    )
    gw = plot_w / max(len(categories), 1)
    for j, cat in enumerate(categories):
        cx = plot_x0 + gw * (j + 0.5)
        if rotate:
            shown, full = _label(cat, cat_limit)
            axis.append(
                f'<text x="{_n(cx)}" y="{_n(base + 12)}" text-anchor="end"'
                f' transform="rotate(-45 {_n(cx)} {_n(base + 12)})">{full}{shown}</text>'
            )
        else:
            shown, full = _label(cat, min(_fits(gw, 10), cat_limit))
            axis.append(
                f'<text x="{_n(cx)}" y="{_n(base + 14)}" text-anchor="middle">{full}{shown}</text>'
            )
    axis.append("</g>")
    body.extend(axis)

    if empty:
        body.append(_empty(plot_x0 + plot_w / 2, plot_y0 + plot_h / 2, empty_note, plot_w))
    else:
        bars: list[str] = ['<g class="bars">']
        nser = len(series)
        for j, cat in enumerate(categories):
            gx = plot_x0 + gw * j
            cum = 0
            for i, s in enumerate(series):
                v = int(values[i, j])
                if v == 0:
                    continue
                color = _BAR_COLORS[i % len(_BAR_COLORS)]
                if stacked:
                    bw = gw * 0.7
                    x = gx + (gw - bw) / 2
                    y1, y2 = y_of(cum + v), y_of(cum)
                    cum += v
                else:
                    bw = gw * 0.8 / nser
                    x = gx + gw * 0.1 + i * bw
                    y1, y2 = y_of(v), base
                bars.append(
                    f'<rect x="{_n(x)}" y="{_n(y1)}" width="{_n(bw)}" height="{_n(y2 - y1)}"'
                    f' fill="{fills[i]}" stroke="{color}" stroke-width="1">'
                    f"<title>{_t(cat)} · {_t(s.name)}: {v}</title></rect>"
                )
        bars.append("</g>")
        body.extend(bars)
    return _document(width, height, title, body)


def hbar_chart_svg(
    labels: Sequence[str],
    values: Sequence[int],
    *,
    title: str,
    width: int = 720,
    empty_note: str = "",
) -> str:
    """Horizontal bars, one per label (about 24 px each: the height grows with their number),
    the value printed at the end of each bar, labels truncated at about 40 characters (the full
    text in the bar's title). No labels, or all zeros: ``empty_note`` instead of bars."""
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels, {len(values)} values")
    if any(int(v) != v or v < 0 for v in values):
        raise ValueError("values must be non-negative integers")
    pad = 8.0
    title_h = 26.0
    row = 24.0
    nums = [int(v) for v in values]
    empty = not nums or max(nums) == 0
    if width < _CHART_MIN[0]:
        raise ValueError(f"too small to draw: width {width} (at least {_CHART_MIN[0]})")
    height = int(title_h + pad + (40 if empty else row * len(nums)) + pad)

    body: list[str] = [_heading(title, width, pad)]
    top = title_h + pad
    if empty:
        body.append(_empty(width / 2, top + 24, empty_note, width - 2 * pad))
        return _document(width, height, title, body)

    shown_labels = [_truncate(label, 40) for label in labels]
    label_w = min(max(_text_w(s, 12) for s in shown_labels) + 10, width * 0.45)
    limit = _fits(label_w - 10, 12)
    vmax = max(nums)
    value_room = len(str(vmax)) * 12 * _CHAR_W + 10
    x0 = pad + label_w
    length = max(width - pad - x0 - value_room, 10.0)
    out: list[str] = ['<g class="bars" font-size="12">']
    for i, (label, v) in enumerate(zip(labels, nums, strict=True)):
        y = top + i * row
        shown = _t(_truncate(label, min(limit, 40)))
        w = v / vmax * length
        out.append(
            f'<g class="row"><title>{_t(label)}: {v}</title>'
            f'<text x="{_n(x0 - 6)}" y="{_n(y + 16)}" text-anchor="end" fill="#111">{shown}</text>'
            f'<rect x="{_n(x0)}" y="{_n(y + 4)}" width="{_n(w)}" height="16" fill="#2166ac"/>'
            f'<text x="{_n(x0 + w + 4)}" y="{_n(y + 16)}" fill="#111">{v}</text></g>'
        )
    out.append(
        f'<line x1="{_n(x0)}" y1="{_n(top)}" x2="{_n(x0)}" y2="{_n(top + row * len(nums))}"'
        ' stroke="#333" stroke-width="1"/>'
    )
    out.append("</g>")
    body.extend(out)
    return _document(width, height, title, body)
