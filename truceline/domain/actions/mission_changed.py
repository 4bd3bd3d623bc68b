"""`mission_changed`: a new mission file is in force (its sha256, and the previous one). No joint
state: `ledger verify` checks the evidence against it."""

from __future__ import annotations

from truceline.domain.actions.base import NoProjection, ignore

NAME = "mission_changed"
MODEL = NoProjection
apply = ignore
