"""Cursor on Target (CoT XML) as TAK clients really send it: pure parsing, no store, no network.

Three steps, each usable alone:

- `split_events` / `EventSplitter`: a file or a TCP stream of concatenated `<event>`s (each
  optionally after its own `<?xml …?>` declaration) into `RawEvent`s carrying their byte
  offset, at most `MAX_EVENT_BYTES` each; what cannot be an event is a `Rejected`, and the
  splitter resynchronises at the next `<?xml` or `<event`. One UDP datagram is one event: give
  it to `parse_event` directly.
- `parse_event`: one event's bytes into a `CotEvent`, with a hardened lxml parser (no DTD, no
  entity, no network; a DOCTYPE is refused before parsing), or a `Rejected`.
- `classify`: a `CotEvent` into a `SelfReport` (a position), a `Marker` (an observation), a
  `NoFix` or an `Ignored`, with plain dicts of the CSV formats' fields for the existing
  builders (`build_position`, `build_observation`), which check ranges and the mission.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from truceline.domain.records import e7, plain_decimal
from truceline.i18n.message import M, joined

MAX_EVENT_BYTES = 64 * 1024  # an event, its declaration included
UNKNOWN_VALUE = 9_999_999.0  # CoT's "unknown" for hae, ce and le
NO_FIX_RADIUS_M = 1_000.0  # a point this close to 0°, 0° is a TAK client without a location
SOURCE_KIND = "other"  # a TAK device: none of the vocabulary's kinds says which it is
EARTH_RADIUS_M = 6_371_008.8

# Why an event is rejected: made once here, so that no event pays for a message it needs not.
PROTOBUF_REASON = M("TAK protocol (protobuf) is not read: set the client to send XML")
DOCTYPE_REASON = M("DOCTYPE is not allowed")
TOO_LONG_REASON = M("an event longer than {limit:,} bytes", limit=MAX_EVENT_BYTES)
NOT_COT_REASON = M("not a CoT event: expected <event> or <?xml …?>")
_READABLE_ENCODINGS = frozenset({"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1"})

AFFILIATIONS: dict[str, str] = {
    "p": "pending",
    "u": "unknown",
    "a": "assumed_friend",
    "f": "friendly",
    "n": "neutral",
    "s": "suspect",
    "h": "hostile",
    "j": "joker",
    "k": "faker",
    "o": "none",
    "x": "exercise",
}


@dataclass(slots=True)  # (not frozen: a feed makes one per event, and frozen ones cost more)
class RawEvent:
    """The bytes of one event (its own `<?xml …?>` declaration included) and where it began."""

    offset: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Rejected:
    """Something that is not a readable CoT event: where it began, its uid if readable, why."""

    offset: int
    uid: str | None
    reason: str

    def __str__(self) -> str:
        if self.uid is None:
            return M("byte {offset}: {reason}", offset=self.offset, reason=self.reason)
        return M(
            "byte {offset} (uid {uid!r}): {reason}",
            offset=self.offset,
            uid=self.uid,
            reason=self.reason,
        )


@dataclass(slots=True)  # not frozen: a frozen __init__ of 20 fields costs a third of a parse
class CotEvent:
    """What truceline reads of one parsed event (numbers as sent; 9999999 kept as sent)."""

    offset: int
    uid: str
    type: str
    time: str | None
    start: str | None
    stale: str | None
    how: str | None
    lat: float
    lon: float
    hae: float | None
    ce: float | None
    le: float | None
    callsign: str | None = None
    speed: float | None = None  # <track speed>, m/s
    course: float | None = None  # <track course>, degrees
    remarks: str | None = None
    producer: str | None = None  # the uid of the `<link relation="p-p">`: the placing device
    group: str | None = None  # <__group name>
    truceline: dict[str, str] = field(default_factory=dict)  # attributes of <truceline/>

    @property
    def affiliation(self) -> str | None:
        """`friendly`, `hostile`, … of an atom (`a-f-…`, `a-h-…`); None for other types."""
        parts = self.type.split("-")
        if parts[0] != "a" or len(parts) < 2:
            return None
        return AFFILIATIONS.get(parts[1], "unknown")

    @property
    def when(self) -> str | None:
        """The event's time: `time`, else `start`."""
        return self.time or self.start


