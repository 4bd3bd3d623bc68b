"""Benchmark: verifying the signed logs.

Builds 100,000 entries in two contingents' logs, then prints our verification rate (hashes
recomputed over canonical JSON, Ed25519 signatures, chains, sequence, equivocation) beside the
raw Ed25519 verify rate of the `cryptography` package over the same signatures, measured in the
same run. Target: at least 50% of the raw rate. Also `ledger verify` end to end from SQLite.

    python bench/ledger.py [--entries N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from truceline.demo import MISSION_FILE
from truceline.domain import keys
from truceline.domain.ledger import GENESIS, Entry, make_entry, verify_chains
from truceline.services.ledger import KeyRing, verify_ledger
from truceline.services.missions import init_database
from truceline.store.db import make_engine, writing
from truceline.store.ledger import insert_entry


def build(entries: int, blue_key: object, green_key: object, genesis: dict) -> list[Entry]:  # type: ignore[type-arg]
    logs: dict[str, list[Entry]] = {"blue": [], "green": []}
    signer = {"blue": blue_key, "green": green_key}
    for n in range(entries):
        contingent = "blue" if n % 2 == 0 else "green"
        log = logs[contingent]
        other = logs["green" if contingent == "blue" else "blue"]
        log.append(
            make_entry(
                signer[contingent],  # type: ignore[arg-type]
                contingent=contingent,
                seq=len(log),
                prev=log[-1].hash if log else None,
                seen={"other": other[-1].hash} if other else {},
                time=1_605_852_000_000_000 + n,
                actor=contingent,
                action=GENESIS if not log else "import_batch",
                payload=genesis
                if not log
                else {"batch": n, "kind": "observations", "rows": 1000, "sha256": "ab" * 32},
            )
        )
    return logs["blue"] + logs["green"]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        keyring = KeyRing(Path(folder) / "keys")
        blue_public, green_public = keyring.generate("blue"), keyring.generate("green")
        blue, green = keyring.load("blue", blue_public), keyring.load("green", green_public)
        print(f"ledger benchmark: {args.entries:,} entries in two logs")
        pinned = {"blue": blue_public, "green": green_public}
        engine = make_engine(f"sqlite:///{Path(folder) / 'ledger.db'}")
        mission = init_database(engine, MISSION_FILE).mission
        genesis = {"mission": mission.id, "mission_sha256": mission.sha256, "public_keys": pinned}
        began = time.perf_counter()
        entries = build(args.entries, blue, green, genesis)
        print(f"  (signing them took {time.perf_counter() - began:.1f} s)")

        public = {c: keys.parse_public(k) for c, k in pinned.items()}
        began = time.perf_counter()
        for entry in entries:
            keys.verify(public[entry.contingent], entry.hash, entry.sig)
        raw = len(entries) / (time.perf_counter() - began)

        began = time.perf_counter()
        report = verify_chains(entries, pinned)
        ours = len(entries) / (time.perf_counter() - began)
        assert report.ok, report.faults[:3]

        with writing(engine) as conn:
            for entry in entries:
                insert_entry(conn, entry)
        with engine.connect() as conn:
            began = time.perf_counter()
            full = verify_ledger(conn, mission)
            end_to_end = len(entries) / (time.perf_counter() - began)
        engine.dispose()
        print(f"  cryptography Ed25519 verify (raw)      {raw:>10,.0f} entries/s")
        for label, rate in (
            ("truceline verify_chains (in memory)", ours),
            ("truceline ledger verify (from SQLite)", end_to_end),
        ):
            print(f"  {label:<38} {rate:>10,.0f} entries/s   {rate / raw:6.1%} of raw")
        print(
            "  (from SQLite includes loading the entries and re-hashing every import batch named)"
        )
        print(f"  target (>= 50% of raw): {'met' if ours >= 0.5 * raw else 'NOT MET'}")
        # The end-to-end run checks the batches too; these synthetic entries name none stored,
        # and their genesis entries name no mission file.
        unexpected = [
            f for f in full.faults if "import batch" not in f.problem and "mission" not in f.problem
        ]
        assert not unexpected, unexpected[:3]
    return 0


if __name__ == "__main__":
    sys.exit(main())
