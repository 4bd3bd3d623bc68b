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
    ref_format = f"{source.name}:{{}}"
    for rows in chunks:
        chunk = Chunk(ref_format=ref_format)
        for line, fields in zip(rows.lines, rows.records, strict=True):
            if len(fields) != width:
                problems = Problems()
                problems.add("", f"{len(fields)} fields, but the header has {width}")
                chunk.errors.append(RowError(ref_format.format(line), problems, fields))
                continue
            record, problems = pos.build_position(dict(zip(header, fields, strict=True)), ctx)
            if record is None:
                chunk.errors.append(RowError(ref_format.format(line), problems, fields))
            else:
                chunk.add(record, line)
        chunk.bytes_read = source.bytes_read
        yield chunk


def parse_file(path: Path, ctx: pos.Context) -> Iterator[Chunk]:
    source = TextSource(path)
    try:
        yield from parse(source, ctx)
    finally:
        source.close()
