"""The logs: one append-only, hash-chained, signed list of entries per contingent.

An entry is `{contingent, seq, prev, seen, time, actor, action, payload}`; its `hash` is the
sha256 of that body's canonical JSON, and its `sig` the contingent's Ed25519 signature of the
hash. `prev` is the hash of the contingent's previous entry (none for the genesis entry,
seq 0), and `seen` the latest hash of every other log its author had seen. Nobody writes
another contingent's log, so the joint record needs no consensus: it is a function of all logs.
Two entries with the same contingent and seq and different hashes, both validly signed, prove
equivocation.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from truceline.domain import keys
from truceline.domain.canonical import canonical_sha256

GENESIS = "genesis"


@dataclass(frozen=True)
class Entry:
    contingent: str
    seq: int
    prev: str | None
    seen: Mapping[str, str]
    time: int  # microseconds
    actor: str
    action: str
    payload: Mapping[str, Any]
    hash: str = ""
    sig: str = ""

    def body(self) -> dict[str, Any]:
        return {
            "contingent": self.contingent,
            "seq": self.seq,
            "prev": self.prev,
            "seen": dict(self.seen),
            "time": self.time,
            "actor": self.actor,
            "action": self.action,
            "payload": dict(self.payload),
        }

    def computed_hash(self) -> str:
        return canonical_sha256(self.body())

    def as_dict(self) -> dict[str, Any]:
        return {**self.body(), "hash": self.hash, "sig": self.sig}


def make_entry(
    key: Ed25519PrivateKey,
    *,
    contingent: str,
    seq: int,
    prev: str | None,
    seen: Mapping[str, str],
    time: int,
    actor: str,
    action: str,
    payload: Mapping[str, Any],
) -> Entry:
    """A new signed entry."""
    draft = Entry(contingent, seq, prev, dict(seen), time, actor, action, dict(payload))
    digest = draft.computed_hash()
    return Entry(
        contingent,
        seq,
        prev,
        dict(seen),
        time,
        actor,
        action,
        dict(payload),
        digest,
        keys.sign(key, digest),
    )


def entry_from_dict(data: Mapping[str, Any]) -> Entry:
    return Entry(
        contingent=str(data["contingent"]),
        seq=int(data["seq"]),
        prev=data["prev"],
        seen=dict(data["seen"]),
        time=int(data["time"]),
        actor=str(data["actor"]),
        action=str(data["action"]),
        payload=dict(data["payload"]),
        hash=str(data["hash"]),
        sig=str(data["sig"]),
    )


@dataclass(frozen=True)
class Fault:
    contingent: str
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.contingent}#{self.seq}" if self.seq is not None else self.contingent
        return f"{where}: {self.problem}"


@dataclass
class ChainReport:
    faults: list[Fault] = field(default_factory=list)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)  # contingent → (seq, hash)
    pinned: dict[str, str] = field(default_factory=dict)  # contingent → public key text

    @property
    def ok(self) -> bool:
        return not self.faults


def pinned_keys(file_keys: Mapping[str, str | None], entries: Iterable[Entry]) -> dict[str, str]:
    """Each contingent's pinned key: the mission file's, else the one its genesis entry states."""
    pinned = {c: k for c, k in file_keys.items() if k}
    for entry in entries:
        if entry.seq == 0 and entry.action == GENESIS and entry.contingent not in pinned:
            stated = entry.payload.get("public_keys", {}).get(entry.contingent)
            if isinstance(stated, str):
                pinned[entry.contingent] = stated
    return pinned


def verify_chains(entries: Iterable[Entry], file_keys: Mapping[str, str | None]) -> ChainReport:
    """Check every log: hashes, signatures under the pinned keys, the chain of `prev`, the
    sequence from 0 without gaps, and equivocation. Faults name the entry (contingent, seq)."""
    entries = list(entries)
    report = ChainReport(pinned=pinned_keys(file_keys, entries))
    public: dict[str, Ed25519PublicKey] = {}
    for contingent, text in report.pinned.items():
        try:
            public[contingent] = keys.parse_public(text)
        except ValueError:
            report.faults.append(Fault(contingent, None, f"pinned key is not a valid key: {text}"))
    by_contingent: dict[str, list[Entry]] = {}
    for entry in entries:
        by_contingent.setdefault(entry.contingent, []).append(entry)
    signed = _signatures_valid(entries, public)
    for contingent, log in sorted(by_contingent.items()):
        key = public.get(contingent)
        if key is None:
            report.faults.append(Fault(contingent, None, "no pinned public key for this log"))
            continue
        valid: dict[int, list[Entry]] = {}
        for entry in log:
            if entry.computed_hash() != entry.hash:
                report.faults.append(
                    Fault(
                        contingent,
                        entry.seq,
                        "content does not match its hash (changed after signing)",
                    )
                )
            elif not signed[id(entry)]:
                report.faults.append(
                    Fault(contingent, entry.seq, "signature is not by the pinned key")
                )
            else:
                valid.setdefault(entry.seq, []).append(entry)
        for seq, same in sorted(valid.items()):
            if len({e.hash for e in same}) > 1:
                hashes = ", ".join(sorted({e.hash[:12] for e in same}))
                report.faults.append(
                    Fault(
                        contingent,
                        seq,
                        f"equivocation: two signed entries with this seq ({hashes}…)",
                    )
                )
        previous: Entry | None = None
        expected = 0
        for entry in sorted(log, key=lambda e: e.seq):
            if entry.seq in valid and len(valid[entry.seq]) > 1:
                previous, expected = entry, entry.seq + 1
                continue
            if entry.seq != expected:
                problem = f"expected entry {expected} here (an entry is missing or out of place)"
                report.faults.append(Fault(contingent, entry.seq, problem))
            elif expected == 0 and (entry.action != GENESIS or entry.prev is not None):
                report.faults.append(
                    Fault(contingent, entry.seq, "the first entry is not a genesis entry")
                )
            elif previous is not None and entry.prev != previous.hash:
                report.faults.append(
                    Fault(contingent, entry.seq, "prev does not match the previous entry's hash")
                )
            previous, expected = entry, entry.seq + 1
        if previous is not None:
            report.heads[contingent] = (previous.seq, previous.hash)
    report.faults.sort(key=lambda f: (f.contingent, -1 if f.seq is None else f.seq))
    return report


def _signatures_valid(
    entries: list[Entry], public: Mapping[str, Ed25519PublicKey]
) -> dict[int, bool]:
    """Whether each entry's signature verifies under its log's pinned key (keyed by id()).
    Verification releases the GIL, so large logs are checked on every core."""

    def check(part: list[Entry]) -> list[bool]:
        return [
            e.contingent in public and keys.verify(public[e.contingent], e.hash, e.sig)
            for e in part
        ]

    workers = min(os.cpu_count() or 1, 8) if len(entries) >= 2_000 else 1
    if workers == 1:
        results = check(entries)
    else:
        parts = [entries[k::workers] for k in range(workers)]
        with ThreadPoolExecutor(workers) as pool:
            checked = list(pool.map(check, parts))
        results = [False] * len(entries)
        for k, part_results in enumerate(checked):
            results[k::workers] = part_results
    return {id(e): ok for e, ok in zip(entries, results, strict=True)}
