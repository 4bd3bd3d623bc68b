"""Positions (tracks) from CSV: `unit, time, lat, lon` and optional `actor, speed_mps,
course_deg, hae_m`."""

from __future__ import annotations

import functools
from collections.abc import Iterator

from truceline.domain import positions as pos
from truceline.i18n.message import M
from truceline.ingest.base import Chunk, FileProblem, TextSource, read_file
from truceline.ingest.csvfile import build_rows, csv_chunks


def parse(source: TextSource, ctx: pos.Context) -> Iterator[Chunk]:
    header, chunks = csv_chunks(source, pos.COLUMNS)
    missing = [c for c in pos.REQUIRED if c not in header]
    if missing:
        raise FileProblem(
            M(
                "{file}:1: header: missing column(s): {columns}",
                file=source.name,
                columns=", ".join(missing),
            )
        )
    ref_format = f"{source.name}:{{}}"
    for rows in chunks:
        chunk = build_rows(ref_format, header, rows.lines, rows.records, pos.build_position, ctx)
        chunk.bytes_read = source.bytes_read
        yield chunk


# The parser of a file by its path (a picklable function, for the worker process).
parse_file = functools.partial(read_file, parse)
