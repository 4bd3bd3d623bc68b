"""The signed logs in the database: `ledger verify` sees every kind of tampering."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text, update

from truceline.demo import MISSION_FILE
from truceline.domain import keys
from truceline.domain.ledger import make_entry
from truceline.errors import TrucelineError
from truceline.services.assess import assess
from truceline.services.ingest import ingest_observations, ingest_positions
from truceline.services.ledger import KeyRing, append, verify_ledger
from truceline.services.missions import init_database
from truceline.store import tables as t
from truceline.store.db import writing
from truceline.store.missions import load_mission

HEADER = "id,observed_at,lat,lon,kind,count,actor,source_kind,source,reporter"


@pytest.fixture
def keyring(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path / "keys")


@pytest.fixture
def centre(engine: Engine, keyring: KeyRing, tmp_path: Path) -> Engine:
    """A centre with both logs started, an import and a positions import signed by blue, an
    assessment signed by green."""
    init_database(engine, MISSION_FILE, keyring=keyring, generate_keys=True)
    obs = tmp_path / "obs.csv"
    obs.write_text(
        HEADER + "\n"
        "a1,2020-11-21T10:00:00+04:00,40.27,46.75,explosion,5,unknown,observation_post,OP-1,blue\n"
        "a2,2020-11-21T10:01:00+04:00,40.27,46.75,explosion,4,unknown,observation_post,OP-2,blue\n"
    )
    ingest_observations(engine, obs, keyring=keyring, acting="blue")
    pos = tmp_path / "pos.csv"
    pos.write_text("unit,time,lat,lon\nblue-uav-1,2020-11-21T10:00:00+04:00,39.8,46.7\n")
    ingest_positions(engine, pos, keyring=keyring, acting="blue")
    assess(engine, keyring=keyring, acting="green")
    return engine


def faults(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [str(f) for f in verify_ledger(conn, load_mission(conn)).faults]


def entry_row(engine: Engine, contingent: str, seq: int) -> dict:  # type: ignore[type-arg]
    e = t.ledger_entries
    with engine.connect() as conn:
        row = conn.execute(select(e).where(e.c.contingent == contingent, e.c.seq == seq)).one()
    return dict(row._mapping)


def test_an_untouched_centre_verifies(centre: Engine) -> None:
    with centre.connect() as conn:
        report = verify_ledger(conn, load_mission(conn))
    assert report.ok, report.faults
    assert {c: seq for c, (seq, _) in report.heads.items()} == {"blue": 2, "green": 1}


def test_an_observation_changed_after_import_is_seen(centre: Engine) -> None:
    with centre.begin() as conn:
        conn.execute(
            update(t.observations).where(t.observations.c.record_id == "a2").values(count=40)
        )
    found = faults(centre)
    assert found[0].startswith("blue#1: the stored observations of import batch 1 do not match")
    assert all("finding" in f or "incident" in f for f in found[1:])  # and what they made


def test_a_changed_entry_payload_is_seen(centre: Engine) -> None:
    row = entry_row(centre, "blue", 1)
    payload = json.loads(row["payload"])
    payload["rows"] = 1
    with centre.begin() as conn:
        conn.execute(
            update(t.ledger_entries)
            .where(t.ledger_entries.c.id == row["id"])
            .values(payload=json.dumps(payload))
        )
    assert "blue#1: content does not match its hash (changed after signing)" in faults(centre)


def test_a_deleted_entry_is_seen(centre: Engine) -> None:
    with centre.begin() as conn:
        conn.execute(text("DELETE FROM ledger_entries WHERE contingent = 'blue' AND seq = 1"))
    found = faults(centre)
    assert found[0] == "blue#2: expected entry 1 here (an entry is missing or out of place)"
    assert "import: import batch 1 is in no contingent's log" in found


def test_two_swapped_entries_are_seen(centre: Engine) -> None:
    one, two = entry_row(centre, "blue", 1), entry_row(centre, "blue", 2)
    e = t.ledger_entries
    with centre.begin() as conn:
        conn.execute(update(e).where(e.c.id == one["id"]).values(seq=-1))
        conn.execute(update(e).where(e.c.id == two["id"]).values(seq=1))
        conn.execute(update(e).where(e.c.id == one["id"]).values(seq=2))
    found = faults(centre)
    assert found[0].startswith("blue#1: content does not match its hash")


def test_a_signature_by_another_key_is_seen(centre: Engine) -> None:
    row = entry_row(centre, "blue", 2)
    forged = make_entry(
        keys.generate(),
        contingent="blue",
        seq=2,
        prev=row["prev"],
        seen=json.loads(row["seen"]),
        time=row["time_us"],
        actor=row["actor"],
        action=row["action"],
        payload=json.loads(row["payload"]),
    )
    with centre.begin() as conn:
        conn.execute(
            update(t.ledger_entries)
            .where(t.ledger_entries.c.id == row["id"])
            .values(hash=forged.hash, sig=forged.sig)
        )
    assert faults(centre) == ["blue#2: signature is not by the pinned key"]


def test_a_mission_file_changed_after_genesis_is_seen(centre: Engine) -> None:
    with centre.begin() as conn:
        document = json.loads(conn.execute(select(t.mission_files.c.document)).scalar_one())
        document["clauses"][0]["title"] = "Ceasefire (except on Sundays)"
        conn.execute(update(t.mission_files).values(document=json.dumps(document)))
    found = faults(centre)
    assert any(
        f.startswith("blue#0: the mission file") and "changed after this entry" in f for f in found
    )
    assert any(f.startswith("green#0: the mission file") for f in found)


def test_two_entries_with_one_seq_are_equivocation(centre: Engine, keyring: KeyRing) -> None:
    row = entry_row(centre, "blue", 2)
    key = keyring.load("blue", None)
    other = make_entry(
        key, contingent="blue", seq=2, prev=row["prev"], seen={}, time=row["time_us"] + 1,
        actor="blue", action="mission_changed", payload={"text": "another history"},
    )  # fmt: skip
    from truceline.store.ledger import insert_entry

    with centre.begin() as conn:
        insert_entry(conn, other)
    found = faults(centre)
    assert any(f.startswith("blue#2: equivocation") for f in found), found


def test_a_command_that_must_sign_names_the_key_file_it_looked_for(
    centre: Engine, tmp_path: Path
) -> None:
    elsewhere = KeyRing(tmp_path / "no-keys")
    path = tmp_path / "more.csv"
    path.write_text(
        HEADER + "\nb1,2020-11-22T10:00:00+04:00,40.27,46.75,shot,1,unknown,patrol,P-1,green\n"
    )
    with pytest.raises(TrucelineError, match=r"looked for .*no-keys/green.key"):
        ingest_observations(centre, path, keyring=elsewhere, acting="green")
    with centre.connect() as conn:
        assert (
            conn.execute(
                select(t.observations.c.id).where(t.observations.c.record_id == "b1")
            ).first()
            is None
        )


def test_a_key_file_that_does_not_match_the_pinned_key_is_refused(
    centre: Engine, keyring: KeyRing, tmp_path: Path
) -> None:
    keyring.path("green").unlink()
    new = keyring.generate("green")
    path = tmp_path / "more.csv"
    path.write_text(
        HEADER + "\nb1,2020-11-22T10:00:00+04:00,40.27,46.75,shot,1,unknown,patrol,P-1,green\n"
    )
    with pytest.raises(TrucelineError, match="pinned key is") as caught:
        ingest_observations(centre, path, keyring=keyring, acting="green")
    assert new in str(caught.value)


def test_private_keys_are_files_of_mode_0600_and_never_in_the_database(
    centre: Engine, keyring: KeyRing
) -> None:
    for contingent in ("blue", "green"):
        assert keyring.path(contingent).stat().st_mode & 0o777 == 0o600
    pem = keyring.path("blue").read_text()
    body = "".join(pem.splitlines()[1:-1])
    with centre.connect() as conn:
        for table in t.ORDERED:
            for row in conn.execute(select(table)):
                assert body not in json.dumps([str(v) for v in row])


def test_two_writers_at_once_never_fork_a_log(centre: Engine, keyring: KeyRing) -> None:
    with centre.connect() as conn:
        mission = load_mission(conn)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for n in range(10):
                with writing(centre) as conn:
                    append(
                        conn,
                        keyring,
                        mission,
                        "blue",
                        actor=name,
                        action="mission_changed",
                        payload={"n": n},
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{k}",)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with centre.connect() as conn:
        report = verify_ledger(conn, mission)
    assert report.ok, report.faults
    assert report.heads["blue"][0] == 2 + 20


def test_no_code_updates_or_deletes_a_log_entry() -> None:
    """Entries are only ever inserted: corrections are new entries."""
    package = Path(__file__).resolve().parents[2] / "truceline"
    writes = re.compile(
        r"(update|delete)\(\s*(t\.|tables\.)?ledger_entries|(UPDATE|DELETE FROM)\s+ledger_entries"
    )
    offending = [
        f"{path.relative_to(package)}:{number}"
        for path in package.rglob("*.py")
        if "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if writes.search(line)
    ]
    assert offending == []
    inserted = (package / "store" / "ledger.py").read_text()
    assert "insert(t.ledger_entries)" in inserted  # the pattern looks where entries are written
