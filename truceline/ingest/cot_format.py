"""Cursor on Target files (as TAK clients send them): one file holds positions (self-reports)
and observations (markers), so it is split, by the mission, into the two kinds, which are
stored as two batches that stand or fall together (services/ingest.py `ingest_split`). A live
feed sorts its events the same way (`EventSorter`), one batch at a time."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, BinaryIO

from truceline.domain import limits, records
from truceline.domain.records import Problems
from truceline.i18n.message import M
from truceline.ingest import cot, cot_writer
from truceline.ingest.base import FileProblem, RowError
from truceline.ingest.formats import Format, Split, SplitContext
from truceline.mission import Mission

NAME = "cot"  # as import batches record it
MAX_FILE_BYTES = 1 << 30
SUFFIXES = (".cot", ".xml")
SOURCE_KIND = cot.SOURCE_KIND


def label(where: str, offset: int, uid: str | None) -> str:
    """How an event is named: where it came from (a file, a client), its byte offset, uid."""
    return f"{where}: byte {offset}" + (f" ({uid[:80]})" if uid else "")


class EventSorter:
    """Sorts classified events into a `Split` by the mission: a self-report of a declared
    unit, or of an undeclared friendly unit (the feed's contingent's, `reporter`), is a
    position, its callsign kept as the unit's name; an undeclared non-friendly one a `presence`
    observation; a marker an observation reported by `reporter`. What truceline itself sent to
    TAK clients (zones, findings) and comes back is ignored, never evidence."""

    def __init__(self, mission: Mission, reporter: str, split: Split | None = None) -> None:
        self.declared = mission.units
        self.reporter = reporter
        self.split = split if split is not None else Split()

    def reject(self, where: str, item: cot.Rejected) -> None:
        problems = Problems()
        problems.add("event", item.reason)
        self.split.errors.append(RowError(label(where, item.offset, item.uid), problems, None))

    def add(self, where: str, item: cot.Classified | cot.Rejected) -> None:
        if isinstance(item, cot.Rejected):
            self.reject(where, item)
            return
        out = self.split
        if cot_writer.is_our_event(item.event):  # a zone or finding sent back to us
            out.counts["ignored"] += 1
            return
        if isinstance(item, cot.NoFix):
            out.counts["no_fix"] += 1
            return
        if isinstance(item, cot.Ignored):
            out.counts["ignored"] += 1
            return
        at = label(where, item.event.offset, item.event.uid)
        if isinstance(item, cot.SelfReport):
            if item.unit in self.declared or item.friendly:
                position = dict(item.position)
                if item.unit not in self.declared:
                    position.setdefault("actor", self.reporter)  # the feed's contingent's own
                if item.callsign and _fit_name(item.callsign):  # else the fix, without it
                    position["name"] = item.callsign
                out.add("positions", position, at)
            else:
                seen = item.as_observation(SOURCE_KIND)
                out.add("observations", {**seen, "reporter": self.reporter}, at)
            return
        marker = {**item.observation, "source_kind": SOURCE_KIND, "reporter": self.reporter}
        out.add("observations", marker, at)


def _fit_name(callsign: str) -> bool:
    """A callsign that can be a unit's name (a device's odd callsign never costs its fixes)."""
    problems = Problems()
    return records.text(callsign, "name", problems, limits.NAME_MAX) is not None and not problems


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise FileProblem(
                M("{path}: larger than {limit:,} bytes", path=path, limit=MAX_FILE_BYTES)
            )
        return path.read_bytes()
    except OSError as exc:
        raise FileProblem(
            M("{path}: cannot read it: {reason}", path=path, reason=exc.strerror)
        ) from None


def split(path: Path, ctx: SplitContext) -> Split:
    """A CoT file's events, sorted by the mission (`EventSorter`)."""
    sorter = EventSorter(ctx.mission, ctx.reporter)
    for item in cot.read_events(_read(path)):
        sorter.add(str(path), item)
    return sorter.split


_OFFSET = re.compile(r": byte (\d+)")


def reread(path: Path, locations: list[str]) -> dict[str, Any]:
    """The bytes of the events at these locations (`file: byte 1234 (uid)`), as written: from
    where each begins to where the next begins."""
    wanted: dict[int, list[str]] = {}
    for location in locations:
        found = _OFFSET.search(location)
        if found is not None:
            wanted.setdefault(int(found.group(1)), []).append(location)
    if not wanted:
        return {}
    data = _read(path)
    starts = sorted({item.offset for item in cot.split_events(data)} | set(wanted))
    out: dict[str, Any] = {}
    for index, start in enumerate(starts):
        if start in wanted:
            end = starts[index + 1] if index + 1 < len(starts) else len(data)
            for location in wanted[start]:
                out[location] = data[start:end]
    return out


def _comment(text: str) -> bytes:
    """Text that is safe inside an XML comment (no `--`, no control characters)."""
    clean = "".join(c if c.isprintable() else " " for c in text).replace("--", "- -")
    return f"<!-- {clean.rstrip('-')} -->\n".encode()


class Rejects:
    """The rejected events as they were sent, each after a comment naming where it was and why,
    so that the file can be fixed and imported again. Its events are read back from the file
    at close, so that a large capture is not held twice in memory."""

    def __init__(self, target: Path, read: Path) -> None:
        self.count = 0
        self._target, self._read = target, read
        self._errors: list[RowError] = []

    def write(self, error: RowError) -> None:
        self.count += 1
        self._errors.append(error)

    def close(self) -> None:
        raw = reread(self._read, [e.location for e in self._errors])
        handle: BinaryIO
        with self._target.open("wb") as handle:
            for error in self._errors:
                handle.write(_comment(str(error)))
                event = raw.get(error.location, b"")
                handle.write(bytes(event).strip() + b"\n")


FORMAT = Format(
    name=NAME, suffixes=SUFFIXES, kinds=("positions", "observations"), reread=reread,
    rejects=Rejects, split=split, first_wins=("observations",), counted=("no_fix", "ignored"),
)  # fmt: skip
