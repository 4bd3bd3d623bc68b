"""CSV files of observations or positions (docs/import-formats.md)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from truceline.ingest import csv_observations, csv_positions
from truceline.ingest.base import Chunk, RowError
from truceline.ingest.csvfile import REJECT_COLUMNS
from truceline.ingest.formats import Format

PARSERS = {"observations": csv_observations.parse_file, "positions": csv_positions.parse_file}


def parse(kind: str, path: Path, ctx: Any) -> Iterator[Chunk]:
    chunks: Iterator[Chunk] = PARSERS[kind](path, ctx)
    return chunks


def reread(path: Path, locations: list[str]) -> dict[str, Any]:
    """The rows as written in the file at these locations (`file:line`)."""
    found: dict[str, Any] = {}
    wanted = set(locations)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        line = reader.line_num
        for fields in reader:
            location = f"{path}:{line + 1}"
            line = reader.line_num
            if location in wanted:
                found[location] = fields
    return found


class Rejects:
    """The file's header and its bad rows, each with its line and reason."""

    def __init__(self, target: Path, read: Path) -> None:
        self.count = 0
        with read.open(encoding="utf-8-sig", newline="") as handle:
            self._header = [h.strip() for h in next(csv.reader(handle), [])]
        self._file: TextIO = target.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow([*self._header, *REJECT_COLUMNS])

    def write(self, error: RowError) -> None:
        self.count += 1
        line = error.location.rsplit(":", 1)[-1]
        reason = "; ".join(f"{c}: {m}" if c else m for c, m in error.problems)
        self._writer.writerow([*(error.raw or []), line, reason])

    def close(self) -> None:
        self._file.close()


FORMAT = Format(
    name="csv", suffixes=(".csv",), kinds=("observations", "positions"), parse=parse,
    reread=reread, rejects=Rejects, parallel=True,
)  # fmt: skip
