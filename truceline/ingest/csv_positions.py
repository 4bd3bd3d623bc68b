"""Positions (tracks) from CSV: `unit, time, lat, lon` and optional `actor, speed_mps,
course_deg, hae_m`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from truceline.domain import positions as pos
from truceline.domain.records import Problems
from truceline.ingest.base import Chunk, FileProblem, RowError, TextSource
from truceline.ingest.csvfile import csv_chunks


def parse(source: TextSource, ctx: pos.Context) -> Iterator[Chunk]:
    header, chunks = csv_chunks(source, pos.COLUMNS)
    missing = [c for c in pos.REQUIRED if c not in header]
    if missing:
        raise FileProblem(f"{source.name}:1: header: missing column(s): {', '.join(missing)}")
    width = len(header)
    for lines in chunks:
        chunk = Chunk([])
        for line, fields in lines:
            location = f"{source.name}:{line}"
            if len(fields) != width:
                problems = Problems()
                problems.add("", f"{len(fields)} fields, but the header has {width}")
                chunk.errors.append(RowError(location, problems, fields))
                continue
            record, problems = pos.build_position(dict(zip(header, fields, strict=True)), ctx)
            if record is None:
                chunk.errors.append(RowError(location, problems, fields))
            else:
                chunk.rows.append(record.stored())
                chunk.locations.append(location)
        chunk.bytes_read = source.bytes_read
        yield chunk


def parse_file(path: Path, ctx: pos.Context) -> Iterator[Chunk]:
    source = TextSource(path)
    try:
        yield from parse(source, ctx)
    finally:
        source.close()
