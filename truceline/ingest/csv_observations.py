"""Observations from CSV (spec/formats.md).

Each chunk of rows is first tried on a columnar fast path (a handful of C-speed passes over
each column); when any value there is unusual or wrong, the chunk falls back to the per-row
builder, which names every problem exactly. The fast path only ever accepts what the per-row
builder accepts, with identical results (tests check this with hypothesis).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterator, Sequence
from datetime import datetime
from hashlib import sha256
from typing import Any

import numpy as np
import orjson

from truceline.domain import observations as obs
from truceline.domain.records import LAST_US, MAX_TEXT, MAX_WORD, float_text
from truceline.domain.vocabulary import KINDS, SOURCE_KINDS, SUBTYPES
from truceline.i18n.message import M, joined
from truceline.ingest.base import Chunk, FileProblem, TextSource, read_file
from truceline.ingest.csvfile import build_rows, csv_chunks

# Columns the fast path knows; windows and observer-located reports take the per-row path.
FAST_COLUMNS = frozenset(obs.COLUMNS) - {"observed_from", "observed_to", *obs.OBSERVER_COLUMNS}
_RISKY_FIRST = frozenset("=@+-")
# The characters of plain decimal numbers: a column of only these is checked by float(),
# which then accepts exactly the per-row grammar (no white space, `_`, nan, inf or `٣`).
_DECIMAL_CHARS = frozenset("0123456789.+-eE")
_TZINFO = operator.attrgetter("tzinfo")


def check_header(header: list[str], default_reporter: str | None, name: str) -> None:
    present = set(header)
    missing: list[str] = []
    if "observed_at" not in present and not {"observed_from", "observed_to"} <= present:
        missing.append(M("observed_at (or observed_from and observed_to)"))
    if not {"lat", "lon"} <= present and not set(obs.OBSERVER_COLUMNS) <= present:
        missing.append(M("lat and lon (or the observer columns)"))
    for column in ("kind", "source_kind", "source"):
        if column not in present:
            missing.append(column)
    if "reporter" not in present and default_reporter is None:
        missing.append(M("reporter (or name a default reporter)"))
    if missing:
        raise FileProblem(
            M(
                "{file}:1: header: missing column(s): {columns}",
                file=name,
                columns=joined(missing, "; "),
            )
        )


def parse(source: TextSource, ctx: obs.Context) -> Iterator[Chunk]:
    header, chunks = csv_chunks(source, obs.COLUMNS)
    check_header(header, ctx.default_reporter, source.name)
    width = len(header)
    ref_format = f"{source.name}:{{}}"
    for rows in chunks:
        columns = rows.columns(width)
        fast = None if columns is None else fast_rows(header, columns, ctx, rows.longest)
        if fast is not None:
            chunk = Chunk(fast[0], fast[1], refs=rows.lines, ref_format=ref_format)
        else:
            chunk = build_rows(
                ref_format, header, rows.lines, rows.records, obs.build_observation, ctx
            )
        chunk.bytes_read = source.bytes_read
        yield chunk


def _clean(column: Sequence[str]) -> bool:
    """No value starts like a formula, carries surrounding white space, or holds a NUL.

    Every check is one pass in C; a false alarm only sends the chunk to the per-row builder.
    """
    joined = "\n".join(column)
    if "\x00" in joined or not _starts_plain(column):
        return False
    # strip() only removes characters: equal total lengths mean nothing was stripped.
    return sum(map(len, map(str.strip, column))) == len(joined) - len(column) + 1


def _plain_words(column: Sequence[str], required: bool, short: bool = False) -> bool:
    """Every value is empty (unless required) or a clean word the per-row builder keeps as
    is. `short`: every value is known to be within the length limit already."""
    if required and not all(column):
        return False
    return (short or max(map(len, column)) <= MAX_WORD) and _clean(column)


def _plain_text(column: Sequence[str], short: bool = False) -> bool:
    """Free text kept as is: clean, within the limit, and never white space alone."""
    return (
        (short or max(map(len, column)) <= MAX_TEXT)
        and all(map(str.strip, filter(None, column)))
        and "\x00" not in "".join(column)
        and _starts_plain(list(map(str.lstrip, column)))  # a formula after white space
    )


def _starts_plain(column: Sequence[str]) -> bool:
    joined = "\n".join(column)
    return joined[:1] not in _RISKY_FIRST and not any(f"\n{s}" in joined for s in _RISKY_FIRST)


def _decimals(column: Sequence[str]) -> bool:
    """Every value is made of the characters of plain decimal numbers only."""
    return _DECIMAL_CHARS.issuperset("".join(column))


def _coordinates(column: Sequence[str], limit: float) -> list[int] | None:
    if not _decimals(column):
        return None
    try:
        values = np.array(list(map(float, column)), dtype=np.float64)
    except ValueError:
        return None
    if not (np.isfinite(values).all() and (np.abs(values) <= limit).all()):
        return None
    result: list[int] = np.rint(values * 1e7).astype(np.int64).tolist()
    return result


def _json_plain(column: Sequence[str]) -> bool:
    """JSON writes each of these strings as itself between quotes (no escapes needed)."""
    joined = "".join(column)
    return '"' not in joined and "\\" not in joined and joined.isprintable()


def _or(column: Sequence[str], default: str | None) -> Sequence[str | None]:
    """The column with empty cells replaced by `default`, each distinct value one object:
    a repeated value then crosses to the storing process once per chunk, not once per row."""
    canonical: dict[str, str | None] = {value: value or default for value in set(column)}
    return list(map(canonical.__getitem__, column))


def _times(column: Sequence[str]) -> list[int] | None:
    """Microseconds since the epoch, as `records.moment` computes them, or None."""
    try:
        moments = list(map(datetime.fromisoformat, column))
    except ValueError:
        return None
    if None in set(map(_TZINFO, moments)):
        return None
    seconds = np.array(list(map(datetime.timestamp, moments)), dtype=np.float64)
    us = np.rint(seconds * 1_000_000)
    if not (us.min() >= 0 and us.max() < LAST_US):
        return None
    result: list[int] = us.astype(np.int64).tolist()
    return result


def _counts(column: Sequence[str]) -> list[int] | None:
    """Counts of 1 or more (an empty cell is 1), or None."""
    if all(column):
        digits = "".join(column)
        if not (digits.isascii() and digits.isdigit() and max(map(len, column)) <= 18):
            return None
        counts = list(map(int, column))
    else:
        if not all(c == "" or (c.isascii() and c.isdigit() and len(c) <= 18) for c in column):
            return None
        counts = [int(c) if c else 1 for c in column]
    return None if 0 in counts or max(counts) > obs.MAX_COUNT else counts


def fast_rows(
    header: list[str], table: list[list[str]], ctx: obs.Context, longest: int | None = None
) -> tuple[list[list[Any]], list[str]] | None:
    """The stored columns (uid, then the fields) and row hashes of a chunk of clean rows,
    or None to let the per-row builder decide. `table` holds the columns in header order."""
    if not FAST_COLUMNS.issuperset(header):
        return None
    n = len(table[0])
    columns = dict(zip(header, table, strict=True))
    empty = ("",) * n

    def col(name: str) -> Sequence[str]:
        return columns.get(name, empty)

    kind, subtype, source = col("kind"), col("subtype"), col("source")
    record_id, actor, reporter = col("id"), col("actor"), col("reporter")
    description, source_kind = col("description"), col("source_kind")
    if not (set(kind) <= KINDS and "count" not in kind and set(source_kind) <= SOURCE_KINDS):
        return None
    short = longest is not None and longest <= MAX_WORD
    if not all(_plain_words(c, False, short) for c in (record_id, subtype, actor, reporter)):
        return None
    if not (_plain_words(source, True, short) and _plain_text(description, short)):
        return None
    actors = set(actor) - {"", "unknown"}
    if not actors <= ctx.actors:
        return None
    reporters = set(reporter)
    if "" in reporters:
        if ctx.default_reporter is None:
            return None
        reporter = [r or ctx.default_reporter for r in reporter]
        reporters = set(reporter)
    if not reporters <= ctx.contingents:
        return None
    for k, s in set(zip(kind, subtype, strict=True)):
        if s and k in SUBTYPES and s not in SUBTYPES[k]:
            return None
    lat = _coordinates(col("lat"), 90)
    lon = _coordinates(col("lon"), 180)
    if lat is None or lon is None:
        return None
    times = _times(col("observed_at"))
    counts = _counts(col("count"))
    if times is None or counts is None:
        return None
    uncertainty: list[float | None]
    raw_uncertainty = col("uncertainty_m")
    if not any(raw_uncertainty):
        uncertainty = [None] * n
    elif all(raw_uncertainty):
        if not _decimals(raw_uncertainty):
            return None
        try:
            values = list(map(float, raw_uncertainty))
        except ValueError:
            return None
        checked = np.array(values, dtype=np.float64)
        if not ((checked >= 0).all() and (checked <= obs.MAX_UNCERTAINTY_M).all()):
            return None
        uncertainty = list(values)
    else:
        return None
    none = [None] * n
    record_ids = record_id if all(record_id) else [i or None for i in record_id]
    stored: list[Sequence[Any]] = [
        record_ids, times, times, lat, lon, uncertainty, _or(kind, None), _or(subtype, None),
        counts, _or(actor, "unknown"), _or(source_kind, None), _or(source, None),
        _or(reporter, None), _or(description, None), none, none, none, none, none,
    ]  # fmt: skip
    canonical = list(stored)
    if uncertainty[0] is not None:  # canonical JSON writes a float as its shortest text
        canonical[5] = [float_text(v) for v in uncertainty]
    dumps = orjson.dumps
    digests = [sha256(dumps(row)).hexdigest() for row in zip(*canonical, strict=True)]
    if record_ids is record_id and _json_plain(record_id) and _json_plain(source):
        # every record has an id, and JSON writes these strings as they are
        uids = [f'["{src}","{rid}"]' for src, rid in zip(source, record_id, strict=True)]
    else:
        uids = [
            digest if rid is None else dumps([src, rid]).decode()
            for digest, rid, src in zip(digests, record_ids, source, strict=True)
        ]
    return [uids, *stored], digests  # type: ignore[list-item]


# The parser of a file by its path (a picklable function, for the worker process).
parse_file = functools.partial(read_file, parse)
