"""Cursor on Target (CoT XML) *written* for TAK clients: the mission's zones as drawing shapes
and findings as markers. Pure: no I/O, no store, no network.

Used by the TAK listener (an authenticated ATAK/WinTAK/iTAK client gets the zones on connect,
then every new finding) and by `export zones --format cot`. Every event is UTF-8 bytes, one
`<?xml version="1.0" encoding="UTF-8"?>` declaration then one `<event>`, built with lxml (so
every attribute and text is escaped) and at most `MAX_EVENT_BYTES`, the limit our own reader
(`truceline.ingest.cot`) enforces.

Zones (`zone_events`), as TAK clients draw them:

- a point zone with a buffer (a circle) → `u-d-c-c`, `<shape><ellipse major minor angle="360">`
  with both axes the radius in metres (ATAK's own circles: `major` is the radius, not the
  diameter), centred on the zone's point; a MultiPoint zone → one circle per point (the
  circles overlap where the zone's area merges them, which draws the same area);
- every other zone (a polygon, a buffered line such as a corridor, a buffered polygon) → its
  area (`Zone.geometry`, already buffered by the loader) as a closed freeform shape `u-d-f`: one
  `<link point="lat,lon"/>` per vertex of the exterior ring, the first vertex repeated at the
  end, which is how ATAK itself marks a `u-d-f` as closed (and filled). A corridor is not sent
  as a route or a `u-d-r` rectangle: ATAK's rectangle has four corners, a route has no width,
  and the buffered outline shows exactly the area the rules test.
- A MultiPolygon → one shape per part. A hole (an interior ring) cannot be cut out of a TAK
  shape, so each is drawn as a separate dashed, unfilled outline whose remarks say it is not
  part of the zone.
- An exterior or hole with more than `MAX_VERTICES` vertices is simplified (Douglas–Peucker,
  the smallest tolerance that fits, topology preserved) and its remarks say by how much: the
  drawing is for display; the mission file stays the authority.

uids are stable, so re-sending replaces a shape on the client: `truceline-zone-<zone id>`, and
for a zone of several shapes `…:part-<n>` and `…:part-<n>:hole-<m>` (`:` cannot occur in a
mission id, so no suffixed uid can equal another zone's). A shape the mission no longer has
stays on the client until its `stale` time (default: a day after sending); the listener should
re-send the zones well before that.

Findings (`finding_event`) → a spot-map marker `b-m-p-s-m`, chosen over an atom such as `a-u-G`
for three reasons: ATAK, WinTAK and iTAK all draw it as a plain coloured dot with its label (no
MIL-STD-2525 frame that would assert an enemy, friendly or unknown *unit* at the place, which a
machine-produced finding must not do); its colour (amber: unverified) is its own
`<color argb>`; and if it comes back to us, our reader makes it a `Marker` of kind `other` with
the marker's own uid as its source, never a self-report (`a-…` with no `p-p` link is read as a
unit's position, which would put a phantom unit on the map). `how` is `m-f` (machine, fused):
a finding is computed from several observations; `m-g` would claim a GPS fix.

Echoes. TAK servers and clients re-broadcast what they receive, so a client or a federated
server may send our own events back. A finding that came back would otherwise be stored as an
observation, i.e. our conclusion would become its own evidence. The listener must therefore
drop an event, before `cot.classify`, when `is_our_echo(event.uid)` (the `truceline-` prefix
that every uid written here has) or, for a client that re-issued it under its own uid,
`is_our_event(event)` (our `<truceline finding=…>` or `<truceline zone=…>` detail, which TAK
clients keep). Dropping is the safe direction: a user who wants to report something at a
finding's place drops their own marker. The `<truceline>` detail written here never carries
`kind`, `subtype`, `count` or `actor`, the attributes `classify` reads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import shapely
from lxml import etree
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from truceline.domain.findings import Finding
from truceline.ingest.cot import MAX_EVENT_BYTES, UNKNOWN_VALUE, CotEvent
from truceline.mission.model import Mission, Zone

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'
UID_PREFIX = "truceline-"
ZONE_UID_PREFIX = UID_PREFIX + "zone-"
FINDING_UID_PREFIX = UID_PREFIX + "finding-"

ZONE_TYPE_POLYGON = "u-d-f"  # freeform shape; closed: the last <link> repeats the first
ZONE_TYPE_CIRCLE = "u-d-c-c"
FINDING_TYPE = "b-m-p-s-m"  # spot-map marker
ZONE_HOW = "h-e"  # human entered: the zones are the agreement's, drawn by people
FINDING_HOW = "m-f"  # machine, fused from several observations

MAX_VERTICES = 500  # distinct vertices of one drawn ring (about 21 KB of <link>s)
MAX_TEXT = 1000  # characters of one name or title (6 bytes each at worst, escaped)
METRES_PER_DEGREE = 111_320.0  # of latitude, or of longitude at the equator: an upper bound

# Colours are ARGB as TAK writes them: a signed 32-bit integer in decimal.
ZONE_STROKE = 0xFFFFFFFF  # white: neutral (no party's colour), visible on maps and imagery
ZONE_FILL = 0x33FFFFFF  # white at 20 %
HOLE_FILL = 0x00000000  # none
STROKE_WEIGHT = 3.0
FINDING_COLOUR = 0xFFFFBF00  # amber: not yet verified (red would read as a confirmed breach)

_BUFFERED = {
    "LineString": "its line",
    "MultiLineString": "its lines",
    "Polygon": "its polygon",
    "MultiPolygon": "its polygons",
}
_FINDING_UID = re.compile(r"[A-Za-z0-9._:/@+=~-]{1,160}")
# What XML 1.0 cannot hold (and lxml refuses): C0 controls but tab, LF and CR; surrogates;
# U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def is_our_echo(uid: str) -> bool:
    """True for the uid of an event written here (`truceline-…`): the feed's sorter drops
    such an event (`is_our_event`, in `cot_format.EventSorter`), so a finding sent back by a
    TAK client or server never becomes an observation."""
    return uid.strip().startswith(UID_PREFIX)


def is_our_event(event: CotEvent) -> bool:
    """True for an event written here, even re-issued by a client under another uid: its uid
    (`is_our_echo`) or our `<truceline finding=…>` / `<truceline zone=…>` detail."""
    return is_our_echo(event.uid) or "finding" in event.truceline or "zone" in event.truceline


# --- zones ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Ring:
    """One drawn outline: (lon, lat) vertices, closed (last == first)."""

    coords: list[tuple[float, float]]
    centroid: tuple[float, float]  # lon, lat
    simplified_m: float | None  # how far (metres, at most) it strays, when simplified


def zone_events(
    mission: Mission, *, now: datetime, stale_after: timedelta = timedelta(days=1)
) -> list[bytes]:
    """The mission's zones as CoT drawing shapes, in the mission's order: at least one event
    per zone (a circle or a closed freeform shape, one per part, plus an outline per hole)."""
    stale = _later(now, stale_after)
    events: list[bytes] = []
    for zone in mission.zones.values():
        events.extend(_zone(zone, now, stale))
    return events


def _zone(zone: Zone, now: datetime, stale: datetime) -> Iterator[bytes]:
    name = _clean(zone.name) or zone.id
    uid = ZONE_UID_PREFIX + zone.id
    source = zone.source_geometry
    about = f"Zone {zone.id}: {name}."
    if zone.buffer_m is not None and source.get("type") in ("Point", "MultiPoint"):
        points = [source["coordinates"]] if source["type"] == "Point" else source["coordinates"]
        many = len(points) > 1
        for n, point in enumerate(points, 1):
            remarks = [about, f"Radius {_metres(zone.buffer_m)} m."]
            if many:
                remarks.append(f"Circle {n} of {len(points)}.")
            yield _circle(
                uid=f"{uid}:part-{n}" if many else uid,
                callsign=f"{name} ({n}/{len(points)})" if many else name,
                remarks=" ".join(remarks),
                zone_id=zone.id,
                lon=float(point[0]),
                lat=float(point[1]),
                radius_m=zone.buffer_m,
                now=now,
                stale=stale,
            )
        return
    parts = _polygons(zone.geometry)
    many = len(parts) > 1
    for n, part in enumerate(parts, 1):
        part_uid = f"{uid}:part-{n}" if many else uid
        part_name = f"{name} ({n}/{len(parts)})" if many else name
        exterior, holes = _rings(part)
        remarks = [about]
        if zone.buffer_m is not None:
            what = _BUFFERED.get(str(source.get("type")), "its geometry")
            remarks.append(f"The area within {_metres(zone.buffer_m)} m of {what}.")
        if many:
            remarks.append(f"Part {n} of {len(parts)}.")
        if holes:
            holes_text = "1 hole" if len(holes) == 1 else f"{len(holes)} holes"
            remarks.append(f"{holes_text} (drawn dashed) not part of the zone.")
        remarks.extend(_simplified(exterior))
        yield _freeform(
            uid=part_uid,
            callsign=part_name,
            remarks=" ".join(remarks),
            zone_id=zone.id,
            ring=exterior,
            fill=ZONE_FILL,
            dashed=False,
            now=now,
            stale=stale,
        )
        for m, hole in enumerate(holes, 1):
            hole_remarks = [about, f"Hole {m}: NOT part of the zone.", *_simplified(hole)]
            yield _freeform(
                uid=f"{part_uid}:hole-{m}",
                callsign=f"{part_name} (hole {m})",
                remarks=" ".join(hole_remarks),
                zone_id=zone.id,
                ring=hole,
                fill=HOLE_FILL,
                dashed=True,
                now=now,
                stale=stale,
            )


def _polygons(geometry: BaseGeometry) -> list[Polygon]:
    """The polygon parts of an area (a Polygon, MultiPolygon or collection), non-empty."""
    if geometry.is_empty:
        return []
    if isinstance(geometry, Polygon):
        return [geometry]
    found: list[Polygon] = []
    for part in getattr(geometry, "geoms", ()):
        found.extend(_polygons(part))
    return found


def _rings(polygon: Polygon) -> tuple[_Ring, list[_Ring]]:
    """The polygon's exterior and holes, each with at most MAX_VERTICES distinct vertices."""
    drawn, deviation = _fit(polygon)
    # metres, rounded up (a degree of longitude is shorter: this is an upper bound)
    simplified = None if deviation is None else math.ceil(deviation * METRES_PER_DEGREE + 0.1)
    centre = drawn.centroid  # of the area (a hole moves it); inside it, for a bent corridor
    if not drawn.intersects(centre):
        centre = drawn.point_on_surface()
    exterior = _ring(drawn.exterior.coords, simplified, (float(centre.x), float(centre.y)))
    holes = [_ring(hole.coords, simplified) for hole in drawn.interiors]
    return exterior, holes