@dataclass(frozen=True, slots=True)
class SelfReport:
    """A device's own position (an atom with no p-p link).

    `position` has the positions CSV's fields (`unit, time, lat, lon, speed_mps, course_deg,
    hae_m`, and `actor` only when `<truceline actor>` gives one). Whether the unit is the
    feed's contingent's (an undeclared friendly) or an observation (`as_observation`, an
    undeclared non-friendly) depends on the mission: the caller decides."""

    event: CotEvent
    position: dict[str, Any]

    @property
    def unit(self) -> str:
        return self.event.uid

    @property
    def affiliation(self) -> str | None:
        return self.event.affiliation

    @property
    def friendly(self) -> bool:
        return self.event.affiliation == "friendly"

    @property
    def callsign(self) -> str | None:
        return self.event.callsign

    @property
    def actor(self) -> str | None:
        """The `<truceline actor>` override, if any."""
        return self.event.truceline.get("actor") or None

    def as_observation(self, source_kind: str = SOURCE_KIND) -> dict[str, Any]:
        """The self-report as a `presence` observation of actor `unknown`, source = the
        event uid (what an undeclared non-friendly self-report becomes)."""
        e = self.event
        fields: dict[str, Any] = {
            "id": marker_identity(e.uid, e.uid, e.lat, e.lon),
            "observed_at": e.when,
            "lat": e.lat,
            "lon": e.lon,
            "uncertainty_m": e.ce,
            "kind": "presence",
            "subtype": e.type,
            "actor": "unknown",
            "source_kind": source_kind,
            "source": e.uid,
            "description": e.remarks,
        }
        return _present(fields)


@dataclass(frozen=True, slots=True)
class Marker:
    """A point someone placed (an atom with a p-p link, `b-m-p-…`, `u-d-p`): an observation.

    `observation` has the observations CSV's fields; its `id` is `identity`, so the same marker
    re-broadcast at the same point (whatever its time) is one record."""

    event: CotEvent
    source: str
    identity: str
    observation: dict[str, Any]

    @property
    def uid(self) -> str:
        return self.event.uid


@dataclass(frozen=True, slots=True)
class NoFix:
    """An event whose point is within 1 km of 0°, 0°: no location. Not stored, counted."""

    event: CotEvent


@dataclass(frozen=True, slots=True)
class Ignored:
    """An event of a type truceline does not read (chat `b-t-f`, …). Counted."""

    event: CotEvent
    reason: str


Classified = SelfReport | Marker | NoFix | Ignored


# --- splitting ------------------------------------------------------------------------------

_WHITESPACE = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"
# Where an event may begin: its declaration, or its root element.
_START = re.compile(rb"<\?xml|<event[\s/>]")
# The root's start tag (attribute values may hold `>`): a `/` before the `>` closes the event.
_TAG_STOP = re.compile(rb"[>\"']")
# What ends an event: its end tag, or (a truncated event) the beginning of the next one.
_END = re.compile(rb"</event\s*>|<event[\s/>]|<\?xml")
_UID = re.compile(rb"<event\b[^>]*?\suid\s*=\s*(?:\"([^\"<]{1,200})\"|'([^'<]{1,200})')")
# A plain event, found with `bytes.find` and `count` (C speed, where a regular expression
# steps through it a character at a time): after white space, the declaration TAK clients
# send (or none) and `<event` with a white space at once; its start tag up to the first `>`,
# holding an even number of `"` and no `'` or `<` (so that `>` is not in a value, as the steps
# below read it), not `/>`; then content up to the first `</event>`, with no `event` (another
# `</event`, an `<event`) and no `<?` before it. Anything else is the steps'.
_PLAIN_DECLARATIONS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
    b'<?xml version="1.0" encoding="UTF-8"?>',
    b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>",
)
_EVENT_SPACE = frozenset(b" \t\r\n")
_OVERLAP = 64  # bytes re-searched after a feed, so a tag split between feeds is still found
_LONGEST_START = 7  # `<event` and its delimiter: a shorter tail cannot be decided yet


