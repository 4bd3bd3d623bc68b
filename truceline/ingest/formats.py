"""Input formats are plugins: each is one module with a `FORMAT` (its name, file suffixes, the
kinds of record it holds, how it parses, how it re-reads a record and writes a rejected one
back), registered in the one table below. `services/ingest.py` knows no format by name:
adding a format is one module and one line here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from truceline.errors import FieldError
from truceline.ingest.base import Chunk, RowError


class RejectWriter(Protocol):
    """Where a format writes its rejected records, in its own form, ready to be fixed and
    imported again."""

    count: int

    def write(self, error: RowError) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Format:
    name: str  # as `--format` names it and batches record it
    suffixes: tuple[str, ...]  # the file names it is told by (lower case, with the dot)
    kinds: tuple[str, ...]  # the kinds of record it holds: observations, positions
    parse: Callable[[str, Path, Any], Iterator[Chunk]]  # (kind, file, context) → chunks
    reread: Callable[[Path, list[str]], dict[str, Any]]  # the records at these locations
    rejects: Callable[[Path, Path], RejectWriter]  # (reject file, the file read) → writer
    parallel: bool = False  # a large file may be parsed in a second process

    def parser(self, kind: str) -> Callable[[Path, Any], Iterator[Chunk]]:
        """(file, context) → chunks: a partial of a module's function, so that a worker
        process can be handed it."""
        return functools.partial(self.parse, kind)


def _registered() -> dict[str, Format]:
    from truceline.ingest import csv_format, geojson_format

    return {f.name: f for f in (csv_format.FORMAT, geojson_format.FORMAT)}


FORMATS: dict[str, Format] = _registered()


def format_for(path: Path, kind: str, given: str | None = None) -> Format:
    """The format named (`given`), else the one the file's suffix tells; it must hold `kind`."""
    holding = [f for f in FORMATS.values() if kind in f.kinds]
    names = ", ".join(f.name for f in holding)
    if given is not None:
        found = FORMATS.get(given)
        if found is None or kind not in found.kinds:
            raise FieldError("format", f"{given!r} is not a format of {kind} ({names})")
        return found
    suffix = path.suffix.lower()
    for candidate in holding:
        if suffix in candidate.suffixes:
            return candidate
    raise FieldError(
        "format", f"{path}: cannot tell the format of {kind} from {path.suffix!r} ({names})"
    )
