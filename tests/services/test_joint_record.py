"""The joint record against a hostile peer and a corrupted database: entries of a rogue
contingent, absurd times, altered copies and binding-breaking filings are refused, naming why
and storing nothing; every tampering with the tables is named by `ledger verify`; `ledger
rebuild` re-derives the tables from the entries alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, insert, select, update

from tests.conftest import signed_centre
from tests.services.test_exchange import exchange, two_nodes
from truceline.domain import keys
from truceline.domain.actions import ASSESSMENT_FILED
from truceline.domain.cases import Position
from truceline.domain.ledger import make_entry
from truceline.domain.observations import FIELDS as OBS_FIELDS
from truceline.domain.reporting import reporting_day
from truceline.domain.timeutil import from_us
from truceline.errors import TrucelineError
from truceline.services.accounts import (
    add_user,
    authenticate,
    issue_token,
    set_disabled,
    user_for_token,
)
from truceline.services.assess import assess
from truceline.services.corrections import retract_observation
from truceline.services.exchange import bundle_of, import_bundle_data
from truceline.services.ingest import ingest_observations
from truceline.services.ledger import KeyRing, verify_ledger
from truceline.services.projector import rebuild
from truceline.services.signing import published, report_state, sign_report
from truceline.services.verification import (
    ComplaintInput,
    case_view,
    file_assessment,
    file_complaint,
    open_case,
)
from truceline.store import ledger as ledger_repo
from truceline.store import projection
from truceline.store import tables as t
from truceline.store.db import writing
from truceline.store.imports import OBSERVATIONS, batch_digest
from truceline.store.missions import load_mission
from truceline.store.observations import list_observations
from truceline.web.app import create_app

T = 1_605_938_400_000_000


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.ledger_entries)).scalar_one())


def forged(key: Any, last: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A validly signed entry following `last` in its log."""
    fields = {
        "contingent": last["contingent"], "seq": last["seq"] + 1, "prev": last["hash"],
        "seen": {}, "time": last["time"] + 1, "actor": "mallory", "action": "user_added",
        "payload": {"user": "mallory", "role": "admin", "contingent": None, "party": None},
    }  # fmt: skip
    fields.update(changes)
    return make_entry(key, **fields).as_dict()


@pytest.fixture
def nodes(engine: Engine, tmp_path: Path) -> tuple[Engine, KeyRing, Engine, KeyRing]:
    return two_nodes(engine, tmp_path)


def refused_by(target: Engine, keyring: KeyRing, bundle: dict[str, Any], match: str) -> None:
    before = _count(target)
    with pytest.raises(TrucelineError, match=match):
        import_bundle_data(target, bundle, "bundle", keyring=keyring)
    assert _count(target) == before


def test_a_rogue_contingents_log_is_refused(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing],
) -> None:
    a, _, b, green = nodes
    bundle = bundle_of(a)
    rogue = keys.generate()
    genesis = make_entry(
        rogue, contingent="red", seq=0, prev=None, seen={}, time=bundle["entries"][0]["time"],
        actor="init", action="genesis",
        payload={"mission": "demo", "mission_sha256": bundle["mission_sha256"],
                 "public_keys": {"red": keys.public_text(rogue)}},
    )  # fmt: skip
    bundle["entries"].append(genesis.as_dict())
    refused_by(b, green, bundle, "red: a log of a contingent that is not in the mission")


def test_an_entry_whose_time_goes_back_or_lies_far_ahead_is_refused(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing],
) -> None:
    a, blue, b, green = nodes
    key = blue.load("blue", None)
    bundle = bundle_of(a)
    last = bundle["entries"][-1]
    back = {**bundle, "entries": [*bundle["entries"], forged(key, last, time=last["time"] - 10)]}
    refused_by(b, green, back, "time is before the previous entry's")
    ahead = {
        **bundle,
        "entries": [*bundle["entries"], forged(key, last, time=4_000_000_000_000_000)],
    }
    refused_by(b, green, ahead, "after this node's clock")
    absurd = {**bundle, "entries": [*bundle["entries"], forged(key, last, time=-(10**18))]}
    refused_by(b, green, absurd, "before the previous entry's|outside the supported years")


