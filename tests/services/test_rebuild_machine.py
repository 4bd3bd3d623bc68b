"""Random sequences of the centre's actions (cases, filings, rounds of reconsideration,
retractions, complaints, duplicate case openings arriving from another node, accounts): after
each, `ledger rebuild` from the entries alone gives the tables back exactly, and `ledger
verify` finds nothing (hypothesis, on SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
import json
from contextlib import suppress
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test
from sqlalchemy import Engine, select

from tests.conftest import _clear_postgresql, signed_centre
from truceline.domain import actions
from truceline.domain.cases import Position
from truceline.errors import TrucelineError
from truceline.services.accounts import add_user, set_disabled
from truceline.services.corrections import retract_observation
from truceline.services.ledger import KeyRing, local_signers, verify_ledger
from truceline.services.projector import rebuild, record
from truceline.services.verification import (
    ComplaintInput,
    file_assessment,
    file_complaint,
    open_case,
    reconsider,
)
from truceline.store import projection
from truceline.store import tables as t
from truceline.store.db import make_engine, migrate, writing
from truceline.store.missions import load_mission

CSV = (
    "id,observed_at,lat,lon,kind,count,source_kind,source,reporter\n"
    "a1,2020-11-21T10:00:00+04:00,40.27,46.75,explosion,5,observation_post,OP-1,blue\n"
    "a2,2020-11-21T12:00:00+04:00,40.10,46.70,explosion,2,patrol,P-2,green\n"
    "a3,2020-11-21T14:00:00+04:00,40.20,46.72,shot,1,patrol,P-3,blue\n"
)
T = 1_605_938_400_000_000
CONTINGENTS = st.sampled_from(["blue", "green"])
VERDICTS = st.sampled_from(["confirmed", "not_confirmed", "inconclusive"])


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_rebuild_from_the_entries_gives_the_tables_back_after_any_sequence_of_actions(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    keyring = KeyRing(tmp_path / "keys")
    counter = itertools.count()

    def fresh() -> Engine:
        if backend == "sqlite":
            engine = make_engine(f"sqlite:///{tmp_path / f'm{next(counter)}.db'}")
            migrate(engine)
        else:
            engine = request.getfixturevalue("pg_engine")
            _clear_postgresql(engine)
        signed_centre(engine, keyring, tmp_path, csv=CSV)
        return engine

    class Centre(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.engine = fresh()
            self.users = 0

        def ids(self, table: object) -> list[int]:
            with self.engine.connect() as conn:
                return [int(i) for i in conn.execute(select(table.c.id)).scalars()]  # type: ignore[attr-defined]

        @rule(pick=st.integers(0, 9), by=CONTINGENTS)
        def open_on_a_finding(self, pick: int, by: str) -> None:
            findings = self.ids(t.findings)
            if findings:
                with suppress(TrucelineError):  # a case is open on it already
                    open_case(self.engine, finding=findings[pick % len(findings)], keyring=keyring,
                              acting=by)  # fmt: skip

        @rule(pick=st.integers(0, 9), by=CONTINGENTS)
        def a_duplicate_opening_arrives(self, pick: int, by: str) -> None:
            """What another node's concurrent opening of the same subject brings."""
            with writing(self.engine) as conn:
                subjects = conn.execute(select(t.cases.c.subject)).scalars().all()
                if not subjects:
                    return
                mission = load_mission(conn)
                sign = local_signers(conn, mission, keyring)[by]
                payload = {"subject": json.loads(subjects[pick % len(subjects)])}
                record(conn, mission, sign, actions.CASE_OPENED, payload, acting=by)

        @rule(pick=st.integers(0, 9), by=CONTINGENTS, verdict=VERDICTS)
        def file(self, pick: int, by: str, verdict: str) -> None:
            cases = self.ids(t.cases)
            if cases:
                with suppress(TrucelineError):  # filed already in this round, or a duplicate
                    file_assessment(
                        self.engine, cases[pick % len(cases)], contingent=by,
                        position=Position(verdict, "undetermined", f"{by}: {verdict}"),
                        actor=by, keyring=keyring,
                    )  # fmt: skip

        @rule(pick=st.integers(0, 9), blue=VERDICTS, green=VERDICTS, again=st.booleans())
        def both_file(self, pick: int, blue: str, green: str, again: bool) -> None:
            """Both contingents file on one case: its round is revealed and decided; then,
            perhaps, one asks to reconsider it (random sequences seldom line these up)."""
            for by, verdict in (("blue", blue), ("green", green)):
                self.file(pick, by, verdict)
            if again:
                self.reconsider_a_case(pick, "green")

        @rule(pick=st.integers(0, 9), by=CONTINGENTS)
        def reconsider_a_case(self, pick: int, by: str) -> None:
            cases = self.ids(t.cases)
            if cases:
                with suppress(TrucelineError):  # not decided yet
                    reconsider(self.engine, cases[pick % len(cases)], contingent=by,
                               reason="new footage", actor=by, keyring=keyring)  # fmt: skip

        @rule(pick=st.integers(0, 9))
        def retract(self, pick: int) -> None:
            observations = self.ids(t.observations)
            with suppress(TrucelineError):  # retracted already
                retract_observation(self.engine, observations[pick % len(observations)],
                                    reason="wrong grid", keyring=keyring)  # fmt: skip

        @rule()
        def a_complaint_and_its_case(self) -> None:
            complaint = ComplaintInput(
                party="east", kind="explosion", narrative="shelling", observed_from_us=T,
                observed_to_us=T, zone="contact-line",
            )  # fmt: skip
            receipt = file_complaint(self.engine, complaint, keyring=keyring, acting=None)
            open_case(self.engine, complaint=receipt.id, keyring=keyring, acting="green")

        @rule(by=CONTINGENTS, disable=st.booleans())
        def an_account(self, by: str, disable: bool) -> None:
            self.users += 1
            name = f"{by}-officer-{self.users}"
            add_user(self.engine, name, role="officer", password="correct horse",
                     contingent=by, keyring=keyring)  # fmt: skip
            if disable:
                set_disabled(self.engine, name, disabled=True, keyring=keyring)

        def teardown(self) -> None:
            with self.engine.connect() as conn:
                trans = conn.begin()  # a copy: the rebuild is rolled back
                before = projection.snapshot(conn)
                replay = rebuild(conn, load_mission(conn))
                after = projection.snapshot(conn)
                trans.rollback()
                assert replay.faults == []
                assert after == before
                report = verify_ledger(conn, load_mission(conn))
                assert report.ok, report.faults
            if backend == "sqlite":
                self.engine.dispose()

    run_state_machine_as_test(
        Centre,
        settings=settings(
            max_examples=10, stateful_step_count=12, deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )  # fmt: skip
