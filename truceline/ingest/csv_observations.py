"""Observations from CSV (spec/formats.md).

Each chunk of rows is first tried on a columnar fast path (a handful of C-speed passes over
each column); when any value there is unusual or wrong, the chunk falls back to the per-row
builder, which names every problem exactly. The fast path only ever accepts what the per-row
builder accepts, with identical results (tests check this with hypothesis).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from truceline.domain import observations as obs
from truceline.domain.records import MAX_TEXT, MAX_WORD, Problems
from truceline.domain.timeutil import EPOCH, ONE_US
from truceline.domain.vocabulary import KINDS, SOURCE_KINDS, SUBTYPES
from truceline.ingest.base import Chunk, FileProblem, RowError, TextSource
from truceline.ingest.csvfile import csv_chunks

FAST_COLUMNS = frozenset(
    {
        "id",
        "observed_at",
        "lat",
        "lon",
        "uncertainty_m",
        "kind",
        "subtype",
        "count",
        "actor",
        "source_kind",
        "source",
        "reporter",
        "description",
    }
)
_RISKY_FIRST = frozenset("=@+-")


def check_header(header: list[str], default_reporter: str | None, name: str) -> None:
    present = set(header)
    missing = []
    if "observed_at" not in present and not {"observed_from", "observed_to"} <= present:
        missing.append("observed_at (or observed_from and observed_to)")
    if not {"lat", "lon"} <= present and not set(obs.OBSERVER_COLUMNS) <= present:
        missing.append("lat and lon (or the observer columns)")
    for column in ("kind", "source_kind", "source"):
        if column not in present:
            missing.append(column)
    if "reporter" not in present and default_reporter is None:
        missing.append("reporter (or give --reporter)")
    if missing:
        raise FileProblem(f"{name}:1: header: missing column(s): {'; '.join(missing)}")


def parse(source: TextSource, ctx: obs.Context) -> Iterator[Chunk]:
    header, chunks = csv_chunks(source, obs.COLUMNS)
    check_header(header, ctx.default_reporter, source.name)
    width = len(header)
    for lines in chunks:
        rows = None
        if all(len(fields) == width for _, fields in lines):
            rows = fast_rows(header, [fields for _, fields in lines], ctx)
        if rows is not None:
            chunk = Chunk(rows, locations=[f"{source.name}:{line}" for line, _ in lines])
        else:
            chunk = slow_chunk(source.name, header, lines, ctx)
        chunk.bytes_read = source.bytes_read
        yield chunk


def slow_chunk(
    name: str, header: list[str], lines: list[tuple[int, list[str]]], ctx: obs.Context
) -> Chunk:
    chunk = Chunk([])
    width = len(header)
    for line, fields in lines:
        if len(fields) != width:
            problems = Problems()
            problems.add("", f"{len(fields)} fields, but the header has {width}")
            chunk.errors.append(RowError(f"{name}:{line}", problems, fields))
            continue
        record, problems = obs.build_observation(dict(zip(header, fields, strict=True)), ctx)
        if record is None:
            chunk.errors.append(RowError(f"{name}:{line}", problems, fields))
        else:
            chunk.rows.append(record.stored())
            chunk.locations.append(f"{name}:{line}")
    return chunk


def _plain_words(column: Sequence[str], required: bool) -> bool:
    """Every value is empty (unless required) or a clean word the per-row builder keeps as is."""
    for value in column:
        if not value:
            if required:
                return False
            continue
        if value[0] in _RISKY_FIRST or value != value.strip() or len(value) > MAX_WORD:
            return False
    return "\x00" not in "".join(column)


def _plain_text(column: Sequence[str]) -> bool:
    for value in column:
        if value and (value[0] in _RISKY_FIRST or not value.strip() or len(value) > MAX_TEXT):
            return False
    return "\x00" not in "".join(column)


def _coordinates(column: Sequence[str], limit: float) -> list[int] | None:
    try:
        values = np.fromiter(map(float, column), dtype=np.float64, count=len(column))
    except ValueError:
        return None
    if not (np.isfinite(values).all() and (np.abs(values) <= limit).all()):
        return None
    result: list[int] = np.rint(values * 1e7).astype(np.int64).tolist()
    return result


def fast_rows(
    header: list[str], table: list[list[str]], ctx: obs.Context
) -> list[tuple[Any, ...]] | None:
    """Stored tuples for a chunk of clean rows, or None to let the per-row builder decide."""
    if not FAST_COLUMNS.issuperset(header):
        return None
    n = len(table)
    columns = dict(zip(header, zip(*table, strict=True), strict=True))
    empty = ("",) * n

    def col(name: str) -> Sequence[str]:
        return columns.get(name, empty)

    kind, subtype, source = col("kind"), col("subtype"), col("source")
    record_id, actor, reporter = col("id"), col("actor"), col("reporter")
    description, source_kind = col("description"), col("source_kind")
    if not (set(kind) <= KINDS and "count" not in kind and set(source_kind) <= SOURCE_KINDS):
        return None
    if not all(_plain_words(c, False) for c in (record_id, subtype, actor, reporter)):
        return None
    if not (_plain_words(source, True) and _plain_text(description)):
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
    for k, s in zip(kind, subtype, strict=True):
        if s and k in SUBTYPES and s not in SUBTYPES[k]:
            return None
    lat = _coordinates(col("lat"), 90)
    lon = _coordinates(col("lon"), 180)
    if lat is None or lon is None:
        return None
    try:
        moments = list(map(datetime.fromisoformat, col("observed_at")))
    except ValueError:
        return None
    if any(m.tzinfo is None for m in moments):
        return None
    times = [(m - EPOCH) // ONE_US for m in moments]
    counts_text = col("count")
    if not all(c == "" or (c.isascii() and c.isdigit() and len(c) <= 18) for c in counts_text):
        return None
    counts = [int(c) if c else 1 for c in counts_text]
    if 0 in counts:
        return None
    uncertainty: list[float | None]
    raw_uncertainty = col("uncertainty_m")
    if not any(raw_uncertainty):
        uncertainty = [None] * n
    elif all(raw_uncertainty):
        try:
            values = list(map(float, raw_uncertainty))
        except ValueError:
            return None
        if not all(0 <= v < float("inf") for v in values):
            return None
        uncertainty = list(values)
    else:
        return None
    none = [None] * n
    rows = zip(
        [i or None for i in record_id],
        times,
        times,
        lat,
        lon,
        uncertainty,
        kind,
        [s or None for s in subtype],
        counts,
        [a or "unknown" for a in actor],
        source_kind,
        source,
        reporter,
        [d or None for d in description],
        none,
        none,
        none,
        none,
        none,
        strict=True,
    )
    out: list[tuple[Any, ...]] = []
    dumps, canonical = orjson.dumps, obs.canonical_row
    has_floats = uncertainty[0] is not None
    for row in rows:
        digest = sha256(canonical(row) if has_floats else dumps(row)).hexdigest()
        uid = digest if row[0] is None else dumps([row[11], row[0]]).decode()
        out.append((uid, digest, *row))
    return out


def parse_file(path: Path, ctx: obs.Context) -> Iterator[Chunk]:
    source = TextSource(path)
    try:
        yield from parse(source, ctx)
    finally:
        source.close()