def _uid_of(data: bytes | bytearray, start: int = 0, end: int | None = None) -> str | None:
    """The uid attribute of the first `<event` start tag from `start`, if readable (for naming
    a bad event): never a later event's."""
    stop = min(len(data), start + 4096) if end is None else min(end, start + 4096)
    root = data.find(b"<event", start, stop)
    match = None if root < 0 else _UID.match(data, root, stop)
    if match is None:
        return None
    value = match.group(1) or match.group(2)
    return value.decode("utf-8", "replace").strip() or None


class EventSplitter:
    """Splits a byte stream of concatenated CoT events as it arrives (a TCP connection).

    `feed(bytes)` returns the events (and rejections) completed by those bytes; `close()` the
    rest at the end of the stream. It holds at most about `MAX_EVENT_BYTES` whatever it is fed,
    and looks at each byte a bounded number of times however the stream is cut: an event longer
    than that is rejected by offset and skipped up to the next `<?xml` or `<event`; so is
    anything that is not an event (a TAK protocol v1 client, by name)."""

    def __init__(self, *, base_offset: int = 0, plain: bool = True) -> None:
        self._plain_first = plain  # (off: every event by the steps, as a test compares)
        self._buf = bytearray()
        self._at = base_offset  # the stream offset of _buf[0]
        self._closed = False
        self._skipping = False  # discarding up to the next possible event start
        self._reset()

    def _reset(self) -> None:
        self._root: int | None = None  # where the current event's <event> tag is in _buf
        self._body: int | None = None  # where its content starts (after the start tag)
        self._scan = 0  # how far the current search has gone
        self._quote: int | None = None  # the open quote while scanning the start tag
        self._comment = False  # in a comment between events (how far: _scan)

    @property
    def offset(self) -> int:
        """The stream offset of the first byte not yet returned or discarded."""
        return self._at

    def feed(self, data: bytes | bytearray | memoryview) -> list[RawEvent | Rejected]:
        if self._closed:
            raise ValueError("the splitter is closed")
        out: list[RawEvent | Rejected] = []
        view = memoryview(data).cast("B")
        for begin in range(0, len(view), MAX_EVENT_BYTES):
            self._buf += view[begin : begin + MAX_EVENT_BYTES]
            self._drain(out, final=False)
        return out

    def close(self) -> list[RawEvent | Rejected]:
        """The rest at the end of the stream: an incomplete event is rejected."""
        out: list[RawEvent | Rejected] = []
        if not self._closed:
            self._closed = True
            self._drain(out, final=True)
            if self._buf and not self._skipping:
                uid = _uid_of(self._buf)
                out.append(Rejected(self._at, uid, M("incomplete event at the end of the data")))
            self._consume(len(self._buf))
        return out

    # The buffer always begins at the current item (an event, or bytes being skipped).
    def _consume(self, n: int) -> None:
        del self._buf[:n]
        self._at += n
        self._reset()

    def _reject(self, out: list[RawEvent | Rejected], reason: str, uid: str | None) -> None:
        """Reject the item at the buffer's start and skip to the next possible event."""
        out.append(Rejected(self._at, uid, reason))
        self._skipping = True
        self._reset()
        self._scan = 1  # the item's own first byte is not a new start

    def _drain(self, out: list[RawEvent | Rejected], final: bool) -> None:
        while self._buf:
            if (
                self._plain_first
                and self._root is None
                and not (self._skipping or self._scan or self._comment)
            ):
                self._plain(out)
                if not self._buf:
                    return
            if self._skipping:
                if not self._skip(final):
                    return
            elif self._root is None:
                if not self._begin(out, final):
                    return
            elif not self._finish(out, final):
                return

    def _plain(self, out: list[RawEvent | Rejected]) -> None:
        """The plain events at the buffer's start, each found at C speed (see
        `_PLAIN_DECLARATIONS`): what the steps below would find, byte for byte. It stops at
        the first thing that is not a whole plain event (a partial one, a comment, anything
        odd): theirs to read."""
        buf, pos, at = self._buf, 0, self._at
        find, count, size = buf.find, buf.count, len(buf)
        while True:
            start = pos
            while start < size and buf[start] in _EVENT_SPACE:
                start += 1
            root = start
            for declaration in _PLAIN_DECLARATIONS:
                if buf.startswith(declaration, start):
                    root = start + len(declaration)
                    break
            if not buf.startswith(b"<event", root) or root + 6 >= size:
                break
            if buf[root + 6] not in _EVENT_SPACE:
                break
            body = find(b">", root) + 1
            if (
                body == 0
                or buf[body - 2] == 0x2F  # `/>`
                or count(b'"', root, body) % 2
                or find(b"'", root, body) >= 0
                or find(b"<", root + 1, body) >= 0
            ):
                break
            end = find(b"</event>", body, start + MAX_EVENT_BYTES)
            if end < 0 or count(b"event", body, end) or find(b"<?", body, end) >= 0:
                break  # (not plain: perhaps `</event >`, or the event's end not here yet)
            pos = end + 8
            out.append(RawEvent(at + start, bytes(buf[start:pos])))
        if pos:
            self._consume(pos)

    def _skip(self, final: bool) -> bool:
        """Discard up to the next possible event start; False when more data is needed."""
        buf = self._buf
        match = _START.search(buf, self._scan)
        if match is None:
            keep = 0 if final else min(len(buf), _LONGEST_START - 1)
            self._consume(max(len(buf) - keep, self._scan))
            return False
        self._consume(match.start())
        self._skipping = False
        return True

    def _between(self, out: list[RawEvent | Rejected], final: bool) -> bool:
        """Skip a comment between events (`<!-- … -->`, as a reject file writes before each
        event); False when more data is needed."""
        buf = self._buf
        end = buf.find(b"-->", self._scan, MAX_EVENT_BYTES)
        if end >= 0:
            self._consume(end + 3)
            return True
        if len(buf) >= MAX_EVENT_BYTES or final:
            reason = M("a comment not closed within {limit:,} bytes", limit=MAX_EVENT_BYTES)
            self._reject(out, reason, None)
            return True
        self._scan = max(4, len(buf) - 2)
        return False

    def _begin(self, out: list[RawEvent | Rejected], final: bool) -> bool:
        """Find the current item's start and its root element; False when more is needed."""
        buf = self._buf
        if self._comment:
            return self._between(out, final)
        if self._scan == 0:
            lead = 0
            while True:  # white space and byte order marks between events
                while lead < len(buf) and buf[lead] in _WHITESPACE:
                    lead += 1
                if buf.startswith(_BOM, lead):
                    lead += len(_BOM)
                    continue
                if not final and len(buf) - lead < len(_BOM) and _BOM.startswith(buf[lead:]):
                    if lead:
                        self._consume(lead)
                    return False  # perhaps a byte order mark: wait for the rest of it
                break
            if lead:
                self._consume(lead)
                buf = self._buf
            if not buf:
                return False
            if buf[0] == 0xBF:
                self._reject(out, PROTOBUF_REASON, None)
                return True
            if len(buf) < _LONGEST_START and not final:
                return False
            if buf.startswith(b"<!--"):
                self._comment, self._scan = True, 4
                return self._between(out, final)
            if buf[0] != 0x3C or (_START.match(buf) is None and not buf.startswith(b"<!")):
                self._reject(out, NOT_COT_REASON, None)
                return True
            if buf.startswith(b"<event"):
                self._root = 0
                return True
            self._scan = 1
        # A prolog (declaration, DOCTYPE, comment): the root is the next `<event`; a second
        # declaration before it means this one has no event.
        limit = min(len(buf), MAX_EVENT_BYTES)
        match = _START.search(buf, self._scan, limit)
        if match is None:
            if len(buf) >= MAX_EVENT_BYTES:
                reason = M("no <event> in the first {limit:,} bytes", limit=MAX_EVENT_BYTES)
                self._reject(out, reason, None)
                return True
            self._scan = max(1, limit - _LONGEST_START)
            return False
        if match.group().startswith(b"<?xml"):
            reason = M("an XML declaration with no event after it")
            out.append(Rejected(self._at, None, reason))
            self._consume(match.start())
            return True
        self._root = match.start()
        self._scan = 0
        return True

    def _start_tag_end(self, limit: int) -> int | None:
        """The end of the root's start tag (quote-aware: a value may hold `>`), or None."""
        buf = self._buf
        assert self._root is not None
        pos = max(self._scan, self._root + 1)
        quote = self._quote
        while True:
            if quote is not None:
                close = buf.find(quote, pos, limit)
                if close < 0:
                    break
                pos, quote = close + 1, None
                continue
            stop = _TAG_STOP.search(buf, pos, limit)
            if stop is None:
                break
            pos = stop.end()
            if buf[stop.start()] == 0x3E:  # `>`
                return pos
            quote = buf[stop.start()]
        self._scan, self._quote = limit, quote
        return None

    def _finish(self, out: list[RawEvent | Rejected], final: bool) -> bool:
        """Find the end of the current event; False when more data is needed."""
        buf = self._buf
        root = self._root
        assert root is not None
        limit = min(len(buf), MAX_EVENT_BYTES)
        if self._body is None:
            end = self._start_tag_end(limit)
            if end is None:
                return self._short(out)
            if buf[end - 2] == 0x2F:  # `/>`: an event with no content
                self._emit(out, end)
                return True
            self._body = self._scan = end
        match = _END.search(buf, self._scan, limit)
        if match is None:
            self._scan = max(self._body, limit - _OVERLAP)
            return self._short(out)
        if not match.group().startswith(b"</"):
            uid = _uid_of(buf, root)
            reason = M("an event with no </event> before the next one")
            out.append(Rejected(self._at, uid, reason))
            self._consume(match.start())
            return True
        self._emit(out, match.end())
        return True

    def _short(self, out: list[RawEvent | Rejected]) -> bool:
        """No end in the buffer: too long (rejected, skipped), or wait for more data (at the
        end of the data, close() rejects what is left)."""
        if len(self._buf) < MAX_EVENT_BYTES:
            return False
        uid = _uid_of(self._buf, self._root or 0)
        self._reject(out, TOO_LONG_REASON, uid)
        return True

    def _emit(self, out: list[RawEvent | Rejected], end: int) -> None:
        out.append(RawEvent(self._at, bytes(self._buf[:end])))
        self._consume(end)


