"""CoT's fast path: a feed's plain events read at C speed, with the full reader's result.

Nearly every event a TAK client sends is plain: a friendly device's own position, or a marker
it placed, with ordinary values. For such an event the fast path reads from lxml's tree only
what the records need, and checks a batch's numbers and times column by column (C speed)
instead of one value at a time; the records are made as the builders make them. It takes an
event only when it is sure of it:

- the event is parsed by the same hardened lxml parser, and holds no DTD, comment or CDATA
  (`<!`), so its tree is the one the full reader reads;
- it is a friendly self-report of an undeclared unit (a position of the feed's contingent) or
  an atom marker (an observation), with no `<truceline/>` detail, not one of ours sent back;
- every value is one the record builders take as it is (plain decimal numbers within their
  ranges, a time with an offset within the feed's window, no formula, away from 0°, 0°).

Anything else, and every event of a group whose columns the fast check cannot vouch for, is
left to the full path (`None`), which names every problem exactly. Tests (hypothesis) check
that a batch prepared with the fast path equals the batch prepared event by event.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from typing import Any, NamedTuple, cast

import numpy as np
import orjson
from lxml import etree

from truceline.domain import limits
from truceline.domain import observations as obs
from truceline.domain import positions as pos
from truceline.domain.records import LAST_US, MAX_WORD
from truceline.ingest import cot, csv_observations
from truceline.ingest.cot_writer import UID_PREFIX

_RISKY_FIRST = frozenset("=@+-")  # a value starting so might be a formula: the full path's
_DECIMAL_CHARS = frozenset("0123456789.+-eE")
_UNKNOWN = cot.UNKNOWN_VALUE


# What the fast path read of one plain event (texts as `cot.parse_event` keeps them): a plain
# tuple, in `Columns` order (made at C speed; a batch's are turned into columns in one step).
Plain = tuple[str, str, str, str, str, str | None, str | None, str | None, str | None,
              str | None, str | None, str | None, str | None]  # fmt: skip


class Columns(NamedTuple):
    """A batch's plain events, field by field (each a tuple, one value per event)."""

    uid: tuple[str, ...]
    type: tuple[str, ...]
    when: tuple[str, ...]
    lat: tuple[str, ...]
    lon: tuple[str, ...]
    hae: tuple[str | None, ...]
    ce: tuple[str | None, ...]
    le: tuple[str | None, ...]
    speed: tuple[str | None, ...]
    course: tuple[str | None, ...]
    callsign: tuple[str | None, ...]
    remarks: tuple[str | None, ...]
    producer: tuple[str | None, ...]


_text = cot._text