def test_an_altered_copy_of_a_held_entry_is_a_conflict_not_nothing_new(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing],
) -> None:
    a, _, b, green = nodes
    bundle = bundle_of(a)
    import_bundle_data(b, bundle, "first", keyring=green)
    altered = json.loads(json.dumps(bundle))
    altered["entries"][1]["payload"]["rows"] = 99  # the hash and signature left as they were
    refused_by(b, green, altered, r"blue#1: conflict: held as [0-9a-f]+…, received with content")


def test_a_second_filing_in_a_round_forged_by_a_hostile_node_is_refused(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing], tmp_path: Path
) -> None:
    """Green files, sees blue's reveal in the bundle before importing it, and signs a second
    filing to change its position: refused, the verdict stays the one committed to."""
    a, blue, b, green = nodes
    with a.connect() as conn:
        finding = int(conn.execute(select(t.findings.c.id)).scalar_one())
    case_a = open_case(a, finding=finding, keyring=blue, acting="blue")["id"]
    file_assessment(a, case_a, contingent="blue", position=Position("confirmed", "west", "OP-1"),
                    actor="blue", keyring=blue)  # fmt: skip
    exchange(a, b, green, tmp_path / "1.json")
    with b.connect() as conn:
        case_b = int(conn.execute(select(t.cases.c.id)).scalar_one())
        key = conn.execute(select(t.cases.c.key)).scalar_one()
    file_assessment(b, case_b, contingent="green",
                    position=Position("not_confirmed", "undetermined", "no"), actor="green",
                    keyring=green)  # fmt: skip
    exchange(b, a, blue, tmp_path / "2.json")  # A reveals blue's position
    from_a = bundle_of(a)
    greens = [e for e in from_a["entries"] if e["contingent"] == "green"]
    second = forged(
        green.load("green", None), greens[-1], action=ASSESSMENT_FILED,
        payload={"case": key, "round": 1, "commitment": "0" * 64},
    )  # fmt: skip
    from_a["entries"].append(second)
    refused_by(a, blue, from_a, "green has filed for round 1 already|every contingent has filed")
    exchange(a, b, green, tmp_path / "3.json")
    with b.connect() as conn:
        assert case_view(conn, load_mission(conn), case_b, None)["verdict"] == "disputed"


def test_a_reveal_before_every_contingent_has_filed_is_refused(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing],
) -> None:
    a, blue, b, green = nodes
    with a.connect() as conn:
        finding = int(conn.execute(select(t.findings.c.id)).scalar_one())
    open_case(a, finding=finding, keyring=blue, acting="blue")
    bundle = bundle_of(a)
    case_entry = bundle["entries"][-1]
    early = forged(
        blue.load("blue", None), case_entry, action="assessment_revealed",
        payload={"case": case_entry["hash"], "round": 1, "commitment": "1" * 64,
                 "verdict": "confirmed", "attribution": "west", "rationale": "r",
                 "salt": "0" * 32},
    )  # fmt: skip
    bundle["entries"].append(early)
    refused_by(b, green, bundle, "before every contingent has filed")


def test_entries_of_the_old_log_format_are_refused_by_name(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing],
) -> None:
    a, _, b, green = nodes
    bundle = bundle_of(a)
    del bundle["entries"][0]["v"]
    with pytest.raises(TrucelineError, match="log format 1; this truceline reads log format 2"):
        import_bundle_data(b, bundle, "old", keyring=green)