def split_events(data: bytes, *, base_offset: int = 0) -> Iterator[RawEvent | Rejected]:
    """The events of a file's bytes, in order, each with its byte offset (plus `base_offset`);
    what is not an event is a `Rejected`. Holds at most about 64 KiB beyond `data`."""
    splitter = EventSplitter(base_offset=base_offset)
    view = memoryview(data)
    for begin in range(0, len(view), MAX_EVENT_BYTES):
        yield from splitter.feed(view[begin : begin + MAX_EVENT_BYTES])
    yield from splitter.close()


# --- parsing --------------------------------------------------------------------------------

_LEADING = re.compile(rb"[ \t\r\n]+")
_DOCTYPE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_DECLARED_ENCODING = re.compile(rb"<\?xml[^>]*?\sencoding\s*=\s*[\"']([^\"']{0,40})[\"']")
_local = threading.local()


def _parser() -> etree.XMLParser:
    """A hardened parser, one per thread (lxml parsers are not shared between threads)."""
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
        _local.parser = parser
    return parser


def _number(value: str | None, what: str, problems: list[str]) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        result = float(value)
    except ValueError:
        result = None
    if result is None or (math.isfinite(result) and not plain_decimal(value)):
        # as in every other format: float() reads `4_0.1` as 40.1
        problems.append(M("{what} is not a number: {value!r}", what=what, value=value[:40]))
        return None
    if not math.isfinite(result):
        problems.append(M("{what} is not a finite number: {value!r}", what=what, value=value[:40]))
        return None
    return result