def read_plain(data: bytes) -> Plain | None:
    """One event as the fast path reads it (the same hardened lxml parser, the tree read as
    `cot._read` reads it), or None when it is not a plain self-report or marker: the full
    reader's, which then names what is wrong with it."""
    if len(data) > cot.MAX_EVENT_BYTES or data[:1] != b"<" or b"<!" in data or b"\x00" in data:
        return None  # (a DOCTYPE, comments, CDATA, UTF-16, protobuf: the full reader's)
    if not data.startswith(_ATAK_DECLARATION):  # (what every ATAK and WinTAK event begins with)
        declared = cot._DECLARED_ENCODING.match(data)
        if declared is not None and declared.group(1).strip().lower() not in _READABLE:
            return None
    try:
        root = etree.fromstring(data, cot._parser())
    except (ValueError, etree.LxmlError):
        return None
    if root.tag != "event":
        return None
    get = root.get
    uid, kind = _text(get("uid")), _text(get("type"))
    if uid is None or kind is None or not kind.startswith("a-") or len(kind) <= 2:
        return None  # (an atom: a self-report or a marker)
    if uid.startswith(UID_PREFIX):
        return None  # perhaps one of ours sent back
    when = _text(get("time")) or _text(get("start"))
    point = detail = None
    if len(root) == 2:  # what TAK clients send: <point/> then <detail>, read by index (C speed)
        point, detail = root[0], root[1]
        if point.tag != "point" or detail.tag != "detail":
            point = detail = None
    if point is None:
        for child in root.iterchildren("point", "detail"):  # the first of each
            if child.tag == "point":
                point = child if point is None else point
            elif detail is None:
                detail = child
    if when is None or point is None:
        return None
    at = point.get
    lat, lon = at("lat"), at("lon")  # (numbers as given: `_numbers` reads them as `_number`)
    if lat is None or lon is None:
        return None
    callsign = speed = course = remarks = producer = None
    if detail is not None:
        # every child, its tag compared here (lxml's filter by several tags costs more); the
        # first of each detail counts, as in `cot._read`
        contact = track = remark = False
        for child in detail:
            tag = child.tag
            if tag == "link":
                if producer is None and child.get("relation") == "p-p":
                    producer = _text(child.get("uid"))
            elif tag == "contact":
                if not contact:
                    contact = True
                    callsign = _text(child.get("callsign"))
            elif tag == "track":
                if not track:
                    track = True
                    speed, course = child.get("speed"), child.get("course")
            elif tag == "remarks":
                if not remark:
                    remark = True
                    remarks = _text("".join(cast(Iterator[str], child.itertext())))
            elif tag == "truceline":  # kinds, actors, ours sent back: the full reader's
                return None
    if producer is None and kind[2:4] not in ("f", "f-"):
        return None  # a non-friendly self-report: an observation, the full reader's
    return (
        uid, kind, when, lat, lon, at("hae"), at("ce"), at("le"), speed,
        course, callsign, remarks, producer,
    )  # fmt: skip


_READABLE = frozenset(e.encode() for e in cot._READABLE_ENCODINGS)
_ATAK_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


# --- a batch's columns ----------------------------------------------------------------------


def _numbers(texts: Sequence[str | None], ok: np.ndarray) -> np.ndarray:
    """The texts as floats (NaN for none), clearing `ok` where one is not a plain decimal
    number or not finite: exactly what `cot._number` refuses, among the events still `ok`."""
    values = np.full(len(texts), np.nan)
    present = [i for i, v in enumerate(texts) if v is not None]
    if not present:
        return values
    given = cast(list[str], [texts[i] for i in present])
    # the values holding a character other than a plain decimal number's, found in one pass
    # over them all (C speed); only those are read one by one, as `cot._number` reads them
    joined = ",".join(given)
    odd: list[int] = []
    if joined.encode().translate(None, _DECIMAL_OR_COMMA):  # (what is left is not decimal)
        ends = np.cumsum([len(v) + 1 for v in given])
        places = [m.start() for m in _NOT_DECIMAL.finditer(joined)]
        odd = sorted(set(np.searchsorted(ends, places, side="right").tolist()))
    found = np.full(len(given), np.nan)
    try:
        if not odd:
            found[:] = list(map(float, given))
        else:
            others = sorted(set(range(len(given))).difference(odd))
            found[others] = [float(given[k]) for k in others]
    except ValueError:  # e.g. "1e", "+", "1.2.3": which, found one by one
        odd = list(range(len(given)))
    for k in odd:  # (one left NaN is refused below, unless blank)
        value = given[k].strip()
        if value and _DECIMAL_CHARS.issuperset(value):
            with contextlib.suppress(ValueError):
                found[k] = float(value)
    where = np.asarray(present)
    values[where] = found
    ok[where[~np.isfinite(found) & ~_blank(given, odd)]] = False  # (an infinity too)
    return values


_NOT_DECIMAL = re.compile(r"[^0-9.+\-eE,]")
_DECIMAL_OR_COMMA = b"0123456789.+-eE,"


def _blank(given: list[str], odd: list[int]) -> np.ndarray:
    """Where a value is blank (white space only: not given, so not refused)."""
    blank = np.zeros(len(given), dtype=bool)
    for k in odd:
        if not given[k].strip():
            blank[k] = True
    return blank