def _fit(polygon: Polygon) -> tuple[Polygon, float | None]:
    """The polygon, simplified with about the smallest tolerance (doubling, then bisecting to
    within 5 %) that leaves every ring at most MAX_VERTICES distinct vertices, and how far its
    outline strays from the original (degrees, measured: GEOS may exceed the tolerance a
    little at a ring's start); None if untouched."""

    def fitted(tolerance: float) -> Polygon | None:
        simpler = shapely.simplify(polygon, tolerance, preserve_topology=True)
        if not isinstance(simpler, Polygon) or simpler.is_empty:
            return None
        return simpler if _largest_ring(simpler) <= MAX_VERTICES else None

    if _largest_ring(polygon) <= MAX_VERTICES:
        return polygon, None
    minx, miny, maxx, maxy = polygon.bounds
    low = 0.0  # does not fit
    high = max(math.hypot(maxx - minx, maxy - miny) * 1e-6, 1e-9)
    best = fitted(high)
    while best is None:
        if high > 360:  # cannot happen: at this tolerance every ring is minimal
            raise ValueError("a zone outline cannot be simplified to few enough vertices")
        low, high = high, high * 2
        best = fitted(high)
    while high - low > 0.05 * high:
        middle = (low + high) / 2
        candidate = fitted(middle)
        if candidate is None:
            low = middle
        else:
            best, high = candidate, middle
    return best, float(shapely.hausdorff_distance(best.boundary, polygon.boundary))


