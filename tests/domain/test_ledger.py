"""The signed logs: every kind of tampering is named by its entry."""

from __future__ import annotations

import dataclasses

from truceline.domain import keys
from truceline.domain.ledger import GENESIS, Entry, make_entry, verify_chains

BLUE, GREEN, MALLORY = keys.generate(), keys.generate(), keys.generate()
FILE_KEYS = {"blue": keys.public_text(BLUE), "green": keys.public_text(GREEN)}


def log(key, contingent: str, n: int) -> list[Entry]:  # type: ignore[no-untyped-def]
    entries: list[Entry] = []
    for seq in range(n):
        entries.append(
            make_entry(
                key,
                contingent=contingent,
                seq=seq,
                prev=entries[-1].hash if entries else None,
                seen={},
                time=1_000 + seq,
                actor="officer",
                action=GENESIS if seq == 0 else "note",
                payload={"public_keys": {contingent: keys.public_text(key)}}
                if seq == 0
                else {"n": seq},
            )
        )
    return entries


def faults(entries: list[Entry], file_keys: dict = FILE_KEYS) -> list[str]:  # type: ignore[type-arg]
    return [str(f) for f in verify_chains(entries, file_keys).faults]


def test_intact_logs_verify_and_their_heads_are_known() -> None:
    report = verify_chains(log(BLUE, "blue", 4) + log(GREEN, "green", 2), FILE_KEYS)
    assert report.ok
    assert {c: seq for c, (seq, _) in report.heads.items()} == {"blue": 3, "green": 1}


def test_a_changed_payload_is_named() -> None:
    entries = log(BLUE, "blue", 4)
    entries[2] = dataclasses.replace(entries[2], payload={"n": 99})
    assert faults(entries) == ["blue#2: content does not match its hash (changed after signing)"]


def test_a_deleted_entry_is_named() -> None:
    entries = log(BLUE, "blue", 4)
    del entries[1]
    assert faults(entries) == [
        "blue#2: expected entry 1 here (an entry is missing or out of place)"
    ]


def test_two_swapped_entries_are_named() -> None:
    entries = log(BLUE, "blue", 4)
    one, two = entries[1], entries[2]
    entries[1] = dataclasses.replace(two, seq=1)  # re-numbered: no longer its signed content
    entries[2] = dataclasses.replace(one, seq=2)
    assert faults(entries)[0].startswith("blue#1: content does not match its hash")


def test_a_signature_by_another_key_is_named() -> None:
    entries = log(BLUE, "blue", 3)
    entries[2] = make_entry(
        MALLORY, contingent="blue", seq=2, prev=entries[1].hash, seen={}, time=9, actor="x",
        action="note", payload={},
    )  # fmt: skip
    assert faults(entries) == ["blue#2: signature is not by the pinned key"]


def test_two_signed_entries_with_one_seq_are_equivocation() -> None:
    entries = log(BLUE, "blue", 3)
    other = make_entry(
        BLUE, contingent="blue", seq=2, prev=entries[1].hash, seen={}, time=10, actor="officer",
        action="note", payload={"n": "other"},
    )  # fmt: skip
    [fault] = faults([*entries, other])
    assert fault.startswith("blue#2: equivocation")


def test_a_key_not_pinned_by_the_file_is_pinned_by_the_genesis_entry() -> None:
    genesis = make_entry(
        GREEN, contingent="green", seq=0, prev=None, seen={}, time=1, actor="init",
        action=GENESIS, payload={"public_keys": {"green": keys.public_text(GREEN)}},
    )  # fmt: skip
    assert verify_chains([genesis], {"blue": FILE_KEYS["blue"], "green": None}).ok
    forged = make_entry(
        MALLORY, contingent="green", seq=1, prev=genesis.hash, seen={}, time=2, actor="x",
        action="note", payload={},
    )  # fmt: skip
    assert faults([genesis, forged], {"green": None}) == [
        "green#1: signature is not by the pinned key"
    ]


def test_the_first_entry_must_be_a_genesis_entry() -> None:
    entries = log(BLUE, "blue", 2)
    del entries[0]
    assert faults(entries)[0].startswith("blue#1: expected entry 0 here")


def test_a_time_going_back_in_a_log_is_named() -> None:
    entries = log(BLUE, "blue", 3)
    last = entries[-1]
    entries[-1] = make_entry(
        BLUE, contingent="blue", seq=2, prev=entries[1].hash, seen={}, time=last.time - 500,
        actor="officer", action="note", payload={"n": 2},
    )  # fmt: skip
    assert faults(entries) == [
        "blue#2: its time is before the previous entry's (a log's clock never goes back)"
    ]


def test_a_seen_reference_that_resolves_to_nothing_is_named() -> None:
    blue, green = log(BLUE, "blue", 2), log(GREEN, "green", 1)
    seeing = make_entry(
        GREEN, contingent="green", seq=1, prev=green[0].hash, seen={"blue": "f" * 64},
        time=2_000, actor="officer", action="note", payload={},
    )  # fmt: skip
    found = faults([*blue, *green, seeing])
    assert found == ["green#1: it has seen blue's entry ffffffffffff…, which is not held here"]


def test_a_log_of_a_contingent_not_in_the_mission_is_named() -> None:
    entries = log(MALLORY, "red", 1)
    report = verify_chains(entries, {**FILE_KEYS}, contingents=["blue", "green"])
    assert [str(f) for f in report.faults] == [
        "red: a log of a contingent that is not in the mission"
    ]


def test_a_genesis_stating_another_key_than_the_pinned_one_is_named() -> None:
    entries = log(BLUE, "blue", 1)
    forged = make_entry(
        BLUE, contingent="blue", seq=0, prev=None, seen={}, time=1_000, actor="init",
        action=GENESIS, payload={"public_keys": {"blue": keys.public_text(MALLORY)}},
    )  # fmt: skip
    assert entries[0].hash != forged.hash
    assert "its genesis states key" in faults([forged])[0]