def _known(value: float | None) -> float | None:
    """None for CoT's "unknown" (9999999)."""
    return None if value is None or value >= UNKNOWN_VALUE else value


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_event(raw: bytes, offset: int = 0) -> CotEvent | Rejected:
    """One event's bytes (a RawEvent's data, a UDP datagram) as a `CotEvent`, or why not.

    Refused before parsing: more than 64 KiB, TAK protocol v1 (protobuf), a DOCTYPE (so no
    entity is ever defined, let alone expanded, and no DTD loaded), a NUL byte or an encoding
    that is not ASCII-compatible (which could hide a DOCTYPE from that check)."""
    data = raw if type(raw) is bytes else bytes(raw)

    def refuse(reason: str) -> Rejected:
        return Rejected(offset, _uid_of(data), reason)

    if len(data) > MAX_EVENT_BYTES:
        return refuse(TOO_LONG_REASON)
    lead = _LEADING.match(data)
    first = lead.end() if lead is not None else 0
    if data[first : first + 1] == b"\xbf":
        return Rejected(offset, None, PROTOBUF_REASON)
    if first == len(data):
        return Rejected(offset, None, M("an empty event"))
    if b"\x00" in data or data[first : first + 2] in (b"\xff\xfe", b"\xfe\xff"):
        return refuse(M("not UTF-8: CoT events are UTF-8 XML"))
    if data.startswith(_BOM, first):
        first += len(_BOM)
    if data[first : first + 1] != b"<":
        return refuse(NOT_COT_REASON)
    declared = _DECLARED_ENCODING.match(data, first)
    if declared is not None:
        encoding = declared.group(1).decode("ascii", "replace").strip().lower()
        if encoding not in _READABLE_ENCODINGS:
            return refuse(M("encoding {encoding!r} is not read: send UTF-8", encoding=encoding))
    if _DOCTYPE.search(data) is not None:
        return refuse(DOCTYPE_REASON)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        error = str(exc).splitlines()[0][:200] if str(exc) else M("malformed XML")
        return refuse(M("malformed XML: {error}", error=error))
    except (ValueError, etree.LxmlError) as exc:  # e.g. unsupported encodings
        return refuse(M("unreadable XML: {error}", error=str(exc)[:200]))
    return _read(root, offset)


