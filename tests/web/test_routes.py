"""The route table and the policy table: every route answers to one policy action."""

from __future__ import annotations

from fastapi.routing import APIRoute

from truceline.domain import policy
from truceline.web.app import create_app
from truceline.web.routes import ROUTES


def test_every_route_of_the_app_is_in_the_route_table_with_a_policy_action(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(f"sqlite:///{tmp_path / 'x.db'}", tmp_path / "keys")
    served = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute) and route.path not in ("/docs",)
        for method in route.methods
    }
    table = {(r.method, r.path) for r in ROUTES}
    assert served == table
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path != "/docs":
            assert getattr(route, "action") in policy.POLICY, route.path  # noqa: B009


def test_every_policy_action_is_used_by_a_route_or_the_cli() -> None:
    from truceline import cli

    used = {r.action for r in ROUTES} | set(cli.POLICY_ACTIONS.values())
    assert used == set(policy.POLICY)


def test_a_scoped_action_is_refused_for_another_contingent_or_party() -> None:
    policy.require("officer", "cases.assess", own="blue", target="blue")
    for role, action, own, target in (
        ("officer", "cases.assess", "blue", "green"),
        ("liaison", "complaints.file", "east", "west"),
        ("chief", "reports.sign", "blue", "green"),
    ):
        try:
            policy.require(role, action, own=own, target=target)
        except policy.Forbidden as exc:
            assert f"not for {target}" in str(exc)
        else:
            raise AssertionError((role, action))


def test_a_role_not_in_the_table_is_refused() -> None:
    for role, action in (("liaison", "record.read"), ("officer", "users.manage"),
                         (None, "cases.open"), ("admin", "cases.assess")):  # fmt: skip
        assert not policy.allowed(role, action)
    assert policy.allowed(None, "reports.published")


def test_every_cli_command_has_its_policy_action() -> None:
    from truceline import cli

    commands = {c.name for c in cli.app.registered_commands} | {
        f"{g.name} {c.name}"
        for g in cli.app.registered_groups
        for c in g.typer_instance.registered_commands  # type: ignore[union-attr]
    }
    assert commands == set(cli.POLICY_ACTIONS)
