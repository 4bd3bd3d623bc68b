"""`assessment_run`: a run of the compliance engine over a window: its counts and the sha256 of the
findings it left (every node recomputes them from the same evidence). No joint state: `ledger
verify` checks the evidence against it."""

from __future__ import annotations

from truceline.domain.actions.base import NoProjection, ignore

NAME = "assessment_run"
MODEL = NoProjection
apply = ignore
