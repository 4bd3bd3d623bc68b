"""What every importer shares: chunks of records and row errors, and reading text files
so that a binary, empty or non-UTF-8 file gets a clear answer, never a traceback."""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from truceline.domain.records import Problems
from truceline.errors import TrucelineError
from truceline.i18n.message import M

CHUNK_ROWS = 10_000
SNIFF_BYTES = 64 * 1024


class FileProblem(TrucelineError):
    """The file as a whole cannot be read; nothing of it is imported (even with --skip-invalid)."""


@dataclass
class RowError:
    location: str  # `file:line`, `file: features[3]`, ...
    problems: Problems
    raw: Any  # the record as read, for the reject file

    def __str__(self) -> str:
        return self.said(None)

    def said(self, lang: str | None) -> str:
        """The error in `lang` (None: English): where, then each column's problem."""
        from truceline.errors import said_in

        said = (f"{c}: {said_in(m, lang)}" if c else said_in(m, lang) for c, m in self.problems)
        return f"{self.location}: " + "; ".join(said)


@dataclass
class Chunk:
    """Records ready to store, in file order, held column by column (uid, then the fields):
    columns cross between processes at a fraction of the cost of rows."""

    columns: list[list[Any]] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)  # each record's content hash
    errors: list[RowError] = field(default_factory=list)
    bytes_read: int = 0
    refs: list[int] = field(default_factory=list)  # each record's line (or feature index)
    ref_format: str = "{}"  # how a ref reads: "obs.csv:{}", "obs.geojson: features[{}]"

    def __len__(self) -> int:
        return len(self.hashes)

    def add(self, record: Any, ref: int) -> None:
        """A record built by the per-row builder (an Observation or a Position)."""
        values = record.stored()
        if not self.columns:
            self.columns = [[] for _ in values]
        for column, value in zip(self.columns, values, strict=True):
            column.append(value)
        self.hashes.append(record.row_hash)
        self.refs.append(ref)

    def add_rows(self, built: Sequence[tuple[tuple[Any, ...], str]], first_ref: int) -> None:
        """Records built already, each its stored values (uid, then the fields) and hash,
        the first of them the `first_ref`-th (the rest follow it)."""
        if not built:
            return
        rows, hashes = zip(*built, strict=True)
        if not self.columns:
            self.columns = [list(column) for column in zip(*rows, strict=True)]
        else:
            for column, values in zip(self.columns, zip(*rows, strict=True), strict=True):
                column.extend(values)
        self.hashes.extend(hashes)
        self.refs.extend(range(first_ref, first_ref + len(built)))

    def location(self, index: int) -> str:
        return self.ref_format.format(self.refs[index])


class _Counting(io.RawIOBase):
    def __init__(self, raw: io.BufferedReader) -> None:
        self.raw, self.count = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)
        self.count += n or 0
        return n or 0

    def close(self) -> None:
        self.raw.close()
        super().close()


class TextSource:
    """A UTF-8 text file (a BOM is skipped) with a count of the bytes read so far."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        try:
            raw = path.open("rb")
        except FileNotFoundError:
            raise FileProblem(M("{path}: no such file", path=path)) from None
        except IsADirectoryError:
            raise FileProblem(M("{path}: is a folder, not a file", path=path)) from None
        except OSError as exc:
            raise FileProblem(
                M("{path}: cannot open: {reason}", path=path, reason=exc.strerror)
            ) from None
        head = raw.peek(SNIFF_BYTES)[:SNIFF_BYTES]
        if not head:
            raw.close()
            raise FileProblem(M("{path}: the file is empty (expected a header row)", path=path))
        nul = head.find(b"\x00")
        if nul >= 0:
            raw.close()
            kind = (
                M("UTF-16 text")
                if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
                else M("binary")
            )
            raise FileProblem(
                M(
                    "{path}: looks {kind} (NUL byte at offset {offset}); expected UTF-8 text",
                    path=path,
                    kind=kind,
                    offset=nul,
                )
            )
        self.size = path.stat().st_size
        self._counter = _Counting(raw)
        self.text = io.TextIOWrapper(
            io.BufferedReader(self._counter, 1 << 20), encoding="utf-8-sig", newline=""
        )

    @property
    def bytes_read(self) -> int:
        return self._counter.count

    def close(self) -> None:
        self.text.close()

    def decode_problem(self, exc: UnicodeDecodeError) -> FileProblem:
        """Name the line of the first byte that is not UTF-8 (found by scanning the file:
        the text layer decodes ahead in blocks, so its own position says little)."""
        offset, line = first_invalid_utf8(self.path)
        return FileProblem(
            M(
                "{file}:{line}: not UTF-8 text ({reason} at byte {offset}); save the file as UTF-8",
                file=self.name,
                line=line,
                reason=exc.reason,
                offset=offset,
            )
        )


def first_invalid_utf8(path: Path) -> tuple[int, int]:
    """(byte offset, line number) of the first invalid UTF-8 byte in a file."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines = 0, 1
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            pending = len(decoder.getstate()[0])  # bytes of a character split across blocks
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                bad = max(0, exc.start - pending)
                return offset + bad, lines + block[:bad].count(b"\n")
            offset += len(block)
            lines += block.count(b"\n")
    return offset, lines


def read_file(
    parse: Callable[[TextSource, Any], Iterator[Chunk]], path: Path, ctx: Any
) -> Iterator[Chunk]:
    """`parse` over the file at `path`, closing it however the reading ends."""
    source = TextSource(path)
    try:
        yield from parse(source, ctx)
    finally:
        source.close()
