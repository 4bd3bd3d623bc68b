"""An offline basemap: raster tiles from an MBTiles file (the SQLite format that QGIS, ATAK
and tile tools export), served by truceline itself so that the map needs no internet.

The file is named in the settings (`TRUCELINE_BASEMAP`, or `serve --basemap FILE`) and opened
read-only. MBTiles stores rows in the TMS scheme (row 0 at the south); the map asks in the
XYZ scheme (row 0 at the north), so a row is flipped. Without a basemap, or for a tile the
file does not hold, the map falls back to the built-in country borders."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from truceline.errors import TrucelineError
from truceline.i18n.message import M

MEDIA = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
MAX_ZOOM = 24


@dataclass(frozen=True)
class Basemap:
    path: Path
    name: str
    format: str  # png, jpg or webp
    attribution: str
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float] | None  # west, south, east, north

    @property
    def media_type(self) -> str:
        return MEDIA[self.format]

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile at zoom `z`, column `x`, row `y` (XYZ), or None where the file has none."""
        if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
            return None
        conn = self._connect()
        try:
            row = conn.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? "
                "AND tile_row = ?", (z, x, 2**z - 1 - y),
            ).fetchone()  # fmt: skip
        finally:
            conn.close()
        return None if row is None or row[0] is None else bytes(row[0])

    def describe(self) -> dict[str, Any]:
        """What the map needs to show it (never the file's path)."""
        return {"name": self.name, "attribution": self.attribution, "minzoom": self.minzoom,
                "maxzoom": self.maxzoom, "bounds": self.bounds}  # fmt: skip


def open_basemap(path: Path) -> Basemap:
    """The MBTiles file at `path`, checked: a readable SQLite file with `tiles` and `metadata`,
    raster tiles of a format a browser shows."""
    if not path.is_file():
        raise TrucelineError(M("basemap {path}: no such file", path=str(path)))
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
            conn.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles LIMIT 1")
            zooms = conn.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise TrucelineError(
            M("basemap {path}: not an MBTiles file ({reason})", path=str(path), reason=str(exc))
        ) from None
    fmt = str(meta.get("format", "png")).lower()
    if fmt not in MEDIA:
        raise TrucelineError(
            M("basemap {path}: tiles of format {format!r} are not shown (give raster tiles: "
              "png, jpg or webp)", path=str(path), format=fmt)
        )  # fmt: skip
    return Basemap(
        path=path, name=str(meta.get("name") or path.stem), format=fmt,
        attribution=str(meta.get("attribution") or ""),
        minzoom=_int(meta.get("minzoom"), zooms[0], 0),
        maxzoom=_int(meta.get("maxzoom"), zooms[1], 18),
        bounds=_bounds(meta.get("bounds")),
    )  # fmt: skip


def _int(value: Any, fallback: Any, default: int) -> int:
    for candidate in (value, fallback):
        try:
            number = int(str(candidate))
        except (TypeError, ValueError):
            continue
        if 0 <= number <= MAX_ZOOM:
            return number
    return default


def _bounds(value: Any) -> tuple[float, float, float, float] | None:
    try:
        west, south, east, north = (float(v) for v in str(value).split(","))
    except (TypeError, ValueError):
        return None
    if -180 <= west < east <= 180 and -90 <= south < north <= 90:
        return west, south, east, north
    return None


def basemap_from_settings(environ: Any = None) -> Basemap | None:
    """The basemap named by TRUCELINE_BASEMAP, if any (a bad file stops the server at start,
    with the reason, rather than showing an empty map)."""
    named = (os.environ if environ is None else environ).get("TRUCELINE_BASEMAP", "").strip()
    return open_basemap(Path(named)) if named else None