def _moments(texts: Sequence[str], ok: np.ndarray, window: tuple[int, int] | None) -> np.ndarray:
    """Microseconds since the epoch of ISO times with an offset (as `records.moment`),
    clearing `ok` where one is not such a time, or outside 1970-2099 or the window."""
    seconds = np.zeros(len(texts))
    for i, value in enumerate(texts):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            ok[i] = False
            continue
        if moment.tzinfo is None:
            ok[i] = False
            continue
        seconds[i] = moment.timestamp()
    us = np.rint(seconds * 1_000_000).astype(np.int64)
    low, high = (0, LAST_US - 1) if window is None else window
    ok &= (us >= max(0, low)) & (us <= min(LAST_US - 1, high))
    return us


def _words(texts: Sequence[str | None], ok: np.ndarray, limit: int = MAX_WORD) -> None:
    """Clear `ok` where a text is too long or starts like a formula (it might be one)."""
    for i, value in enumerate(texts):
        if value is not None and (len(value) > limit or value[0] in _RISKY_FIRST):
            ok[i] = False


@dataclass(frozen=True, slots=True)
class FastContext:
    """What a batch is read against: the mission's declared units (their events are the full
    path's), the feed's contingent and what its observations are checked against, and the
    window of event times it takes (microseconds, inclusive; None: 1970-2099)."""

    declared: frozenset[str]
    reporter: str
    observations: obs.Context
    window: tuple[int, int] | None = None


Ready = tuple[str, tuple[Any, ...], str]  # (kind, stored row: uid and fields, its hash)


