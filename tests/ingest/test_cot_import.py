"""`ingest cot`: a file of CoT events into positions and observations, by the mission."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from truceline.services.assess import assess
from truceline.services.ingest import ImportRejected, ingest_split
from truceline.store import tables as t


def event(uid: str, kind: str, lat: float, lon: float, when: str, inner: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<event version="2.0" uid="{uid}" type="{kind}" time="{when}" start="{when}" '
        f'stale="{when}" how="m-g"><point lat="{lat}" lon="{lon}" hae="9999999.0" '
        f'ce="12" le="9999999.0"/><detail>{inner}</detail></event>\n'
    )


T = "2020-11-21T08:{:02d}:00Z"
MARKER = '<link uid="ANDROID-green-1" relation="p-p" type="a-f-G-U-C"/><remarks>column</remarks>'


def capture(tmp_path: Path, *events: str, name: str = "capture.cot") -> Path:
    path = tmp_path / name
    path.write_text("".join(events))
    return path


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_capture_becomes_positions_and_observations_and_a_rebroadcast_marker_is_one(
    demo_engine: Engine, tmp_path: Path
) -> None:
    path = capture(
        tmp_path,
        event("green-uav-1", "a-f-A-M-F-Q", 40.2, 46.8, T.format(0)),  # a declared unit
        event("ANDROID-green-1", "a-f-G-U-C", 40.1, 46.9, T.format(1),
              '<contact callsign="GREEN-P1"/><track speed="3" course="90"/>'),  # undeclared
        event("ANDROID-green-1", "a-f-G-U-C", 0.001, 0.002, T.format(2)),  # no fix
        event("hostile-1", "a-h-G", 40.0, 47.0, T.format(3)),  # an undeclared other
        *(event("m-1", "a-h-G", 40.3, 46.7, T.format(10 + n), MARKER) for n in range(20)),
        event("GeoChat.x", "b-t-f", 40.1, 46.9, T.format(4)),
    )  # fmt: skip
    report = ingest_split(demo_engine, path, "cot", reporter="green")
    assert report.as_dict() == {"positions": 2, "observations": 2, "duplicates": 19,
                                "no_fix": 1, "ignored": 1, "rejected": 0}  # fmt: skip
    with demo_engine.connect() as conn:
        units = dict(conn.execute(select(t.positions.c.unit, t.positions.c.actor)).all())
        seen = conn.execute(select(t.observations.c.kind, t.observations.c.actor,
                                   t.observations.c.reporter)).all()  # fmt: skip
    assert units == {"green-uav-1": "green", "ANDROID-green-1": "green"}
    assert sorted(seen) == [("presence", "unknown", "green"), ("presence", "unknown", "green")]
    again = ingest_split(demo_engine, path, "cot", reporter="green")
    assert again.accepted == 0 and again.duplicates == 23
    assert count(demo_engine, t.observations) == 2


def test_an_undeclared_friendly_unit_is_assessed_against_its_contingent_s_clauses(
    demo_engine: Engine, tmp_path: Path
) -> None:
    # green's own patrol, undeclared, far outside green's area of operations (clause M1)
    track = [event("ANDROID-green-9", "a-f-G-U-C", 39.5 + n / 1000, 45.0, T.format(n))
             for n in range(5)]  # fmt: skip
    ingest_split(demo_engine, capture(tmp_path, *track), "cot", reporter="green")
    assess(demo_engine)
    with demo_engine.connect() as conn:
        clauses = set(
            conn.execute(
                select(t.findings.c.clause_id).where(t.findings.c.unit == "ANDROID-green-9")
            ).scalars()
        )
    assert "M1" in clauses


def test_a_bad_event_stores_nothing_and_is_named_by_byte_offset_and_uid(
    demo_engine: Engine, tmp_path: Path
) -> None:
    good = event("ANDROID-green-1", "a-f-G-U-C", 40.1, 46.9, T.format(1))
    evil = (
        '<?xml version="1.0"?><!DOCTYPE event [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<event version="2.0" uid="evil" type="a-h-G" time="2020-11-21T08:00:00Z">'
        '<point lat="40" lon="47" hae="0" ce="1" le="1"/><detail>&x;</detail></event>'
    )
    path = capture(tmp_path, good, evil)
    with pytest.raises(ImportRejected, match=rf"byte {len(good)}.*DOCTYPE") as refused:
        ingest_split(demo_engine, path, "cot", reporter="green")
    assert "root:" not in str(refused.value)  # the file was never read
    assert count(demo_engine, t.positions) == 0 and count(demo_engine, t.import_batches) == 0
    rejects = tmp_path / "rejects.cot"
    report = ingest_split(
        demo_engine, path, "cot", reporter="green", skip_invalid=True, reject_file=rejects
    )
    assert (report.stored["positions"], report.rejected) == (1, 1)
    # the reject file holds the bad event as it was sent, after a comment saying where and why
    kept = rejects.read_bytes()
    assert kept.startswith(f"<!-- {path}: byte {len(good)} (evil)".encode())
    assert b"DOCTYPE is not allowed" in kept and evil.encode() in kept
    assert good.encode().strip() not in kept


def test_a_bad_record_among_good_events_goes_to_the_reject_file_and_reimports_once_fixed(
    demo_engine: Engine, tmp_path: Path
) -> None:
    good = event("ANDROID-green-1", "a-f-G-U-C", 40.1, 46.9, T.format(1))
    late = event("m-9", "a-h-G", 40.3, 46.7, "2120-11-21T08:00:00Z", MARKER)  # year 2120
    path = capture(tmp_path, good, late)
    rejects = tmp_path / "rejects.cot"
    report = ingest_split(
        demo_engine, path, "cot", reporter="green", skip_invalid=True, reject_file=rejects
    )
    assert report.as_dict()["rejected"] == 1 and report.stored["positions"] == 1
    assert b"observed_at" in rejects.read_bytes() and b'uid="m-9"' in rejects.read_bytes()
    fixed = tmp_path / "fixed.cot"
    fixed.write_bytes(rejects.read_bytes().replace(b"2120-", b"2020-"))
    again = ingest_split(demo_engine, fixed, "cot", reporter="green")
    assert again.stored == {"positions": 0, "observations": 1}


def test_a_self_report_keeps_its_callsign_as_the_unit_s_name(
    demo_engine: Engine, tmp_path: Path
) -> None:
    path = capture(tmp_path, event("ANDROID-green-1", "a-f-G-U-C", 40.1, 46.9, T.format(1),
                                   '<contact callsign="GREEN &amp; P1"/>'))  # fmt: skip
    ingest_split(demo_engine, path, "cot", reporter="green")
    with demo_engine.connect() as conn:
        named = conn.execute(select(t.positions.c.unit, t.positions.c.name)).all()
    assert named == [("ANDROID-green-1", "GREEN & P1")]


def test_a_feed_may_not_post_another_contingent_s_declared_unit(
    demo_engine: Engine, tmp_path: Path
) -> None:
    path = capture(tmp_path, event("blue-uav-1", "a-f-A", 40.2, 46.8, T.format(0)))
    with pytest.raises(ImportRejected, match="blue-uav-1"):
        ingest_split(demo_engine, path, "cot", reporter="green")
    assert count(demo_engine, t.positions) == 0


def test_ingest_cot_prints_its_counts_as_one_json_object(
    cli: Any, demo_engine: Engine, db_url: str, tmp_path: Path
) -> None:
    import json

    path = capture(tmp_path, event("ANDROID-green-1", "a-f-G-U-C", 40.1, 46.9, T.format(1)))
    ran = cli("ingest", "cot", str(path), "--reporter", "green", "--json", "--db", db_url)
    assert ran.code == 0, ran.err
    assert json.loads(ran.out) == {"positions": 1, "observations": 0, "duplicates": 0,
                                   "no_fix": 0, "ignored": 0, "rejected": 0}  # fmt: skip
