"""Reading CSV: header checks, rows with their line numbers, readable errors."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterator
from typing import Any

from truceline.domain.records import Problems
from truceline.i18n.message import M, Mn, joined
from truceline.ingest.base import CHUNK_ROWS, Chunk, FileProblem, RowError, TextSource

BLOCK_CHARS = 1 << 20

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
        raise source.decode_problem(exc) from None
    except csv.Error as exc:
        raise FileProblem(
            M("{file}:1: unreadable header: {error}", file=source.name, error=str(exc))
        ) from None
    if header is None or not any(h.strip() for h in header):
        raise FileProblem(
            M(
                "{file}:1: no header row (expected columns such as {columns})",
                file=source.name,
                columns=", ".join(known[:4]),
            )
        )
    names = [h.strip() for h in header]
    problems = []
    seen: set[str] = set()
    for name in names:
        if not name:
            problems.append(M("an empty column name"))
        elif name in seen:
            problems.append(M("column {name!r} appears twice", name=name))
        elif name not in known and name not in REJECT_COLUMNS:
            problems.append(M("unknown column {name!r}", name=name))
        seen.add(name)
    if problems:
        raise FileProblem(
            M(
                "{file}:1: header: {problems} (known columns: {columns})",
                file=source.name,
                problems=joined(problems, "; "),
                columns=", ".join(known),
            )
        )
    return names


class Rows:
    """A chunk of data rows with the line each starts on, as records or as columns."""

    def __init__(
        self,
        lines: list[int],
        records: list[list[str]] | None = None,
        columns: list[list[str]] | None = None,
        longest: int | None = None,
    ) -> None:
        self.lines = lines
        self._records = records
        self._columns = columns
        self.longest = longest  # no field is longer than this (when known)

    @property
    def records(self) -> list[list[str]]:
        if self._records is None:
            assert self._columns is not None
            self._records = [list(r) for r in zip(*self._columns, strict=True)]
        return self._records

    def columns(self, width: int) -> list[list[str]] | None:
        """The columns, when every record has `width` fields; else None."""
        if self._columns is None:
            if not all(len(r) == width for r in self.records):
                return None
            self._columns = [list(c) for c in zip(*self.records, strict=True)]
        return self._columns if len(self._columns) == width else None


def csv_chunks(source: TextSource, known: tuple[str, ...]) -> tuple[list[str], Iterator[Rows]]:
    """The header and chunks of the data rows.

    Blank lines are skipped; a quoted field may span lines, so a record's number is the line
    it starts on. Blocks of text without any quote character are split directly (for such text
    that is exactly what CSV means); from the first quote on, the csv module reads the rest.
    """
    reader = csv.reader(source.text, strict=True)
    header = read_header(source, reader, known)
    return header, _records(source, reader.line_num, len(header))


def _split(lines: list[str], first: int, width: int) -> Rows:
    """Quote-free lines (none blank) split at commas; straight into columns when all have
    `width` fields (one split of the joined text, then strided slices)."""
    numbers = list(range(first, first + len(lines)))
    commas = width - 1
    if all(line.count(",") == commas for line in lines):
        flat = ",".join(lines).split(",")
        longest = max(map(len, lines))  # no field is longer than its line
        return Rows(numbers, columns=[flat[i::width] for i in range(width)], longest=longest)
    return Rows(numbers, records=[line.split(",") for line in lines])


def _records(source: TextSource, done: int, width: int) -> Iterator[Rows]:
    text = source.text
    while True:
        try:
            block = text.read(BLOCK_CHARS)
            if block and not block.endswith("\n"):
                block += text.readline()
        except UnicodeDecodeError as exc:
            raise source.decode_problem(exc) from None
        if not block:
            return
        if '"' in block or block.count("\r") != block.count("\r\n"):
            rest = itertools.chain(io.StringIO(block, newline=""), text)
            yield from _csv_records(source, csv.reader(rest, strict=True), done)
            return
        lines = block.split("\n")
        lines.pop()  # the block ends with a line end
        if "\r" in block:  # every \r here ends a line (part of a \r\n)
            lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        for start in range(0, len(lines), CHUNK_ROWS):
            part = lines[start : start + CHUNK_ROWS]
            first = done + start + 1
            if all(part):
                yield _split(part, first, width)
            else:  # drop blank lines
                kept = [(first + k, line) for k, line in enumerate(part) if line]
                rows = [line.split(",") for _, line in kept]
                yield Rows([n for n, _ in kept], records=rows)
        done += len(lines)


def _csv_records(source: TextSource, reader: Iterator[list[str]], done: int) -> Iterator[Rows]:
    """Records read by the csv module; `done` lines came before the reader's first."""
    previous_end = 0
    while True:
        ends: list[int] = []
        records: list[list[str]] = []
        try:
            for fields in itertools.islice(reader, CHUNK_ROWS):
                ends.append(reader.line_num)  # type: ignore[attr-defined]
                records.append(fields)
        except UnicodeDecodeError as exc:
            raise source.decode_problem(exc) from None
        except csv.Error as exc:
            line = done + (ends[-1] if ends else previous_end) + 1
            raise FileProblem(
                M(
                    "{file}:{line}: unreadable CSV: {error}",
                    file=source.name,
                    line=line,
                    error=str(exc),
                )
            ) from None
        if not records:
            return
        starts = [done + previous_end + 1, *(done + end + 1 for end in ends[:-1])]
        previous_end = ends[-1]
        if all(records):
            yield Rows(starts, records=records)
        else:  # drop blank lines
            kept = [(line, r) for line, r in zip(starts, records, strict=True) if r]
            yield Rows([line for line, _ in kept], records=[r for _, r in kept])


def build_rows(
    ref_format: str,
    header: list[str],
    lines: list[int],
    records: list[list[str]],
    build: Callable[[dict[str, str], Any], tuple[Any, Problems]],
    ctx: Any,
) -> Chunk:
    """The per-record builder over a chunk of CSV records: every bad record named exactly."""
    chunk = Chunk(ref_format=ref_format)
    width = len(header)
    for line, fields in zip(lines, records, strict=True):
        if len(fields) != width:
            problems = Problems()
            problems.add(
                "",
                Mn(
                    "{n} fields, but the header has {width}",
                    "{n} fields, but the header has {width}",
                    len(fields),
                    width=width,
                ),
            )
            chunk.errors.append(RowError(ref_format.format(line), problems, fields))
            continue
        record, problems = build(dict(zip(header, fields, strict=True)), ctx)
        if record is None:
            chunk.errors.append(RowError(ref_format.format(line), problems, fields))
        else:
            chunk.add(record, line)
    return chunk
