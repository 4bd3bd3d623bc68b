"""`import_batch`: an import of observations or positions: its node, batch, kind, rows and the
sha256 over the canonical rows (the rows travel with the entries and are checked against it). No
joint state: `ledger verify` checks the evidence against it."""

from __future__ import annotations

from truceline.domain.actions.base import NoProjection, ignore

NAME = "import_batch"
MODEL = NoProjection
apply = ignore
