"""Observations from GeoJSON: a FeatureCollection of Point features whose properties carry the
CSV columns; lat/lon come from the geometry (or, with a null geometry, from the observer
columns). A feature is named by its index: `file: features[3]`."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

from truceline.domain import observations as obs
from truceline.domain.records import Problems
from truceline.i18n.message import M
from truceline.ingest.base import CHUNK_ROWS, Chunk, FileProblem, RowError, TextSource, read_file

PROPERTY_COLUMNS = tuple(c for c in obs.COLUMNS if c not in ("lat", "lon"))
MAX_BYTES = 512 * 1024 * 1024


def _json_int(digits: str) -> int | float:
    """A JSON integer; one too long for Python's integer conversion (4,300 digits) becomes an
    infinite float, refused by the record's checks as out of range (not a file error)."""
    try:
        return int(digits)
    except ValueError:
        return float(digits)


def _load(source: TextSource) -> Any:
    if source.size > MAX_BYTES:
        raise FileProblem(
            M(
                "{file}: {size:,} bytes is too large for GeoJSON; use CSV",
                file=source.name,
                size=source.size,
            )
        )
    try:
        return json.load(source.text, parse_int=_json_int)
    except UnicodeDecodeError as exc:
        raise FileProblem(
            M("{file}: not UTF-8 text ({reason})", file=source.name, reason=exc.reason)
        ) from None
    except json.JSONDecodeError as exc:
        raise FileProblem(
            M(
                "{file}:{line}:{column}: not valid JSON: {error}",
                file=source.name,
                line=exc.lineno,
                column=exc.colno,
                error=exc.msg,
            )
        ) from None
    except RecursionError:
        raise FileProblem(M("{file}: JSON nested too deeply", file=source.name)) from None


def feature_fields(feature: Any) -> tuple[dict[str, Any] | None, Problems]:
    """The CSV-like fields of one feature, or its structural problems."""
    problems = Problems()
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        problems.add("type", M("expected a GeoJSON Feature"))
        return None, problems
    properties = feature.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        problems.add("properties", M("expected an object"))
        return None, problems
    for key in properties:
        if key in ("lat", "lon"):
            problems.add(f"properties.{key}", M("give the location as the Point geometry"))
        elif key not in PROPERTY_COLUMNS:
            problems.add(f"properties.{key}", M("unknown property"))
    fields = {f"{k}": v for k, v in properties.items()}
    geometry = feature.get("geometry")
    if geometry is not None:
        coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            problems.add("geometry", M("expected a Point (or null with the observer columns)"))
        elif not isinstance(coordinates, list) or len(coordinates) not in (2, 3):
            problems.add("geometry.coordinates", M("expected [lon, lat]"))
        else:
            fields["lon"], fields["lat"] = coordinates[0], coordinates[1]
    return (None if problems else fields), problems


def parse(source: TextSource, ctx: obs.Context) -> Iterator[Chunk]:
    doc = _load(source)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise FileProblem(M("{file}: expected a GeoJSON FeatureCollection", file=source.name))
    features = doc.get("features")
    if not isinstance(features, list):
        raise FileProblem(M("{file}: `features` is not a list", file=source.name))
    for start in range(0, len(features), CHUNK_ROWS):
        chunk = Chunk(bytes_read=source.size, ref_format=f"{source.name}: features[{{}}]")
        for index in range(start, min(start + CHUNK_ROWS, len(features))):
            location = chunk.ref_format.format(index)
            fields, problems = feature_fields(features[index])
            record = None
            if fields is not None:
                record, problems = obs.build_observation(fields, ctx)
                problems = Problems(
                    (f"properties.{c}" if c not in ("lat", "lon", "") else "geometry", m)
                    for c, m in problems
                )
            if record is None:
                chunk.errors.append(RowError(location, problems, features[index]))
            else:
                chunk.add(record, index)
        yield chunk


# The parser of a file by its path (a picklable function, for the worker process).
parse_file = functools.partial(read_file, parse)
