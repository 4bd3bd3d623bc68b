"""Verdicts are derived from every contingent's position."""

from __future__ import annotations

import pytest

from truceline.domain.cases import Position, commitment, verdict

C = ("blue", "green")


def p(kind: str, attribution: str = "west") -> Position:
    return Position(kind, attribution, "seen from OP-3")


@pytest.mark.parametrize(
    ("filed", "expected"),
    [
        ({}, "pending"),
        ({"blue": p("confirmed")}, "pending"),
        ({"blue": p("confirmed"), "green": p("confirmed")}, "confirmed"),
        ({"blue": p("confirmed", "west"), "green": p("confirmed", "east")}, "disputed"),
        ({"blue": p("not_confirmed"), "green": p("not_confirmed", "east")}, "rejected"),
        ({"blue": p("inconclusive"), "green": p("inconclusive")}, "inconclusive"),
        ({"blue": p("confirmed"), "green": p("not_confirmed")}, "disputed"),
        ({"blue": p("confirmed"), "green": p("inconclusive")}, "disputed"),
    ],
)
def test_the_verdict_follows_from_every_position(filed: dict, expected: str) -> None:  # type: ignore[type-arg]
    assert verdict(C, filed) == expected


def test_a_third_contingent_keeps_the_case_pending_until_it_files() -> None:
    assert verdict((*C, "red"), {"blue": p("confirmed"), "green": p("confirmed")}) == "pending"


def test_a_commitment_binds_the_position_and_hides_it() -> None:
    where = {"case": "c", "round": 1, "contingent": "blue"}
    a = commitment(p("confirmed"), "salt-1", **where)  # type: ignore[arg-type]
    assert a == commitment(p("confirmed"), "salt-1", **where)  # type: ignore[arg-type]
    assert a != commitment(p("not_confirmed"), "salt-1", **where)  # type: ignore[arg-type]
    assert a != commitment(p("confirmed"), "salt-2", **where)  # type: ignore[arg-type]


def test_a_commitment_copied_from_another_contingent_or_round_opens_to_nothing() -> None:
    a = commitment(p("confirmed"), "s", case="c", round=1, contingent="blue")
    assert a != commitment(p("confirmed"), "s", case="c", round=1, contingent="green")
    assert a != commitment(p("confirmed"), "s", case="c", round=2, contingent="blue")
    assert a != commitment(p("confirmed"), "s", case="d", round=1, contingent="blue")