_DETAIL_TAGS = frozenset({"contact", "track", "remarks", "__group", "truceline"})


def _read(root: Any, offset: int) -> CotEvent | Rejected:
    if root.tag != "event":
        reason = M("the root element is <{tag}>, not <event>", tag=str(root.tag)[:40])
        return Rejected(offset, None, reason)
    uid = _text(root.get("uid"))
    kind = _text(root.get("type"))
    if uid is None:
        return Rejected(offset, None, M("the event has no uid"))
    if kind is None:
        return Rejected(offset, uid, M("the event has no type"))
    point = detail = None
    for child in root:  # one pass (no comments or PIs: the parser removed them)
        if child.tag == "point":
            point = child if point is None else point
        elif child.tag == "detail":
            detail = child if detail is None else detail
    if point is None:
        return Rejected(offset, uid, M("the event has no <point>"))
    problems: list[str] = []
    get = point.get
    lat = _number(get("lat"), "point lat", problems)
    lon = _number(get("lon"), "point lon", problems)
    hae = _number(get("hae"), "point hae", problems)
    ce = _number(get("ce"), "point ce", problems)
    le = _number(get("le"), "point le", problems)
    if not problems and (lat is None or lon is None):
        problems.append(M("the <point> has no lat/lon"))
    if lat is not None and not -90.0 <= lat <= 90.0:
        problems.append(M("point lat {lat:g} is not between -90 and 90", lat=lat))
    if lon is not None and not -180.0 <= lon <= 180.0:
        problems.append(M("point lon {lon:g} is not between -180 and 180", lon=lon))
    callsign = speed = course = remarks = producer = group = None
    extra: dict[str, str] = {}
    if detail is not None:
        seen: dict[str, Any] = {}
        for child in detail:
            tag = child.tag
            if tag == "link":
                if producer is None and child.get("relation") == "p-p":
                    producer = _text(child.get("uid"))
            elif tag in _DETAIL_TAGS and tag not in seen:
                seen[tag] = child
        if (contact := seen.get("contact")) is not None:
            callsign = _text(contact.get("callsign"))
        if (track := seen.get("track")) is not None:
            speed = _number(track.get("speed"), "track speed", problems)
            course = _number(track.get("course"), "track course", problems)
        if (notes := seen.get("remarks")) is not None:
            remarks = _text("".join(notes.itertext()))
        if (team := seen.get("__group")) is not None:
            group = _text(team.get("name"))
        if (ours := seen.get("truceline")) is not None:
            extra = {str(k): str(v).strip() for k, v in ours.attrib.items() if str(v).strip()}
    if problems:
        return Rejected(offset, uid, problems[0] if len(problems) == 1 else joined(problems))
    assert lat is not None and lon is not None
    return CotEvent(
        offset=offset,
        uid=uid,
        type=kind,
        time=_text(root.get("time")),
        start=_text(root.get("start")),
        stale=_text(root.get("stale")),
        how=_text(root.get("how")),
        lat=lat,
        lon=lon,
        hae=_known(hae),
        ce=_known(ce),
        le=_known(le),
        callsign=callsign,
        speed=speed,
        course=course,
        remarks=remarks,
        producer=producer,
        group=group,
        truceline=extra,
    )


