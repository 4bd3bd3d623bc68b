"""Two nodes, one holding only blue's key and one only green's, exchange bundles and reach the
same verdict; a tampered or forged bundle is refused whole."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tests.conftest import signed_centre
from truceline.demo import MISSION_FILE
from truceline.domain import keys
from truceline.domain.cases import Position
from truceline.domain.ledger import make_entry
from truceline.errors import TrucelineError
from truceline.services.exchange import export_bundle, import_bundle
from truceline.services.ingest import ingest_file
from truceline.services.ledger import KeyRing, verify_ledger
from truceline.services.missions import init_database
from truceline.services.verification import case_view, file_assessment, open_case
from truceline.store import ledger as ledger_repo
from truceline.store import tables as t
from truceline.store.db import make_engine, migrate
from truceline.store.missions import load_mission


@pytest.fixture
def nodes(engine: Engine, tmp_path: Path) -> tuple[Engine, KeyRing, Engine, KeyRing]:
    return two_nodes(engine, tmp_path)


def two_nodes(engine: Engine, tmp_path: Path) -> tuple[Engine, KeyRing, Engine, KeyRing]:
    """Node A (the test's database) holds blue's key; node B (a SQLite file) green's."""
    blue, green = KeyRing(tmp_path / "a-keys"), KeyRing(tmp_path / "b-keys")
    blue.generate("blue")
    green.generate("green")
    other = make_engine(f"sqlite:///{tmp_path / 'node-b.db'}")
    migrate(other)
    init_database(other, MISSION_FILE, keyring=green)
    signed_centre(engine, blue, tmp_path, generate_keys=False)
    return engine, blue, other, green


def exchange(source: Engine, target: Engine, keyring: KeyRing, path: Path) -> None:
    export_bundle(source, path)
    import_bundle(target, path, keyring=keyring)


def show(engine: Engine, case: int, viewer: str | None) -> dict:  # type: ignore[type-arg]
    with engine.connect() as conn:
        return case_view(conn, load_mission(conn), case, viewer)


def test_two_nodes_exchange_bundles_and_reach_the_same_verdict(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing], tmp_path: Path
) -> None:
    a, blue, b, green = nodes
    with a.connect() as conn:
        finding = int(conn.execute(select(t.findings.c.id)).scalar_one())
    case_a = open_case(a, finding=finding, keyring=blue, acting="blue")["id"]
    seen_by_blue = Position("confirmed", "west", "OP-1 saw it")
    file_assessment(a, case_a, contingent="blue", position=seen_by_blue, actor="blue", keyring=blue)
    exchange(a, b, green, tmp_path / "a1.json")
    with b.connect() as conn:
        case_b = int(conn.execute(select(t.cases.c.id)).scalar_one())
    before = show(b, case_b, "green")
    assert before["filed"] == ["blue"] and before["assessments"] == []  # blue's position unseen
    seen_by_green = Position("confirmed", "west", "our UAV")
    file_assessment(
        b, case_b, contingent="green", position=seen_by_green, actor="green", keyring=green
    )
    exchange(b, a, blue, tmp_path / "b1.json")  # A learns green's filing and reveal, reveals blue
    exchange(a, b, green, tmp_path / "a2.json")  # B learns blue's reveal
    on_a, on_b = show(a, case_a, "blue"), show(b, case_b, "green")
    assert on_a["verdict"] == on_b["verdict"] == "confirmed"
    positions = sorted((x["contingent"], x["verdict"], x["rationale"]) for x in on_b["assessments"])
    assert positions == [("blue", "confirmed", "OP-1 saw it"), ("green", "confirmed", "our UAV")]
    assert on_a["key"] == on_b["key"]
    for engine in (a, b):
        with engine.connect() as conn:
            report = verify_ledger(conn, load_mission(conn))
            assert report.ok, report.faults
            assert set(report.heads) == {"blue", "green"}
    with b.connect() as conn:
        greens = [e for e in ledger_repo.all_entries(conn) if e.contingent == "green" and e.seq > 0]
    assert all("blue" in e.seen for e in greens)  # green's entries record what it had seen of blue


