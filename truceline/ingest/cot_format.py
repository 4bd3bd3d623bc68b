"""Cursor on Target files (as TAK clients send them): one file holds positions (self-reports)
and observations (markers), so it is read whole, split by the mission into the two kinds, and
stored as two batches that stand or fall together (services/ingest.py `ingest_cot`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from truceline.domain.records import Problems
from truceline.ingest import cot
from truceline.ingest.base import FileProblem, RowError
from truceline.mission import Mission

NAME = "cot"  # as import batches record it
MAX_FILE_BYTES = 1 << 30
SUFFIXES = (".cot", ".xml")
SOURCE_KIND = "other"  # a TAK device: none of the vocabulary's kinds says which it is


@dataclass
class Split:
    """A CoT file's events by what they become; each record with its label (where it is)."""

    positions: list[dict[str, Any]] = field(default_factory=list)
    position_labels: list[str] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)
    observation_labels: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)  # no_fix, ignored


def _label(path: Path, offset: int, uid: str | None) -> str:
    return f"{path}: byte {offset}" + (f" ({uid[:80]})" if uid else "")


def split(path: Path, mission: Mission, reporter: str) -> Split:
    """Read a CoT file: a self-report of a declared unit, or of an undeclared friendly unit
    (the feed's contingent's, `reporter`), is a position; an undeclared non-friendly one a
    `presence` observation; a marker an observation reported by `reporter`."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise FileProblem(f"{path}: larger than {MAX_FILE_BYTES:,} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise FileProblem(f"{path}: cannot read it: {exc.strerror}") from None
    out = Split()
    declared = mission.units
    for item in cot.read_events(data):
        if isinstance(item, cot.Rejected):
            problems = Problems()
            problems.add("event", item.reason)
            out.errors.append(RowError(_label(path, item.offset, item.uid), problems, None))
            continue
        label = _label(path, item.event.offset, item.event.uid)
        if isinstance(item, cot.NoFix):
            out.counts["no_fix"] += 1
        elif isinstance(item, cot.Ignored):
            out.counts["ignored"] += 1
        elif isinstance(item, cot.SelfReport):
            if item.unit in declared or item.friendly:
                position = dict(item.position)
                if item.unit not in declared:
                    position.setdefault("actor", reporter)  # the feed's contingent's own unit
                out.positions.append(position)
                out.position_labels.append(label)
            else:
                seen = item.as_observation(SOURCE_KIND)
                out.observations.append({**seen, "reporter": reporter})
                out.observation_labels.append(label)
        else:
            marker = {**item.observation, "source_kind": SOURCE_KIND, "reporter": reporter}
            out.observations.append(marker)
            out.observation_labels.append(label)
    return out