# --- classifying ----------------------------------------------------------------------------


def marker_identity(source: str, uid: str, lat: float, lon: float) -> str:
    """A marker's stable id: sha256 of (source, event uid, point at 1e-7°). The same marker
    re-broadcast at the same point has the same id whatever its time or other content; moved
    to another point it has another."""
    key = "\x1f".join((source, uid, str(e7(lat)), str(e7(lon))))
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def distance_from_null_island_m(lat: float, lon: float) -> float:
    """Great-circle distance from 0°, 0° (haversine, mean Earth radius)."""
    phi, lam = math.radians(lat), math.radians(lon)
    h = math.sin(phi / 2) ** 2 + math.cos(phi) * math.sin(lam / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def no_fix(lat: float, lon: float) -> bool:
    """True for a point within 1 km of 0°, 0°: what a TAK client sends with no location."""
    return (
        abs(lat) < 1 and abs(lon) < 1 and distance_from_null_island_m(lat, lon) <= NO_FIX_RADIUS_M
    )


def _is_marker_type(kind: str) -> bool:
    return kind in ("b-m-p", "u-d-p") or kind.startswith(("b-m-p-", "u-d-p-"))


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def classify(event: CotEvent, *, source_kind: str = SOURCE_KIND) -> Classified:
    """What an event is to truceline: a self-report (position), a marker (observation), no
    fix, or ignored (chat `b-t-f` and every other type)."""
    kind = event.type
    atom = kind.startswith("a-") and len(kind) > 2
    if kind == "b-t-f" or kind.startswith("b-t-f-"):
        return Ignored(event, "chat")
    if not atom and not _is_marker_type(kind):
        return Ignored(event, f"type {kind[:40]!r} is not read")
    if no_fix(event.lat, event.lon):
        return NoFix(event)
    ours = event.truceline
    if atom and event.producer is None:
        position = {
            "unit": event.uid,
            "time": event.when,
            "lat": event.lat,
            "lon": event.lon,
            "actor": ours.get("actor"),
            "speed_mps": event.speed,
            "course_deg": event.course,
            "hae_m": event.hae,
        }
        return SelfReport(event, _present(position))
    source = event.producer or event.uid
    identity = marker_identity(source, event.uid, event.lat, event.lon)
    if "kind" in ours:
        what, subtype = ours["kind"], ours.get("subtype")
    else:
        what, subtype = ("presence" if atom else "other"), ours.get("subtype", kind)
    observation = {
        "id": identity,
        "observed_at": event.when,
        "lat": event.lat,
        "lon": event.lon,
        "uncertainty_m": event.ce,
        "kind": what,
        "subtype": subtype,
        "count": ours.get("count"),
        "actor": ours.get("actor"),
        "source_kind": source_kind,
        "source": source,
        "description": event.remarks,
    }
    return Marker(event, source, identity, _present(observation))


def read_events(data: bytes, *, base_offset: int = 0) -> Iterator[Classified | Rejected]:
    """A file's events split, parsed and classified, in order."""
    for item in split_events(data, base_offset=base_offset):
        if isinstance(item, Rejected):
            yield item
            continue
        event = parse_event(item.data, item.offset)
        yield event if isinstance(event, Rejected) else classify(event)