def _largest_ring(polygon: Polygon) -> int:
    """The distinct vertices of the polygon's largest ring."""
    return max(len(ring.coords) - 1 for ring in (polygon.exterior, *polygon.interiors))


def _ring(
    coords: Sequence[Sequence[float]],
    simplified_m: float | None,
    centroid: tuple[float, float] | None = None,
) -> _Ring:
    points = [(float(x), float(y)) for x, y, *_ in coords]
    if points[0] != points[-1]:
        points.append(points[0])
    if centroid is None:
        area = Polygon(points)
        centre = area.centroid if area.intersects(area.centroid) else area.point_on_surface()
        centroid = (float(centre.x), float(centre.y))
    return _Ring(points, centroid, simplified_m)


def _simplified(ring: _Ring) -> list[str]:
    if ring.simplified_m is None:
        return []
    return [
        f"Outline simplified to {len(ring.coords) - 1} vertices "
        f"(within {ring.simplified_m:.0f} m); the mission file is authoritative."
    ]


def _freeform(
    *,
    uid: str,
    callsign: str,
    remarks: str,
    zone_id: str,
    ring: _Ring,
    fill: int,
    dashed: bool,
    now: datetime,
    stale: datetime,
) -> bytes:
    lon, lat = ring.centroid
    event, detail = _event(uid, ZONE_TYPE_POLYGON, ZONE_HOW, now, stale, lat, lon)
    for x, y in ring.coords:
        etree.SubElement(detail, "link", point=f"{_coordinate(y)},{_coordinate(x)}")
    _style(detail, fill, dashed)
    _labels(detail, callsign, remarks)
    etree.SubElement(detail, "truceline", zone=zone_id)
    return _serialise(event)


