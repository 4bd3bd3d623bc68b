"""Corrections are entries: an observation reported wrongly is retracted by the contingent that
reported it, saying why. It stays stored and shown as retracted, stops counting, and the time
window it touched is assessed again."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from truceline.domain import actions
from truceline.domain.limits import TEXT_MAX
from truceline.errors import FieldError, NotFound, TrucelineError
from truceline.i18n.message import M
from truceline.services.assess import AssessReport, assess
from truceline.services.ledger import KeyRing, signer
from truceline.services.projector import record
from truceline.store import tables as t
from truceline.store.db import require_schema, writing
from truceline.store.missions import load_mission


@dataclass(frozen=True)
class Retraction:
    observation: int
    uid: str
    contingent: str
    reason: str
    assessed: AssessReport


def retract_observation(
    engine: Engine,
    observation: int,
    *,
    reason: str,
    keyring: KeyRing | None,
    acting: str | None = None,
    actor: str | None = None,
) -> Retraction:
    """Retract an observation (as its reporting contingent, or `acting`, which must be it)."""
    require_schema(engine)
    if not reason.strip():
        raise FieldError("reason", M("is empty: say why the observation is retracted"))
    if len(reason) > TEXT_MAX:
        raise FieldError("reason", M("is longer than {n:,} characters", n=TEXT_MAX))
    o = t.observations
    with writing(engine) as conn:
        mission = load_mission(conn)
        row = conn.execute(
            select(o.c.uid, o.c.reporter, o.c.observed_from_us, o.c.observed_to_us).where(
                o.c.id == observation
            )
        ).first()
        if row is None:
            raise NotFound(M("no observation {observation}", observation=observation))
        if acting is not None and acting != row.reporter:
            raise TrucelineError(
                M(
                    "observation {observation} was reported by {reporter}: only {reporter} "
                    "may retract it",
                    observation=observation,
                    reporter=row.reporter,
                )
            )
        sign = signer(conn, mission, keyring, row.reporter)
        record(
            conn, mission, sign, actions.OBSERVATION_RETRACTED,
            {"observation": row.uid, "reason": reason.strip()}, acting=row.reporter, actor=actor,
        )  # fmt: skip
    assessed = assess(
        engine, since_us=int(row.observed_from_us), until_us=int(row.observed_to_us),
        keyring=keyring, acting=row.reporter,
    )  # fmt: skip
    return Retraction(observation, row.uid, row.reporter, reason.strip(), assessed)
