"""Benchmark: verifying the signed logs, and re-deriving the joint state from them.

Builds 100,000 entries in two contingents' logs, mostly ones that change the joint state
(cases opened, two blind filings and two reveals each) between import batches, then prints,
beside the raw Ed25519 verify rate of the `cryptography` package over the same signatures
measured in the same run:
- our chain verification (hashes over canonical JSON, signatures, chains, sequence, times,
  `seen` references, equivocation), in memory;
- the projections re-derived from the entries alone (cases, rounds, filings, reveals), in
  memory, as `ledger verify` and `ledger rebuild` do;
- `ledger verify` end to end from SQLite: chains, evidence, projections re-derived and compared.
Target: `ledger verify` with the projections at least 50% of the raw rate.

    python bench/ledger.py [--entries N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from truceline.demo import MISSION_FILE
from truceline.domain import actions, keys
from truceline.domain.cases import Position, commitment
from truceline.domain.ledger import Entry, make_entry, verify_chains
from truceline.services import projector
from truceline.services.ledger import KeyRing, verify_ledger
from truceline.services.missions import init_database
from truceline.store import projection
from truceline.store import tables as t
from truceline.store.db import make_engine, writing
from truceline.store.ledger import insert_entry

START_US = 1_605_852_000_000_000


class Logs:
    """Two contingents appending in turn, each entry having seen the other's last."""

    def __init__(self, signers: dict[str, Any]) -> None:
        self.signers = signers
        self.logs: dict[str, list[Entry]] = {c: [] for c in signers}
        self.count = 0

    def add(self, contingent: str, action: str, payload: dict[str, Any]) -> Entry:
        log = self.logs[contingent]
        seen = {c: other[-1].hash for c, other in self.logs.items() if c != contingent and other}
        entry = make_entry(
            self.signers[contingent], contingent=contingent, seq=len(log),
            prev=log[-1].hash if log else None, seen=seen, time=START_US + self.count,
            actor=contingent, action=action, payload=payload,
        )  # fmt: skip
        log.append(entry)
        self.count += 1
        return entry

    def all(self) -> list[Entry]:
        return [e for log in self.logs.values() for e in log]


def build(entries: int, signers: dict[str, Any], genesis: dict[str, Any]) -> list[Entry]:
    logs = Logs(signers)
    for contingent in signers:
        logs.add(contingent, actions.GENESIS, genesis)
    case_number = 0
    while logs.count < entries:
        case_number += 1
        for contingent in signers:  # the evidence: one import batch each (rows elsewhere)
            logs.add(contingent, actions.IMPORT_BATCH, {
                "node": "elsewhere", "batch": logs.count, "kind": "observations", "rows": 1000,
                "sha256": "ab" * 32,
            })  # fmt: skip
        opened = logs.add("blue", actions.CASE_OPENED, {
            "subject": {"finding": f"1/v1/incident:obs-{case_number}"}})  # fmt: skip
        sealed = {}
        for contingent in signers:
            position = Position("confirmed", "undetermined", f"{contingent} saw it")
            salt = f"{case_number:032x}"
            sealed[contingent] = (position, salt, commitment(
                position, salt, case=opened.hash, round=1, contingent=contingent))  # fmt: skip
            logs.add(
                contingent,
                actions.ASSESSMENT_FILED,
                {"case": opened.hash, "round": 1, "commitment": sealed[contingent][2]},
            )
        for contingent, (position, salt, sealed_as) in sealed.items():
            logs.add(contingent, actions.ASSESSMENT_REVEALED, {
                "case": opened.hash, "round": 1, "commitment": sealed_as,
                "verdict": position.verdict, "attribution": position.attribution,
                "rationale": position.rationale, "salt": salt,
            })  # fmt: skip
    return logs.all()


def rate(count: int, began: float) -> float:
    return count / (time.perf_counter() - began)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        keyring = KeyRing(Path(folder) / "keys")
        pinned = {c: keyring.generate(c) for c in ("blue", "green")}
        signers = {c: keyring.load(c, k) for c, k in pinned.items()}
        engine = make_engine(f"sqlite:///{Path(folder) / 'ledger.db'}")
        mission = init_database(engine, MISSION_FILE).mission
        genesis = {"mission": mission.id, "mission_sha256": mission.sha256, "public_keys": pinned}
        began = time.perf_counter()
        entries = build(args.entries, signers, genesis)
        projecting = sum(e.action not in (actions.GENESIS, actions.IMPORT_BATCH) for e in entries)
        print(
            f"ledger benchmark: {len(entries):,} entries in two logs, {projecting:,} of them "
            f"changing the joint state ({projecting // 5:,} cases)"
        )
        print(f"  (signing them took {time.perf_counter() - began:.1f} s)")

        public = {c: keys.parse_public(k) for c, k in pinned.items()}
        began = time.perf_counter()
        for entry in entries:
            keys.verify(public[entry.contingent], entry.hash, entry.sig)
        raw = rate(len(entries), began)

        began = time.perf_counter()
        chains = verify_chains(entries, pinned, contingents=list(mission.contingents))
        ours = rate(len(entries), began)
        assert chains.ok, chains.faults[:3]

        with writing(engine) as conn:
            for entry in entries:
                insert_entry(conn, entry)
            for contingent, (seq, digest) in chains.heads.items():
                conn.execute(insert(t.ledger_heads).values(contingent=contingent, seq=seq,
                                                           hash=digest))  # fmt: skip
        with engine.connect() as conn:
            began = time.perf_counter()
            derived, replay = projector.derive(conn, mission, entries)
            projections = rate(len(entries), began)
            assert not replay.faults, replay.faults[:3]
            assert len(derived["cases"]) == projecting // 5
        with writing(engine) as conn:  # the tables as the node would hold them
            projector.rebuild(conn, mission)
            assert len(projection.snapshot(conn)["cases"]) == projecting // 5
        with engine.connect() as conn:
            began = time.perf_counter()
            full = verify_ledger(conn, mission)
            end_to_end = rate(len(entries), began)
        engine.dispose()
        print(f"  cryptography Ed25519 verify (raw)          {raw:>10,.0f} entries/s")
        for label, value in (
            ("truceline verify_chains (in memory)", ours),
            ("projections re-derived (in memory)", projections),
            ("truceline ledger verify (from SQLite)", end_to_end),
        ):
            print(f"  {label:<42} {value:>10,.0f} entries/s   {value / raw:6.1%} of raw")
        print(
            "  (ledger verify: loading the entries, the chains, the evidence checks, and every "
            "projection re-derived and compared)"
        )
        met = end_to_end >= 0.5 * raw
        print(f"  target (ledger verify >= 50% of raw): {'met' if met else 'NOT MET'}")
        # These synthetic import batches name rows held elsewhere: the only faults expected.
        unexpected = [f for f in full.faults if "import batch" not in f.problem]
        assert not unexpected, unexpected[:3]
    return 0


if __name__ == "__main__":
    sys.exit(main())