def _circle(
    *,
    uid: str,
    callsign: str,
    remarks: str,
    zone_id: str,
    lon: float,
    lat: float,
    radius_m: float,
    now: datetime,
    stale: datetime,
) -> bytes:
    event, detail = _event(uid, ZONE_TYPE_CIRCLE, ZONE_HOW, now, stale, lat, lon)
    shape = etree.SubElement(detail, "shape")
    radius = _decimal(radius_m, 3)
    etree.SubElement(shape, "ellipse", major=radius, minor=radius, angle="360")
    # The KML style older ATAK versions read for a circle (WinTAK, iTAK and newer ATAK read
    # the strokeColor/fillColor below). Nested in <shape>: our reader never sees this <link>.
    style_link = etree.SubElement(
        shape, "link", uid=f"{uid}.Style", type="b-x-KmlStyle", relation="p-c"
    )
    style = etree.SubElement(style_link, "Style")
    line = etree.SubElement(style, "LineStyle")
    etree.SubElement(line, "color").text = _kml_colour(ZONE_STROKE)
    etree.SubElement(line, "width").text = _decimal(STROKE_WEIGHT, 1)
    poly = etree.SubElement(style, "PolyStyle")
    etree.SubElement(poly, "color").text = _kml_colour(ZONE_FILL)
    _style(detail, ZONE_FILL, False)
    _labels(detail, callsign, remarks)
    etree.SubElement(detail, "truceline", zone=zone_id)
    return _serialise(event)


def _style(detail: etree._Element, fill: int, dashed: bool) -> None:
    etree.SubElement(detail, "strokeColor", value=_signed(ZONE_STROKE))
    etree.SubElement(detail, "strokeWeight", value=_decimal(STROKE_WEIGHT, 1))
    if dashed:
        etree.SubElement(detail, "strokeStyle", value="dashed")
    etree.SubElement(detail, "fillColor", value=_signed(fill))


def _labels(detail: etree._Element, callsign: str, remarks: str) -> None:
    etree.SubElement(detail, "contact", callsign=callsign)
    etree.SubElement(detail, "remarks").text = remarks
    etree.SubElement(detail, "labels_on", value="true")


# --- findings -------------------------------------------------------------------------------