# Tampering with one database, each seen by ledger verify.
@pytest.fixture
def centre(engine: Engine, tmp_path: Path) -> tuple[Engine, KeyRing]:
    """A centre holding both keys: a finding with a decided case, a complaint with a case, a
    chief, a unit's positions."""
    keyring = KeyRing(tmp_path / "keys")
    csv = (
        "id,observed_at,lat,lon,kind,count,source_kind,source,reporter\n"
        "a1,2020-11-21T10:00:00+04:00,40.27,46.75,explosion,5,observation_post,OP-1,blue\n"
        "a2,2020-11-21T11:00:00+04:00,40.10,46.70,explosion,2,patrol,P-2,green\n"
    )
    finding = signed_centre(engine, keyring, tmp_path, csv=csv)
    assert finding is not None
    case = open_case(engine, finding=finding, keyring=keyring, acting="blue")["id"]
    for contingent in ("blue", "green"):
        file_assessment(engine, case, contingent=contingent,
                        position=Position("confirmed", "west", f"{contingent} saw it"),
                        actor=contingent, keyring=keyring)  # fmt: skip
    complaint = ComplaintInput(
        party="east", kind="explosion", narrative="shelling at dawn", observed_from_us=T,
        observed_to_us=T, zone="contact-line", against="west",
    )  # fmt: skip
    receipt = file_complaint(engine, complaint, keyring=keyring, acting=None)
    open_case(engine, complaint=receipt.id, keyring=keyring, acting="green")
    add_user(engine, "blue-chief", role="chief", password="correct horse", contingent="blue",
             keyring=keyring)  # fmt: skip
    add_user(engine, "blue-officer", role="officer", password="correct horse",
             contingent="blue", keyring=keyring)  # fmt: skip
    positions = tmp_path / "positions.csv"
    positions.write_text(
        "unit,time,lat,lon\n"
        "blue-uav-1,2020-11-21T10:00:00+04:00,40.0,46.6\n"
        "blue-uav-1,2020-11-21T10:05:00+04:00,40.01,46.61\n"
    )
    from truceline.services.ingest import ingest_positions

    ingest_positions(engine, positions, keyring=keyring)
    from truceline.services.assess import assess

    assess(engine, keyring=keyring)  # the engine's findings are checked once it has run
    with engine.connect() as conn:
        report = verify_ledger(conn, load_mission(conn))
        assert report.ok, report.faults
    return engine, keyring


Tamper = Callable[[Any], None]


def last_entry_deleted(rewind: bool) -> Tamper:
    def tamper(conn: Any) -> None:
        e = t.ledger_entries
        last = conn.execute(
            select(e).where(e.c.contingent == "green").order_by(e.c.seq.desc())
        ).first()
        conn.execute(delete(e).where(e.c.id == last.id))
        if rewind:
            prev = conn.execute(
                select(e).where(e.c.contingent == "green", e.c.seq == last.seq - 1)
            ).one()
            conn.execute(
                update(t.ledger_heads).where(t.ledger_heads.c.contingent == "green")
                .values(seq=prev.seq, hash=prev.hash)
            )  # fmt: skip

    return tamper


def set_(table: Any, **values: Any) -> Tamper:
    def tamper(conn: Any) -> None:
        conn.execute(update(table).values(**values))

    return tamper