def test_importing_a_bundle_twice_adds_nothing(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing], tmp_path: Path
) -> None:
    a, _, b, green = nodes
    path = tmp_path / "a.json"
    export_bundle(a, path)
    first = import_bundle(b, path, keyring=green)
    again = import_bundle(b, path, keyring=green)
    assert first.new > 0 and again.new == 0


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.ledger_entries)).scalar_one())


Edit = Callable[[dict[str, Any]], None]


def refused(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing], tmp_path: Path, edit: Edit, match: str
) -> None:
    """Node A's bundle, edited, is refused by node B with `match`, and B stores nothing of it."""
    a, _, b, green = nodes
    path = tmp_path / "a.json"
    export_bundle(a, path)
    bundle = json.loads(path.read_text())
    edit(bundle)
    path.write_text(json.dumps(bundle))
    before = _count(b)
    with pytest.raises(TrucelineError, match=match):
        import_bundle(b, path, keyring=green)
    assert _count(b) == before


def test_a_tampered_bundle_is_refused_whole(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing], tmp_path: Path
) -> None:
    def tamper(bundle: dict[str, Any]) -> None:
        bundle["entries"][1]["payload"]["rows"] = 99

    refused(
        nodes,
        tmp_path,
        tamper,
        r"refused, nothing imported: blue#1: content does not match",
    )


def test_a_forged_bundle_is_refused_whole(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing], tmp_path: Path
) -> None:
    def forge(bundle: dict[str, Any]) -> None:
        last = bundle["entries"][-1]
        forged = make_entry(
            keys.generate(), contingent=last["contingent"], seq=last["seq"] + 1, prev=last["hash"],
            seen={}, time=last["time"] + 1, actor="mallory", action="mission_changed", payload={},
        )  # fmt: skip
        bundle["entries"].append(forged.as_dict())

    refused(nodes, tmp_path, forge, "signature is not by the pinned key")


def test_a_bundle_for_another_mission_is_refused(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing], tmp_path: Path
) -> None:
    def elsewhere(bundle: dict[str, Any]) -> None:
        bundle["mission_sha256"] = "0" * 64

    refused(nodes, tmp_path, elsewhere, "for mission file 000000000000")


def test_a_bundle_that_equivocates_is_refused_and_named(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing], tmp_path: Path
) -> None:
    a, blue, b, green = nodes
    path = tmp_path / "first.json"
    export_bundle(a, path)
    import_bundle(b, path, keyring=green)  # B holds blue's log as it is

    def equivocate(bundle: dict[str, Any]) -> None:
        last = bundle["entries"][-1]
        other = make_entry(
            blue.load("blue", None), contingent=last["contingent"], seq=last["seq"],
            prev=last["prev"], seen={}, time=last["time"] + 5, actor="blue", action="note",
            payload={"history": "another"},
        )  # fmt: skip
        bundle["entries"][-1] = other.as_dict()

    refused(nodes, tmp_path, equivocate, r"blue#\d+: conflict: held as")


def test_a_position_both_nodes_hold_is_shared_and_found_again_by_its_time_and_uid(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing], tmp_path: Path
) -> None:
    a, blue, b, green = nodes
    header = "unit,time,lat,lon,actor\n"
    seen = "west-col-1,2026-11-20T10:00:00Z,39.9,46.9,west\n"  # a party's column, seen by both
    (tmp_path / "a.csv").write_text(header + seen + "west-col-2,2026-11-20T10:05:00Z,39.8,46.8,\n")
    (tmp_path / "b.csv").write_text(header + seen)
    ingest_file(a, tmp_path / "a.csv", "positions", keyring=blue, acting="blue")
    ingest_file(b, tmp_path / "b.csv", "positions", keyring=green, acting="green")
    exchange(a, b, green, tmp_path / "a.json")
    with b.connect() as conn:
        shared = [
            json.loads(text)
            for text in conn.execute(select(t.import_batches.c.shared)).scalars()
            if text
        ]
        report = verify_ledger(conn, load_mission(conn))
    at = int(datetime(2026, 11, 20, 10, tzinfo=UTC).timestamp()) * 1_000_000
    assert [[entry[0], entry[2]] for entry in shared[-1]] == [[0, at]]
    assert report.ok, report.faults
