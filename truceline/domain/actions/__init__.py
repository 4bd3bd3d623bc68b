"""The actions of the logs: one module each (its payload model, its checks, how it changes the
joint state), registered here. An entry whose action is not in this table is refused."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from truceline.domain.actions import (
    assessment_filed,
    assessment_revealed,
    assessment_run,
    case_opened,
    complaint_received,
    genesis,
    import_batch,
    mission_changed,
    observation_retracted,
    report_signed,
    round_opened,
    user_added,
    user_changed,
)
from truceline.domain.actions.base import Payload, Refused, State, who
from truceline.domain.ledger import Entry
from truceline.i18n.message import M, Message

MODULES: tuple[ModuleType, ...] = (
    genesis, mission_changed, import_batch, assessment_run, complaint_received, case_opened,
    round_opened, assessment_filed, assessment_revealed, observation_retracted, user_added,
    user_changed, report_signed,
)  # fmt: skip


@dataclass(frozen=True)
class Action:
    name: str
    model: type[Payload]
    effect: Any  # (State, Entry, Payload) -> None

    def payload(self, entry: Entry) -> Payload:
        try:
            return self.model.model_validate(dict(entry.payload))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "payload"
            raise Refused(
                M(
                    "{who}: {action} payload {where}: {reason}",
                    who=who(entry),
                    action=entry.action,
                    where=where,
                    reason=_reason(first),
                )
            ) from None


def _reason(error: ErrorDetails) -> str:
    """Why pydantic refused a value: our validator's message (said in the reader's language),
    else pydantic's own text (English)."""
    raised = (error.get("ctx") or {}).get("error")
    ours = raised.args[0] if isinstance(raised, Exception) and raised.args else None
    if error["type"] == "value_error" and isinstance(ours, Message):
        return M("Value error, {reason}", reason=ours)
    return str(error["msg"])


ACTIONS: dict[str, Action] = {m.NAME: Action(m.NAME, m.MODEL, m.apply) for m in MODULES}

# Names to use in code (never a string literal of an action elsewhere).
GENESIS = genesis.NAME
MISSION_CHANGED = mission_changed.NAME
IMPORT_BATCH = import_batch.NAME
ASSESSMENT_RUN = assessment_run.NAME
COMPLAINT_RECEIVED = complaint_received.NAME
CASE_OPENED = case_opened.NAME
ROUND_OPENED = round_opened.NAME
ASSESSMENT_FILED = assessment_filed.NAME
ASSESSMENT_REVEALED = assessment_revealed.NAME
OBSERVATION_RETRACTED = observation_retracted.NAME
USER_ADDED = user_added.NAME
USER_CHANGED = user_changed.NAME
REPORT_SIGNED = report_signed.NAME


def apply(state: State, entry: Entry) -> None:
    """Check one entry against the joint state and change it; `Refused` says why not."""
    action = ACTIONS.get(entry.action)
    if action is None:
        raise Refused(M("{who}: unknown action {action!r}", who=who(entry), action=entry.action))
    action.effect(state, entry, action.payload(entry))


__all__ = ["ACTIONS", "Action", "Refused", "State", "apply"]