TAMPERINGS: dict[str, tuple[Tamper, str]] = {
    "the last entry of a log deleted, its head left": (
        last_entry_deleted(False),
        "green.*ledger_heads says",
    ),
    "the last entry of a log deleted, its head rewound": (
        last_entry_deleted(True),
        "made by no entry|missing here|not held here",
    ),
    "a complaint's narrative edited": (
        set_(t.complaints, narrative="nothing happened"),
        "complaints .*narrative",
    ),
    "a complaint's time edited": (
        set_(t.complaints, received_at_us=T),
        "complaints .*received_at_us",
    ),
    "a user's role raised": (
        lambda conn: conn.execute(
            update(t.users).where(t.users.c.name == "blue-officer").values(role="chief")
        ),
        "users blue-officer: role is 'chief', the entries make 'officer'",
    ),
    "a chief row added": (
        lambda conn: conn.execute(
            insert(t.users).values(
                name="mole",
                role="chief",
                contingent="green",
                password_hash="x",
                created_at_us=T,
                logged_by="green",
            )
        ),
        "users mole: in the table, made by no entry",
    ),
    "a finding edited": (set_(t.findings, subject="east"), "finding .*stored otherwise"),
    "an incident edited": (
        set_(t.incidents, count=1),
        r"incident \d+: stored, the evidence makes it otherwise",
    ),
    "a case's target edited": (
        lambda conn: conn.execute(
            update(t.cases)
            .where(t.cases.c.subject_key.like("finding:%"))
            .values(subject_key="finding:other")
        ),
        "cases .*subject_key",
    ),
    "a reveal flag edited": (
        set_(t.assessments, revealed_at_us=None),
        "assessments .*revealed_at_us",
    ),
    "an assessment edited": (
        set_(t.assessments, verdict="not_confirmed"),
        "assessments .*verdict",
    ),
    "a case deleted": (
        lambda conn: (
            conn.execute(delete(t.rounds)),
            conn.execute(delete(t.assessments)),
            conn.execute(delete(t.cases)),
        ),
        "cases .*made by the entries, missing here",
    ),
    "a position edited": (
        set_(t.positions, lat_e7=400_500_000),
        "positions of import batch .* do not match",
    ),
}


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_each_tampering_with_the_database_is_named_by_ledger_verify(
    centre: tuple[Engine, KeyRing], name: str
) -> None:
    engine, _ = centre
    tamper, expected = TAMPERINGS[name]
    with engine.begin() as conn:
        tamper(conn)
    with engine.connect() as conn:
        report = verify_ledger(conn, load_mission(conn))
    problems = [str(f) for f in report.faults]
    assert not report.ok
    import re

    assert any(re.search(expected, p) for p in problems), problems


def test_rebuild_from_the_entries_gives_the_tables_back(centre: tuple[Engine, KeyRing]) -> None:
    engine, _ = centre
    with engine.connect() as conn:
        before = projection.snapshot(conn)
    with writing(engine) as conn:
        conn.execute(update(t.users).values(role="admin"))
        conn.execute(delete(t.retractions))
        conn.execute(update(t.cases).values(verdict="rejected"))
        result = rebuild(conn, load_mission(conn))
    assert result.faults == []
    with engine.connect() as conn:
        assert projection.snapshot(conn) == before
        assert verify_ledger(conn, load_mission(conn)).ok


def test_a_retracted_observation_stops_counting_and_only_its_reporter_may_retract_it(
    centre: tuple[Engine, KeyRing],
) -> None:
    engine, keyring = centre
    with engine.connect() as conn:
        o = t.observations
        ident = conn.execute(select(o.c.id).where(o.c.reporter == "green")).scalar_one()
        before = conn.execute(select(func.count()).select_from(t.findings)
                              .where(t.findings.c.status == "active")).scalar_one()  # fmt: skip
    with pytest.raises(TrucelineError, match="only green may retract it"):
        retract_observation(engine, ident, reason="typo", keyring=keyring, acting="blue")
    done = retract_observation(engine, ident, reason="wrong grid", keyring=keyring)
    assert done.contingent == "green"
    with engine.connect() as conn:
        shown = {o["id"]: o["retracted"] for o in list_observations(conn)}
    assert shown[ident] is not None and shown[ident]["by"] == "green"  # stays, shown retracted
    assert shown[ident]["reason"] == "wrong grid" and len(shown) == 2
    with engine.connect() as conn:
        assert conn.execute(select(t.retractions.c.reason)).scalars().all() == ["wrong grid"]
        after = conn.execute(select(func.count()).select_from(t.findings)
                             .where(t.findings.c.status == "active")).scalar_one()  # fmt: skip
        assert after == before - 1
        report = verify_ledger(conn, load_mission(conn))
        assert report.ok, report.faults


