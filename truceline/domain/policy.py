"""Who may do what: one table, used by the API, the pages and the CLI.

A user acts in a role (officer, chief, liaison, admin); `console` is whoever runs the CLI on
the node (who holds its keys); `anyone` includes a reader who has not logged in. Each action
also says whose things it touches (`scope`): `contingent`, a user acts only for its own
contingent (the service then signs with that contingent's key); `party`, a liaison only for
its own party. The web layer checks the role of every route and page against this table, and
a test checks that every route and page names an action of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from truceline.errors import Forbidden
from truceline.i18n.message import M

OFFICER, CHIEF, LIAISON, ADMIN, CONSOLE, ANYONE = (
    "officer", "chief", "liaison", "admin", "console", "anyone",
)  # fmt: skip
MONITORS = frozenset({OFFICER, CHIEF})  # a contingent's staff, who act for it
STAFF = MONITORS | {ADMIN}  # the centre's staff, who read its record
LOGGED_IN = STAFF | {LIAISON}
Scope = Literal["all", "contingent", "party"]


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    scope: Scope
    says: str  # what the action is, in words (the refusal names it)


def _rule(roles: frozenset[str] | set[str], says: str, scope: Scope = "all") -> Rule:
    return Rule(frozenset(roles) | {CONSOLE}, scope, says)


POLICY: dict[str, Rule] = {
    # reading the record
    "record.read": _rule(STAFF, M("read the centre's record")),
    "dashboard.read": _rule(LOGGED_IN, M("open the start page")),  # a liaison's: its complaints
    "map.read": _rule(STAFF, M("see the map")),
    "ledger.read": _rule(STAFF, M("read the logs")),
    "events.read": _rule(STAFF, M("follow live events")),
    "reports.draft": _rule(STAFF, M("read the report before it is published")),
    "reports.published": _rule(STAFF | {LIAISON, ANYONE}, M("read published reports")),
    "complaints.read": _rule(LOGGED_IN, M("read complaints"), "party"),
    # a contingent's work
    "evidence.record": _rule(MONITORS, M("record observations and positions"), "contingent"),
    "evidence.retract": _rule(MONITORS, M("retract an observation"), "contingent"),
    "cases.open": _rule(MONITORS, M("open a case"), "contingent"),
    "cases.assess": _rule(MONITORS, M("file a contingent's assessment"), "contingent"),
    "cases.reconsider": _rule(MONITORS, M("reconsider a case"), "contingent"),
    "reports.sign": _rule({CHIEF}, M("sign a contingent's report"), "contingent"),
    # a party's
    "complaints.file": _rule({LIAISON}, M("file a party's complaint"), "party"),
    # the node's
    "ledger.sync": _rule({CHIEF, ADMIN}, M("import another node's entries")),
    "users.manage": _rule({ADMIN}, M("manage accounts")),
    "session": _rule(LOGGED_IN | {ANYONE}, M("log in and out")),
    "node.operate": _rule(set(), M("set up, serve and repair the node")),
}


def allowed(role: str | None, action: str) -> bool:
    """Whether `role` (None: not logged in) may do `action` (KeyError: no such action)."""
    rule = POLICY[action]
    return (role or ANYONE) in rule.roles or ANYONE in rule.roles


def require(
    role: str | None,
    action: str,
    *,
    own: str | None = None,
    target: str | None = None,
    name: str = "",
) -> None:
    """Refuse (Forbidden) unless `role` may do `action`; for a scoped action, also unless the
    target contingent or party (`target`) is the user's own (`own`)."""
    rule = POLICY[action]
    who = name or (M("a {role}", role=role) if role else M("someone not logged in"))
    if not allowed(role, action):
        raise Forbidden(M("{who} may not {action}", who=who, action=rule.says))
    if rule.scope != "all" and role != CONSOLE and target is not None and target != own:
        raise Forbidden(
            M(
                "{who} may {action} for {own}, not for {target}",
                who=who,
                action=rule.says,
                own=own,
                target=target,
            )
        )
