"""Reading CSV: header checks, rows with their line numbers, readable errors."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from truceline.ingest.base import CHUNK_ROWS, FileProblem, TextSource

# Field size: a 10 MB description is read and then rejected by the row check with its size,
# so the answer names the column; beyond this limit the file is refused as unreadable.
FIELD_LIMIT = 64 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))

# Columns a reject file adds; importing a corrected reject file ignores them.
REJECT_COLUMNS = ("reject_line", "reject_reason")


def read_header(
    source: TextSource, reader: Iterator[list[str]], known: tuple[str, ...]
) -> list[str]:
    try:
        header = next(reader, None)
    except UnicodeDecodeError as exc:
        raise source.decode_problem(exc, 1) from None
    except csv.Error as exc:
        raise FileProblem(f"{source.name}:1: unreadable header: {exc}") from None
    if header is None or not any(h.strip() for h in header):
        raise FileProblem(
            f"{source.name}:1: no header row (expected columns such as {', '.join(known[:4])})"
        )
    names = [h.strip() for h in header]
    problems = []
    seen: set[str] = set()
    for name in names:
        if not name:
            problems.append("an empty column name")
        elif name in seen:
            problems.append(f"column {name!r} appears twice")
        elif name not in known and name not in REJECT_COLUMNS:
            problems.append(f"unknown column {name!r}")
        seen.add(name)
    if problems:
        raise FileProblem(
            f"{source.name}:1: header: {'; '.join(problems)} (known columns: {', '.join(known)})"
        )
    return names


def csv_chunks(
    source: TextSource, known: tuple[str, ...]
) -> tuple[list[str], Iterator[list[tuple[int, list[str]]]]]:
    """The header and chunks of (line number, fields) for the data rows; blank lines skipped."""
    reader = csv.reader(source.text, strict=True)
    header = read_header(source, reader, known)

    def rows() -> Iterator[list[tuple[int, list[str]]]]:
        line = reader.line_num
        batch: list[tuple[int, list[str]]] = []
        while True:
            start = line + 1
            try:
                fields = next(reader, None)
            except UnicodeDecodeError as exc:
                raise source.decode_problem(exc, start) from None
            except csv.Error as exc:
                raise FileProblem(f"{source.name}:{start}: unreadable CSV: {exc}") from None
            if fields is None:
                break
            line = reader.line_num
            if not fields:
                continue
            batch.append((start, fields))
            if len(batch) >= CHUNK_ROWS:
                yield batch
                batch = []
        if batch:
            yield batch

    return header, rows()


def open_csv(path: Path) -> TextSource:
    return TextSource(path)