def test_two_nodes_exchanging_both_ways_hold_equal_joint_records(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing], tmp_path: Path
) -> None:
    a, blue, b, green = nodes
    complaint = ComplaintInput(
        party="east", kind="explosion", narrative="shelling", observed_from_us=T,
        observed_to_us=T, zone="contact-line",
    )  # fmt: skip
    receipt = file_complaint(a, complaint, keyring=blue, acting=None)
    assert receipt.received_by == ["blue"]
    case_a = open_case(a, complaint=receipt.id, keyring=blue, acting="blue")["id"]
    file_assessment(a, case_a, contingent="blue", position=Position("inconclusive", "undetermined",
                    "one report"), actor="blue", keyring=blue)  # fmt: skip
    exchange(a, b, green, tmp_path / "a1.json")  # B logs its own receipt of the complaint
    with b.connect() as conn:
        case_b = int(conn.execute(select(t.cases.c.id)).scalar_one())
    file_assessment(b, case_b, contingent="green", position=Position("inconclusive",
                    "undetermined", "no trace"), actor="green", keyring=green)  # fmt: skip
    exchange(b, a, blue, tmp_path / "b1.json")
    exchange(a, b, green, tmp_path / "a2.json")
    with a.connect() as ca, b.connect() as cb:
        left, right = projection.snapshot(ca), projection.snapshot(cb)
        for name in ("cases", "rounds", "assessments", "complaints", "complaint_receipts"):
            assert left[name] == right[name], name
        assert case_view(ca, load_mission(ca), case_a, None)["verdict"] == "inconclusive"
        for conn in (ca, cb):
            report = verify_ledger(conn, load_mission(conn))
            assert report.ok, report.faults


def evidence_of(conn: Any) -> dict[str, Any]:
    """What two nodes must hold alike: observations and positions by identity, the active
    findings by key, the retractions."""
    o, p, f = t.observations, t.positions, t.findings
    fields = [o.c[name] for name in OBS_FIELDS]
    return {
        "observations": sorted(tuple(r) for r in conn.execute(select(o.c.uid, *fields))),
        "positions": sorted(tuple(r) for r in conn.execute(select(p.c.uid, p.c.unit, p.c.time_us))),
        "findings": sorted(
            tuple(r)
            for r in conn.execute(
                select(f.c.key, f.c.rule, f.c.zone, f.c.subject, f.c.start_us, f.c.end_us).where(
                    f.c.status == "active"
                )
            )
        ),
        "retractions": projection.snapshot(conn)["retractions"],
    }


def test_evidence_travels_with_the_entries_and_both_nodes_hold_the_same_findings(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing], tmp_path: Path
) -> None:
    """Node B starts with nothing of A's evidence; after bundles both ways (and each node's
    own assess) both hold the same observations, positions, findings and retractions, and a
    complaint case on B shows the complaint."""
    a, blue, b, green = nodes
    seen_by_green = tmp_path / "green.csv"
    seen_by_green.write_text(
        "id,observed_at,lat,lon,kind,count,source_kind,source,reporter\n"
        "g1,2020-11-21T10:01:00+04:00,40.271,46.751,explosion,3,uav,UAV-7,green\n"
        "g2,2020-11-21T15:00:00+04:00,40.10,46.70,shot,1,patrol,GP-2,green\n"
    )
    ingest_observations(b, seen_by_green, keyring=green)
    assess(b, keyring=green)
    exchange(a, b, green, tmp_path / "a1.json")
    exchange(b, a, blue, tmp_path / "b1.json")
    with a.connect() as conn:
        ident = conn.execute(
            select(t.observations.c.id).where(t.observations.c.record_id == "a1")
        ).scalar_one()
    retract_observation(a, ident, reason="wrong grid", keyring=blue)  # assesses A again
    exchange(a, b, green, tmp_path / "a2.json")
    assess(b, keyring=green)
    exchange(b, a, blue, tmp_path / "b2.json")
    assess(a, keyring=blue)  # A's retraction re-assessed only the observation's own window
    with a.connect() as ca, b.connect() as cb:
        left, right = evidence_of(ca), evidence_of(cb)
        assert len(left["observations"]) == 3 and left["retractions"]
        assert left == right
        for conn in (ca, cb):
            report = verify_ledger(conn, load_mission(conn))
            assert report.ok, report.faults


