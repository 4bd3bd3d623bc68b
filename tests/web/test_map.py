"""The map as a tool: a range of days, zones styled by what their clauses require, incidents
drawn by a shape of their kind's family with their popup's words, and an offline basemap
from an MBTiles file that truceline serves itself (a test builds one of its own)."""

from __future__ import annotations

import sqlite3
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.web.test_pages import logged_in
from truceline.errors import TrucelineError
from truceline.web.basemap import open_basemap


def _png(colour: tuple[int, int, int]) -> bytes:
    """A 1×1 PNG of one colour (a real image a browser shows)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"\x00" + bytes(colour)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))  # fmt: skip


def make_mbtiles(path: Path, tiles: dict[tuple[int, int, int], bytes], **meta: str) -> Path:
    """An MBTiles file: `tiles` by (zoom, column, XYZ row), stored in TMS rows as the spec
    says (row 0 at the south)."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    conn.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, "
                 "tile_row INTEGER, tile_data BLOB)")  # fmt: skip
    for name, value in {"name": "test basemap", "format": "png", **meta}.items():
        conn.execute("INSERT INTO metadata VALUES (?, ?)", (name, value))
    for (z, x, y), data in tiles.items():
        conn.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, 2**z - 1 - y, data))
    conn.commit()
    conn.close()
    return path


def test_a_tile_is_served_from_the_mbtiles_file_with_its_row_flipped(
    site: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    north, south = _png((200, 0, 0)), _png((0, 0, 200))
    path = make_mbtiles(tmp_path / "base.mbtiles", {(1, 0, 0): north, (1, 0, 1): south},
                        attribution="test tiles", bounds="-180,-85,180,85")  # fmt: skip
    site["app"].state.centre.basemap = open_basemap(path)
    officer = logged_in(site, "officer")
    top = officer.get("/map/tiles/1/0/0")
    assert top.status_code == 200 and top.headers["content-type"] == "image/png"
    assert top.content == north
    assert officer.get("/map/tiles/1/0/1").content == south
    assert officer.get("/map/tiles/1/1/0").status_code == 404  # not in the file
    assert officer.get("/map/tiles/1/5/0").status_code == 404  # not on the earth
    described = officer.get("/map/data.json").json()["basemap"]
    assert described == {"name": "test basemap", "attribution": "test tiles", "minzoom": 1,
                         "maxzoom": 1, "bounds": [-180.0, -85.0, 180.0, 85.0]}  # fmt: skip
    assert str(tmp_path) not in officer.get("/map/data.json").text  # never the file's path
    assert logged_in(site, None).get("/map/tiles/1/0/0").status_code == 303


def test_a_file_that_is_not_an_mbtiles_of_raster_tiles_is_refused_with_its_reason(
    tmp_path: Path,
) -> None:
    junk = tmp_path / "junk.mbtiles"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(TrucelineError, match="not an MBTiles file"):
        open_basemap(junk)
    vector = make_mbtiles(tmp_path / "vector.mbtiles", {}, format="pbf")
    with pytest.raises(TrucelineError, match="format 'pbf'"):
        open_basemap(vector)
    with pytest.raises(TrucelineError, match="no such file"):
        open_basemap(tmp_path / "missing.mbtiles")


def test_the_map_data_covers_a_range_of_days_with_shapes_by_kind_and_zones_by_requirement(
    site: dict[str, Any],
) -> None:
    officer = logged_in(site, "officer")
    one = officer.get("/map/data.json?date=2020-11-21").json()
    assert one["day"] == one["last"] == "2020-11-21"
    assert one["basemap"] is None
    incidents = one["incidents"]["features"]
    assert incidents and all(f["properties"]["shape"] == "triangle" for f in incidents
                             if f["properties"]["family"] == "fire")  # fmt: skip
    popup = incidents[0]["properties"]
    assert popup["what"].startswith("Explosion") and "UTC+04:00" in popup["when"]
    zones = {f["properties"]["id"]: f["properties"] for f in one["zones"]["features"]}
    assert zones["corridor"]["requires"] == "free_passage"
    assert zones["district-aghdam"]["requires_words"] == "withdrawal by a deadline"
    assert zones["contact-line"]["requires"] == "other"  # named by no clause
    assert one["everywhere"] == "no fire, freedom of movement of the monitors"
    week = officer.get("/map/data.json?date=2020-11-26&to=2020-11-20").json()  # either order
    assert (week["day"], week["last"]) == ("2020-11-20", "2020-11-26")
    capped = officer.get("/map/data.json?date=2020-01-01&to=2020-12-31").json()
    assert capped["last"] == "2020-01-31"  # at most 31 days
    russian = officer.get("/map/data.json?date=2020-11-21&lang=ru").json()
    assert russian["incidents"]["features"][0]["properties"]["what"] != popup["what"]


def test_the_map_layers_answered_again_are_never_older_than_the_record(
    site: dict[str, Any],
) -> None:
    """The layers are kept for the next officer who asks for the same days; anything new in
    the record (an import, an assessment) must show at once, not the kept answer."""
    from truceline.services.assess import assess
    from truceline.services.ingest import ingest_observations

    officer = logged_in(site, "officer")
    before = officer.get("/map/data.json?date=2020-11-21").json()
    assert officer.get("/map/data.json?date=2020-11-21").json() == before  # kept, the same
    path = site["tmp"] / "more.csv"
    header = "id,observed_at,lat,lon,kind,count,source_kind,source,reporter\n"
    path.write_text(header + "m9,2020-11-21T12:00:00+04:00,39.9,46.9,flare,1,"
                    "observation_post,OP-2,blue\n")  # fmt: skip
    ingest_observations(site["engine"], path, keyring=site["keyring"])
    assess(site["engine"], keyring=site["keyring"])
    after = officer.get("/map/data.json?date=2020-11-21").json()
    kinds = [f["properties"]["kind"] for f in after["incidents"]["features"]]
    assert len(kinds) == len(before["incidents"]["features"]) + 1 and "flare" in kinds