def read_batch(datas: Sequence[bytes | None], ctx: FastContext) -> list[Ready | None]:
    """Each event's record ready to store (kind, stored row, its hash) where the fast path
    is sure of it, else None (the full path's); a None in `datas` is not an event for it."""
    out: list[Ready | None] = [None] * len(datas)
    plains: list[Plain] = []
    where: list[int] = []
    for i, data in enumerate(datas):
        plain = None if data is None else read_plain(data)
        if plain is not None and plain[0] not in ctx.declared:
            plains.append(plain)
            where.append(i)
    if not plains:
        return out
    ok = np.ones(len(plains), dtype=bool)
    cols = Columns(*zip(*plains, strict=True))
    lat = _numbers(cols.lat, ok)
    lon = _numbers(cols.lon, ok)
    hae = _known(_numbers(cols.hae, ok))
    ce = _known(_numbers(cols.ce, ok))
    _numbers(cols.le, ok)
    speed = _numbers(cols.speed, ok)
    course = _numbers(cols.course, ok)
    us = _moments(cols.when, ok, ctx.window)
    _words(cols.uid, ok)
    marker = np.array([p is not None for p in cols.producer], dtype=bool)
    with np.errstate(invalid="ignore"):  # (NaN: a value not given, which is in range)
        ok &= (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        ok &= ~((np.abs(lat) < 1) & (np.abs(lon) < 1))  # perhaps no fix: the full path's
        fix = ~marker & ~(speed < 0) & ~(speed > pos.MAX_SPEED_MPS)
        fix &= ~(course < 0) & ~(course > 360)
        fix &= ~(hae < pos.HAE_RANGE_M[0]) & ~(hae > pos.HAE_RANGE_M[1])
        seen = marker & ~(ce < 0) & ~(ce > obs.MAX_UNCERTAINTY_M)
    e7 = _E7(np.rint(np.where(ok, lat, 0.0) * 1e7).astype(np.int64).tolist(),
             np.rint(np.where(ok, lon, 0.0) * 1e7).astype(np.int64).tolist())  # fmt: skip
    _positions(cols, where, np.flatnonzero(ok & fix).tolist(), us, e7, speed, course, hae,
               ctx, out)  # fmt: skip
    chosen = np.flatnonzero(ok & seen).tolist()
    certain = ~np.isnan(ce)  # the observations' columns take uncertainties all or none
    for group in ([k for k in chosen if certain[k]], [k for k in chosen if not certain[k]]):
        _markers(cols, where, group, lat, lon, ce, ctx, out)
    return out


@dataclass(frozen=True, slots=True)
class _E7:
    lat: list[int]
    lon: list[int]


def _known(values: np.ndarray) -> np.ndarray:
    """NaN for CoT's "unknown" (9999999), as `cot._known` reads it."""
    return np.where(values >= _UNKNOWN, np.nan, values)


def _value(number: float) -> float | None:
    return None if number != number else number


def _positions(
    cols: Columns, where: list[int], chosen: list[int], us: np.ndarray, e7: _E7,
    speed: np.ndarray, course: np.ndarray, hae: np.ndarray, ctx: FastContext,
    out: list[Ready | None],
) -> None:  # fmt: skip
    """Self-reports of undeclared friendly units: positions of the feed's contingent."""
    if not chosen:
        return
    fit = np.ones(len(cols.uid), dtype=bool)
    _words(cols.callsign, fit, limits.NAME_MAX)  # else the full path drops it
    chosen = [k for k in chosen if fit[k]]
    if not chosen:
        return
    # column by column: values (None where not given) and their texts as the hash takes them
    values = [_nullable(column[chosen]) for column in (speed, course, hae)]
    texts = [[None if v is None else repr(v) for v in column] for column in values]
    units = [cols.uid[k] for k in chosen]
    names = [cols.callsign[k] for k in chosen]
    times, lats, lons = (
        us[chosen].tolist(),
        [e7.lat[k] for k in chosen],
        [e7.lon[k] for k in chosen],
    )
    reporter, dumps = ctx.reporter, orjson.dumps
    # each hash as `positions.row_hash` makes it (floats as their shortest text; a fix without
    # a name as the eight fields before names were kept)
    hashes = [
        sha256(dumps((unit, when, a, b, reporter, s_, c_, h_) if name is None
                     else (unit, when, a, b, reporter, s_, c_, h_, name))).hexdigest()
        for unit, when, a, b, s_, c_, h_, name in zip(
            units, times, lats, lons, *texts, names, strict=True)
    ]  # fmt: skip
    actors = [reporter] * len(chosen)
    rows = zip(hashes, units, times, lats, lons, actors, *values, names, strict=True)
    for k, digest, row in zip(chosen, hashes, rows, strict=True):
        out[where[k]] = ("positions", row, digest)


def _nullable(values: np.ndarray) -> list[float | None]:
    """The floats, None where NaN (not given)."""
    nullable: list[float | None] = values.tolist()
    for i in np.flatnonzero(np.isnan(values)).tolist():
        nullable[i] = None
    return nullable


_MARKER_HEADER = [
    "id", "observed_at", "lat", "lon", "uncertainty_m", "kind", "subtype", "source_kind",
    "source", "description", "reporter",
]  # fmt: skip


def _markers(
    cols: Columns, where: list[int], chosen: list[int], lat: np.ndarray, lon: np.ndarray,
    ce: np.ndarray, ctx: FastContext, out: list[Ready | None],
) -> None:  # fmt: skip
    """Atom markers: `presence` observations reported by the feed's contingent, checked by
    the observations' own columnar path (which vouches for all of them or for none)."""
    if not chosen:
        return
    n = len(chosen)
    lats, lons, ces = lat[chosen].tolist(), lon[chosen].tolist(), ce[chosen].tolist()
    producers = [cols.producer[k] or "" for k in chosen]
    ids = [
        cot.marker_identity(producer, cols.uid[k], a, b)
        for producer, k, a, b in zip(producers, chosen, lats, lons, strict=True)
    ]
    table = [
        ids, [cols.when[k] for k in chosen], list(map(repr, lats)), list(map(repr, lons)),
        ["" if c != c else repr(c) for c in ces], ["presence"] * n, [cols.type[k] for k in chosen],
        [cot.SOURCE_KIND] * n, producers,
        [cols.remarks[k] or "" for k in chosen], [ctx.reporter] * n,
    ]  # fmt: skip
    built = csv_observations.fast_rows(_MARKER_HEADER, table, ctx.observations)
    if built is None:
        return  # something its columns cannot vouch for: each by the full path
    columns, hashes = built
    for row, digest, k in zip(zip(*columns, strict=True), hashes, chosen, strict=True):
        out[where[k]] = ("observations", row, digest)