def test_rows_that_do_not_match_their_logged_hash_or_are_missing_are_refused(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing],
) -> None:
    a, _, b, green = nodes
    bundle = bundle_of(a)
    altered = json.loads(json.dumps(bundle))
    altered["evidence"][0]["rows"][0][8] = 500  # the count of an explosion, after signing
    refused_by(b, green, altered, r"blue#\d+: the rows carried do not match its logged hash")
    missing = {**bundle, "evidence": []}
    refused_by(b, green, missing, r"blue#\d+: the bundle carries no rows for its import batch")


def test_a_peer_cannot_store_rows_that_would_break_this_node_even_when_it_signed_them(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing],
) -> None:
    a, blue, b, green = nodes
    bundle = bundle_of(a)
    row = list(bundle["evidence"][0]["rows"][0])
    row[3] = "north of the river"  # lat_e7 as text
    rows, digest = batch_digest(OBSERVATIONS, [tuple(row)])
    entry = forged(
        blue.load("blue", None), last_of(bundle, "blue"), action="import_batch",
        payload={"node": "elsewhere", "batch": 9, "kind": "observations", "source": "x",
                 "format": "csv", "rows": rows, "duplicates": 0, "rejected": 0,
                 "sha256": digest},
    )  # fmt: skip
    hostile = {
        **bundle, "entries": [*bundle["entries"], entry],
        "evidence": [*bundle["evidence"],
                     {"node": "elsewhere", "batch": 9, "kind": "observations", "rows": [row]}],
    }  # fmt: skip
    refused_by(b, green, hostile, "row 0 of its import batch: lat_e7 is not an integer")


def last_of(bundle: dict[str, Any], contingent: str) -> dict[str, Any]:
    return max((e for e in bundle["entries"] if e["contingent"] == contingent),
               key=lambda e: e["seq"])  # fmt: skip


def test_a_peer_may_not_add_or_change_another_contingents_accounts(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing],
) -> None:
    a, blue, b, green = nodes
    bundle = bundle_of(a)
    chief = forged(
        blue.load("blue", None), last_of(bundle, "blue"),
        payload={"user": "mole", "role": "chief", "contingent": "green", "party": None},
    )  # fmt: skip
    refused_by(b, green, {**bundle, "entries": [*bundle["entries"], chief]},
               "only green's log holds its accounts")  # fmt: skip
    add_user(b, "green-chief", role="chief", password="correct horse", contingent="green",
             keyring=green)  # fmt: skip
    import_bundle_data(a, bundle_of(b), "b", keyring=blue)  # A holds green's account now
    held = bundle_of(a)
    demote = forged(
        blue.load("blue", None), last_of(held, "blue"), action="user_changed",
        payload={"user": "green-chief", "disabled": True},
    )  # fmt: skip
    refused_by(b, green, {**held, "entries": [*held["entries"], demote]},
               "changes 'green-chief', whose account is in green's log")  # fmt: skip


def test_a_disabled_account_cannot_log_in_and_stays_disabled_after_a_rebuild(
    centre: tuple[Engine, KeyRing],
) -> None:
    engine, keyring = centre
    with writing(engine) as conn:
        user = authenticate(conn, "blue-officer", "correct horse")
        assert user is not None
        token = issue_token(conn, user)
    set_disabled(engine, "blue-officer", disabled=True, keyring=keyring)
    with writing(engine) as conn:
        assert authenticate(conn, "blue-officer", "correct horse") is None
        assert user_for_token(conn, token) is None
        rebuild(conn, load_mission(conn))
        assert authenticate(conn, "blue-officer", "correct horse") is None
        assert verify_ledger(conn, load_mission(conn)).ok
    set_disabled(engine, "blue-officer", disabled=False, keyring=keyring)
    with engine.connect() as conn:
        assert authenticate(conn, "blue-officer", "correct horse") is not None