def finding_event(
    finding: Finding,
    *,
    clause_title: str,
    zone_name: str | None,
    lat: float,
    lon: float,
    when: datetime,
    now: datetime,
    uid: str,
    stale_after: timedelta = timedelta(hours=6),
) -> bytes:
    """A finding as a TAK spot-map marker at (lat, lon): uid `truceline-finding-<uid>`,
    callsign the clause and the finding's time (`when`, UTC), remarks naming the clause, its
    title and the zone and saying it is not yet jointly verified; `<truceline finding=…>`
    carries the finding's key so that an echo is recognisable (`is_our_event`).

    `uid` is the caller's stable name for the finding (e.g. its row id or a hash of its key):
    letters, digits and `._:/@+=~-`, at most 160 characters. Raises ValueError for another
    uid, a point out of range, a naive time or a stale_after that is not positive."""
    if _FINDING_UID.fullmatch(uid) is None:
        raise ValueError(f"a finding uid is 1-160 of [A-Za-z0-9._:/@+=~-], not {uid[:40]!r}")
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"the point ({lat}, {lon}) is not a latitude and longitude")
    stale = _later(now, stale_after)
    moment = _utc(when)
    clause = _clean(finding.clause) or "?"
    title = _clean(clause_title).rstrip(". ")
    zone = _clean(zone_name or "") or _clean(finding.zone or "")
    remarks = f"Clause {clause}: {title}." if title else f"Clause {clause}."
    if zone:
        remarks += f" Zone: {zone}."
    remarks += " Not yet jointly verified."
    if moment.date() == _utc(now).date():
        callsign = f"{clause} {moment:%H:%M}Z"
    else:
        callsign = f"{clause} {moment:%Y-%m-%d %H:%M}Z"
    event, detail = _event(
        FINDING_UID_PREFIX + uid, FINDING_TYPE, FINDING_HOW, now, stale, lat, lon
    )
    etree.SubElement(detail, "contact", callsign=callsign)
    etree.SubElement(detail, "remarks").text = remarks
    etree.SubElement(detail, "color", argb=_signed(FINDING_COLOUR))
    etree.SubElement(
        detail,
        "usericon",
        iconsetpath=f"COT_MAPPING_SPOTMAP/{FINDING_TYPE}/{_signed(FINDING_COLOUR)}",
    )
    ours = {
        "finding": _clean(finding.key),
        "clause": clause,
        "version": str(finding.version),
        "at": _cot_time(moment),
        "verified": "false",
    }
    if finding.zone:
        ours["zone"] = _clean(finding.zone)
    etree.SubElement(detail, "truceline", ours)
    return _serialise(event)


# --- the XML --------------------------------------------------------------------------------


def _event(
    uid: str, kind: str, how: str, now: datetime, stale: datetime, lat: float, lon: float
) -> tuple[etree._Element, etree._Element]:
    """An <event> with its <point> (hae, ce, le unknown) and an empty <detail>."""
    time = _cot_time(now)
    event = etree.Element(
        "event",
        version="2.0",
        uid=uid,
        type=kind,
        how=how,
        time=time,
        start=time,
        stale=_cot_time(stale),
    )
    unknown = _decimal(UNKNOWN_VALUE, 1)
    etree.SubElement(
        event,
        "point",
        lat=_coordinate(lat),
        lon=_coordinate(lon),
        hae=unknown,
        ce=unknown,
        le=unknown,
    )
    return event, etree.SubElement(event, "detail")


def _serialise(event: etree._Element) -> bytes:
    data = DECLARATION + etree.tostring(event, encoding="UTF-8", xml_declaration=False)
    if len(data) > MAX_EVENT_BYTES:  # the vertex and text bounds keep every event far below
        raise ValueError(f"an event of {len(data):,} bytes is over {MAX_EVENT_BYTES:,}")
    return data


def _clean(text: str) -> str:
    """A text XML can hold: what it cannot (control characters, lone surrogates) becomes
    U+FFFD; stripped; at most MAX_TEXT characters (cut with an ellipsis)."""
    text = _NOT_XML.sub("\ufffd", text).strip()
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1].rstrip() + "…"
    return text


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a time needs an offset")
    return moment.astimezone(UTC)


def _later(now: datetime, after: timedelta) -> datetime:
    if after <= timedelta(0):
        raise ValueError("stale_after must be positive")
    return _utc(now) + after


def _cot_time(moment: datetime) -> str:
    """As TAK writes times: UTC, milliseconds, `Z`."""
    moment = _utc(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _decimal(value: float, places: int) -> str:
    """A plain decimal (no exponent), trailing zeros cut but one decimal kept: `40.05`,
    `9999999.0`."""
    text = f"{value:.{places}f}"
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text += "0"
    return "0.0" if text in ("-0.0", "-0") else text


def _metres(value: float) -> str:
    """Metres for a sentence: `2500`, `2.5`."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _coordinate(value: float) -> str:
    """Degrees to 1e-7° (about 1 cm)."""
    return _decimal(value, 7)


def _signed(argb: int) -> str:
    """An ARGB colour as TAK writes it: a signed 32-bit integer."""
    return str(argb - (1 << 32) if argb >= 1 << 31 else argb)


def _kml_colour(argb: int) -> str:
    """ARGB as KML's aabbggrr."""
    a, r, g, b = (argb >> 24) & 0xFF, (argb >> 16) & 0xFF, (argb >> 8) & 0xFF, argb & 0xFF
    return f"{a:02x}{b:02x}{g:02x}{r:02x}"
