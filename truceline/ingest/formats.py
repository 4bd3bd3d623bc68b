"""Input formats are plugins: each is one module with a `FORMAT` (its name, file suffixes, the
kinds of record it holds, how it parses, how it re-reads a record and writes a rejected one
back), registered in the one table below. `services/ingest.py` knows no format by name:
adding a format is one module and one line here.
"""

from __future__ import annotations

import functools
import importlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from truceline.errors import FieldError
from truceline.i18n.message import M
from truceline.ingest.base import Chunk, RowError


class RejectWriter(Protocol):
    """Where a format writes its rejected records, in its own form, ready to be fixed and
    imported again."""

    count: int

    def write(self, error: RowError) -> None: ...

    def close(self) -> None: ...


@dataclass
class Split:
    """What a file holding several kinds of record (a TAK capture: positions and
    observations) holds, by kind: each record as a dict of the kind's CSV fields, with its
    label (where it is); the file's bad records; and counts of what was read but is not
    stored (no fix, ignored)."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    labels: dict[str, list[str]] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, record: dict[str, Any], label: str) -> None:
        self.records.setdefault(kind, []).append(record)
        self.labels.setdefault(kind, []).append(label)

    def __len__(self) -> int:
        return (
            sum(len(v) for v in self.records.values())
            + len(self.errors)
            + sum(self.counts.values())
        )


@dataclass(frozen=True)
class SplitContext:
    """What a file of several kinds is split by: the mission, and the feed's contingent (it
    reports what the file holds)."""

    mission: Any  # truceline.mission.Mission
    reporter: str


@dataclass(frozen=True)
class Format:
    name: str  # as `--format` names it and batches record it
    suffixes: tuple[str, ...]  # the file names it is told by (lower case, with the dot)
    kinds: tuple[str, ...]  # the kinds of record it holds: observations, positions
    reread: Callable[[Path, list[str]], dict[str, Any]]  # the records at these locations
    rejects: Callable[[Path, Path], RejectWriter]  # (reject file, the file read) → writer
    # (kind, file, context) → chunks, for a file of one kind
    parse: Callable[[str, Path, Any], Iterator[Chunk]] | None = None
    # file → its records by kind, for a file of several kinds (stored as one batch per kind,
    # all standing or falling together)
    split: Callable[[Path, SplitContext], Split] | None = None
    first_wins: tuple[str, ...] = ()  # kinds whose re-sent records are duplicates, the first
    counted: tuple[str, ...] = ()  # what its reports count beside the kinds (no_fix, ...)
    parallel: bool = False  # a large file may be parsed in a second process

    def parser(self, kind: str) -> Callable[[Path, Any], Iterator[Chunk]]:
        """(file, context) → chunks: a partial of a module's function, so that a worker
        process can be handed it."""
        assert self.parse is not None, f"{self.name} files hold several kinds"
        return functools.partial(self.parse, kind)


# The registered formats: one line each (a module of truceline.ingest with a `FORMAT`).
REGISTERED = ("csv_format", "geojson_format", "cot_format")


class _Registry(Mapping[str, Format]):
    """The formats by name, loaded on first use (a format's module imports this one)."""

    def __init__(self) -> None:
        self._formats: dict[str, Format] | None = None

    def _all(self) -> dict[str, Format]:
        if self._formats is None:
            loaded = [importlib.import_module(f"truceline.ingest.{m}").FORMAT for m in REGISTERED]
            self._formats = {f.name: f for f in loaded}
        return self._formats

    def __getitem__(self, name: str) -> Format:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


FORMATS: Mapping[str, Format] = _Registry()


def format_for(path: Path, kind: str, given: str | None = None) -> Format:
    """The format named (`given`), else the one the file's suffix tells; it must hold `kind`
    alone (a file of several kinds is imported by `ingest_split`)."""
    holding = [f for f in FORMATS.values() if kind in f.kinds and f.parse is not None]
    names = ", ".join(f.name for f in holding)
    if given is not None:
        found = FORMATS.get(given)
        if found is None or kind not in found.kinds:
            raise FieldError(
                "format",
                M(
                    "{given!r} is not a format of {kind} ({names})",
                    given=given,
                    kind=kind,
                    names=names,
                ),
            )
        return found
    suffix = path.suffix.lower()
    for candidate in holding:
        if suffix in candidate.suffixes:
            return candidate
    raise FieldError(
        "format",
        M(
            "{path}: cannot tell the format of {kind} from {suffix!r} ({names})",
            path=path,
            kind=kind,
            suffix=path.suffix,
            names=names,
        ),
    )