def test_a_re_keyed_log_that_another_log_has_seen_is_named_by_verify(
    centre: tuple[Engine, KeyRing],
) -> None:
    """Green's key replaced and its whole log re-signed (possible where the mission pins no
    key): blue's log has seen green's old entries, which are no longer held."""
    engine, _ = centre
    other = keys.generate()
    e = t.ledger_entries
    with engine.begin() as conn:
        greens = [x for x in ledger_repo.all_entries(conn) if x.contingent == "green"]
        conn.execute(delete(e).where(e.c.contingent == "green"))
        prev = None
        for old in greens:
            payload = dict(old.payload)
            if old.seq == 0:
                payload["public_keys"] = {
                    **payload["public_keys"],
                    "green": keys.public_text(other),
                }
            new = make_entry(
                other, contingent="green", seq=old.seq, prev=prev, seen=old.seen, time=old.time,
                actor=old.actor, action=old.action, payload=payload,
            )  # fmt: skip
            ledger_repo.insert_entry(conn, new)
            prev = new.hash
        conn.execute(update(t.ledger_heads).where(t.ledger_heads.c.contingent == "green")
                     .values(hash=prev))  # fmt: skip
        problems = [str(f) for f in verify_ledger(conn, load_mission(conn)).faults]
    assert any(p.startswith("blue#") and "it has seen green's entry" in p for p in problems)


def test_a_published_reports_checkpoint_catches_a_rollback_and_an_equivocation(
    centre: tuple[Engine, KeyRing], cli: Any, tmp_path: Path
) -> None:
    engine, keyring = centre
    day = date(2020, 11, 21)
    sha = report_state(engine, day)["sha256"]
    for contingent in ("blue", "green"):
        sign_report(engine, day, sha256=sha, contingent=contingent, actor="chief",
                    keyring=keyring)  # fmt: skip
    with engine.connect() as conn:
        public = published(conn, load_mission(conn), day)
    assert public is not None and set(public["checkpoint"]) == {"blue", "green"}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(public))
    db = engine.url.render_as_string(hide_password=False)
    page = tmp_path / "report.html"  # the published page anyone may keep
    page.write_text(TestClient(create_app(db, keyring.folder)).get("/reports/2020-11-21").text)
    intact = cli("ledger", "verify", "--checkpoint", path, "--checkpoint", page, "--json",
                 "--db", db)  # fmt: skip
    assert intact.code == 0 and json.loads(intact.out) == []
    after = public["checkpoint"]["green"]
    e = t.ledger_entries
    with engine.begin() as conn:  # roll green's log back below the checkpoint, heads and all
        conn.execute(delete(e).where(e.c.contingent == "green", e.c.seq == after["seq"]))
        prev = conn.execute(
            select(e.c.seq, e.c.hash).where(e.c.contingent == "green", e.c.seq == after["seq"] - 1)
        ).one()
        conn.execute(update(t.ledger_heads).where(t.ledger_heads.c.contingent == "green")
                     .values(seq=prev.seq, hash=prev.hash))  # fmt: skip
    for kept in (path, page):
        rolled = cli("ledger", "verify", "--checkpoint", kept, "--json", "--db", db)
        assert rolled.code == 1
        assert {"contingent": "green", "seq": after["seq"],
                "problem": "the checkpoint holds this entry; the log here is shorter (rolled back)"
                } in json.loads(rolled.out)  # fmt: skip
    public["checkpoint"]["blue"]["hash"] = "0" * 64
    path.write_text(json.dumps(public))
    forked = cli("ledger", "verify", "--checkpoint", path, "--db", db)
    assert forked.code == 1 and "equivocation: the checkpoint has 000000000000" in forked.err


