"""Importing files into the store: atomic, idempotent, every bad record named (both databases)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from truceline.domain.observations import FIELDS, row_hash
from truceline.services.ingest import ImportRejected, ingest_observations, ingest_positions
from truceline.store import imports
from truceline.store import tables as t

HEADER = "id,observed_at,lat,lon,kind,subtype,count,actor,source_kind,source,reporter,description"


def row(n: int, **changes: str) -> str:
    values = {
        "id": f"r{n}", "observed_at": f"2020-11-20T10:{n % 60:02d}:00+04:00", "lat": "40.05",
        "lon": "46.9", "kind": "explosion", "subtype": "impact", "count": "3", "actor": "unknown",
        "source_kind": "observation_post", "source": "OP-3", "reporter": "green",
        "description": f"report {n}",
    }  # fmt: skip
    values.update(changes)
    return ",".join(values[c] for c in HEADER.split(","))


def write_csv(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def count(engine: Engine, table: t.Table = t.observations) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_importing_the_same_file_twice_adds_nothing_the_second_time(
    demo_engine: Engine, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "obs.csv", *(row(n) for n in range(5)))
    first = ingest_observations(demo_engine, path)
    second = ingest_observations(demo_engine, path)
    assert (first.accepted, first.duplicates) == (5, 0)
    assert (second.accepted, second.duplicates) == (0, 5)
    assert "0 accepted, 5 duplicate, 0 rejected" in second.summary()
    assert count(demo_engine) == 5
    assert count(demo_engine, t.import_batches) == 1  # the empty second import left no batch


def test_records_without_an_id_are_the_same_record_when_their_content_is(
    demo_engine: Engine, tmp_path: Path
) -> None:
    lines = [row(n, id="") for n in range(3)]
    path = write_csv(tmp_path / "obs.csv", *lines, lines[0])
    report = ingest_observations(demo_engine, path)
    assert (report.accepted, report.duplicates) == (3, 1)


def test_a_file_with_one_bad_row_imports_nothing_and_names_the_line(
    demo_engine: Engine, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "obs.csv", row(1), row(2, lat="91"), row(3))
    with pytest.raises(ImportRejected) as caught:
        ingest_observations(demo_engine, path)
    assert f"{path}:3: lat: latitude 91.0 is outside -90..90" in str(caught.value)
    assert "nothing was imported" in str(caught.value)
    assert count(demo_engine) == 0 and count(demo_engine, t.import_batches) == 0


def test_with_skip_invalid_the_good_rows_land_and_the_bad_are_in_the_reject_file(
    demo_engine: Engine, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "obs.csv", row(1), row(2, kind="boom"), row(3), row(4, count="-1"))
    rejects = tmp_path / "rejects.csv"
    report = ingest_observations(demo_engine, path, skip_invalid=True, reject_file=rejects)
    assert (report.accepted, report.rejected) == (2, 2)
    assert count(demo_engine) == 2
    with rejects.open(newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [r["id"] for r in written] == ["r2", "r4"]
    assert [r["reject_line"] for r in written] == ["3", "5"]
    assert "unknown kind 'boom'" in written[0]["reject_reason"]


def test_a_corrected_reject_file_imports_again(demo_engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "obs.csv", row(1), row(2, kind="boom"))
    rejects = tmp_path / "rejects.csv"
    ingest_observations(demo_engine, path, skip_invalid=True, reject_file=rejects)
    rejects.write_text(rejects.read_text().replace("boom", "explosion"))
    report = ingest_observations(demo_engine, rejects)
    assert report.accepted == 1 and count(demo_engine) == 2


def test_a_changed_record_under_a_stored_id_is_a_conflict_not_an_overwrite(
    demo_engine: Engine, tmp_path: Path
) -> None:
    ingest_observations(demo_engine, write_csv(tmp_path / "a.csv", row(1), row(2)))
    changed = write_csv(tmp_path / "b.csv", row(1), row(2, count="9"), row(3))
    with pytest.raises(ImportRejected, match=r"b.csv:3: id: stored already with other content"):
        ingest_observations(demo_engine, changed)
    report = ingest_observations(
        demo_engine, changed, skip_invalid=True, reject_file=tmp_path / "rej.csv"
    )
    assert (report.accepted, report.duplicates, report.rejected) == (1, 1, 1)
    assert "r2" in (tmp_path / "rej.csv").read_text()
    with demo_engine.connect() as conn:
        stored = conn.execute(
            select(t.observations.c.count).where(t.observations.c.record_id == "r2")
        )
        assert stored.scalar_one() == 3


def test_the_batch_hash_can_be_recomputed_from_the_stored_rows(
    demo_engine: Engine, tmp_path: Path
) -> None:
    ingest_observations(demo_engine, write_csv(tmp_path / "a.csv", row(1), row(2)))
    report = ingest_observations(demo_engine, write_csv(tmp_path / "b.csv", row(2), row(3), row(4)))
    o, b = t.observations, t.import_batches
    stored_rows = (
        select(*[o.c[f] for f in FIELDS]).where(o.c.batch_id == report.batch_id).order_by(o.c.id)
    )
    with demo_engine.connect() as conn:
        batch = conn.execute(select(b).where(b.c.id == report.batch_id)).one()
        stored = conn.execute(stored_rows).all()
    recomputed = imports.BatchHash()
    recomputed.add([row_hash(tuple(r)) for r in stored])
    assert batch.rows == 2 and batch.duplicates == 1
    assert batch.sha256 == recomputed.hexdigest()
    # A stored row changed afterwards no longer matches its batch.
    with demo_engine.begin() as conn:
        conn.execute(update(o).where(o.c.record_id == "r3").values(count=99))
        changed = conn.execute(stored_rows).all()
    again = imports.BatchHash()
    again.add([row_hash(tuple(r)) for r in changed])
    assert again.hexdigest() != batch.sha256


def test_geojson_observations_take_their_location_from_the_point(
    demo_engine: Engine, tmp_path: Path
) -> None:
    props = {
        "id": "u1", "observed_at": "2020-11-20T10:00:00+04:00", "kind": "explosion", "count": 2,
        "source_kind": "uav", "source": "UAV-7", "reporter": "blue",
    }  # fmt: skip
    point = {"type": "Point", "coordinates": [46.9, 40.05]}
    features = [
        {"type": "Feature", "geometry": point, "properties": props},
        {"type": "Feature", "geometry": point, "properties": {**props, "id": "u2", "count": True}},
        {"type": "Feature", "geometry": point, "properties": {**props, "id": "u3", "colour": "r"}},
    ]
    path = tmp_path / "uav.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(ImportRejected) as caught:
        ingest_observations(demo_engine, path)
    message = str(caught.value)
    assert "features[1]: properties.count: expected an integer, found bool" in message
    assert "features[2]: properties.colour: unknown property" in message
    report = ingest_observations(
        demo_engine, path, skip_invalid=True, reject_file=tmp_path / "r.geojson"
    )
    assert report.accepted == 1
    with demo_engine.connect() as conn:
        stored = conn.execute(select(t.observations.c.lat_e7, t.observations.c.lon_e7)).one()
    assert tuple(stored) == (400_500_000, 469_000_000)
    rejected = json.loads((tmp_path / "r.geojson").read_text())
    assert [f["properties"]["id"] for f in rejected["features"]] == ["u2", "u3"]


def test_positions_take_the_declared_owner_and_refuse_undeclared_units_without_actor(
    demo_engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "pos.csv"
    path.write_text(
        "unit,time,lat,lon,actor\n"
        "blue-uav-1,2020-11-20T10:00:00+04:00,39.8,46.7,\n"
        "stranger,2020-11-20T10:00:00+04:00,39.8,46.7,\n"
        "stranger,2020-11-20T10:00:30+04:00,39.8,46.7,west\n"
    )
    with pytest.raises(ImportRejected, match=r"pos.csv:3: actor: unit 'stranger' is not declared"):
        ingest_positions(demo_engine, path)
    report = ingest_positions(demo_engine, path, skip_invalid=True, reject_file=tmp_path / "r.csv")
    assert (report.accepted, report.rejected) == (2, 1)
    with demo_engine.connect() as conn:
        actors = conn.execute(
            select(t.positions.c.unit, t.positions.c.actor).order_by(t.positions.c.id)
        ).all()
    assert [tuple(a) for a in actors] == [("blue-uav-1", "blue"), ("stranger", "west")]
    again = ingest_positions(demo_engine, path, skip_invalid=True, reject_file=tmp_path / "r.csv")
    assert (again.accepted, again.duplicates) == (0, 2)


def test_a_file_problem_stores_nothing_even_with_skip_invalid(
    demo_engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "obs.csv"
    path.write_bytes(b"\x00\x01binary")
    with pytest.raises(Exception, match="looks binary"):
        ingest_observations(demo_engine, path, skip_invalid=True)
    assert count(demo_engine) == 0 and count(demo_engine, t.import_batches) == 0


def test_a_large_file_parsed_in_a_worker_process_imports_the_same(
    demo_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("truceline.services.ingest.WORKER_THRESHOLD_BYTES", 0)
    rows = [row(n, id=f"w{n}") for n in range(25_000)]
    rows[20_001] = row(20_001, id="w20001", lat="x")
    path = write_csv(tmp_path / "big.csv", *rows)
    with pytest.raises(ImportRejected, match=r"big.csv:20003: lat: not a number: 'x'"):
        ingest_observations(demo_engine, path)
    assert count(demo_engine) == 0
    report = ingest_observations(
        demo_engine, path, skip_invalid=True, reject_file=tmp_path / "r.csv"
    )
    assert (report.accepted, report.rejected) == (24_999, 1)
    assert count(demo_engine) == 24_999
