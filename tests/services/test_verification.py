"""Joint verification: blind rounds, binding filings, derived verdicts, reconsideration,
complaints' clocks and receipts."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from tests.conftest import signed_centre
from truceline.domain.actions import ASSESSMENT_REVEALED, COMPLAINT_RECEIVED
from truceline.domain.cases import Position
from truceline.errors import TrucelineError
from truceline.services.ledger import KeyRing, verify_ledger
from truceline.services.verification import (
    ComplaintInput,
    Conflict,
    case_view,
    file_assessment,
    file_complaint,
    list_complaints,
    open_case,
    reconsider,
)
from truceline.store import ledger as ledger_repo
from truceline.store import tables as t
from truceline.store.db import writing
from truceline.store.missions import load_mission

T = 1_605_938_400_000_000  # 2020-11-21T06:00:00Z
SHELLING = ComplaintInput(
    party="east", kind="explosion", narrative="shelling", observed_from_us=T, observed_to_us=T,
    zone="contact-line", against="west",
)  # fmt: skip


@pytest.fixture
def keyring(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path / "keys")


@pytest.fixture
def finding(engine: Engine, keyring: KeyRing, tmp_path: Path) -> int:
    """A centre with its logs started and one finding (an explosion by an unknown actor)."""
    finding = signed_centre(engine, keyring, tmp_path)
    assert finding is not None
    return finding


def file(
    engine: Engine,
    keyring: KeyRing,
    case: int,
    contingent: str,
    verdict: str,
    attribution: str = "west",
) -> dict:  # type: ignore[type-arg]
    position = Position(verdict, attribution, f"{contingent}'s reasons")
    return file_assessment(
        engine, case, contingent=contingent, position=position, actor=contingent, keyring=keyring
    )


def view(engine: Engine, case: int, viewer: str | None) -> dict:  # type: ignore[type-arg]
    with engine.connect() as conn:
        return case_view(conn, load_mission(conn), case, viewer)


def test_an_assessment_stays_hidden_until_every_contingent_has_filed(
    engine: Engine, keyring: KeyRing, finding: int
) -> None:
    case = open_case(engine, finding=finding, keyring=keyring, acting="blue")["id"]
    file(engine, keyring, case, "blue", "confirmed")
    as_green = view(engine, case, "green")
    assert as_green["verdict"] == "pending" and as_green["filed"] == ["blue"]
    assert as_green["assessments"] == [] and "blue filed" in as_green["note"]
    assert view(engine, case, None)["assessments"] == []
    assert [a["contingent"] for a in view(engine, case, "blue")["assessments"]] == ["blue"]
    file(engine, keyring, case, "green", "confirmed")
    revealed = view(engine, case, "green")
    assert revealed["verdict"] == "confirmed" and revealed["revealed"]
    assert sorted(a["contingent"] for a in revealed["assessments"]) == ["blue", "green"]


@pytest.mark.parametrize(
    ("blue", "green", "expected"),
    [
        (("confirmed", "west"), ("confirmed", "west"), "confirmed"),
        (("confirmed", "west"), ("confirmed", "east"), "disputed"),
        (("not_confirmed", "undetermined"), ("not_confirmed", "undetermined"), "rejected"),
        (("inconclusive", "undetermined"), ("inconclusive", "undetermined"), "inconclusive"),
        (("confirmed", "west"), ("not_confirmed", "undetermined"), "disputed"),
    ],
)
def test_every_verdict_is_derived_from_both_positions(
    engine: Engine,
    keyring: KeyRing,
    finding: int,
    blue: tuple,
    green: tuple,
    expected: str,  # type: ignore[type-arg]
) -> None:
    case = open_case(engine, finding=finding, keyring=keyring, acting="green")["id"]
    file(engine, keyring, case, "blue", *blue)
    assert file(engine, keyring, case, "green", *green)["verdict"] == expected


def test_a_filing_binds_its_contingent_for_the_round(
    engine: Engine, keyring: KeyRing, finding: int
) -> None:
    case = open_case(engine, finding=finding, keyring=keyring, acting="blue")["id"]
    file(engine, keyring, case, "blue", "inconclusive", "undetermined")
    with pytest.raises(Conflict, match=r"blue has filed in round 1 of case .* already"):
        file(engine, keyring, case, "blue", "confirmed")  # before the reveal
    file(engine, keyring, case, "green", "confirmed")
    assert view(engine, case, None)["verdict"] == "disputed"
    with pytest.raises(Conflict, match="every contingent has filed in round 1"):
        file(engine, keyring, case, "blue", "not_confirmed")  # after it: no flip
    assert view(engine, case, None)["verdict"] == "disputed"
    assert not view(engine, case, "blue")["can_file"]


def test_reconsidering_opens_a_blind_round_and_the_old_verdict_stands_until_it_completes(
    engine: Engine, keyring: KeyRing, finding: int
) -> None:
    case = open_case(engine, finding=finding, keyring=keyring, acting="blue")["id"]
    file(engine, keyring, case, "blue", "inconclusive", "undetermined")
    file(engine, keyring, case, "green", "confirmed")
    again = reconsider(
        engine, case, contingent="green", reason="new UAV footage", actor="g", keyring=keyring
    )
    assert again["round"] == 2 and again["under_reconsideration"]
    assert again["verdict"] == "disputed" and again["waiting_for"] == ["blue", "green"]
    file(engine, keyring, case, "blue", "confirmed")
    as_green = view(engine, case, "green")
    assert as_green["rounds"][1]["assessments"] == []  # blue's new position: blind again
    assert as_green["verdict"] == "disputed" and "under reconsideration" in as_green["note"]
    with pytest.raises(Conflict, match="round 1 is not open"):
        file_assessment(
            engine, case, contingent="green", position=Position("confirmed", "west", "x"),
            actor="g", keyring=keyring, round=1,
        )  # fmt: skip
    file(engine, keyring, case, "green", "confirmed")
    after = view(engine, case, None)
    assert after["verdict"] == "confirmed" and not after["under_reconsideration"]
    assert [(r["number"], r["verdict"]) for r in after["rounds"]] == [
        (1, "disputed"), (2, "confirmed"),
    ]  # fmt: skip
    assert [(a["round"], a["contingent"], a["verdict"]) for a in after["history"]] == [
        (1, "blue", "inconclusive"), (1, "green", "confirmed"),
        (2, "blue", "confirmed"), (2, "green", "confirmed"),
    ]  # fmt: skip
    with engine.connect() as conn:
        assert verify_ledger(conn, load_mission(conn)).ok


def test_a_round_cannot_be_reconsidered_before_it_is_revealed(
    engine: Engine, keyring: KeyRing, finding: int
) -> None:
    case = open_case(engine, finding=finding, keyring=keyring, acting="blue")["id"]
    file(engine, keyring, case, "blue", "confirmed")
    with pytest.raises(Conflict, match="no complete round to reconsider"):
        reconsider(engine, case, contingent="blue", reason="r", actor="b", keyring=keyring)


def test_a_sealed_position_edited_in_the_database_is_seen_by_ledger_verify(
    engine: Engine, keyring: KeyRing, finding: int
) -> None:
    case = open_case(engine, finding=finding, keyring=keyring, acting="blue")["id"]
    file(engine, keyring, case, "blue", "not_confirmed", "undetermined")
    with engine.begin() as conn:
        conn.execute(update(t.sealed_positions).values(verdict="confirmed"))
        faults = [str(f) for f in verify_ledger(conn, load_mission(conn)).faults]
    assert len(faults) == 1 and "no longer opens its commitment" in faults[0]


def test_a_case_is_opened_once_per_finding(engine: Engine, keyring: KeyRing, finding: int) -> None:
    first = open_case(engine, finding=finding, keyring=keyring, acting="blue")["id"]
    with pytest.raises(TrucelineError, match=f"case {first} is open on finding {finding} already"):
        open_case(engine, finding=finding, keyring=keyring, acting="green")


def test_two_openers_at_once_get_one_case_and_a_clear_refusal(
    engine: Engine, keyring: KeyRing, finding: int
) -> None:
    outcomes: list[object] = []

    def opener(contingent: str) -> None:
        try:
            outcomes.append(
                open_case(engine, finding=finding, keyring=keyring, acting=contingent)["id"]
            )
        except TrucelineError as exc:
            outcomes.append(exc)
        except BaseException as exc:  # an internal error would be a failure of the test
            outcomes.append(("internal", exc))

    threads = [threading.Thread(target=opener, args=(c,)) for c in ("blue", "green")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "int"], outcomes
    with engine.connect() as conn:
        assert verify_ledger(conn, load_mission(conn)).ok  # the refused opening left no entry


def test_a_complaint_without_a_joint_verdict_in_time_is_overdue(
    engine: Engine, keyring: KeyRing, finding: int
) -> None:
    complaint = SHELLING
    first = file_complaint(engine, complaint, keyring=keyring, acting="green").id
    second = file_complaint(engine, complaint, keyring=keyring, acting="green").id
    case = open_case(engine, complaint=second, keyring=keyring, acting="green")["id"]
    file(engine, keyring, case, "blue", "confirmed")
    file(engine, keyring, case, "green", "confirmed")
    with engine.connect() as conn:
        due = int(
            conn.execute(
                select(t.complaints.c.due_us).where(t.complaints.c.id == first)
            ).scalar_one()
        )
        later = list_complaints(conn, now_us=due + 1)
        assert [(c["id"], c["status"]) for c in later] == [(first, "overdue"), (second, "answered")]
        assert [c["id"] for c in list_complaints(conn, now_us=due + 1, overdue=True)] == [first]
        assert list_complaints(conn, now_us=due - 1)[0]["status"] == "awaiting a joint verdict"
        received = [e for e in ledger_repo.all_entries(conn) if e.action == COMPLAINT_RECEIVED]
    assert [e.contingent for e in received] == ["green", "green"]


def test_two_contingents_filing_at_once_reveal_each_position_exactly_once(
    engine: Engine, keyring: KeyRing, finding: int
) -> None:
    case = open_case(engine, finding=finding, keyring=keyring, acting="blue")["id"]
    errors: list[BaseException] = []

    def filer(contingent: str) -> None:
        try:
            file(engine, keyring, case, contingent, "confirmed")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=filer, args=(c,)) for c in ("blue", "green")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert view(engine, case, None)["verdict"] == "confirmed"
    with writing(engine) as conn:
        reveals = [e for e in ledger_repo.all_entries(conn) if e.action == ASSESSMENT_REVEALED]
        assert sorted(e.contingent for e in reveals) == ["blue", "green"]  # each reveals once
        assert verify_ledger(conn, load_mission(conn)).ok


def test_a_complaint_is_received_in_every_log_whose_key_is_here_and_the_liaison_gets_a_receipt(
    engine: Engine, keyring: KeyRing, finding: int
) -> None:
    complaint = SHELLING
    receipt = file_complaint(engine, complaint, keyring=keyring, acting=None)
    assert receipt.received_by == ["blue", "green"] and len(receipt.sha256) == 64
    assert receipt.due > receipt.received
    with engine.connect() as conn:
        received = [e for e in ledger_repo.all_entries(conn) if e.action == COMPLAINT_RECEIVED]
        assert sorted(e.contingent for e in received) == ["blue", "green"]
        assert {e.payload["complaint"] for e in received} == {receipt.sha256}
    case = open_case(engine, complaint=receipt.id, keyring=keyring, acting="blue")
    assert case["complaint_detail"]["narrative"] == "shelling"
    assert case["complaint_detail"]["against"] == "west"


@pytest.mark.parametrize(
    ("name", "said"),
    [("", "is not a file name"), ("bell\x07.jpg", "is not a file name"),
     ("../up.jpg", "is not a file name"), ("a\\b.jpg", "is not a file name"),
     ("n" * 256, "is not a file name")],
)  # fmt: skip
def test_an_attachment_whose_name_could_mislead_is_refused_and_nothing_is_stored(
    engine: Engine, keyring: KeyRing, finding: int, name: str, said: str
) -> None:
    from dataclasses import replace

    from truceline.errors import FieldError
    from truceline.services.verification import Upload

    with pytest.raises(FieldError, match=said):
        file_complaint(engine, replace(SHELLING, attachments=(Upload(name, b"x"),)),
                       keyring=keyring, acting=None)  # fmt: skip
    with engine.connect() as conn:
        assert conn.execute(select(t.attachments)).first() is None
        assert conn.execute(select(t.complaints)).first() is None


def test_too_many_attachments_are_refused_and_one_content_attached_twice_is_stored_once(
    engine: Engine, keyring: KeyRing, finding: int
) -> None:
    from dataclasses import replace

    from truceline.domain.limits import ATTACHMENTS_MAX
    from truceline.errors import FieldError
    from truceline.services.verification import Upload, attachment_of

    many = tuple(Upload(f"{n}.jpg", b"%d" % n) for n in range(ATTACHMENTS_MAX + 1))
    with pytest.raises(FieldError, match=f"at most {ATTACHMENTS_MAX} files"):
        file_complaint(engine, replace(SHELLING, attachments=many), keyring=keyring, acting=None)
    twice = (Upload("a.jpg", b"same"), Upload("b.jpg", b"same"))
    first = file_complaint(engine, replace(SHELLING, attachments=twice), keyring=keyring,
                           acting=None)  # fmt: skip
    again = file_complaint(engine, replace(SHELLING, attachments=twice[:1]), keyring=keyring,
                           acting=None)  # fmt: skip
    with engine.connect() as conn:
        assert len(conn.execute(select(t.attachments)).all()) == 1
        digest = hashlib.sha256(b"same").hexdigest()
        assert attachment_of(conn, first.id, digest) == ("a.jpg", b"same")
        assert attachment_of(conn, again.id, digest, party="east")[1] == b"same"
        with pytest.raises(TrucelineError, match="no complaint"):
            attachment_of(conn, first.id, digest, party="west")
        assert verify_ledger(conn, load_mission(conn)).ok  # the files are as the logs name
