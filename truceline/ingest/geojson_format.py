"""GeoJSON FeatureCollections of observations (docs/import-formats.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from truceline.ingest import geojson_observations
from truceline.ingest.base import Chunk, RowError
from truceline.ingest.formats import Format


def parse(kind: str, path: Path, ctx: Any) -> Iterator[Chunk]:
    chunks: Iterator[Chunk] = geojson_observations.parse_file(path, ctx)
    return chunks


def reread(path: Path, locations: list[str]) -> dict[str, Any]:
    """The features as written at these locations (`file: features[3]`)."""
    wanted = set(locations)
    with path.open(encoding="utf-8-sig") as handle:
        features = json.load(handle).get("features", [])
    found = {}
    for index, feature in enumerate(features):
        location = f"{path}: features[{index}]"
        if location in wanted:
            found[location] = feature
    return found


class Rejects:
    """A FeatureCollection of the bad features, each with `truceline_reject` (where, why)."""

    def __init__(self, target: Path, read: Path) -> None:
        self.count, self._target = 0, target
        self._features: list[Any] = []

    def write(self, error: RowError) -> None:
        self.count += 1
        feature = dict(error.raw) if isinstance(error.raw, dict) else {"invalid": error.raw}
        feature["truceline_reject"] = {"location": error.location, "reason": str(error)}
        self._features.append(feature)

    def close(self) -> None:
        with self._target.open("w", encoding="utf-8") as handle:
            json.dump({"type": "FeatureCollection", "features": self._features}, handle)


FORMAT = Format(
    name="geojson", suffixes=(".geojson", ".json"), kinds=("observations",), parse=parse,
    reread=reread, rejects=Rejects,
)  # fmt: skip