def test_a_node_runs_the_engine_over_a_peers_evidence_and_names_a_run_it_disagrees_with(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing],
) -> None:
    a, blue, b, green = nodes
    bundle = bundle_of(a)
    run = next(e for e in bundle["entries"] if e["action"] == "assessment_run")
    lying = forged(
        blue.load("blue", None), last_of(bundle, "blue"), action="assessment_run",
        payload={**run["payload"], "run": 99, "sha256": "0" * 64},
    )  # fmt: skip
    honest = import_bundle_data(b, bundle, "a", keyring=green)
    assert honest.differing == [] and honest.evidence == 1
    told = import_bundle_data(b, {**bundle, "entries": [*bundle["entries"], lying]}, "a",
                              keyring=green)  # fmt: skip
    assert told.differing == [
        f"blue#{lying['seq']}: its assessment run found other findings than this node's engine "
        "makes of the same evidence"
    ]


def test_a_report_whose_findings_carry_coordinates_is_signed_and_published(
    engine: Engine, tmp_path: Path
) -> None:
    """The demo's excursions carry floats (coordinates) in their evidence: the signed report
    carries them as exact text, canonical data."""
    from truceline.services.demo import build_demo

    build_demo(engine, days=1, seed=7, data_dir=tmp_path / "demo", force=False)
    keyring = KeyRing(tmp_path / "demo" / "keys")
    with engine.connect() as conn:
        mission = load_mission(conn)
        start = conn.execute(
            select(t.findings.c.start_us).where(t.findings.c.unit.is_not(None)).limit(1)
        ).scalar_one()  # an excursion, with coordinates in its evidence
    day = reporting_day(from_us(int(start)), mission.report_cutoff, mission.timezone)
    state = report_state(engine, day)
    assert state["report"]["findings"]
    for contingent in ("blue", "green"):
        sign_report(engine, day, sha256=state["sha256"], contingent=contingent, actor="chief",
                    keyring=keyring)  # fmt: skip
    with engine.connect() as conn:
        assert published(conn, load_mission(conn), day) is not None
        assert verify_ledger(conn, load_mission(conn)).ok


def test_a_peer_cannot_claim_this_nodes_import_batch_or_one_claimed_already(
    nodes: tuple[Engine, KeyRing, Engine, KeyRing],
) -> None:
    """A hostile contingent naming the victim's own batch would make its verify fail for ever."""
    a, blue, b, green = nodes
    import_bundle_data(b, bundle_of(a), "a", keyring=green)
    held = bundle_of(b)
    own = next(e for e in held["entries"] if e["action"] == "import_batch")  # A's batch 1
    key = green.load("green", None)

    def claims(*batches: tuple[str, int]) -> dict[str, Any]:
        entries, evidence = list(held["entries"]), list(held["evidence"])
        for node, number in batches:
            payload = {**own["payload"], "node": node, "batch": number}
            entries.append(forged(key, entries[-1] if entries[-1]["contingent"] == "green"
                                  else last_of(held, "green"), action="import_batch",
                                  payload=payload))  # fmt: skip
            evidence.append({**held["evidence"][0], "node": node, "batch": number})
        return {**held, "entries": entries, "evidence": evidence}

    refused_by(a, blue, claims((own["payload"]["node"], 1)), r"claims import batch 1 of node "
               r"[0-9a-f]+, which blue#1 names already")  # fmt: skip
    refused_by(
        a,
        blue,
        claims(("elsewhere", 7), ("elsewhere", 7)),
        r"claims import batch 7 of node elsewhere, which green#\d+ names already",
    )
    with a.connect() as conn:
        node_a = conn.execute(select(t.nodes.c.id)).scalar_one()
    refused_by(a, blue, claims((node_a, 5)), "names an import batch of this node")
