"""`genesis`: the first entry of a log: the mission file's sha256 and the pinned public keys.
Checked by the chain verification (its key must be the pinned one); no joint state."""

from __future__ import annotations

from truceline.domain.actions.base import NoProjection, ignore
from truceline.domain.ledger import GENESIS

NAME = GENESIS
MODEL = NoProjection
apply = ignore
