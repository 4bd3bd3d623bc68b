"""The logs: one append-only, hash-chained, signed list of entries per contingent.

An entry is `{contingent, seq, prev, seen, time, actor, action, payload}`; its `hash` is the
sha256 of that body's canonical JSON, and its `sig` the contingent's Ed25519 signature of the
hash. `prev` is the hash of the contingent's previous entry (none for the genesis entry,
seq 0), and `seen` the latest hash of every other log its author had seen. Nobody writes
another contingent's log, so the joint record needs no consensus: it is a function of all logs.
Two entries with the same contingent and seq and different hashes, both validly signed, prove
equivocation.

Every entry carries `v`, the log format: this is format 2 (the joint record: binding blind
rounds, entries as the only source of truth). Entries of an older format are refused by name,
never read with their old meaning.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from truceline.domain import keys
from truceline.domain.canonical import canonical_sha256, ijson_problem
from truceline.domain.records import LAST_US
from truceline.i18n.message import M

GENESIS = "genesis"
LOG_FORMAT = 2


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
    v: int = LOG_FORMAT

    def body(self) -> dict[str, Any]:
        return {
            "v": self.v,
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
    problem = ijson_problem(dict(payload), "payload")
    if problem:
        raise ValueError(f"{action}: not canonical data: {problem}")
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


def old_format(v: Any) -> str:
    return M(
        "an entry of log format {v!r}; this truceline reads log format {format} only "
        "(the joint record): older logs are not carried over, start a new database",
        v=v,
        format=LOG_FORMAT,
    )


def entry_from_dict(data: Mapping[str, Any]) -> Entry:
    if data.get("v") != LOG_FORMAT:
        raise ValueError(old_format(data.get("v", 1)))
    for name in ("seq", "time"):
        if not isinstance(data.get(name), int) or isinstance(data.get(name), bool):
            raise ValueError(M("{name} is not an integer", name=name))
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


def verify_chains(
    entries: Iterable[Entry],
    file_keys: Mapping[str, str | None],
    *,
    contingents: Collection[str] | None = None,
) -> ChainReport:
    """Check every log: its contingent is one of the mission's; hashes, signatures under the
    pinned keys (the mission file's, else each log's first genesis held), a genesis stating its
    own pinned key; the chain of `prev`, the sequence from 0 without gaps, times that never go
    back and stay within the supported years, canonical payloads, equivocation; and every
    `seen` reference resolving to an entry held. Faults name the entry (contingent, seq)."""
    entries = list(entries)
    report = ChainReport(pinned=pinned_keys(file_keys, entries))
    public: dict[str, Ed25519PublicKey] = {}
    for contingent, text in report.pinned.items():
        try:
            public[contingent] = keys.parse_public(text)
        except ValueError:
            report.faults.append(
                Fault(contingent, None, M("pinned key is not a valid key: {key}", key=text))
            )
    by_contingent: dict[str, list[Entry]] = {}
    for entry in entries:
        by_contingent.setdefault(entry.contingent, []).append(entry)
    held = {(e.contingent, e.hash) for e in entries}
    signed = _signatures_valid(entries, public)
    for contingent, log in sorted(by_contingent.items()):
        if contingents is not None and contingent not in contingents:
            report.faults.append(
                Fault(contingent, None, M("a log of a contingent that is not in the mission"))
            )
            continue
        key = public.get(contingent)
        if key is None:
            report.faults.append(Fault(contingent, None, M("no pinned public key for this log")))
            continue
        valid: dict[int, list[Entry]] = {}
        for entry in log:
            if entry.v != LOG_FORMAT:
                report.faults.append(Fault(contingent, entry.seq, old_format(entry.v)))
            elif entry.computed_hash() != entry.hash:
                report.faults.append(
                    Fault(
                        contingent,
                        entry.seq,
                        M("content does not match its hash (changed after signing)"),
                    )
                )
            elif not signed[id(entry)]:
                report.faults.append(
                    Fault(contingent, entry.seq, M("signature is not by the pinned key"))
                )
            else:
                valid.setdefault(entry.seq, []).append(entry)
                report.faults += _entry_faults(entry, report.pinned, held)
        for seq, same in sorted(valid.items()):
            if len({e.hash for e in same}) > 1:
                hashes = ", ".join(sorted({e.hash[:12] for e in same}))
                report.faults.append(
                    Fault(
                        contingent,
                        seq,
                        M(
                            "equivocation: two signed entries with this seq ({hashes}…)",
                            hashes=hashes,
                        ),
                    )
                )
        previous: Entry | None = None
        expected = 0
        for entry in sorted(log, key=lambda e: e.seq):
            if entry.seq in valid and len(valid[entry.seq]) > 1:
                previous, expected = entry, entry.seq + 1
                continue
            if entry.seq != expected:
                problem = M(
                    "expected entry {expected} here (an entry is missing or out of place)",
                    expected=expected,
                )
                report.faults.append(Fault(contingent, entry.seq, problem))
            elif expected == 0 and (entry.action != GENESIS or entry.prev is not None):
                report.faults.append(
                    Fault(contingent, entry.seq, M("the first entry is not a genesis entry"))
                )
            elif previous is not None and entry.prev != previous.hash:
                report.faults.append(
                    Fault(contingent, entry.seq, M("prev does not match the previous entry's hash"))
                )
            elif previous is not None and entry.seq in valid and entry.time < previous.time:
                report.faults.append(
                    Fault(
                        contingent,
                        entry.seq,
                        M(
                            "its time is before the previous entry's "
                            "(a log's clock never goes back)"
                        ),
                    )
                )
            previous, expected = entry, entry.seq + 1
        if previous is not None:
            report.heads[contingent] = (previous.seq, previous.hash)
    report.faults.sort(key=lambda f: (f.contingent, -1 if f.seq is None else f.seq))
    return report


def _entry_faults(
    entry: Entry, pinned: Mapping[str, str], held: set[tuple[str, str]]
) -> list[Fault]:
    """What is wrong with one validly signed entry on its own."""
    faults = []

    def fault(problem: str) -> None:
        faults.append(Fault(entry.contingent, entry.seq, problem))

    if not 0 <= entry.time < LAST_US:  # the years times are accepted in, as for observations
        fault(
            M(
                "its time {time} µs is outside the supported years (1970–2099)",
                time=entry.time,
            )
        )
    problem = ijson_problem(dict(entry.payload), "payload")
    if problem:
        fault(M("not canonical data: {problem}", problem=problem))
    if entry.action == GENESIS:
        stated = entry.payload.get("public_keys", {})
        own = stated.get(entry.contingent) if isinstance(stated, dict) else None
        if own != pinned.get(entry.contingent):
            fault(
                M(
                    "its genesis states key {own}, but the pinned key is {pinned}",
                    own=own,
                    pinned=pinned.get(entry.contingent),
                )
            )
    for other, digest in entry.seen.items():
        if (other, digest) not in held:
            fault(
                M(
                    "it has seen {other}'s entry {entry}…, which is not held here",
                    other=other,
                    entry=str(digest)[:12],
                )
            )
    return faults


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


@dataclass
class Admission:
    """What of a bundle's entries may be stored: the entries not held yet, and every reason to
    refuse the bundle (none when it may be stored whole)."""

    fresh: list[Entry] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)


def admit(
    held: list[Entry],
    incoming: Iterable[Entry],
    *,
    file_keys: Mapping[str, str | None],
    contingents: Collection[str],
    now_us: int,
    skew_us: int,
) -> Admission:
    """Check another node's entries against the held ones; never trusts the sender. Refused:
    an altered copy of a held entry (a conflict: forgery or equivocation, both hashes named);
    a time after this node's clock plus `skew_us`; and whatever `verify_chains` finds in the
    logs held and received together (a contingent not in the mission, a genesis whose key
    differs from the pinned one, times going back, unresolved `seen`, bad signatures)."""
    result = Admission()
    at = {(e.contingent, e.seq): e for e in held}
    taken: set[str] = set()
    for entry in incoming:
        mine = at.get((entry.contingent, entry.seq))
        if mine is not None:
            if mine.as_dict() != entry.as_dict():
                result.faults.append(
                    Fault(
                        entry.contingent,
                        entry.seq,
                        M(
                            "conflict: held as {held}…, received with content hashing to "
                            "{computed}… (stated {stated}…): a forgery or an equivocation",
                            held=mine.hash[:16],
                            computed=entry.computed_hash()[:16],
                            stated=entry.hash[:16],
                        ),
                    )
                )
            continue
        if entry.time > now_us + skew_us:
            result.faults.append(
                Fault(
                    entry.contingent,
                    entry.seq,
                    M(
                        "its time is {ahead} s after this node's clock (at most {skew} s allowed)",
                        ahead=(entry.time - now_us) // 1_000_000,
                        skew=skew_us // 1_000_000,
                    ),
                )
            )
            continue
        if entry.hash in taken:
            continue
        taken.add(entry.hash)
        result.fresh.append(entry)
    if result.faults:
        return result
    # Held entries come first: a log's first genesis held here pins its key.
    chains = verify_chains([*held, *result.fresh], file_keys, contingents=contingents)
    result.faults = chains.faults
    result.heads = chains.heads
    return result
